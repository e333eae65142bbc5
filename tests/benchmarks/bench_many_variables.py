"""Many variables (issue 22, item 3): 10,000 Adam steps on the 100-dimensional Rosenbrock
function written out with 100 named variables, gradcli's run loop against optax and numpy.

    python tests/benchmarks/bench_many_variables.py [--steps 10000] [--repeats 3] [--dim 100]

Systems (each run from the same start, lr 1e-3, the same Adam constants):
- gradcli: parse + compile + ``training.descend.descend`` (the compiled one-point function
  on Python floats and the optimizer's float step), what `gradcli minimize` runs;
- optax, jitted step in a Python loop (``jax.jit`` of value_and_grad + update +
  apply_updates), float64, compile excluded (one warm-up step);
- optax, the whole loop in one ``jax.lax.fori_loop`` under jit, compile excluded;
- numpy by hand: the vectorized gradient and Adam formulas, a Python loop of steps.
optax/jax are optional (`pip install jax optax`); without them those rows say so. Each time
is the median of interleaved repeats; ratio = peer / gradcli (above 1: gradcli is faster).
The final losses are printed to show the runs agree.
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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    d, n, lr = args.dim, args.steps, args.lr
    systems = {"gradcli descend (parse+compile+run)": lambda: gradcli_run(d, n, lr),
               "numpy by hand, Python loop": lambda: numpy_run(d, n, lr)}
    try:
        loop, whole = optax_runs(d, n, lr)
        systems["optax, jitted step in a Python loop"] = loop
        systems["optax, whole loop in one jit"] = whole
    except ImportError:
        print("jax/optax not installed (pip install jax optax): no optax rows; the issue's "
              "figures were 177 ms (jitted step) and 7.2 ms (whole loop) against 432 ms")
    times = {name: [] for name in systems}
    losses = {}
    for _ in range(args.repeats):
        for name, fn in systems.items():
            t = time.perf_counter()
            losses[name] = fn()
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["gradcli descend (parse+compile+run)"])
    print(f"{n:,} Adam steps, {d}-dimensional Rosenbrock, {d} named variables; median of "
          f"{args.repeats} interleaved repeats; ratio = peer / gradcli")
    for name in systems:
        t = statistics.median(times[name])
        print(f"  {name:40s} {t * 1000:9.1f} ms {t / base:7.2f}x   final loss {losses[name]:.6g}")


if __name__ == "__main__":
    main()
