"""gradcli taylor, and --digits / --fast on diff, eval, grad and check (SPEC 6.1), through the CLI.

Oracles: mpmath at 80 digits (independent of python-flint), 1/k! and the geometric series."""
from __future__ import annotations

import json
import math

import mpmath
import pytest

mp = mpmath.MPContext()   # a context of our own: the global mpmath precision stays
mp.dps = 80


def test_taylor_plain_is_a_polynomial_eval_reads_back(gradcli):
    result = gradcli("taylor", "cos(x)", "--at", "0.5", "--order", "12", "--format", "plain")
    assert result.exit_code == 0 and result.stderr == ""
    polynomial = result.stdout.strip()
    assert "(x - 0.5)**12" in polynomial
    back = gradcli("eval", polynomial, "--at", "0.6", "--format", "plain")
    assert abs(float(back.stdout) - math.cos(0.6)) < 1e-15      # remainder ~ 0.1**13/13!


def test_taylor_json_fields_and_coefficients(gradcli):
    result = gradcli("taylor", "exp(x)", "--at", "0", "--order", "20", "--format", "json")
    record = json.loads(result.stdout)
    assert list(record) == ["expr", "point", "wrt", "order", "coefficients", "polynomial"]
    assert record["wrt"] == "x" and record["order"] == 20 and record["point"] == {"x": 0.0}
    for k, c in enumerate(record["coefficients"]):
        assert abs(c - 1 / math.factorial(k)) <= 1e-15 / math.factorial(k)
    assert record["polynomial"].startswith("1.0 + 1.0*x + 0.5*x**2")


def test_taylor_negative_point_and_zero_terms(gradcli):
    result = gradcli("taylor", "x**2", "--at", "-2", "--order", "4", "--format", "plain")
    assert result.stdout == "4.0 - 4.0*(x + 2.0) + 1.0*(x + 2.0)**2\n"


def test_taylor_table_lists_k_derivative_and_coefficient(gradcli):
    result = gradcli("taylor", "1/(1-x)", "--at", "0.5", "--order", "3", "--format", "table")
    lines = result.stdout.splitlines()
    assert "k" in lines[2] and "f^(k)" in lines[2] and "c_k" in lines[2]
    rows = [line.split("│")[1:4] for line in lines if line.startswith("│")]
    # f^(k) of 1/(1-x) at 1/2 is k! 2**(k+1), c_k = 2**(k+1)
    assert [[float(c) for c in row] for row in rows] == [
        [0, 2.0, 2.0], [1, 4.0, 4.0], [2, 16.0, 8.0], [3, 96.0, 16.0]]


def test_taylor_digits_json_strings(gradcli):
    result = gradcli("taylor", "exp(x)", "--at", "0.1", "--order", "2", "--digits", "30",
                     "--format", "json")
    record = json.loads(result.stdout)
    e = mp.exp(mp.mpf("0.1"))
    assert record["coefficients"] == [mp.nstr(e, 30, strip_zeros=False),
                                      mp.nstr(e, 30, strip_zeros=False),
                                      mp.nstr(e / 2, 30, strip_zeros=False)]


def test_diff_order_1000_digits_is_the_spec_number(gradcli):
    result = gradcli("diff", "exp(sin(x))/(1+x**2)", "--at", "0.5", "--order", "1000",
                     "--digits", "20", "--format", "json")
    record = json.loads(result.stdout)
    assert record["value"] == "-5.4778738716181840123e+2518" == record["derivatives"][1000]
    assert result.exit_code == 0


def test_diff_exact_decimal_point(gradcli):
    # 0.3 as one tenth times three: the issue's -428326945.62696578...
    result = gradcli("diff", "sin(x)*exp(x)", "--at", "0.3", "--order", "60", "--digits", "17",
                     "--format", "plain")
    x = mp.mpf(3) / 10
    exact = mp.sqrt(2) ** 60 * mp.exp(x) * mp.sin(x + 15 * mp.pi)
    assert result.stdout.strip() == mp.nstr(exact, 17, strip_zeros=False)


def test_diff_default_is_refined_and_fast_warns(gradcli):
    exact = -428326945.62696576   # float64 0.3 (the default takes the float64 point)
    result = gradcli("diff", "sin(x)*exp(x)", "--at", "0.3", "--order", "60", "--format", "plain")
    assert abs(float(result.stdout) - exact) <= 1e-13 * abs(exact) and result.stderr == ""
    fast = gradcli("diff", "sin(x)*exp(x)", "--at", "0.3", "--order", "60", "--fast",
                   "--format", "plain")
    assert abs(float(fast.stdout) - exact) > 1e-9 * abs(exact)
    assert "--fast: order" in fast.stderr and "correct digits" in fast.stderr


def test_diff_overflow_is_signed_inf_with_a_digits_hint(gradcli):
    result = gradcli("diff", "1/x", "--at", "1e-50", "--order", "10", "--format", "json")
    record = json.loads(result.stdout)
    assert record["derivatives"][6:] == ["inf", "-inf", "inf", "-inf", "inf"]
    assert "nan" not in result.stdout
    assert result.stderr.count("\n") == 1 and "--digits D prints the number" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("text, at, order, exact", [
    ("exp(x)", "600", 1256, "3.7730203009299397e+260"),
    ("exp(x)", "-20", 1999, "2.061153622438558e-09"),
    ("exp(-x)", "600", 1900, "2.6503965530043108e-261"),
    ("sin(x)", "1", 2000, "0.8414709848078965")])
def test_issue_23_high_orders_print_the_right_number(gradcli, text, at, order, exact):
    result = gradcli("diff", text, "--at", at, "--order", str(order), "--format", "plain")
    assert abs(float(result.stdout) - float(exact)) <= 1e-13 * float(exact)


def test_eval_digits_exact_decimals(gradcli):
    result = gradcli("eval", "0.1+0.2", "--digits", "25", "--format", "plain")
    assert result.stdout == "0.3000000000000000000000000\n"
    result = gradcli("eval", "sqrt(x)", "--at", "2", "--digits", "50", "--format", "plain")
    assert result.stdout.strip() == mp.nstr(mp.sqrt(2), 50)


def test_grad_digits_gradient_and_hessian(gradcli):
    result = gradcli("grad", "x**2*y+sin(y)", "--at", "x=1,y=2", "--hessian", "--digits", "20",
                     "--format", "json")
    record = json.loads(result.stdout)
    cos2, sin2 = mp.cos(2), mp.sin(2)
    assert record["gradient"] == ["4.0000000000000000000", mp.nstr(1 + cos2, 20, strip_zeros=False)]
    assert record["hessian"] == [["4.0000000000000000000", "2.0000000000000000000"],
                                 ["2.0000000000000000000", mp.nstr(-sin2, 20, strip_zeros=False)]]


def test_check_reference_is_arb_and_digits_strings(gradcli):
    result = gradcli("check", "exp(x)", "--at", "1", "--order", "3", "--digits", "25",
                     "--format", "json")
    record = json.loads(result.stdout)
    assert record["reference"] == ["arb"] * 4 and record["ok"]
    assert record["reference_digits"] == [mp.nstr(mp.e, 25)] * 4


def test_taylor_is_listed_in_help(gradcli):
    assert "taylor" in gradcli("--help").stdout
    assert "gradcli taylor" in gradcli("taylor", "--help").stdout


def test_digits_zero_not_proven_is_printed_0_with_a_warning(gradcli):
    result = gradcli("diff", "sin(x)**2+cos(x)**2", "--at", "0.3", "--order", "1", "--digits",
                     "10", "--format", "plain")
    assert result.stdout == "0\n" and result.exit_code == 0
    assert "order 1 printed as 0: ball arithmetic shows only |value| <= " in result.stderr
    exact = gradcli("diff", "x**2", "--at", "0.3", "--order", "3", "--digits", "10",
                    "--format", "plain")
    assert exact.stdout == "0\n" and exact.stderr == ""     # an exact zero: no warning


# -- issue 16's and issue 23's examples, each through CliRunner and a real process -------------
# against mpmath alone (tests/exact_derivatives.py: closed forms, W2's series at 60 digits):
# every printed derivative within 1e-13 relative, or +-inf of the exact value's sign beyond
# float64 with one warning that suggests --digits; never nan
ISSUE_EXAMPLES = [
    ("sin(x)*exp(x)", "0.3", 60),      # float64 Taylor alone: -428326926.4082703 (4.5e-8 off)
    ("1/x", "1e-50", 10),              # printed nan at orders 7..10
    ("x**-3", "1e-60", 6),             # nan at orders 5, 6
    ("log(x)", "1e-200", 4),           # nan at order 4
    ("1/x", "1e-30", 20),              # nan at orders 13..20
    ("exp(sin(x))/(1+x**2)", "0.5", 1000),   # -inf at order 1000 (and from 175 on)
    ("exp(x)", "600", 1256),           # issue 23: 0.0 (exact 3.7730203009299397e+260)
    ("exp(x)", "-20", 1999),           # 0.0 (exact 2.06e-09)
    ("exp(-x)", "600", 1900),          # 0.0 (exact 2.65e-261)
    ("sin(x)", "1", 2000),             # 0.8414711952209473 (exact 0.8414709848078965)
]


@pytest.fixture(scope="module")
def exact_of():
    from .exact_derivatives import exact_derivatives

    cache = {}

    def get(text, at, order):
        if (text, at, order) not in cache:
            cache[text, at, order] = exact_derivatives(text, float(at), order)
        return cache[text, at, order]

    return get


# a real process each: in the full suite; the inner loop (-m "not slow") runs CliRunner's
HOW = ["clirunner", pytest.param("process", marks=pytest.mark.slow)]


def _run(gradcli, how: str, args: list, timeout: float) -> tuple:
    """(stdout, stderr, exit status) of gradcli ARGS through CliRunner or a real process."""
    import subprocess
    import sys

    if how == "process":
        done = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                              text=True, timeout=timeout)
        return done.stdout, done.stderr, done.returncode
    result = gradcli(*args)
    return result.stdout, result.stderr, result.exit_code


@pytest.mark.slow
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("text, at, order", ISSUE_EXAMPLES)
def test_issue_examples_print_the_exact_derivatives_or_signed_inf(gradcli, exact_of, how, text,
                                                                  at, order):
    from .exact_derivatives import agrees

    args = ["diff", text, "--at", at, "--order", str(order), "--format", "json"]
    stdout, stderr, code = _run(gradcli, how, args, timeout=120)
    assert code == 0 and "Traceback" not in stderr
    printed = json.loads(stdout)["derivatives"]
    exact = exact_of(text, at, order)
    assert len(printed) == order + 1 and "nan" not in printed
    wrong = [k for k, (p, e) in enumerate(zip(printed, exact)) if not agrees(p, e)]
    assert not wrong, [(k, printed[k], mpmath.nstr(exact[k], 17)) for k in wrong[:5]]
    beyond = [k for k, p in enumerate(printed) if p in ("inf", "-inf")]
    if beyond:   # one warning naming the first, with the right sign, suggesting --digits
        assert stderr.count("\n") == 1 and "--digits D prints the number" in stderr
        assert f"the derivative of order {beyond[0]} is {printed[beyond[0]]}" in stderr
    else:
        assert stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize("text, at, order", [e for e in ISSUE_EXAMPLES if e[2] != 1000])
def test_check_calls_the_issue_examples_ok_at_atol_0(gradcli, exact_of, text, at, order):
    """issue 23: check called float64's wrong 0.0 for exp(-x)'s 2.65e-261 ok through its
    absolute tolerance 1e-12. gradcli's column now holds the exact values (within 1e-13 of
    mpmath) and agrees with the arb reference with --atol 0: an ok that leans on no atol."""
    from .exact_derivatives import agrees

    result = gradcli("check", text, "--at", at, "--order", str(order), "--atol", "0",
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["ok"] and set(record["reference"]) == {"arb"}
    exact = exact_of(text, at, order)
    assert all(agrees(p, e) for p, e in zip(record["gradcli"], exact))
    assert all(agrees(r, e, 1e-15) for r, e in zip(record["sympy"], exact))   # the reference


def test_check_says_mismatch_for_float64s_wrong_values(monkeypatch):
    """The verdict itself: float64 Taylor arithmetic's own numbers (--fast) for order 60 of
    sin(x)*exp(x) at 0.3 and order 2000 of sin(x) at 1 (4.5e-8 and 2.5e-7 off) are mismatches
    against the arb reference; so is a 0.0 for exp(-x)'s 2.65e-261 with --atol 0."""
    import gradcli as gc
    from gradcli.check.verify import run_check
    from gradcli.expression import Expression

    exact = Expression.derivatives
    monkeypatch.setattr(Expression, "derivatives",
                        lambda self, *a, **kw: exact(self, *a, **{**kw, "fast": True}))
    for text, at, order in (("sin(x)*exp(x)", 0.3, 60), ("sin(x)", 1.0, 2000)):
        result = run_check(gc.parse(text), at, order)
        assert not result.ok and result.status[order] == "mismatch", (text, result.status[order])
    monkeypatch.setattr(Expression, "derivatives",
                        lambda self, wrt, order, **kw: [0.0] * (order + 1))
    result = run_check(gc.parse("exp(-x)"), 600.0, 3, atol=0)
    assert not result.ok and set(result.status) == {"mismatch"}


# -- issue 16's bad input: one line, exit 2, no traceback; CliRunner and a real process ---------
BAD_DIGITS = [
    (["diff", "x", "--at", "1", "--digits", "0"], "'--digits': must be an integer from 1 to 1000"),
    (["taylor", "x", "--at", "1", "--digits", "5000"], "must be an integer from 1 to 1000, got '5000'"),
    (["eval", "x", "--at", "1", "--digits", "5", "--dtype", "float32"],
     "no such option: --dtype (eval computes in float64; --digits D"),
    (["grad", "x*y", "--at", "x=1,y=2", "--dtype", "float32", "--digits", "5"],
     "no such option: --dtype (grad computes in float64"),
    (["diff", "1/x", "--at", "0", "--order", "3", "--digits", "10"], "at x=0: division by zero (a pole)"),
    (["taylor", "log(x)", "--at", "0", "--digits", "10"], "at x=0: the logarithm of 0 (a pole)"),
    (["diff", "abs(x-0.1)", "--at", "0.1", "--digits", "10"],
     "at x=0.1: no certified value: a ball contains 0 and other numbers (a kink or a pole there?)"),
    (["grad", "max(x, y)", "--at", "x=0.3,y=0.3", "--digits", "10"], "at x=0.3,y=0.3: no certified"),
    (["eval", "sqrt(x-1)", "--at", "0.5", "--digits", "10"], "at x=0.5"),
    # sin of 20000 * 2**20000: 14,336 bits leave its ball [+/- 1.00]; it printed 0 (a guess)
    (["diff", "sin(2**x*x)", "--at", "20000", "--order", "1", "--digits", "5"],
     "at x=20000: no certified value: a ball still holds 0 and numbers up to 1.00 at 14336 bits"),
]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("args, message", BAD_DIGITS, ids=[" ".join(a) for a, _ in BAD_DIGITS])
def test_bad_digits_input_is_one_line_exit_2(gradcli, how, args, message):
    stdout, stderr, code = _run(gradcli, how, args, timeout=60)
    assert (code, stdout) == (2, "")
    assert stderr.count("\n") == 1 and stderr.startswith("gradcli: error: ")
    assert message in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("how", HOW)
def test_below_the_float64_range_is_signed_and_warned(gradcli, how):
    """f^(k) of log(x) at 1e300 is (-1)**(k-1) (k-1)!/1e300**k: -1e-600, 2e-900, -6e-1200
    from order 2 on, below float64's range: its nearest float64 with the sign, one warning
    that says so and suggests --digits, which prints them."""
    args = ["diff", "log(x)", "--at", "1e300", "--order", "4", "--format", "json"]
    stdout, stderr, code = _run(gradcli, how, args, timeout=60)
    assert code == 0
    ds = json.loads(stdout)["derivatives"]
    assert ds[:2] == [float(mp.log(mp.mpf(1e300))), 1e-300]
    assert [math.copysign(1, d) for d in ds[2:]] == [-1, 1, -1] and ds[2:] == [0, 0, 0]
    assert stderr == ("gradcli: warning: log(x): below the float64 range: the derivative of "
                      "order 2 is -0.0 at x=1e+300 (and orders 3, 4), the nearest float64 with "
                      "the right sign (0 or a subnormal, fewer than 13 digits); --digits D "
                      "prints the number\n")
    digits = gradcli("diff", "log(x)", "--at", "1e300", "--order", "4", "--digits", "5",
                     "--format", "json")
    assert json.loads(digits.stdout)["derivatives"][2:] == ["-1.0000e-600", "2.0000e-900",
                                                            "-6.0000e-1200"]


@pytest.mark.parametrize("flags, reference", [
    ([], "arb"), (["--reference", "arb"], "arb"), (["--symbolic"], "sympy"),
    (["--reference", "sympy"], "sympy")])
def test_check_reference_is_arb_unless_sympy_is_asked_for(gradcli, flags, reference):
    result = gradcli("check", "exp(sin(x))/(1+x**2)", "--at", "0.5", "--order", "4", *flags,
                     "--format", "json")
    record = json.loads(result.stdout)
    assert result.exit_code == 0 and record["ok"] and record["reference"] == [reference] * 5
    exact = mp.taylor(lambda t: mp.exp(mp.sin(t)) / (1 + t ** 2), mp.mpf(0.5), 4)
    for k in range(5):   # either reference is the exact value to float64's last bit (0.5:
        # the float and the decimal SymPy takes are one number)
        assert abs(record["sympy"][k] - exact[k] * mp.factorial(k)) <= \
            2.3e-16 * abs(exact[k] * mp.factorial(k))


def test_taylor_keeps_the_derivatives_where_the_coefficients_underflow(gradcli):
    """f^(k) of exp at 0 is 1 at every order; c_k = 1/k! leaves float64's normal range at
    k = 171 and is 0.0 from 178 on. The table's f^(k) column was c_k * k!: 0.0 from there,
    silently. Now the derivatives are printed as computed and the coefficients are the
    nearest float64 of 1/k! (mpmath), with one warning."""
    result = gradcli("taylor", "exp(x)", "--at", "0", "--order", "200", "--format", "csv")
    assert result.exit_code == 0
    cs = [float(c) for c in result.stdout.splitlines()[1].split(",")[-201:]]
    for k in (0, 100, 170, 171, 175, 177, 178, 200):   # within 1e-13, or a subnormal's ulp
        exact = 1 / mp.factorial(k)
        assert abs(cs[k] - exact) <= max(1e-13 * exact, 5e-324), k
    assert result.stderr.startswith("gradcli: warning: exp(x): below the float64 range: the "
                                    "coefficient of order 171 is 8.05790039644312e-310 at x=0.0")
    table = gradcli("taylor", "exp(x)", "--at", "0", "--order", "200", "--format", "table")
    rows = [line.split("│")[1:4] for line in table.stdout.splitlines() if line.startswith("│")]
    assert [float(r[1]) for r in rows] == [1.0] * 201          # f^(k), k = 0..200


@pytest.mark.parametrize("text, at", [("2*pi", None), ("x/3+0.1", "0.1"), ("exp(x)*e", "1.1")])
def test_check_digits_takes_the_decimals_written_as_diff_digits_does(gradcli, text, at):
    """SPEC 6.1: with --digits the numbers written (and pi, e) are the exact ones, in check's
    reference as in diff's digits (check took float64's 2*pi: 6.2831853071795862320)."""
    where = ["--at", at] if at else []
    check = json.loads(gradcli("check", text, *where, "--order", "2", "--digits", "20",
                               "--format", "json").stdout)
    along = [] if at else ["--at", "x=1", "--wrt", "x"]
    diff = json.loads(gradcli("diff", text, *where, *along, "--order", "2", "--digits", "20",
                              "--format", "json").stdout)
    assert check["reference_digits"] == diff["derivatives"]
    mpmath.mp.dps = 40
    x = mpmath.mpf(at) if at else None   # mpf("0.1") is one tenth to 40 digits
    exact = {"2*pi": 2 * mpmath.pi, "x/3+0.1": x / 3 + mpmath.mpf("0.1") if x else None,
             "exp(x)*e": mpmath.exp(x) * mpmath.e if x else None}[text]
    assert mpmath.almosteq(mpmath.mpf(check["reference_digits"][0]), exact, rel_eps=1e-19)
