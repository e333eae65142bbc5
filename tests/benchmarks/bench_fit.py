"""Benchmark: 1000 full-batch epochs of a 3-parameter model on 100,000 rows.

    python tests/benchmarks/bench_fit.py [--rows N] [--epochs E] [--repeats R]

gradcli's fit (``gradcli.training.fit.Fitter``: the compiled program's value_and_vjp for the
loss and gradient, the SGD update, the history kept) against two loops computing the
same gradient of the same mean squared error of a*x + b*z + c with the same SGD steps:

- numpy: hand-written, f = a*x + b*z + c; r = f - y; loss = r.r/n;
  grad = (2/n) (r.x, r.z, sum r) -- the floor (target: gradcli within 1.5x);
- torch (when installed): float64 tensors, autograd's backward() and torch.optim.SGD.

Each timing is the median of R repeats, the methods interleaved so that the shared
machine's noise hits them alike; ratios are to the numpy loop of the same run. The
final parameters of every method are checked against the numpy loop's. Everything runs
on one thread (BLAS and torch; ``--threads`` to change it), which is what numpy's
elementwise operations use anyway and keeps the figures steady on a shared machine.

Then where one gradcli epoch goes (best of many calls, microseconds): the compiled
program's value_and_vjp, the MSE around it (seed f - y, the loss, the 2/n), the
optimizer's update, against one epoch of the numpy loop.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from pathlib import Path


def _threads_from_argv(default: str = "1") -> str:
    if "--threads" in sys.argv[:-1]:
        return sys.argv[sys.argv.index("--threads") + 1]
    return default


for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, _threads_from_argv())  # before numpy loads BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import gradcli as gc  # noqa: E402
from gradcli.training.dataset import Dataset  # noqa: E402
from gradcli.training.fit import Fitter  # noqa: E402
from gradcli.optimizers import make  # noqa: E402
from gradcli.compiled.tuning import tune_process  # noqa: E402

tune_process()  # this process is the benchmark's, as the CLI's is the CLI's

LR = 0.1
TRUE = (1.5, -0.7, 0.3)


def make_data(rows: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(-2, 2, rows), rng.uniform(-1, 3, rows)
    y = TRUE[0] * x + TRUE[1] * z + TRUE[2] + rng.normal(0, 0.1, rows)
    return Dataset(["x", "z", "y"], {"x": x, "z": z, "y": y})


def run_gradcli(data: Dataset, epochs: int):
    fitter = Fitter(gc.parse("a*x+b*z+c"), data, "y", make("sgd", lr=LR), tol=0)
    fitter.run(epochs)
    return fitter.fit.path[-1], fitter.fit.loss


def run_numpy(data: Dataset, epochs: int):
    x, z, y = data.data["x"], data.data["z"], data.data["y"]
    n = len(y)
    p = np.zeros(3)
    losses = []
    for _ in range(epochs + 1):
        a, b, c = p
        r = a * x + b * z + c - y
        losses.append(float(r @ r) / n)
        g = (2.0 / n) * np.array([r @ x, r @ z, r.sum()])
        if len(losses) <= epochs:
            p = p - LR * g
    return p, losses[-1]


def run_torch(data: Dataset, epochs: int):
    import torch

    x, z, y = (torch.from_numpy(data.data[k]) for k in ("x", "z", "y"))
    a, b, c = (torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in range(3))
    opt = torch.optim.SGD([a, b, c], lr=LR)
    loss = None
    for k in range(epochs + 1):
        opt.zero_grad()
        loss = torch.mean((a * x + b * z + c - y) ** 2)
        if k == epochs:
            break
        loss.backward()
        opt.step()
    return np.array([a.item(), b.item(), c.item()]), loss.item()


def breakdown(data: Dataset) -> None:
    """Microseconds per call of each part of a gradcli epoch, and of a numpy-loop epoch."""
    from gradcli.training.fit import MeanSquaredError

    x, z, y = data.data["x"], data.data["z"], data.data["y"]
    n = len(y)
    mse = MeanSquaredError(gc.parse("a*x+b*z+c"), {"x": x, "z": z}, y, ["a", "b", "c"])
    p = np.array([0.5, 0.1, 0.2])
    env = {"x": x, "z": z, "a": 0.5, "b": 0.1, "c": 0.2}
    opt = make("sgd", lr=LR)
    g = np.array([0.1, 0.2, 0.3])

    def numpy_epoch():
        r = p[0] * x + p[1] * z + p[2] - y
        return float(r @ r) / n, (2.0 / n) * np.array([r @ x, r @ z, r.sum()])

    def best(fn, number=100, repeat=15):
        return 1e6 * min(timeit.repeat(fn, number=number, repeat=repeat)) / number

    parts = [
        ("program.value_and_vjp", best(lambda: mse.program.value_and_vjp(env, lambda f: f - y))),
        ("MSE loss_and_grad", best(lambda: mse.loss_and_grad(p))),
        ("optimizer update", best(lambda: opt.update(p, g))),
        ("numpy loop epoch", best(numpy_epoch)),
    ]
    print(f"one epoch on {n:,} rows, best of 15x100 calls:")
    for name, us in parts:
        print(f"  {name:<24} {us:9.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    args = parser.parse_args()
    data = make_data(args.rows)
    methods = {"gradcli fit": run_gradcli, "numpy loop": run_numpy}
    try:
        import torch

        torch.set_num_threads(args.threads)
        methods[f"torch {torch.__version__} loop"] = run_torch
    except ImportError:
        print("(torch is not installed: no torch loop)")
    times: dict[str, list[float]] = {name: [] for name in methods}
    results = {}
    for _ in range(args.repeats):
        for name, run in methods.items():
            start = time.perf_counter()
            results[name] = run(data, args.epochs)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["numpy loop"])
    reference, reference_loss = results["numpy loop"]
    print(f"{args.epochs} full-batch SGD epochs (lr {LR}) of a*x+b*z+c on {args.rows:,} rows; "
          f"median of {args.repeats}")
    print(f"{'method':<22} {'seconds':>9} {'ms/epoch':>9} {'ratio':>7}  max |p - p_numpy|")
    for name in methods:
        t = statistics.median(times[name])
        p, loss = results[name]
        error = float(np.max(np.abs(np.asarray(p) - reference)))
        print(f"{name:<22} {t:9.3f} {1000 * t / args.epochs:9.3f} {t / floor:7.2f}  {error:.1e}")
        assert error < 1e-9 and abs(loss - reference_loss) <= 1e-9 * reference_loss, name
    ratio = statistics.median(times["gradcli fit"]) / floor
    print(f"gradcli / numpy = {ratio:.2f} (target <= 1.5): {'met' if ratio <= 1.5 else 'NOT met'}")
    breakdown(data)


if __name__ == "__main__":
    main()
