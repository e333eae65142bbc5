"""A property of the vector point function (gradcli/compiled/vector.py): random sums over many
variables whose terms differ subtly (constants an ulp apart, 0.0 and -0.0, swapped operands,
a square beside a cube, a variable twice, subtracted copies) are grouped into templates
without merging two that differ, and give the whole program's numbers.

Oracles: the numpy program of the whole expression (bit for bit where the vector path is
taken: the value always, the gradient where ``fg.exact_order``; else within a few ulps, as
for the float function, whose pow and sin are libm's) and the tape (Expression.evaluate and
gradient, an independent engine: within 1e-12)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

import gradcli as gc
from gradcli.compiled.program import compile_expression

CONSTANTS = ["1", "1.0000000000000002", "0.9999999999999999", "2", "0.0", "-0.0", "3", "1e-300"]
SHAPES = [
    "({a}-{b})**2", "({b}-{a})**2", "{c}*({a}-{b}**2)**2", "sin({a})*{b}", "sin({b})*{a}",
    "exp({a}/{c})", "exp({a}*{c})", "({a}*{b}-{c})**2", "({a}*{b}-{c})**3", "{a}**2", "{a}**3",
    "-{a}*{b}", "{a}*{b}", "{b}*{a}", "({a}+{c})*{b}", "({a}-{c})*{b}", "cos({a})", "{a}",
    "{c}", "{a}*{a}", "{a}*{b}*{b}", "tanh({a}-{b})", "max({a},{b})", "abs({a}-{c})",
]


@st.composite
def repeated_sums(draw):
    n = draw(st.integers(16, 200))
    names = [f"v{i:03d}" for i in range(n)]
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=4))
    parts = []
    for _ in range(draw(st.integers(150, 400))):
        i = draw(st.integers(0, n - 1))
        step = draw(st.sampled_from([1, 1, 1, 2, 3, -1, 0]))
        term = draw(st.sampled_from(shapes)).format(a=names[i], b=names[(i + step) % n],
                                                    c=draw(st.sampled_from(CONSTANTS)))
        parts.append(draw(st.sampled_from(["+", "+", "-"])) + term)
    if draw(st.booleans()):  # a sum that is not a left chain
        cut = draw(st.integers(1, len(parts) - 1))
        return f"({''.join(parts[:cut]).lstrip('+')})+({''.join(parts[cut:]).lstrip('+')})"
    return "".join(parts).lstrip("+")


def same_bits(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.array_equal(a.view(np.int64), b.view(np.int64))


# no shrinking: a failing text is printed whole, and shrinking texts this long takes minutes
@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(repeated_sums(), st.integers(0, 2 ** 32 - 1))
def test_vector_function_is_the_program_and_the_tape(text, seed):
    expression = gc.parse(text)
    names = expression.variables
    program = compile_expression(expression, names)
    fg = program.point_function()
    rng = np.random.default_rng(seed)
    for _ in range(2):
        p = rng.uniform(-2, 2, size=len(names))
        env = dict(zip(names, p))
        value, grad = fg(p)
        want_value, want_grad = program.value_and_grad(env)
        if hasattr(fg, "exact_order"):   # the vector path: numpy's own rules, so its bits
            assert same_bits(value, want_value), text
        else:  # the float function: libm's pow and sin, an ulp from numpy's at some points
            np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=1e-13, err_msg=text)
        if getattr(fg, "exact_order", False):
            assert same_bits(grad, want_grad), text
        else:  # the float function, or the vector one in its templates' order
            np.testing.assert_allclose(grad, want_grad, rtol=1e-13, atol=1e-13, err_msg=text)
        tape_grad = np.asarray(expression.gradient(env), dtype=np.float64)
        finite = np.abs(tape_grad[np.isfinite(tape_grad)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        # nan and inf where the tape has them (exp(v/0.0) - exp(v/0.0) is nan in every engine)
        np.testing.assert_allclose(value, float(expression.evaluate(env)), rtol=1e-12,
                                   atol=1e-12, err_msg=text)
        np.testing.assert_allclose(grad, tape_grad, rtol=1e-12, atol=1e-12 * scale, err_msg=text)


@pytest.mark.slow
def test_the_property_reaches_the_vector_path():
    """The strategy's sums are long enough that the vector path is taken (else the property
    would test the float function only)."""
    text = "+".join(f"({a}-{b})**2-sin({b})*{a}" for a, b in
                    ((f"v{i:03d}", f"v{i + 1:03d}") for i in range(150)))
    expression = gc.parse(text)
    fg = compile_expression(expression, expression.variables).point_function()
    assert hasattr(fg, "exact_order")
    # the two shapes ((a-b)**2 and (b-a)**2) are not one template: their gradients differ
    swapped = text.replace("(v000-v001)**2", "(v001-v000)**2")
    expression = gc.parse(swapped)
    fg = compile_expression(expression, expression.variables).point_function()
    p = np.linspace(-1, 1, len(expression.variables))
    value, grad = fg(p)
    tape = np.asarray(expression.gradient(dict(zip(expression.variables, p))))
    np.testing.assert_allclose(grad, tape, rtol=1e-13, atol=1e-13)
