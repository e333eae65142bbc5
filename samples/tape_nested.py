"""GradientTape tutorial: nested tapes give the second derivative of x**3 at 3."""
import gradcli as gc

x = gc.Variable(3.0)
with gc.GradientTape() as outer:
    with gc.GradientTape() as inner:
        y = x ** 3
    dy_dx = inner.gradient(y, x)
d2y_dx2 = outer.gradient(dy_dx, x)
print("dy/dx =", float(dy_dx))          # 27.0
print("d2y/dx2 =", float(d2y_dx2))      # 18.0
