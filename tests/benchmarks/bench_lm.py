"""fit --opt lm on a 10-parameter model over 100,000 rows against scipy's curve_fit (issue 19).

Both run MINPACK's lmder from the same start to the same tolerances; curve_fit gets a
hand-written numpy model and Jacobian (the fastest a user would write), gradcli its compiled
program's value and exact Jacobian. Printed: the median time of each over REPEATS runs and
the ratio gradcli / curve_fit (target: within 2x), and that both reach the same answer.

    python tests/benchmarks/bench_lm.py [ROWS] [REPEATS]
"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gradcli as gc  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

# a baseline and three Gaussian peaks: 10 parameters
MODEL = "b0 + b1*exp(-(x-b2)**2/b3) + b4*exp(-(x-b5)**2/b6) + b7*exp(-(x-b8)**2/b9)"
TRUE = [1.0, 5.0, 2.0, 0.5, 3.0, 5.0, 1.0, 4.0, 8.0, 2.0]
START = [0.8, 4.5, 2.2, 0.6, 3.3, 4.8, 1.2, 3.6, 8.3, 1.7]
TOL = 10 * np.finfo(float).eps  # gradcli's ftol and xtol


def f(x, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9):
    return (b0 + b1 * np.exp(-(x - b2) ** 2 / b3) + b4 * np.exp(-(x - b5) ** 2 / b6)
            + b7 * np.exp(-(x - b8) ** 2 / b9))


def jac(x, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9):
    columns = [np.ones_like(x)]
    for a, c, w in ((b1, b2, b3), (b4, b5, b6), (b7, b8, b9)):
        d = x - c
        e = np.exp(-d * d / w)
        columns += [e, a * e * 2 * d / w, a * e * d * d / w ** 2]
    return np.stack(columns, axis=1)


def main(rows=100_000, repeats=5):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, rows)
    y = f(x, *TRUE) + rng.normal(0, 0.05, rows)
    data = {"x": x, "y": y}
    init = {f"b{i}": v for i, v in enumerate(START)}
    ours, theirs = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        result = gc.fit(MODEL, data, target="y", init=init)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        p, cov = curve_fit(f, x, y, p0=START, jac=jac, ftol=TOL, xtol=TOL)
        theirs.append(time.perf_counter() - t)
    a, b = statistics.median(ours), statistics.median(theirs)
    agree = np.max(np.abs(result.estimate - p) / np.abs(p))
    print(f"{rows} rows, 10 parameters, median of {repeats}:")
    print(f"  gradcli fit --opt lm   {a * 1e3:8.1f} ms  ({result.iterations} iterations, "
          f"{result.evaluations} evaluations)")
    print(f"  scipy curve_fit (jac)  {b * 1e3:8.1f} ms")
    print(f"  ratio gradcli/curve_fit {a / b:.2f}   (max relative difference of the answers "
          f"{agree:.1e})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
