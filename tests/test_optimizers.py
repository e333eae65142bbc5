"""Optimizers (SPEC sections 2 `minimize` and 3): published numbers, a naive oracle, torch.

Three independent checks of gradcli.optimizers (base.py, rules.py, float_step.py):
- the test vectors of /work/shared/reference/optimizers.md section 1.13 and the
  figures computed there, to the digits printed;
- every optimizer, in both compat modes and with weight decay, maximize, each
  schedule and each clipping, step by step against ``naive_run`` below: the
  published formulas written out again on scalar Python floats, one coordinate
  at a time, with the defaults copied from the reference's table;
- torch.optim itself, when torch is importable.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O

# The rules this file checks against naive formulas and torch's recorded iterates; the
# later ones (radam, rprop, adadelta, asgd, lion) are checked in test_optimizer_rules.py.
RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam")


def quadratic_grad(x):
    """f = (x - 50)**2, the reference's one-variable problem; f' = 2 * (x - 50)."""
    return 2.0 * (x - 50.0)


def trajectory(opt, steps, x0=3.0, grad=quadratic_grad):
    x, out = np.array([x0]), []
    for _ in range(steps):
        x = opt.update(x, grad(x))
        out.append(float(x[0]))
    return out


# -- the reference's numbers ---------------------------------------------------------------
# (optimizer, keywords, {step: value as printed}); tolerance half a unit of the last digit
PUBLISHED = [
    ("adam", {"lr": 1.0}, {1: "3.9999999999", 10: "12.9182579758", 200: "50.0027357131"}),
    ("adam", {"lr": 1.0, "compat": "keras"},
     {1: "3.9999999664", 10: "12.9182578042", 200: "50.0027357130"}),
    ("adam", {"lr": 1.0, "amsgrad": True}, {200: "50.0023890"}),
    ("momentum", {"lr": 0.01}, {1: "3.94", 2: "5.7072", 200: "50.0000971271"}),
    ("momentum", {"lr": 0.01, "compat": "keras"}, {1: "3.94", 2: "5.7072", 200: "50.0000971271"}),
    ("nesterov", {"lr": 0.01}, {1: "4.786", 2: "7.265532"}),
    ("nesterov", {"lr": 0.01, "compat": "keras"}, {1: "4.786", 2: "7.265532"}),
    ("sgd", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5}, {2: "5.2466"}),
    ("sgd", {"lr": 0.01}, {200: "49.1733665095"}),
    ("rmsprop", {"lr": 0.1}, {1: "4.0", 200: "30.52"}),
    ("rmsprop", {"lr": 0.1, "compat": "keras"}, {1: "3.3162", 200: "23.44"}),
    ("nadam", {"lr": 1.0}, {1: "4.0565", 10: "10.843", 200: "50.00014"}),
    ("nadam", {"lr": 1.0, "compat": "keras"}, {1: "4.0628", 10: "10.584", 200: "49.99919"}),
]


def _printed(text):
    """pytest.approx for a number as printed: within half a unit of its last digit."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return pytest.approx(float(text), abs=0.5 * 10.0 ** -decimals)


@pytest.mark.parametrize("name, kw, expected", PUBLISHED,
                         ids=[f"{n}-{kw.get('compat', 'torch')}-{i}"
                              for i, (n, kw, _) in enumerate(PUBLISHED)])
def test_published_iterates_on_x_minus_50_squared(name, kw, expected):
    xs = trajectory(O.make(name, **kw), max(expected))
    for step, text in expected.items():
        assert xs[step - 1] == _printed(text), f"x{step}"


def test_sgd_is_the_closed_form_50_minus_47_times_0_98_to_the_t():
    xs = trajectory(O.make("sgd", lr=0.01), 200)
    assert xs == pytest.approx([50 - 47 * 0.98 ** t for t in range(1, 201)], rel=1e-13)


def test_rmsprop_torch_first_step_is_4_up_to_epsilon_outside_the_root():
    # |g| / (sqrt(v) + eps) with v = 0.01 g**2: the step is 0.1 * 10 / (1 + 1e-8/9.4)
    assert trajectory(O.make("rmsprop", lr=0.1), 1)[0] == pytest.approx(3 + 1 / (1 + 1e-8 / 9.4),
                                                                        rel=1e-15)


def test_keras_rmsprop_docstring_one_step_from_10_is_9_683772():
    opt = O.RMSprop(lr=0.1, compat="keras")
    var = opt.update(np.array(10.0), np.array(10.0))  # loss = var**2 / 2
    assert float(var) == _printed("9.683772")


def test_optax_adagrad_docstring_objectives_on_sum_of_squares():
    opt = O.Adagrad(lr=1.0, compat="keras")  # accumulator 0.1, eps 1e-7 inside the root
    params, printed = np.array([1.0, 2.0, 3.0]), []
    for _ in range(5):
        params = opt.update(params, 2 * params)
        printed.append(f"{np.sum(params ** 2):.2E}")
    assert printed == ["5.01E+00", "2.40E+00", "1.25E+00", "6.86E-01", "3.85E-01"]


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@pytest.mark.parametrize("name, lr, steps, x, y, f", [
    ("adam", 0.01, 200, "-1.00590184", "1.01812544", "4.0276"),
    ("adam", 0.01, 5000, "0.99997828", "0.99995649", None),
    ("sgd", 0.001, 5000, "0.93872641", "0.88095291", None),
])
def test_rosenbrock_from_minus_1_2_and_1(name, lr, steps, x, y, f):
    start = np.array([-1.2, 1.0])
    assert rosenbrock(start) == pytest.approx(24.2)
    assert rosenbrock_grad(start) == pytest.approx([-215.6, -88.0])
    opt, p = O.make(name, lr=lr), start
    for _ in range(steps):
        p = opt.update(p, rosenbrock_grad(p))
    assert (p[0], p[1]) == (_printed(x), _printed(y))
    if f is not None:
        assert rosenbrock(p) == _printed(f)
    elif name == "adam":
        assert rosenbrock(p) == pytest.approx(4.72e-10, abs=0.005e-10)
    else:
        assert rosenbrock(p) == pytest.approx(3.76e-3, abs=0.005e-3)


def test_sgd_on_x2_minus_2x_plus_1_float64():
    opt, x = O.SGD(lr=0.01), np.array(0.0)
    for _ in range(1000):
        x = opt.update(x, 2 * x - 2)
    assert float(x) == 0.9999999983170326


def test_sgd_on_x2_minus_2x_plus_1_float32_as_tensorflow_prints():
    # TensorFlow: g = 2*x - 2 and x - lr*g, each operation rounded to float32. One fused
    # multiply-add per step (x - lr*g rounded once) would end at 0.99999851 instead.
    opt, x = O.SGD(lr=0.01, dtype=np.float32), np.float32(0.0)
    for _ in range(1000):
        x = opt.update(x, np.float32(2) * x - np.float32(2))
    assert x.dtype == np.float32
    assert f"{x:.9g}" == "0.999998569"
    assert float(x) == 0.9999985694885254


def test_float32_through_variable_and_tape_as_tensorflow_prints():
    x = gc.Variable(0.0, dtype="float32")
    opt = O.SGD(lr=0.01)
    for _ in range(1000):
        opt.minimize(lambda: x ** 2 - 2 * x + 1, [x])
    assert x.dtype == np.float32 and f"{x.numpy():.9g}" == "0.999998569"


def test_float32_mode_keeps_every_optimizer_in_float32_and_near_float64():
    for name in RULES:
        x64 = trajectory(O.make(name, lr=0.05), 30)
        opt, x = O.make(name, lr=0.05, dtype="float32"), np.array([3.0], dtype=np.float32)
        for _ in range(30):
            x = opt.update(x, (np.float32(2) * (x - np.float32(50))))
            assert x.dtype == np.float32, name
        assert float(x[0]) == pytest.approx(x64[-1], rel=1e-5), name


# -- the naive oracle ----------------------------------------------------------------------
# Defaults copied from the reference's table (section 1.1), not from the module.
NAIVE_DEFAULTS = {
    "torch": {"sgd": dict(lr=1e-3), "adagrad": dict(lr=1e-2, eps=1e-10, acc0=0.0),
              "rmsprop": dict(lr=1e-2, rho=0.99, eps=1e-8), "adam": dict(lr=1e-3, eps=1e-8),
              "adamw": dict(lr=1e-3, eps=1e-8, weight_decay=1e-2),
              "adamax": dict(lr=2e-3, eps=1e-8), "nadam": dict(lr=2e-3, eps=1e-8, psi=4e-3)},
    "keras": {"sgd": dict(lr=0.01), "adagrad": dict(lr=1e-3, eps=1e-7, acc0=0.1),
              "rmsprop": dict(lr=1e-3, rho=0.9, eps=1e-7), "adam": dict(lr=1e-3, eps=1e-7),
              "adamw": dict(lr=1e-3, eps=1e-7, weight_decay=0.004),
              "adamax": dict(lr=1e-3, eps=1e-7), "nadam": dict(lr=1e-3, eps=1e-7, psi=1.0)},
}


def naive_schedule(text, lr, k):
    kind, *a = text.split(":")
    if kind == "exp":
        return lr * float(a[0]) ** k
    if kind == "step":
        return lr * float(a[1]) ** math.floor(k / int(a[0]))
    if kind == "cosine":
        return lr / 2 * (1 + math.cos(math.pi * min(k, int(a[0])) / int(a[0])))
    return lr / (1 + float(a[0]) * k)


def naive_run(name, compat, grad, x0, steps, schedule=None, clip_norm=None, clip_value=None,
              maximize=False, **hp):
    """The iterates x_1..x_steps, from the formulas, on Python floats, coordinate by coordinate."""
    base = "sgd" if name in ("momentum", "nesterov") else name
    hp = {**{"weight_decay": 0.0}, **NAIVE_DEFAULTS[compat][base], **hp}
    if name in ("momentum", "nesterov"):
        hp.setdefault("momentum", 0.9)
        hp["nesterov"] = name == "nesterov"
    b1, b2 = hp.get("betas", (0.9, 0.999))
    lr0, wd, eps = hp["lr"], hp["weight_decay"], hp.get("eps")
    mu_mom, damp = hp.get("momentum", 0.0), hp.get("dampening", 0.0)
    x = [float(v) for v in x0]
    n = len(x)
    m, v, u, vmax, buf, gbar = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    acc = [hp.get("acc0", 0.0)] * n
    prod, out = 1.0, []
    for k in range(steps):
        t = k + 1
        g = [float(gi) for gi in grad(np.array(x))]
        norm = math.sqrt(sum(gi * gi for gi in g))
        if clip_value is not None:
            g = [min(max(gi, -clip_value), clip_value) for gi in g]
        if clip_norm is not None:
            g = [gi * clip_norm / max(norm, clip_norm) for gi in g]
        if maximize:
            g = [-gi for gi in g]
        lr = naive_schedule(schedule, lr0, k) if schedule else lr0
        if base == "nadam":
            psi = hp["psi"]
            mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
            mu_t1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod *= mu_t
        for i in range(n):
            xi, gi = x[i], g[i]
            if wd and compat == "keras":
                xi = xi - lr * wd * xi  # decoupled, before the rule, every optimizer
            elif wd and base == "adamw":
                xi = xi - lr * wd * xi
            elif wd:
                gi = gi + wd * xi  # L2 in the gradient
            if base == "sgd" and mu_mom == 0:
                xi = xi - lr * gi
            elif base == "sgd" and compat == "torch":
                buf[i] = gi if t == 1 else mu_mom * buf[i] + (1 - damp) * gi
                xi = xi - lr * (gi + mu_mom * buf[i] if hp.get("nesterov") else buf[i])
            elif base == "sgd":
                buf[i] = mu_mom * buf[i] - lr * gi
                xi = xi + (mu_mom * buf[i] - lr * gi if hp.get("nesterov") else buf[i])
            elif base == "adagrad":
                acc[i] += gi ** 2
                den = math.sqrt(acc[i]) + eps if compat == "torch" else math.sqrt(acc[i] + eps)
                xi = xi - lr * gi / den
            elif base == "rmsprop":
                rho = hp["rho"]
                v[i] = rho * v[i] + (1 - rho) * gi ** 2
                var = v[i]
                if hp.get("centered"):
                    gbar[i] = rho * gbar[i] + (1 - rho) * gi
                    var = v[i] - gbar[i] ** 2
                if compat == "torch":
                    d = gi / (math.sqrt(var) + eps)
                    if mu_mom:
                        buf[i] = mu_mom * buf[i] + d
                        d = buf[i]
                    xi = xi - lr * d
                else:
                    d = lr * gi / math.sqrt(var + eps)
                    if mu_mom:
                        buf[i] = mu_mom * buf[i] + d
                        d = buf[i]
                    xi = xi - d
            elif base in ("adam", "adamw"):
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi ** 2
                vmax[i] = max(vmax[i], v[i])
                vv = vmax[i] if hp.get("amsgrad") else v[i]
                if compat == "torch":  # Algorithm 1: eps after the bias correction of v
                    m_hat, v_hat = m[i] / (1 - b1 ** t), vv / (1 - b2 ** t)
                    xi = xi - lr * m_hat / (math.sqrt(v_hat) + eps)
                else:  # the formula before section 2.1: epsilon hat
                    lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                    xi = xi - lr_t * m[i] / (math.sqrt(vv) + eps)
            elif base == "adamax":
                m[i] = b1 * m[i] + (1 - b1) * gi
                if compat == "torch":
                    u[i] = max(b2 * u[i], abs(gi) + eps)
                    xi = xi - lr / (1 - b1 ** t) * m[i] / u[i]
                else:
                    u[i] = max(b2 * u[i], abs(gi))
                    xi = xi - lr / (1 - b1 ** t) * m[i] / (u[i] + eps)
            elif base == "nadam":
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi ** 2
                m_hat = mu_t1 * m[i] / (1 - prod * mu_t1) + (1 - mu_t) * gi / (1 - prod)
                v_hat = v[i] / (1 - b2 ** t)
                xi = xi - lr * m_hat / (math.sqrt(v_hat) + eps)
            x[i] = xi
        out.append(list(x))
    return out


def bowl_grad(p):
    """f = (x - 3)**2 + 5 * (y + 1)**2 + (z - 0.5)**4: scales differ by coordinate."""
    x, y, z = p
    return np.array([2 * (x - 3), 10 * (y + 1), 4 * (z - 0.5) ** 3])


BOWL_START = (0.0, 0.0, 2.0)
LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.5, "rmsprop": 0.05,
      "adam": 0.1, "adamw": 0.1, "adamax": 0.1, "nadam": 0.1}
VARIANTS = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.1},
    "maximize": {"maximize": True},
    "exp": {"schedule": "exp:0.95"},
    "step": {"schedule": "step:7:0.5"},
    "cosine": {"schedule": "cosine:30"},
    "inverse": {"schedule": "inverse:0.1"},
    "clip_norm": {"clip_norm": 1.0},
    "clip_value": {"clip_value": 2.0},
    "everything": {"weight_decay": 0.05, "schedule": "exp:0.97", "clip_norm": 3.0},
}
EXTRA = [  # options of one optimizer
    ("sgd", {"momentum": 0.5, "dampening": 0.3}, "torch"),
    ("sgd", {"momentum": 0.7}, "keras"),
    ("rmsprop", {"momentum": 0.5}, "torch"),
    ("rmsprop", {"momentum": 0.5}, "keras"),
    ("rmsprop", {"centered": True, "momentum": 0.3}, "torch"),
    ("rmsprop", {"centered": True}, "keras"),
    ("adam", {"amsgrad": True}, "torch"),
    ("adam", {"amsgrad": True}, "keras"),
    ("adamw", {"amsgrad": True, "weight_decay": 0.2}, "torch"),
    ("adam", {"betas": (0.5, 0.9), "eps": 1e-3}, "torch"),
    ("adamax", {"betas": (0.8, 0.99)}, "keras"),
    ("nadam", {"momentum_decay": 0.01}, "torch"),
    ("momentum", {"momentum": 0.5, "schedule": "exp:0.9"}, "keras"),
    ("nesterov", {"schedule": "step:3:0.5"}, "keras"),
]


def _compare(name, compat, options, steps=40):
    kw = {"lr": LR[name], **options}
    grad = (lambda p: -bowl_grad(p)) if kw.get("maximize") else bowl_grad  # maximize -f
    expected = naive_run(name, compat, grad, BOWL_START, steps,
                         **{("psi" if k == "momentum_decay" else k): v for k, v in kw.items()})
    opt, p = O.make(name, compat=compat, **kw), np.array(BOWL_START)
    for k, want in enumerate(expected, start=1):
        p = opt.update(p, grad(p))
        assert list(p) == pytest.approx(want, rel=1e-13, abs=1e-15), f"step {k}"
    return p


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", RULES)
def test_every_step_matches_the_naive_formulas(name, compat, variant):
    _compare(name, compat, VARIANTS[variant])


@pytest.mark.parametrize("name, options, compat", EXTRA,
                         ids=[f"{n}-{c}-{'-'.join(o)}" for n, o, c in EXTRA])
def test_every_step_of_optimizer_options_matches_the_naive_formulas(name, options, compat):
    _compare(name, compat, options)


@pytest.mark.parametrize("name", RULES)
def test_maximize_on_minus_f_is_minimize_on_f_exactly(name):
    a, b = O.make(name, lr=0.1), O.make(name, lr=0.1, maximize=True)
    p = q = np.array(BOWL_START)
    for _ in range(20):
        p, q = a.update(p, bowl_grad(p)), b.update(q, -bowl_grad(q))
        assert np.array_equal(p, q)


def test_trajectory_reaches_the_minimum_of_the_bowl():
    p = _compare("adam", "torch", {}, steps=300)
    assert p[:2] == pytest.approx([3.0, -1.0], abs=1e-3)
    assert (p[2] - 0.5) ** 4 < 1e-4  # the quartic's gradient fades: z approaches slowly


# -- keras and torch semantics that differ -------------------------------------------------
def test_keras_weight_decay_is_decoupled_and_applied_before_the_step():
    x0, lr, wd = 3.0, 0.1, 0.5
    keras = O.SGD(lr=lr, weight_decay=wd, compat="keras").update(np.array(x0), np.array(1.0))
    torch = O.SGD(lr=lr, weight_decay=wd).update(np.array(x0), np.array(1.0))
    assert float(keras) == x0 - x0 * wd * lr - lr * 1.0  # 2.75
    assert float(torch) == x0 - lr * (1.0 + wd * x0)  # L2: 2.75 as well for SGD ...
    adam_k = O.Adam(lr=lr, weight_decay=wd, compat="keras").update(np.array(x0), np.array(1.0))
    adam_t = O.Adam(lr=lr, weight_decay=wd).update(np.array(x0), np.array(1.0))
    # ... not for Adam, whose first step is lr * sign(g) (up to epsilon): keras decays first,
    # torch's L2 term only changes the gradient's size
    assert float(adam_k) == pytest.approx(x0 - x0 * wd * lr - lr, rel=1e-6)
    assert float(adam_t) == pytest.approx(x0 - lr, rel=1e-9)


def test_adamw_decays_by_lr_times_wd_before_the_adam_step():
    opt = O.AdamW(lr=0.1)  # weight_decay 1e-2
    assert float(opt.update(np.array(2.0), np.array(0.0))) == 2.0 * (1 - 0.1 * 1e-2)
    assert O.AdamW(compat="keras").weight_decay == 0.004


def test_keras_momentum_keeps_past_learning_rates_in_its_buffer():
    # lr 1 then 0.5 (step:1:0.5), momentum 0.5, gradient 1 twice, from 0
    keras = O.SGD(lr=1.0, momentum=0.5, schedule="step:1:0.5", compat="keras")
    torch = O.SGD(lr=1.0, momentum=0.5, schedule="step:1:0.5")
    xk = keras.update(keras.update(np.array(0.0), np.array(1.0)), np.array(1.0))
    xt = torch.update(torch.update(np.array(0.0), np.array(1.0)), np.array(1.0))
    assert float(xk) == -1.0 + (0.5 * -1.0 - 0.5 * 1.0)  # v = mu*v - lr*g = -1
    assert float(xt) == -1.0 - 0.5 * (0.5 * 1.0 + 1.0)  # b = mu*b + g, step lr*b = -0.75


def test_torch_momentum_skips_dampening_on_the_first_step_only():
    opt = O.SGD(lr=1.0, momentum=0.5, dampening=0.5)
    x1 = opt.update(np.array(0.0), np.array(1.0))
    x2 = opt.update(x1, np.array(1.0))
    assert (float(x1), float(x2)) == (-1.0, -1.0 - (0.5 * 1.0 + 0.5 * 1.0))


def test_nadam_momentum_schedule_keras_0_96_to_t_torch_0_96_to_t_psi():
    assert O.Nadam(compat="keras").momentum_decay == 1.0
    assert O.Nadam().momentum_decay == 4e-3


# -- the flat core's bookkeeping -----------------------------------------------------------
def test_update_returns_new_parameters_and_leaves_the_input_alone():
    opt, p = O.Adam(lr=0.1), np.array([1.0, 2.0])
    q = opt.update(p, np.array([1.0, -1.0]))
    assert list(p) == [1.0, 2.0] and q is not p and opt.iterations == 1


def test_lr_used_grad_norm_before_clipping_and_the_next_lr():
    opt = O.SGD(lr=0.1, schedule="exp:0.5", clip_norm=1.0)
    assert opt.current_lr == 0.1 and opt.last_lr is None and opt.last_grad_norm is None
    p = opt.update(np.array([0.0, 0.0]), np.array([3.0, 4.0]))
    assert opt.last_lr == 0.1 and opt.last_grad_norm == 5.0 and opt.current_lr == 0.05
    assert list(p) == pytest.approx([-0.06, -0.08], rel=1e-15)
    opt.update(p, np.array([0.3, 0.4]))
    assert opt.last_lr == 0.05 and opt.last_grad_norm == pytest.approx(0.5, rel=1e-15)
    assert opt.lr_at(10) == 0.1 * 0.5 ** 10


def test_clip_value_clips_each_component():
    p = O.SGD(lr=1.0, clip_value=0.5).update(np.array([0.0, 0.0, 0.0]), np.array([2.0, -3.0, 0.1]))
    assert list(p) == [-0.5, 0.5, -0.1]


def test_nonfinite_gradients_give_nonfinite_parameters_without_warnings(recwarn):
    p = O.Adam(lr=0.1, clip_norm=1.0).update(np.array([1.0, 2.0]), np.array([np.inf, 1.0]))
    assert np.isnan(p).all()
    assert O.SGD().update(np.array([1.0]), np.array([np.nan]))[0] != 0  # nan
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_shape_errors():
    opt = O.Adam()
    with pytest.raises(ValueError, match="gradient shape"):
        opt.update(np.zeros(2), np.zeros(3))
    opt.update(np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="holds state for parameters of shape"):
        opt.update(np.zeros(3), np.zeros(3))


def test_integer_parameters_become_float64():
    opt = O.SGD(lr=0.5)
    p = opt.update([1, 2], [1, 1])
    assert p.dtype == np.float64 and list(p) == [0.5, 1.5]


@pytest.mark.parametrize("kw, message", [
    ({"lr": -1.0}, "lr must be a finite number >= 0"),
    ({"lr": float("nan")}, "lr must be"),
    ({"lr": "0.1"}, "lr must be"),
    ({"compat": "jax"}, "compat must be 'torch' or 'keras'"),
    ({"clip_norm": 0.0}, "clip_norm must be a finite number > 0"),
    ({"clip_value": -1.0}, "clip_value must be"),
    ({"clip_norm": 1.0, "clip_value": 1.0}, "not both"),
    ({"weight_decay": -0.1}, "weight_decay must be"),
    ({"dtype": "int32"}, "unsupported dtype"),
    ({"schedule": "exp:-1"}, "GAMMA must be a number > 0"),
])
def test_bad_common_hyperparameters_are_value_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        O.Adam(**kw)


@pytest.mark.parametrize("make, message", [
    (lambda: O.Adam(betas=(0.9, 1.0)), r"betas must be in \[0, 1\)"),
    (lambda: O.Adam(betas=0.9), "betas must be two numbers"),
    (lambda: O.SGD(nesterov=True), "nesterov needs momentum > 0"),
    (lambda: O.SGD(momentum=0.9, dampening=0.1, nesterov=True), "dampening 0"),
    (lambda: O.SGD(momentum=0.9, dampening=0.1, compat="keras"), "Keras's SGD has none"),
    (lambda: O.RMSprop(rho=1.5), "rho must be a finite number >= 0 and <= 1"),
    (lambda: O.Adagrad(eps=-1e-10), "eps must be"),
])
def test_bad_optimizer_hyperparameters_are_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- make and the defaults -----------------------------------------------------------------
DEFAULTS = [  # (name, compat, attribute, value): the reference's table, section 1.1
    ("sgd", "torch", "lr", 1e-3), ("sgd", "keras", "lr", 0.01), ("sgd", "torch", "momentum", 0.0),
    ("momentum", "torch", "momentum", 0.9), ("nesterov", "keras", "momentum", 0.9),
    ("nesterov", "torch", "nesterov", True), ("momentum", "torch", "nesterov", False),
    ("adagrad", "torch", "lr", 1e-2), ("adagrad", "torch", "eps", 1e-10),
    ("adagrad", "torch", "initial_accumulator_value", 0.0),
    ("adagrad", "keras", "lr", 1e-3), ("adagrad", "keras", "eps", 1e-7),
    ("adagrad", "keras", "initial_accumulator_value", 0.1),
    ("rmsprop", "torch", "lr", 1e-2), ("rmsprop", "torch", "rho", 0.99),
    ("rmsprop", "torch", "eps", 1e-8), ("rmsprop", "keras", "lr", 1e-3),
    ("rmsprop", "keras", "rho", 0.9), ("rmsprop", "keras", "eps", 1e-7),
    ("rmsprop", "torch", "momentum", 0.0),
    ("adam", "torch", "lr", 1e-3), ("adam", "torch", "eps", 1e-8),
    ("adam", "torch", "betas", (0.9, 0.999)), ("adam", "keras", "eps", 1e-7),
    ("adam", "torch", "weight_decay", 0.0), ("adam", "torch", "amsgrad", False),
    ("adamw", "torch", "weight_decay", 1e-2), ("adamw", "keras", "weight_decay", 0.004),
    ("adamw", "torch", "lr", 1e-3), ("adamw", "keras", "eps", 1e-7),
    ("adamax", "torch", "lr", 2e-3), ("adamax", "torch", "eps", 1e-8),
    ("adamax", "keras", "lr", 1e-3), ("adamax", "keras", "eps", 1e-7),
    ("nadam", "torch", "lr", 2e-3), ("nadam", "torch", "eps", 1e-8),
    ("nadam", "keras", "lr", 1e-3), ("nadam", "keras", "eps", 1e-7),
]


@pytest.mark.parametrize("name, compat, attribute, value", DEFAULTS)
def test_defaults_follow_the_reference_table(name, compat, attribute, value):
    assert getattr(O.make(name, compat=compat), attribute) == value


def test_make_knows_every_cli_name_and_classes_have_keras_names():
    classes = {"sgd": O.SGD, "momentum": O.SGD, "nesterov": O.SGD, "adagrad": O.Adagrad,
               "rmsprop": O.RMSprop, "adam": O.Adam, "adamw": O.AdamW, "adamax": O.Adamax,
               "nadam": O.Nadam}
    assert O.NAMES[:len(RULES)] == RULES == tuple(classes)
    for name, cls in classes.items():
        opt = O.make(name)
        assert type(opt) is cls and opt.name == name
        assert O.make(name.upper()).name == name


def test_make_treats_none_as_the_default_and_rejects_what_does_not_apply():
    assert O.make("adam", lr=None, eps=None, weight_decay=None).config() == O.Adam().config()
    assert O.make("momentum", momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="adam does not take momentum"):
        O.make("adam", momentum=0.9)
    with pytest.raises(ValueError, match="nesterov does not take nesterov"):
        O.make("nesterov", nesterov=False)
    with pytest.raises(ValueError, match="unknown optimizer 'adma': choose from sgd, momentum"):
        O.make("adma")
    assert "betas" in O.hyperparameters("adam") and "momentum" in O.hyperparameters("rmsprop")
    assert "momentum" not in O.hyperparameters("adam")


def test_config_and_repr_show_resolved_hyperparameters():
    opt = O.make("adamw", compat="keras", schedule="cosine:100")
    config = opt.config()
    assert config["weight_decay"] == 0.004 and config["schedule"] == "cosine:100"
    assert config["betas"] == (0.9, 0.999) and config["compat"] == "keras"
    assert repr(opt).startswith("AdamW(compat='keras', lr=0.001, betas=(0.9, 0.999)")


# -- the Keras-style API over gradcli Variables --------------------------------------------
def test_apply_gradients_goes_through_the_flat_update():
    w, b = gc.Variable([[1.0, 2.0], [3.0, 4.0]]), gc.Variable(0.5)
    flat, opt = O.Adam(lr=0.1, clip_norm=2.0), O.Adam(lr=0.1, clip_norm=2.0)
    p = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    for step in range(1, 6):
        g = np.array([1.0, -2.0, 3.0, 0.5, 4.0]) * step
        p = flat.update(p, g)
        assert opt.apply_gradients(zip([gc.constant(g[:4].reshape(2, 2)), g[4]], [w, b])) == step
        assert np.array_equal(w.numpy(), p[:4].reshape(2, 2)) and float(b.numpy()) == p[4]
    assert opt.last_grad_norm == flat.last_grad_norm  # the global norm of both variables


def test_apply_gradients_skips_none_and_each_variable_keeps_its_own_buffers():
    x, y = gc.Variable(1.0), gc.Variable(2.0)
    opt, alone = O.Adam(lr=0.1), O.Adam(lr=0.1)
    px = np.array([1.0])
    with pytest.warns(UserWarning, match="no gradient for a variable of shape"):
        opt.apply_gradients([(gc.constant(1.0), x), (None, y)])  # warned, as Keras warns
    px = alone.update(px, np.array([1.0]))
    assert float(y.numpy()) == 2.0 and float(x.numpy()) == px[0]
    opt.apply_gradients([(gc.constant(0.5), y), (gc.constant(2.0), x)])
    px = alone.update(px, np.array([2.0]))
    assert float(x.numpy()) == px[0]  # x's moments survived the step it was skipped in
    # y's first update: fresh buffers, but the bias correction of the shared step count (t=2)
    m, v = 0.1 * 0.5, 0.001 * 0.25
    want = 2.0 - 0.1 / (1 - 0.9 ** 2) * m / (math.sqrt(v) / math.sqrt(1 - 0.999 ** 2) + 1e-8)
    assert float(y.numpy()) == pytest.approx(want, rel=1e-15)
    with pytest.raises(ValueError, match="every gradient is None"):
        opt.apply_gradients([(None, x)])


def test_apply_gradients_checks_shapes_and_keeps_variable_dtypes():
    v = gc.Variable([1.0, 2.0], dtype="float32")
    opt = O.SGD(lr=0.5)
    opt.apply_gradients([(np.array([1.0, 1.0], dtype=np.float32), v)])
    assert v.dtype == np.float32 and list(v.numpy()) == [0.5, 1.5] and opt.dtype == np.float32
    with pytest.raises(ValueError, match="differs from its variable's shape"):
        opt.apply_gradients([(np.array([1.0, 1.0, 1.0]), v)])


def test_one_optimizer_serves_update_or_apply_gradients_not_both():
    opt = O.SGD()
    opt.update(np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="in use by update"):
        opt.apply_gradients([(np.zeros(()), gc.Variable(0.0))])
    opt = O.SGD()
    opt.apply_gradients([(np.zeros(()), gc.Variable(0.0))])
    with pytest.raises(ValueError, match="in use by apply_gradients"):
        opt.update(np.zeros(1), np.zeros(1))


def test_minimize_records_the_loss_on_a_tape_and_steps():
    x = gc.Variable(3.0)
    opt = O.SGD(lr=0.01)
    for _ in range(200):
        opt.minimize(lambda: (x - 50.0) ** 2, [x])
    assert float(x.numpy()) == pytest.approx(49.1733665095, abs=5e-11)
    assert opt.iterations == 200


def test_minimize_a_linear_regression_with_adam():
    xs = np.linspace(-1, 1, 20)
    ys = 3 * xs - 2
    w, b = gc.Variable(0.0), gc.Variable(0.0)
    opt = O.Adam(lr=0.1)
    for _ in range(500):
        opt.minimize(lambda: gc.reduce_mean((w * gc.constant(xs) + b - gc.constant(ys)) ** 2),
                     [w, b])
    assert (float(w.numpy()), float(b.numpy())) == pytest.approx((3.0, -2.0), abs=1e-6)


def test_minimize_watches_non_trainable_variables_in_var_list():
    x = gc.Variable(1.0, trainable=False)
    O.SGD(lr=0.25).minimize(lambda: x * x, [x])
    assert float(x.numpy()) == 0.5


def test_hessian_hook_for_a_second_order_optimizer():
    class Newton(O.Optimizer):
        name, needs_hessian = "newton", True
        DEFAULTS = {"torch": {"lr": 1.0}, "keras": {"lr": 1.0}}

        def _step(self, xp, p, g, lr, t, s):
            """p - lr * H(p)^-1 g"""
            return p - lr * np.linalg.solve(self._hessian(p), g)

    hessian = np.array([[2.0, 1.0], [1.0, 4.0]])  # f = p.H.p/2 - c.p, minimum H^-1 c
    c = np.array([1.0, 2.0])
    opt = Newton()
    p = opt.update(np.zeros(2), hessian @ np.zeros(2) - c, hessian=lambda p: hessian)
    assert p == pytest.approx(np.linalg.solve(hessian, c), rel=1e-15)
    with pytest.raises(ValueError, match="newton needs a hessian callable"):
        opt.update(p, np.zeros(2))
    assert not O.Adam.needs_hessian


# -- torch.optim itself ----------------------------------------------------------------------
# torch.optim's iterates on the bowl, recorded with torch by tests/peers/record_torch_optim.py
# (the file names the torch version): the tests compare with them and need no torch.
TORCH_RECORD = json.loads((Path(__file__).parent / "data" / "torch_optim.json")
                          .read_text(encoding="utf-8"))
TORCH_VARIANTS = ["plain", "weight_decay", "maximize", "exp", "step", "cosine", "inverse",
                  "clip_norm", "clip_value"]


def torch_iterates(name: str, variant: str) -> list[list[float]]:
    """torch.optim's parameters after each step, with this file's LR, VARIANTS and bowl."""
    return TORCH_RECORD["runs"][f"{name}/{variant}"]


def test_the_torch_record_was_made_with_these_settings():
    settings = TORCH_RECORD["settings"]
    assert settings["bowl_start"] == list(BOWL_START) and settings["steps"] == 30
    assert settings["lr"] == {name: LR[name] for name in RULES}
    assert settings["variants"] == {v: json.loads(json.dumps(VARIANTS[v]))
                                    for v in settings["variants"]}, \
        "re-record: python tests/peers/record_torch_optim.py (needs torch)"
    assert set(TORCH_RECORD["runs"]) == {f"{n}/{v}" for n in RULES for v in settings["variants"]}
    assert TORCH_RECORD["source"].startswith("torch 2.")


@pytest.mark.parametrize("variant", TORCH_VARIANTS)
@pytest.mark.parametrize("name", RULES)
def test_every_step_matches_torch_optim(name, variant):
    options = VARIANTS[variant]
    grad = (lambda p: -bowl_grad(p)) if options.get("maximize") else bowl_grad
    ours, p = O.make(name, lr=LR[name], **options), np.array(BOWL_START)
    for k, want in enumerate(torch_iterates(name, variant), start=1):
        p = ours.update(p, grad(p))
        assert list(p) == pytest.approx(want, rel=1e-11, abs=1e-13), f"step {k}"


# -- the float path: the same rules on Python floats ---------------------------------------------
@pytest.mark.parametrize("variant", ["plain", "weight_decay", "maximize", "cosine", "clip_norm",
                                     "clip_value", "everything"])
@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", RULES)
def test_float_stepper_is_update_bit_for_bit(name, compat, variant):
    kw = {"lr": LR[name], **VARIANTS[variant]}
    arrays, floats = O.make(name, compat=compat, **kw), O.make(name, compat=compat, **kw)
    step = floats.float_stepper(3)
    grad = (lambda p: -bowl_grad(p)) if kw.get("maximize") else bowl_grad  # maximize -f
    p, q = np.array(BOWL_START), list(BOWL_START)
    for k in range(40):
        p, q = arrays.update(p, grad(p)), step(q, grad(np.array(q)).tolist())
        assert p.tolist() == q, f"step {k + 1}"
        assert (floats.last_lr, floats.last_grad_norm) == (arrays.last_lr, arrays.last_grad_norm)
    assert floats.iterations == arrays.iterations == 40


@pytest.mark.parametrize("name, options, compat", EXTRA,
                         ids=[f"{n}-{c}-{'-'.join(o)}" for n, o, c in EXTRA])
def test_float_stepper_with_each_optimizer_option_is_update_bit_for_bit(name, options, compat):
    arrays = O.make(name, compat=compat, lr=LR[name], **options)
    step = O.make(name, compat=compat, lr=LR[name], **options).float_stepper(3)
    p, q = np.array(BOWL_START), list(BOWL_START)
    for _ in range(40):
        p, q = arrays.update(p, bowl_grad(p)), step(q, bowl_grad(np.array(q)).tolist())
        assert p.tolist() == q


def test_float_stepper_gives_nan_where_float_arithmetic_raises():
    step = O.make("adagrad", compat="keras", eps=0.0, initial_accumulator_value=0.0).float_stepper(2)
    assert all(math.isnan(v) for v in step([1.0, 2.0], [0.0, 1.0]))  # 0 / sqrt(0)
    arrays = O.make("adagrad", compat="keras", eps=0.0, initial_accumulator_value=0.0)
    assert math.isnan(arrays.update(np.array([1.0, 2.0]), np.array([0.0, 1.0]))[0])


def test_float_stepper_only_where_it_is_update_exactly():
    assert O.make("adam", dtype="float32").float_stepper(2) is None
    assert O.make("adam").float_stepper(8) is None  # numpy sums 8 or more squares pairwise
    used = O.make("adam")
    used.update(np.zeros(2), np.ones(2))
    assert used.float_stepper(2) is None
    taken = O.make("adam")
    assert taken.float_stepper(2) is not None
    with pytest.raises(ValueError, match="holds state"):
        taken.update(np.zeros(2), np.ones(2))


@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", RULES)
def test_float_stepper_is_one_generated_function_traced_from_the_rule(name, compat):
    """Every rule but NAdam's (its momentum product is state across steps) is traced into
    the source of one function: names it made, float literals and the buffers list S."""
    import re

    step = O.make(name, compat=compat, lr=LR[name]).float_stepper(2)
    if name == "nadam":
        assert not hasattr(step, "source")  # the per-coordinate calls of _step
        return
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", step.source))
    allowed = {"def", "step", "p", "g", "norm", "None", "if", "is", "t", "opt", "iterations",
               "try", "last_grad_norm", "lr", "scale", "except", "ERRORS", "new", "NAN",
               "last_lr", "return", "NORM", "S", "sqrt", "abs", "min", "max", "else", "or",
               "BEGIN", "FLOAT", "e"}
    extra = {w for w in words - allowed if not re.fullmatch(r"_\d+|p\d+|g\d+", w)}
    assert not extra, step.source
