"""--compat keras --dtype float32 against an independent float32 transcription of Keras 3's source.

The oracle below is written from Keras 3's own files, not from gradcli's code:
keras/src/optimizers/adam.py, adamw.py, adamax.py, nadam.py (``update_step``; nadam's
``_backend_update_step`` for the product of the u_t), base_optimizer.py's ``apply``
(clip -> ``_apply_weight_decay`` -> update step -> iterations += 1) and
keras/src/backend/tensorflow/optimizer.py's ``_apply_weight_decay``
(``variable.assign_sub(variable * wd * lr)`` with lr and wd cast to the variable's dtype).

How the TensorFlow backend rounds, operation by operation (keras/src/backend/tensorflow/numpy.py:
a Python float meeting a float32 tensor is a weak type and becomes float32):
* ``learning_rate`` is a float32 Keras variable; epsilon, beta_2 in Adamax's ``beta_2 * u``,
  and ``1 - self.beta_1`` (computed in Python double, then rounded) become float32 constants;
* Adam/Adamax: ``beta ** local_step`` is ``ops.power`` of the beta cast to float32 and the
  step cast to float32: a float32 power;
* Nadam casts beta_1, beta_2 and 0.96 to float32 first, so its ``1 - beta_1`` is float32
  arithmetic (unlike Adam's).
Powers here are correctly rounded float32 (exact rationals rounded to nearest even), an
implementation independent of numpy's powf. (TF's pow kernel is Eigen's; that it rounds
these particular powers as well is an assumption; the test
``test_float32_powers_correctly_rounded_and_how_close_to_ties`` measures how close to a
rounding tie each one is.)

Published TF number: issue 18, TF 2.21, tf.keras Adam(learning_rate=1.0) from 3 on
(x-50)**2 in float32 gives 3.999993324279785 after one step (also in test_keras_api.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O

F = np.float32
STEPS = 200
TF_KERAS_ADAM_STEP_1 = 3.999993324279785  # issue 18, TF 2.21 (see the module doc)


# -- correctly rounded float32 power ---------------------------------------------------------
def _round32(q: Fraction) -> np.float32:
    """The float32 nearest to the rational q (ties to even), for normal positive q."""
    f = F(float(q))
    cands = [np.nextafter(f, F(0)), f, np.nextafter(f, F(np.inf))]
    best = min(cands, key=lambda c: (abs(Fraction(float(c)) - q),
                                     int(np.array(c).view(np.uint32)) & 1))
    return F(best)


_POW = {}


def pow32(base: np.float32, step: int) -> np.float32:
    """ops.power(float32 base, float32 step) rounded correctly: the exact power, once rounded."""
    key = (float(base), step)
    if key not in _POW:
        _POW[key] = _round32(Fraction(float(base)) ** step)
    return _POW[key]


# -- the oracle: Keras 3's update rules, every intermediate float32 --------------------------
class KerasOracle:
    """One Keras 3 optimizer on float32 numpy arrays, as its source computes it."""

    def __init__(self, kind, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 amsgrad=False, momentum=0.0, nesterov=False, rho=0.9, centered=False,
                 initial_accumulator_value=0.1):
        self.kind, self.amsgrad = kind, amsgrad
        self.lr = F(lr)  # base_optimizer: a float32 variable
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon  # Python floats
        self.weight_decay = weight_decay
        self.momentum, self.nesterov, self.rho, self.centered = momentum, nesterov, rho, centered
        self.initial_accumulator_value = initial_accumulator_value
        self.iterations = 0
        self.m = self.v = self.u = None
        self.u_product = F(1.0)  # nadam.build: backend.Variable(1.0, dtype)

    def apply(self, x, g):
        x, g = np.asarray(x, F), np.asarray(g, F)
        if self.m is None:
            self.m, self.v, self.u, self.v_hat = (np.zeros_like(x) for _ in range(4))
            # adagrad.build: the accumulators start at initial_accumulator_value
            self.acc = np.full_like(x, F(self.initial_accumulator_value))
        if self.weight_decay is not None:  # tensorflow/optimizer.py _apply_weight_decay
            wd = F(self.weight_decay)
            x = x - (x * wd) * self.lr
        if self.kind == "nadam":  # nadam._backend_update_step, before the update steps
            self.u_product = (self.u_product * F(self.beta_1)) * (
                F(1.0) - F(0.5) * pow32(F(0.96), self.iterations + 1))
        x = getattr(self, "_" + self.kind)(x, g)
        self.iterations += 1
        return x

    def _adam(self, x, g):  # adam.py update_step (AdamW is Adam + weight decay)
        lr, step = self.lr, self.iterations + 1
        beta_1_power = pow32(F(self.beta_1), step)
        beta_2_power = pow32(F(self.beta_2), step)
        alpha = (lr * np.sqrt(F(1) - beta_2_power)) / (F(1) - beta_1_power)
        self.m = self.m + (g - self.m) * F(1 - self.beta_1)
        self.v = self.v + (np.square(g) - self.v) * F(1 - self.beta_2)
        v = self.v
        if self.amsgrad:
            self.v_hat = v = np.maximum(self.v_hat, self.v)
        return x - (self.m * alpha) / (np.sqrt(v) + F(self.epsilon))

    _adamw = _adam

    def _adamax(self, x, g):  # adamax.py update_step
        beta_1_power = pow32(F(self.beta_1), self.iterations + 1)
        self.m = self.m + (g - self.m) * F(1 - self.beta_1)
        self.u = np.maximum(F(self.beta_2) * self.u, np.abs(g))
        return x - (self.lr * self.m) / ((F(1) - beta_1_power) * (self.u + F(self.epsilon)))

    def _nadam(self, x, g):  # nadam.py update_step
        local_step, next_step = self.iterations + 1, self.iterations + 2
        decay, beta_1, beta_2 = F(0.96), F(self.beta_1), F(self.beta_2)
        u_t = beta_1 * (F(1.0) - F(0.5) * pow32(decay, local_step))
        u_t_1 = beta_1 * (F(1.0) - F(0.5) * pow32(decay, next_step))
        u_product_t = self.u_product
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = pow32(beta_2, local_step)
        self.m = self.m + (g - self.m) * (F(1) - beta_1)
        self.v = self.v + (np.square(g) - self.v) * (F(1) - beta_2)
        m_hat = (u_t_1 * self.m) / (F(1) - u_product_t_1) + ((F(1) - u_t) * g) / (
            F(1) - u_product_t)
        v_hat = self.v / (F(1) - beta_2_power)
        return x - (m_hat * self.lr) / (np.sqrt(v_hat) + F(self.epsilon))


    def _sgd(self, x, g):  # sgd.py update_step (momentum cast to float32)
        lr = self.lr
        if self.momentum == 0:
            return x - g * lr
        mu = F(self.momentum)
        self.m = self.m * mu - g * lr
        if self.nesterov:
            return x + (self.m * mu - g * lr)
        return x + self.m

    def _rmsprop(self, x, g):  # rmsprop.py update_step (1 - rho in Python, then float32)
        rho, one_minus_rho, eps = F(self.rho), F(1 - self.rho), F(self.epsilon)
        self.v = rho * self.v + one_minus_rho * np.square(g)
        if self.centered:
            self.m = rho * self.m + one_minus_rho * g  # average_grad
            denominator = self.v - np.square(self.m) + eps
        else:
            denominator = self.v + eps
        increment = (self.lr * g) / np.sqrt(denominator)
        if self.momentum > 0:
            self.u = F(self.momentum) * self.u + increment  # the momentum buffer
            return x - self.u
        return x - increment

    def _adagrad(self, x, g):  # adagrad.py update_step
        self.acc = self.acc + np.square(g)
        return x - (self.lr * g) / np.sqrt(self.acc + F(self.epsilon))

    def _adadelta(self, x, g):  # adadelta.py update_step: v = accumulated_grad,
        rho, one_minus_rho, eps = F(self.rho), F(1 - self.rho), F(self.epsilon)
        self.v = rho * self.v + one_minus_rho * np.square(g)  # u = accumulated_delta_var
        delta = -((np.sqrt(self.u + eps) * g) / np.sqrt(self.v + eps))
        self.u = rho * self.u + one_minus_rho * np.square(delta)
        return x + self.lr * delta

    def _lion(self, x, g):  # lion.py update_step: the betas cast first, 1 - beta in float32
        beta_1, beta_2 = F(self.beta_1), F(self.beta_2)
        step = self.lr * np.sign(self.m * beta_1 + g * (F(1.0) - beta_1))
        self.m = self.m * beta_2 + g * (F(1.0) - beta_2)
        return x - step


# -- the problems (float32 gradients, the same bits whichever engine computes them) ----------
def grad_one(x):
    """(x-50)**2: 2*(x-50), exact in float32 once x-50 is rounded."""
    return F(2) * (x - F(50))


def grad_two(p):
    """A coupled 2-variable problem, f = (x-50)**2 + (x*y - 4)**2 + 4*(y+3)**2, its gradient
    formed in float32 (the oracle and gradcli's optimizer are given the same arrays)."""
    x, y = p[0], p[1]
    r = x * y - F(4)
    return np.array([F(2) * (x - F(50)) + F(2) * r * y,
                     F(2) * r * x + F(8) * (y + F(3))], F)


def grad_sep(p):
    """(x-50)**2 + 4*(y+3)**2: every scale a power of two, so the gradient's bits do not
    depend on the order an engine multiplies in (the CLI computes its own)."""
    return np.array([F(2) * (p[0] - F(50)), F(8) * (p[1] + F(3))], F)


CASES = [  # (--opt, Keras kind, gradcli keyword arguments, oracle keyword arguments)
    ("adam", "adam", {}, {}),
    ("adamw", "adamw", {}, {"weight_decay": 0.004}),  # Keras AdamW's default weight_decay
    ("adamw", "adamw", {"weight_decay": 0.1}, {"weight_decay": 0.1}),
    ("adamax", "adamax", {}, {}),
    ("nadam", "nadam", {}, {}),
    ("adam", "adam", {"amsgrad": True}, {"amsgrad": True}),
    ("sgd", "sgd", {}, {}),
    ("sgd", "sgd", {"momentum": 0.9}, {"momentum": 0.9}),
    ("sgd", "sgd", {"momentum": 0.9, "nesterov": True}, {"momentum": 0.9, "nesterov": True}),
    ("sgd", "sgd", {"momentum": 0.9, "weight_decay": 0.01},
     {"momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", "rmsprop", {}, {}),  # Keras's rho 0.9, epsilon 1e-7
    ("rmsprop", "rmsprop", {"momentum": 0.5}, {"momentum": 0.5}),
    ("rmsprop", "rmsprop", {"centered": True}, {"centered": True}),
    ("adagrad", "adagrad", {}, {}),  # Keras's initial accumulator 0.1, epsilon 1e-7
    ("adadelta", "adadelta", {}, {"rho": 0.95}),  # Keras's rho 0.95, epsilon 1e-7
    ("lion", "lion", {}, {"beta_2": 0.99}),
    ("lion", "lion", {"weight_decay": 0.01}, {"beta_2": 0.99, "weight_decay": 0.01}),
]
IDS = ["adam", "adamw", "adamw-wd0.1", "adamax", "nadam", "amsgrad", "sgd", "momentum",
       "nesterov", "momentum-wd", "rmsprop", "rmsprop-momentum", "rmsprop-centered", "adagrad",
       "adadelta", "lion", "lion-wd"]


def bits(a):
    return np.asarray(a, F).view(np.uint32).tolist()


def run_both(opt, kind, kw, okw, lr, x0, grad):
    ours = O.make(opt, lr=lr, compat="keras", dtype="float32", **kw)
    oracle = KerasOracle(kind, lr, **okw)
    p = q = np.array(x0, F)
    for step in range(1, STEPS + 1):
        p = ours.update(p, grad(p))
        q = oracle.apply(q, grad(q))
        assert p.dtype == np.float32
        assert bits(p) == bits(q), f"{opt} step {step}: gradcli {p.tolist()} keras {q.tolist()}"
        if kind == "lion":  # its step is lr * sign(...): the momentum's bits are what can differ
            assert bits(ours._state["m"]) == bits(oracle.m), f"lion momentum, step {step}"
    assert np.isfinite(q).all() and (q != np.array(x0, F)).any()  # a real run, not inf == inf
    return q


# the rates: SGD's steps are lr * g (no normalisation), so its "large" rate is 0.1 on these
# problems (lr 1 would oscillate or diverge); the adaptive rules take 1.0 as the Adam
LARGE = {"sgd": 0.1}


@pytest.mark.parametrize("size", ["large", "small"])
@pytest.mark.parametrize("opt,kind,kw,okw", CASES, ids=IDS)
def test_one_variable_bit_for_bit_200_steps(opt, kind, kw, okw, size):
    lr = LARGE.get(kind, 1.0) if size == "large" else 0.01
    q = run_both(opt, kind, kw, okw, lr, [3.0], grad_one)
    if size == "large" and kind in ("adam", "nadam", "sgd"):  # got somewhere: near 50
        assert abs(float(q[0]) - 50.0) < 0.5


@pytest.mark.parametrize("opt,kind,kw,okw", CASES, ids=IDS)
def test_two_variables_bit_for_bit_200_steps(opt, kind, kw, okw):
    # SGD: the curvature along y reaches 2*x**2 + 8 ~ 5000 near x = 50, so lr < 2/5000
    run_both(opt, kind, kw, okw, 1e-4 if kind == "sgd" else 0.1, [3.0, 1.0], grad_two)


def test_oracle_reproduces_tensorflows_first_adam_step():
    oracle = KerasOracle("adam", 1.0)
    x = oracle.apply(np.array([3.0], F), grad_one(np.array([3.0], F)))
    assert float(x[0]) == TF_KERAS_ADAM_STEP_1
    # the float64-rule number it differs from by 28 ulp (issue 18: gradcli gave 4.0)
    assert int(np.array(F(4.0)).view(np.int32)) - int(x.view(np.int32)[0]) == 28


def test_oracle_is_not_gradclis_torch_rules():
    """The oracle can fail: torch's float32 Adam rounds differently from step 1 on."""
    x = np.array([3.0], F)
    torch_rules = O.make("adam", lr=1.0, eps=1e-7, dtype="float32").update(x, grad_one(x))
    assert bits(torch_rules) != bits(KerasOracle("adam", 1.0).apply(x, grad_one(x)))


def test_float32_powers_correctly_rounded_and_how_close_to_ties():
    """numpy's powf (what gradcli uses) gives the correctly rounded power for every beta**t
    of the runs above. Some exact powers lie close to a rounding tie (0.9f**37 at 0.4992 ulp
    from its float32), so TF matches these runs only if its pow is accurate to
    better than 0.0008 ulp there: true of a pow computed in double and rounded once (glibc's
    powf, which Eigen's scalar path calls), not verified against TF itself (not installed)."""
    worst = (Fraction(0), (0.0, 0))
    for base in (F(0.9), F(0.999), F(0.96)):
        for step in range(1, STEPS + 3):
            exact = Fraction(float(base)) ** step
            r = pow32(base, step)
            assert F(base) ** F(step) == r, (base, step)  # numpy's powf agrees
            ulp = Fraction(float(np.nextafter(r, F(np.inf)))) - Fraction(float(r))
            dist = abs(exact - Fraction(float(r))) / ulp
            assert dist < Fraction(1, 2)
            worst = max(worst, (dist, (float(base), step)))
    assert worst[1] == (float(F(0.9)), 37)
    assert 0.4991 < float(worst[0]) < 0.4993


def _cli(expr, opt, start, extra=(), lr="1"):
    out = subprocess.run(
        [sys.executable, "-m", "gradcli", "minimize", expr, "--opt", opt, "--lr", lr,
         "--from", start, "--steps", str(STEPS), "--compat", "keras", "--dtype", "float32",
         "--format", "json", *extra], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("opt,kind,kw,okw", [CASES[0], CASES[1], CASES[3], CASES[4]],
                         ids=["adam", "adamw", "adamax", "nadam"])
def test_cli_one_variable_bit_for_bit(opt, kind, kw, okw):
    res = _cli("(x-50)**2", opt, "3")
    oracle = KerasOracle(kind, 1.0, **okw)
    q = np.array([3.0], F)
    hist = {h["step"]: h["point"]["x"] for h in res["history"]}
    for step in range(1, STEPS + 1):
        q = oracle.apply(q, grad_one(q))
        if step in hist:
            assert hist[step] == float(q[0]), (opt, step)
    assert res["point"]["x"] == float(q[0])


@pytest.mark.slow
@pytest.mark.parametrize("opt,kind,lr,okw", [
    ("momentum", "sgd", 0.1, {"momentum": 0.9}),  # --opt momentum/nesterov: momentum 0.9
    ("nesterov", "sgd", 0.1, {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", "rmsprop", 1.0, {}),
    ("adagrad", "adagrad", 1.0, {}),
    ("adadelta", "adadelta", 1.0, {"rho": 0.95}),
    ("lion", "lion", 1.0, {"beta_2": 0.99}),
])
def test_cli_other_optimizers_bit_for_bit(opt, kind, lr, okw):
    res = _cli("(x-50)**2", opt, "3", lr=repr(lr))
    oracle = KerasOracle(kind, lr, **okw)
    q = np.array([3.0], F)
    assert res["steps"] == STEPS or res["converged"]  # lion lands on 50 exactly at step 47
    for _ in range(res["steps"]):
        q = oracle.apply(q, grad_one(q))
    assert np.isfinite(q).all() and res["point"]["x"] == float(q[0]), (opt, res["point"])


@pytest.mark.slow
def test_cli_adamw_two_variables_bit_for_bit():
    res = _cli("(x-50)**2 + 4*(y+3)**2", "adamw", "x=3,y=1", ["--weight-decay", "0.1"])
    oracle = KerasOracle("adamw", 1.0, weight_decay=0.1)
    q = np.array([3.0, 1.0], F)
    for _ in range(STEPS):
        q = oracle.apply(q, grad_sep(q))
    assert [res["point"]["x"], res["point"]["y"]] == q.tolist()


@pytest.mark.parametrize("opt,kind,kw,okw", CASES, ids=IDS)
def test_apply_gradients_two_float32_variables_bit_for_bit(opt, kind, kw, okw):
    """The Keras-style loop: two float32 Variables, a tape per step, apply_gradients."""
    x, y = gc.Variable(3.0, dtype="float32"), gc.Variable(1.0, dtype="float32")
    lr = LARGE.get(kind, 1.0)
    ours = O.make(opt, lr=lr, compat="keras", **kw)
    oracle = KerasOracle(kind, lr, **okw)
    q = np.array([3.0, 1.0], F)
    for step in range(1, STEPS + 1):
        with gc.GradientTape() as tape:
            loss = (x - 50.0) ** 2 + 4.0 * (y + 3.0) ** 2
        ours.apply_gradients(zip(tape.gradient(loss, [x, y]), [x, y]))
        q = oracle.apply(q, grad_sep(q))
        got = np.array([x.numpy(), y.numpy()], F)
        assert bits(got) == bits(q), (opt, step, got.tolist(), q.tolist())
    assert np.isfinite(q).all() and (q != F([3.0, 1.0])).all()
