"""Benchmark: what the check of nan partial derivatives (gradcli/taylor/partials.py) costs.

    python tests/benchmarks/bench_nan_check.py [--points N] [--rounds R]

W3's compiled value_and_grad at N points (default 1,000,000, one thread) with the check and
without it (refine_nan_partials replaced by the identity), taken in turn (a, b, a, b, ...)
for R rounds, CPU time, medians and the ratio; then what a nan costs when there is one:
(x-x)*sqrt(x)+x at N points, half of them at 0 (one distinct point to check), and
x*sqrt(x-x) (nan at every point: the 256 distinct points the check takes, the rest left).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("GRADCLI_THREADS", "1")

import numpy as np  # noqa: E402

import gradcli as gc  # noqa: E402
from gradcli.compiled import program as program_module  # noqa: E402
from gradcli.compiled.program import compile_expression  # noqa: E402
from gradcli.compiled.tuning import tune_process  # noqa: E402

W3 = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"


def cpu(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    tune_process()
    xs = np.linspace(-5.0, 5.0, args.points)
    program = compile_expression(gc.parse(W3))
    checked = program_module.refine_nan_partials

    def unchecked(expression, env, value, grads, wrt):
        return grads

    def run(check):
        program_module.refine_nan_partials = check
        try:
            return cpu(lambda: program.value_and_grad({"x": xs}))
        finally:
            program_module.refine_nan_partials = checked

    run(checked)
    with_check, without = [], []
    for _ in range(args.rounds):
        with_check.append(run(checked))
        without.append(run(unchecked))
    ratios = [a / b for a, b in zip(with_check, without)]
    print(f"W3 value_and_grad at {args.points:,} points, one thread, CPU ms (median of "
          f"{args.rounds} alternating rounds)")
    print(f"  without the check  {statistics.median(without) * 1e3:8.1f}")
    print(f"  with the check     {statistics.median(with_check) * 1e3:8.1f}   ratio "
          f"{statistics.median(ratios):.3f} (rounds {min(ratios):.3f} .. {max(ratios):.3f})")
    positive = np.linspace(1.0, 2.0, args.points)
    half = np.where(np.arange(args.points) % 2 == 0, 0.0, positive)
    with np.errstate(all="ignore"):
        for text, points, what in (("(x-x)*sqrt(x)+x", half, "half the points at 0"),
                                   ("x*sqrt(x-x)", positive, "nan at every point")):
            p = compile_expression(gc.parse(text))
            program_module.refine_nan_partials = unchecked
            bare = cpu(lambda: p.value_and_grad({"x": points}), 3)
            program_module.refine_nan_partials = checked
            full = cpu(lambda: p.value_and_grad({"x": points}), 3)
            left = int(np.isnan(p.value_and_grad({"x": points})[1]).sum())
            print(f"  {text:18s} ({what}): {bare * 1e3:7.1f} ms without, {full * 1e3:7.1f} "
                  f"ms with the check ({left:,} nan left)")


if __name__ == "__main__":
    main()
