"""Reference trajectories of optax.lion (float64), for tests/test_optimizer_rules.py. Not run
by the tests (optax and jax are not dependencies):

    pip install optax jax && python tests/peers/optax_lion_trajectories.py

prints LION_OPTAX: 200 updates of optax.lion(lr, b1=0.9, b2=0.99, weight_decay=wd) with the
gradient of the function computed by jax, every 20th point kept.
"""
import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402


def bowl(p):  # tests/test_optimizers.py's bowl
    return (p[0] - 3) ** 2 + 5 * (p[1] + 1) ** 2 + (p[2] - 0.5) ** 4


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


CASES = [("bowl", bowl, [0.0, 0.0, 0.0], 0.01, 0.0), ("bowl", bowl, [0.0, 0.0, 0.0], 0.01, 0.1),
         ("rosenbrock", rosenbrock, [-1.2, 1.0], 0.001, 0.0)]

print(f"# optax {optax.__version__}, jax {jax.__version__}, float64")
print("LION_OPTAX = [  # (function, start, lr, weight_decay, every 20th point of 200)")
for name, f, start, lr, wd in CASES:
    tx = optax.lion(lr, b1=0.9, b2=0.99, weight_decay=wd)
    p = jnp.array(start, dtype=jnp.float64)
    state, points = tx.init(p), []
    for k in range(1, 201):
        updates, state = tx.update(jax.grad(f)(p), state, p)
        p = optax.apply_updates(p, updates)
        if k % 20 == 0:
            points.append([float(v) for v in p])
    print(f"    ({name!r}, {start!r}, {lr!r}, {wd!r}, [")
    for point in points:
        print(f"        {point!r},")
    print("    ]),")
print("]")
