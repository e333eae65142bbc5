"""Speed of the special functions: f' and f'' of erf(x)*gamma(x/3+2) at 1,000,000 points,
gradcli's compiled program against the same derivatives written by hand with scipy.special
(issue 17: within 1.5x), and the one-point function against scipy on floats.

    python tests/benchmarks/bench_special.py [--repeats 7] [--points 1000000]

Prints one line per system, the ratio to the hand-written scipy formulas beside it.
"""
from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import special

import gradcli as gc
from gradcli.compiled.program import compile_expression
from bench_peers import median_time  # (this folder is on sys.path when run as a script)

TEXT = "erf(x)*gamma(x/3+2)"
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def hand_first(x):
    """f'(x) = g (erf'(x) + erf(x) psi(u)/3), u = x/3 + 2, g = gamma(u)."""
    u = x / 3 + 2
    g, p = special.gamma(u), special.psi(u)
    d = TWO_OVER_SQRT_PI * np.exp(-x * x)
    return g * (d + special.erf(x) * p / 3)


def hand_second(x):
    """f''(x) = g (erf'' + 2 erf' psi/3 + erf (psi**2 + psi')/9)."""
    u = x / 3 + 2
    g, p, p1 = special.gamma(u), special.psi(u), special.polygamma(1, u)
    d = TWO_OVER_SQRT_PI * np.exp(-x * x)
    return g * (-2 * x * d + 2 * d * p / 3 + special.erf(x) * (p * p + p1) / 9)


def interleaved(fns, repeats):
    """Median times of the functions, measured in turns (load changes hit all alike)."""
    runs = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            runs[i].append(median_time(fn, 1))
    return [sorted(r)[len(r) // 2] for r in runs]


def report(title, rows, repeats):
    print(f"\n{title}")
    times = interleaved([fn for _, fn in rows], repeats)
    floor = times[0]
    for (name, _), t in zip(rows, times):
        shown = f"{t * 1e3:9.2f} ms" if t > 1e-3 else f"{t * 1e6:9.2f} us"
        print(f"  {name:<48} {shown}   {t / floor:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    xs = np.linspace(-3.0, 3.0, args.points)
    expr = gc.parse(TEXT)
    program = compile_expression(expr)
    env = {"x": xs}
    d1 = program.value_and_grad(env)[1][:, 0]
    d2 = program.hessian(env)[:, 0, 0]
    for got, want in ((d1, hand_first(xs)), (d2, hand_second(xs))):  # the same numbers
        assert np.max(np.abs(got - want) / (1 + np.abs(want))) < 1e-13
    print(f"{TEXT} at {args.points:,} points in [-3, 3]; ratio to the hand-written scipy formulas")
    report("f'", [("hand-written scipy.special f'", lambda: hand_first(xs)),
                  ("gradcli compiled program value_and_grad", lambda: program.value_and_grad(env)),
                  ("gradcli derivatives order 1 (Taylor)", lambda: expr.derivatives("x", 1, xs))],
           args.repeats)
    report("f''", [("hand-written scipy.special f''", lambda: hand_second(xs)),
                   ("gradcli compiled program hessian", lambda: program.hessian(env)),
                   ("gradcli derivatives order 2 (Taylor)", lambda: expr.derivatives("x", 2, xs))],
           args.repeats)
    point = program.point_function()
    p = [0.7]
    report("one point (f, f')", [
        ("scipy.special on one float, by hand", lambda: (
            float(special.erf(0.7) * special.gamma(0.7 / 3 + 2)), hand_first(np.float64(0.7)))),
        ("gradcli one-point function (floats)", lambda: point.floats(p)),
        ("gradcli one-point function (array)", lambda: point(np.array(p)))], args.repeats)


if __name__ == "__main__":
    main()
