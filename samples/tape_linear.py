"""GradientTape tutorial: y = w*x + b at w = 3, b = 1, x = 2; gradients w.r.t. w and b."""
import gradcli as gc

w, b = gc.Variable(3.0), gc.Variable(1.0)
x = gc.constant(2.0)
with gc.GradientTape() as tape:
    y = w * x + b
dy_dw, dy_db = tape.gradient(y, [w, b])
print("y =", float(y))                  # 7.0
print("dy/dw =", float(dy_dw))          # 2.0
print("dy/db =", float(dy_db))          # 1.0
