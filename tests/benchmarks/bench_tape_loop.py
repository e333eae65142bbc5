"""The Keras-style tutorial loop against torch.optim's loop (issue 18), in one run.

Both minimize Rosenbrock (1-x)^2 + 100 (y-x^2)^2 from (-1.5, 2) with Adam (lr 1e-3)
for STEPS steps, each step written as its tutorial writes it:

    gradcli:  with gc.GradientTape() as tape: loss = f(x, y)
              opt.apply_gradients(zip(tape.gradient(loss, [x, y]), [x, y]))
    torch:    opt.zero_grad(); loss = f(x, y); loss.backward(); opt.step()

Prints each system's wall and CPU time (best of ROUNDS, the two run in turn; on a
loaded machine the CPU time is the steadier measure), the ratios torch / gradcli,
and the final points side by side (the same rule in float64: they agree to ~1e-12). Runs without
torch too, and says so. Usage: python tests/benchmarks/bench_tape_loop.py [steps]
"""
from __future__ import annotations

import sys
import time

import gradcli as gc

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
ROUNDS = 5
START = (-1.5, 2.0)


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def gradcli_loop(steps: int):
    x, y = gc.Variable(START[0]), gc.Variable(START[1])
    opt = gc.optimizers.Adam(lr=1e-3)
    variables = [x, y]
    for _ in range(steps):
        with gc.GradientTape() as tape:
            loss = rosenbrock(x, y)
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
    return float(x.numpy()), float(y.numpy())


def torch_loop(steps: int):
    import torch

    x = torch.tensor(START[0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(START[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x, y], lr=1e-3)
    for _ in range(steps):
        opt.zero_grad()
        loss = rosenbrock(x, y)
        loss.backward()
        opt.step()
    return float(x.detach()), float(y.detach())


def timed(fn, steps: int):
    """(wall seconds, CPU seconds of this process, result)."""
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn(steps)
    return time.perf_counter() - w0, time.process_time() - c0, result


def main() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    runs = {"gradcli": [], "torch": []}
    points = {}
    for _ in range(ROUNDS):  # alternating, so that both see the same load
        for name, fn in (("gradcli", gradcli_loop), ("torch", torch_loop)):
            if name == "torch" and torch is None:
                continue
            wall, cpu, points[name] = timed(fn, STEPS)
            runs[name].append((wall, cpu))
    print(f"{STEPS} Adam steps on Rosenbrock, Keras-style loop (best of {ROUNDS} rounds, "
          f"alternating; wall and CPU time)")
    best = {}
    for name, times in runs.items():
        if not times:
            continue
        wall, cpu = min(w for w, _ in times), min(c for _, c in times)
        best[name] = (wall, cpu)
        print(f"  {name:8s} wall {wall:6.3f} s ({1e6 * wall / STEPS:6.1f} us/step)  "
              f"cpu {cpu:6.3f} s ({1e6 * cpu / STEPS:6.1f} us/step)  end {points[name]}")
    if torch is None:
        print("  torch    not installed: no ratio (pip install torch to compare)")
        return
    print(f"  torch {torch.__version__}, one thread")
    (gw, gc_), (tw, tc) = best["gradcli"], best["torch"]
    print(f"  ratio    torch / gradcli = {tw / gw:.2f}x wall, {tc / gc_:.2f}x cpu")


if __name__ == "__main__":
    main()
