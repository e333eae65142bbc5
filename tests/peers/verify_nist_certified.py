"""Checks tests/data/nist against itself at 40 digits (not run by the tests: mpmath, ~5 min).

For each of the 27 NIST StRD problems: Gauss-Newton in mpmath at 40 significant digits, started
at the certified parameters, on the data as transcribed (Nelson's response is log(y), taken at
40 digits from its y column), with SymPy's derivatives of the model; then the residual sum of
squares and sqrt(RSS/(n-p) diag((J^T J)^-1)) at the solution. Printed per problem: the RSS at
the certified parameters relative to the certified RSS, the smallest LRE of the parameters,
standard deviations and RSS against the exact solution, and every certified value that is not
the 11-significant-digit rounding of it (none, last run):

    python tests/peers/verify_nist_certified.py [NAME ...]
"""
import csv
import json
import sys
from pathlib import Path

import mpmath as mp
import sympy as sp

mp.mp.dps = 40
NIST = Path(__file__).resolve().parents[1] / "data" / "nist"
PROBLEMS = json.loads((NIST / "problems.json").read_text())


def lre(got, certified) -> float:
    got, certified = mp.mpf(got), mp.mpf(repr(certified))
    return 40.0 if got == certified else float(-mp.log10(abs(got - certified) / abs(certified)))


def rounded(value) -> float:
    return float(mp.nstr(value, 11, strip_zeros=False))


def check(name: str) -> None:
    problem = PROBLEMS[name]
    rows = list(csv.DictReader(open(NIST / f"{name}.csv")))
    names = problem["params"]
    symbols = {c: sp.Symbol(c) for c in [*names, *rows[0]]}
    model = sp.sympify(problem["model"], locals={**symbols, "pi": sp.pi, "atan": sp.atan})
    columns = [c for c in rows[0] if c != problem["target"] and symbols[c] in model.free_symbols]
    args = [symbols[c] for c in [*names, *columns]]
    f = sp.lambdify(args, model, "mpmath")
    jac = [sp.lambdify(args, sp.diff(model, symbols[p]), "mpmath") for p in names]
    xs = [[mp.mpf(row[c]) for c in columns] for row in rows]
    ys = [mp.log(mp.mpf(row["y"])) if name == "Nelson" else mp.mpf(row[problem["target"]])
          for row in rows]

    def residuals(b):
        return [y - f(*b, *x) for x, y in zip(xs, ys)]

    b = [mp.mpf(repr(v)) for v in problem["certified"]]
    rss_certified_params = mp.fsum(r * r for r in residuals(b))
    for _ in range(30):
        a = mp.matrix([[d(*b, *x) for d in jac] for x in xs])
        step = mp.lu_solve(a.T * a, a.T * mp.matrix(residuals(b)))
        b = [v + step[i] for i, v in enumerate(b)]
        if max(abs(step[i] / b[i]) for i in range(len(b))) < mp.mpf(10) ** -30:
            break
    rss = mp.fsum(r * r for r in residuals(b))
    a = mp.matrix([[d(*b, *x) for d in jac] for x in xs])
    n, k = len(rows), len(b)
    cov = mp.inverse(a.T * a) * (rss / (n - k))
    stderr = [mp.sqrt(cov[i, i]) for i in range(k)]
    off = [(p, "value", rounded(v), c) for p, v, c in zip(names, b, problem["certified"])
           if rounded(v) != c]
    off += [(p, "stderr", rounded(v), c)
            for p, v, c in zip(names, stderr, problem["certified_stderr"]) if rounded(v) != c]
    if rounded(rss) != problem["certified_rss"]:
        off.append(("rss", "", rounded(rss), problem["certified_rss"]))
    relative = abs(rss_certified_params / mp.mpf(repr(problem["certified_rss"])) - 1)
    print(f"{name:9s} rows {n:3d}  RSS at the certified values {float(relative):.1e} relative;"
          f" LRE values {min(lre(v, c) for v, c in zip(b, problem['certified'])):.1f},"
          f" stderr {min(lre(v, c) for v, c in zip(stderr, problem['certified_stderr'])):.1f},"
          f" RSS {lre(rss, problem['certified_rss']):.1f}; not the rounding: {off or 'none'}",
          flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or PROBLEMS:
        check(name)
