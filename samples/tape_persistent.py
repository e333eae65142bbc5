"""GradientTape tutorial: a persistent tape asked twice, y = x**2, z = y**2 at x = 3."""
import gradcli as gc

x = gc.constant(3.0)
with gc.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = x * x
    z = y * y
print("dz/dy =", float(tape.gradient(z, y)))    # 18.0
print("dz/dx =", float(tape.gradient(z, x)))    # 108.0
