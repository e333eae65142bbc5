"""The Keras-style tutorial loop against torch.optim's loop (issue 18), in one run.

Both minimize Rosenbrock (1-x)^2 + 100 (y-x^2)^2 from (-1.5, 2) with Adam (lr 1e-3)
for STEPS steps, each step written as its tutorial writes it:

    gradcli:  with gc.GradientTape() as tape: loss = f(x, y)
              opt.apply_gradients(zip(tape.gradient(loss, [x, y]), [x, y]))
    torch:    opt.zero_grad(); loss = f(x, y); loss.backward(); opt.step()

Prints each system's time (best of ROUNDS, the two run in turn) and the ratio torch / gradcli, and the final
points side by side (the same rule in float64: they agree to ~1e-12). Runs without
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
    t0 = time.perf_counter()
    result = fn(steps)
    return time.perf_counter() - t0, result


def main() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    g_times, t_times, g_point, t_point = [], [], None, None
    for _ in range(ROUNDS):  # alternating, so that both see the same load
        g, g_point = timed(gradcli_loop, STEPS)
        g_times.append(g)
        if torch is not None:
            t, t_point = timed(torch_loop, STEPS)
            t_times.append(t)
    g_time = min(g_times)
    print(f"{STEPS} Adam steps on Rosenbrock, Keras-style loop (best of {ROUNDS}, alternating)")
    print(f"  gradcli  {g_time:7.3f} s  {1e6 * g_time / STEPS:6.1f} us/step  end {g_point}")
    if torch is None:
        print("  torch    not installed: no ratio (pip install torch to compare)")
        return
    t_time = min(t_times)
    print(f"  torch    {t_time:7.3f} s  {1e6 * t_time / STEPS:6.1f} us/step  end {t_point}"
          f"  (torch {torch.__version__}, one thread)")
    print(f"  ratio    torch / gradcli = {t_time / g_time:.2f}x")


if __name__ == "__main__":
    main()
