"""GradientTape tutorial: y = a*x**2 + b*x + c, its first and second derivative
at x = 0, and the gradients with respect to the watched constants a, b, c."""
import gradcli as gc

a, b, c = gc.constant(1.0), gc.constant(-2.0), gc.constant(1.0)
x = gc.Variable(0.0)

with gc.GradientTape() as outer:
    with gc.GradientTape() as inner:
        y = a * x ** 2 + b * x + c
    dy_dx = inner.gradient(y, x)
d2y_dx2 = outer.gradient(dy_dx, x)
print("dy/dx =", float(dy_dx))          # -2.0
print("d2y/dx2 =", float(d2y_dx2))      # 2.0

with gc.GradientTape() as tape:
    tape.watch([a, b, c])
    y = a * x ** 2 + b * x + c
dy_da, dy_db, dy_dc = tape.gradient(y, [a, b, c])
print("dy/da =", float(dy_da))          # 0.0
print("dy/db =", float(dy_db))          # 0.0
print("dy/dc =", float(dy_dc))          # 1.0
