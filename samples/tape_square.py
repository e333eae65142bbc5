"""GradientTape tutorial: y = x**2 at x = 3."""
import gradcli as gc

x = gc.Variable(3.0)
with gc.GradientTape() as tape:
    y = x ** 2
print("y =", float(y))                          # 9.0
print("dy/dx =", float(tape.gradient(y, x)))    # 6.0
