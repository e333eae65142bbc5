"""Hints for what the language does not know: other languages' names for its functions, names
one typo away from a function, and number forms it does not read (0x10, 1_000, 1,5).

Decision (SPEC 6.2): the language has one name per function, so an expression reads the same
in every output and prints back to the text it came from; the names other languages use are
not accepted but suggested (``ln(x)`` -> did you mean 'log'?). An unknown name suggests the
nearest function only when it is close: one edit away (a letter missing, extra, wrong or two
letters swapped) for names of 3 to 5 letters, two edits for longer ones; names of one or two
letters are taken for a product (``a(x+1)``: write a*(...) to multiply).
"""
from __future__ import annotations

import re

# other languages' names (numpy, math, C, Mathematica, spreadsheets) -> gradcli's
ALIASES = {
    "ln": "log", "loge": "log", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arctan2": "atan2", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
    "fabs": "abs", "absolute": "abs", "power": "pow", "sgn": "sign",
    "signum": "sign", "maximum": "max", "minimum": "min", "fmax": "max", "fmin": "min",
    "expit": "sigmoid", "logistic": "sigmoid", "tgamma": "gamma", "gammaln": "lgamma",
    "loggamma": "lgamma", "lngamma": "lgamma", "psi": "digamma", "ceiling": "ceil",
    "clamp": "clip", "remainder": "mod", "step": "heaviside",
    "cosec": "csc", "cotan": "cot", "ctg": "cot", "tg": "tan", "rint": "round",
}
# names with no function of their own: how to write them
WRITE_INSTEAD = {
    "exp10": "write 10**x", "pow10": "write 10**x", "cbrt2": "write x**(1/3)",
    "fmod": "mod(x, y) is Python's % (the result has the sign of y); C's fmod has the sign of x",
    "trunc": "write sign(x)*floor(abs(x))", "factorial": "write gamma(x+1)",
    "asech": "write acosh(1/x)", "log1m": "write log1p(-x)", "logit": "write log(x/(1-x))",
    "sum": "write the terms with +", "mean": "write (a+b)/2",
}


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from a to b (optimal string
    alignment), for short names."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[-1]


def nearest(name: str, known) -> str | None:
    """The known name closest to ``name``, when it is close (see the module docstring)."""
    if len(name) < 3:
        return None
    import difflib  # ties broken by the longest matching blocks: sinn is sin, not sign or sinc

    allowed = 1 if len(name) <= 5 else 2
    lower = name.lower()
    scored = sorted((distance(lower, k), -difflib.SequenceMatcher(None, lower, k).ratio(), k)
                    for k in known)
    if scored and scored[0][0] <= allowed:
        return scored[0][2]
    return None


def unknown_function_hint(name: str, known) -> str | None:
    """The hint for a call of an unknown function ``name``, or None."""
    known = list(known)
    alias = ALIASES.get(name) or ALIASES.get(name.lower())
    if alias in known:
        return f"did you mean '{alias}'?"
    if name in WRITE_INSTEAD:
        return WRITE_INSTEAD[name]
    if name.lower() in known:
        return f"names are case-sensitive: did you mean '{name.lower()}'?"
    close = nearest(name, known)
    if close is not None:
        return f"did you mean '{close}'?"
    if len(name) <= 2:
        return f"write {name}*(...) to multiply"
    return "gradcli functions lists them"


def number_then_name(word: str) -> tuple[str, str] | None:
    """(message, hint) for ``word``, a number run together with letters, digits, '_' and '.',
    when it is a number form other languages read: 0x10, 0b101, 0o17, 1_000, 2e (an exponent
    without digits); None for anything else (2x: a product)."""
    prefix = word[:2].lower()
    if prefix in ("0x", "0b", "0o") and len(word) > 2:
        kind, base = {"0x": ("hexadecimal", 16), "0b": ("binary", 2), "0o": ("octal", 8)}[prefix]
        try:
            value = int(word[2:].replace("_", ""), base)
        except ValueError:
            return None
        return f"{kind} numbers are not part of the language", f"write {value} for {word}"
    if "_" in word and _DECIMAL.fullmatch(word.replace("_", "")):
        return ("'_' between digits is not part of the language",
                f"write {word.replace('_', '')} for {word}")
    if word[-1:] in ("e", "E") and _DECIMAL.fullmatch(word[:-1]):
        return (f"the exponent of '{word}' has no digits",
                f"write {word}3 for an exponent, or {word[:-1]}*e to multiply by e")
    return None


_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?")

