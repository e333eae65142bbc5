"""gc.parse: derivatives 1..3 of x**4+2*x**3-3*x**2+4*x-5 at x = 2 (and at 0,
where TensorFlow's nested tapes return nan for orders 3 to 5)."""
import gradcli as gc

f = gc.parse("x**4+2*x**3-3*x**2+4*x-5")
values = f.derivatives("x", order=3, at=2)
for k in (1, 2, 3):
    print(f"d{k}f/dx{k} at 2 =", float(values[k]))     # 48.0, 66.0, 60.0
at_zero = f.derivatives("x", order=5, at=0)
print("orders 3..5 at 0 =", [float(v) for v in at_zero[3:]])   # [12.0, 24.0, 0.0]
