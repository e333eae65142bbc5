"""Many variables (issue 22, item 3): 10,000 Adam steps on the 100-dimensional Rosenbrock
function written out with 100 named variables, gradcli's run loop against optax, torch and numpy.

    python tests/benchmarks/bench_many_variables.py [--steps 10000] [--repeats 5] [--dim 100]

Systems (each run from the same start, lr 1e-3, the same Adam constants):
- gradcli descend: parse + compile + ``training.descend.descend`` (the vector point function:
  the sum's repeated terms as numpy slices, compiled/vector.py; Adam on the vector);
- gradcli minimize: ``gc.minimize(text, start, opt="adam", ...)``, what a user calls (and what
  `gradcli minimize` runs);
- gradcli jit: ``gc.minimize(..., jit=True)``, the loop fused and compiled by numba (the `jit`
  extra), every row kept (100 floats a step) as gc.minimize keeps them, and again keeping 21
  rows as `gradcli minimize --jit` does; its compile time is printed apart and excluded, as
  optax's is;
- optax, jitted step in a Python loop (``jax.jit`` of value_and_grad + update +
  apply_updates), float64, compile excluded (one warm-up step);
- optax, the whole loop in one ``jax.lax.fori_loop`` under jit, compile excluded;
- torch.optim.Adam with autograd on a float64 tensor, one thread (with --torch);
- numpy by hand: the vectorized gradient and Adam formulas, a Python loop of steps.
optax/jax, torch and numba are optional; without them those rows say so. Each time is the
median of interleaved repeats (a, b, c, a, b, c, ...), wall and CPU time of this process
(the machine is shared); ratio = peer / gradcli descend (above 1: gradcli is faster). The final losses are
printed to show the runs agree.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def rosenbrock_text(dim: int) -> tuple[str, list[str]]:
    names = [f"x{i:03d}" for i in range(dim)]
    terms = [f"100*({names[i + 1]}-{names[i]}**2)**2+(1-{names[i]})**2" for i in range(dim - 1)]
    return "+".join(terms), names


def start(dim: int) -> list[float]:
    return [-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]


def gradcli_run(dim, steps, lr):
    import gradcli as gc
    from gradcli.compiled.program import compile_expression
    from gradcli.optimizers import make
    from gradcli.training.descend import descend

    text, names = rosenbrock_text(dim)
    fg = compile_expression(gc.parse(text)).point_function()
    run = descend(fg, start(dim), make("adam", lr=lr), steps, tol=0.0, variables=names)
    return float(run.final[1])


def numpy_run(dim, steps, lr):
    x = np.array(start(dim))
    m, v = np.zeros(dim), np.zeros(dim)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for k in range(1, steps + 1):
        d = x[1:] - x[:-1] ** 2
        g = np.zeros(dim)
        g[:-1] += -400 * x[:-1] * d - 2 * (1 - x[:-1])
        g[1:] += 200 * d
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1 ** k)) / (np.sqrt(v / (1 - b2 ** k)) + eps)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def minimize_run(dim, steps, lr, jit=False):
    import gradcli as gc

    text, names = rosenbrock_text(dim)
    run = gc.minimize(text, dict(zip(names, start(dim))), opt="adam", lr=lr, steps=steps, tol=0.0,
                      jit=jit)
    return float(run.final[1]), getattr(run, "compile_seconds", 0.0), run.seconds


def torch_run(dim, steps, lr):
    import torch

    torch.set_num_threads(1)
    x = torch.tensor(start(dim), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(torch.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def optax_runs(dim, steps, lr):
    """(jitted step in a Python loop, whole loop jitted): callables returning the loss."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    def f(x):
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    opt = optax.adam(lr)

    @jax.jit
    def step(x, state):
        loss, g = jax.value_and_grad(f)(x)
        updates, state = opt.update(g, state, x)
        return optax.apply_updates(x, updates), state, loss

    @jax.jit
    def whole(x):
        def body(_, carry):
            x, state = carry
            g = jax.grad(f)(x)
            updates, state = opt.update(g, state, x)
            return optax.apply_updates(x, updates), state
        x, _ = jax.lax.fori_loop(0, steps, body, (x, opt.init(x)))
        return f(x)

    x0 = jnp.array(start(dim), dtype=jnp.float64)
    step(x0, opt.init(x0))[0].block_until_ready()  # compile
    whole(x0).block_until_ready()

    def loop():
        x, state = x0, opt.init(x0)
        for _ in range(steps):
            x, state, _ = step(x, state)
        return float(f(x))

    return loop, lambda: float(whole(x0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--torch", action="store_true", help="add torch.optim (slow: ~1.5 s a run)")
    args = parser.parse_args()
    d, n, lr = args.dim, args.steps, args.lr
    base = "gradcli descend (parse+compile+run)"
    systems = {base: lambda: gradcli_run(d, n, lr),
               "gradcli gc.minimize (the user's call)": lambda: minimize_run(d, n, lr)[0],
               "numpy by hand, Python loop": lambda: numpy_run(d, n, lr)}
    try:
        import numba  # noqa: F401

        compiled = []

        def fused():
            loss, compile_seconds, run_seconds = minimize_run(d, n, lr, jit=True)
            compiled.append(compile_seconds)
            return loss, run_seconds

        systems["gradcli jit=True (numba), run only"] = fused

        def fused_sparse():  # rows kept as `gradcli minimize` keeps them: ~20 of 10,000
            import gradcli as gc
            from gradcli.compiled.program import compile_expression
            from gradcli.optimizers import make
            from gradcli.training.fused import descend_fused

            text, names = rosenbrock_text(d)
            run = descend_fused(compile_expression(gc.parse(text), names), start(d),
                                make("adam", lr=lr), n, 0.0, keep=lambda k: k % 500 == 0)
            return float(run.final[1]), run.seconds

        systems["gradcli --jit, 21 rows kept, run only"] = fused_sparse
    except ImportError:
        compiled = None
        print("numba not installed (pip install 'gradcli[jit]'): no fused row")
    try:
        loop, whole = optax_runs(d, n, lr)
        systems["optax, jitted step in a Python loop"] = loop
        systems["optax, whole loop in one jit"] = whole
    except ImportError:
        print("jax/optax not installed (pip install jax optax): no optax rows; the issue's "
              "figures were 177 ms (jitted step) and 7.2 ms (whole loop) against 432 ms")
    if args.torch:
        systems["torch.optim.Adam + autograd, 1 thread"] = lambda: torch_run(d, n, lr)
    times = {name: [] for name in systems}
    cpu = {name: [] for name in systems}
    losses = {}
    for _ in range(args.repeats):
        for name, fn in systems.items():
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            spent, used = time.perf_counter() - t, time.process_time() - c
            if isinstance(out, tuple):  # (loss, the run's own wall time, compile excluded)
                out, spent = out
                used = spent
            losses[name] = out
            times[name].append(spent)
            cpu[name].append(used)
    reference, reference_cpu = statistics.median(times[base]), statistics.median(cpu[base])
    print(f"{n:,} Adam steps, {d}-dimensional Rosenbrock, {d} named variables; median of "
          f"{args.repeats} interleaved repeats; ratio = peer / gradcli descend, wall and CPU "
          f"time (jax's threads add CPU time)")
    for name in systems:
        t, c = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"  {name:42s} {t * 1000:9.1f} ms {t / reference:7.3f}x  CPU {c / reference_cpu:7.3f}x"
              f"   final loss {losses[name]:.6g}")
    if compiled:
        print(f"  (numba's compile of the fused loop: median {statistics.median(compiled):.2f} s, "
              f"once per expression and optimizer)")


if __name__ == "__main__":
    main()
