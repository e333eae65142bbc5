"""Hypothesis strategies shared by the tests: grammar-valid expression text.

``smooth_expressions`` builds expressions that are defined and smooth on all of
R (so any point is inside the domain): the binary ops, integer powers, and
functions applied to arguments kept inside their domains.
"""
from hypothesis import strategies as st

SMOOTH_UNARY = ["sin({})", "cos({})", "atan({})", "tanh({})", "sigmoid({})", "softplus({})",
                "exp(sin({}))", "sqrt(1+({})**2)", "log(2+cos({}))", "asinh({})",
                "cbrt(2+sin({}))", "log1p(({})**2)", "expm1(sin({}))", "sinh(atan({}))",
                "cosh(atan({}))", "asin(tanh({})/2)", "acos(tanh({})/2)",
                "log2(3+sin({}))", "log10(3+cos({}))", "atanh(tanh({})/2)",
                "acosh(2+({})**2)", "tan(atan({})/2)", "hypot({}, 1)", "atan2({}, 2)"]
BINARY = ["({}+{})", "({}-{})", "({}*{})", "({}/(1+({})**2))", "({}^2+{})", "(2**{}*{})"]


def smooth_expressions(variables=("x",), max_leaves=6):
    leaf = st.one_of(st.sampled_from(list(variables)),
                     st.integers(-3, 3).map(lambda n: f"({n})"),
                     st.sampled_from(["0.5", "1.25", "pi", "e"]))

    def extend(children):
        unary = st.builds(lambda f, a: f.format(a), st.sampled_from(SMOOTH_UNARY), children)
        binary = st.builds(lambda f, a, b: f.format(a, b) if f.count("{}") == 2 else f.format(a, b, b),
                           st.sampled_from(BINARY), children, children)
        power = st.builds(lambda a, n: f"({a})**{n}", children, st.integers(0, 4))
        return st.one_of(unary, binary, power)

    return st.recursive(leaf, extend, max_leaves=max_leaves)
