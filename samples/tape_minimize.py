"""GradientTape tutorial: minimizing with SGD and Adam through the Keras-style optimizer API.

SGD: y = x**2 - 2*x + 1 from x = 0, learning rate 0.01, 1000 steps with apply_gradients
(float64, then float32 as TensorFlow computes it). Adam: (x - 50)**2 from x = 3, learning
rate 1, 200 steps with minimize(loss_fn, var_list). Then gc.clip_by_global_norm.
"""
import gradcli as gc

for dtype in ("float64", "float32"):
    x = gc.Variable(0.0, dtype=dtype)
    opt = gc.optimizers.SGD(learning_rate=0.01)
    for _ in range(1000):
        with gc.GradientTape() as tape:
            y = x ** 2 - 2 * x + 1
        grads = tape.gradient(y, [x])
        opt.apply_gradients(zip(grads, [x]))
    print(f"SGD {dtype}: x =", float(x.numpy()))      # 0.9999999983170326; float32 0.999998569...

x = gc.Variable(3.0)
opt = gc.optimizers.Adam(learning_rate=1.0)
for step in range(1, 201):
    opt.minimize(lambda: (x - 50.0) ** 2, [x])
    if step in (1, 10, 200):
        print(f"Adam step {step}: x = {float(x.numpy()):.10f}")  # 3.9999999999, ..., 50.0027357131

clipped, norm = gc.clip_by_global_norm([gc.constant([3.0, 4.0]), gc.constant(12.0)], 6.5)
print("global norm =", float(norm))                                # 13.0
print("clipped =", [c.numpy().tolist() for c in clipped])           # [[1.5, 2.0], 6.0]
