"""The polynomial columns' value and slope (gradcli/taylor/polynomial.py) on hostile
polynomials: coefficients from 1e-300 to 1e300 with both signs and zeros of both signs,
exponents up to 1000, x from the smallest subnormal to the largest float, 0 and -0.0. What
the columns return (they may decline, and the graph's way answers) is within 1e-13 of the
exact number (mpmath at 4000 digits), or the exact number's float64 overflow (+-inf).
"""
import math
import random

import mpmath
import pytest

from gradcli.language.polynomial import recognize
from gradcli.taylor.polynomial import value_and_slope

COEFFICIENTS = [1, 3, 0.1, 1e-300, 1e300, 7e-200, 2.5e150, 123456789.123, 0]
POINTS = [0.0, -0.0, -1.5, 1.0, -1.0, 1e-5, -1e-5, 1e100, -1e-100, 0.999, 2.0, -2.0, 1e-300,
          5e-324, 1.7976931348623157e308]


MILD = [1, 3, 0.1, 7.25, 1e-8, 1e8, 123456789.123, 0]   # answered more often by the columns


def hostile(seed):
    rng = random.Random(seed)
    terms = []
    choices = COEFFICIENTS if seed % 2 else MILD
    for _ in range(rng.randrange(2, 60)):
        c = rng.choice(choices) * rng.choice([1, -1])
        terms.append((c, rng.choice([0, 1, 2, 3, 5, 17, 100, 1000, rng.randrange(0, 50)])))
    text = "".join(f"{'-' if c < 0 or (c == 0 and rng.random() < .5) else '+'}{abs(c)!r}*x**{k}"
                   for c, k in terms).lstrip("+")
    return text, terms, rng.choice(POINTS if seed % 2 else POINTS[2:12])


@pytest.mark.slow
@pytest.mark.parametrize("block", range(8))
def test_what_the_columns_return_is_within_1e_13_of_mpmath(block):
    answered = 0
    for seed in range(block * 100, block * 100 + 100):
        text, terms, x = hostile(seed)
        polynomial = recognize(text)
        assert polynomial is not None, text            # read as columns
        got = value_and_slope(polynomial.coefficients, polynomial.exponents, x, 1)
        if got is None:
            continue
        answered += 1
        with mpmath.workdps(4000):
            X = mpmath.mpf(x)
            exact = [mpmath.fsum(mpmath.mpf(c) * X ** k for c, k in terms),
                     mpmath.fsum(mpmath.mpf(c) * k * X ** (k - 1) for c, k in terms if k)]
            for g, want in zip(got, exact):
                if abs(want) > mpmath.mpf(1.7976931348623157e308):
                    assert g == math.copysign(math.inf, want), (text, x)
                else:
                    assert abs(mpmath.mpf(g) - want) <= mpmath.mpf(1e-13) * abs(want), (text, x)
    assert answered >= 25   # the columns decline many (x = 0, the ends of the range)
