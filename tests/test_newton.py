"""Newton's method (gradcli.optimizers.newton.Newton): the exact step where the Hessian is positive
definite, the documented Levenberg damping where it is not, through the tape's Hessian."""
import math

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O
from gradcli.training.descend import descend
from gradcli.compiled.program import compile_expression


def run(text, start, steps=100, tol=1e-10, **kw):
    program = compile_expression(gc.parse(text))
    names = program.wrt
    return descend(program.point_function(), start, O.make("newton", **kw), steps, tol,
                   hessian=lambda p: program.hessian(dict(zip(names, p))), variables=names)


def test_positive_definite_hessian_gives_the_newton_step():
    h, c = np.array([[2.0, 1.0], [1.0, 4.0]]), np.array([1.0, 2.0])  # f = p.H.p/2 - c.p
    opt = O.make("newton")
    p = opt.update(np.zeros(2), -c, hessian=lambda p: h)
    assert p == pytest.approx(np.linalg.solve(h, c), rel=1e-15) and opt.last_shift == 0.0


def test_indefinite_hessian_is_shifted_by_twice_the_first_doubling_mu_that_works():
    h, g = np.array([[-2.0, 0.0], [0.0, 1.0]]), np.array([1.0, 1.0])
    opt = O.make("newton")
    p = opt.update(np.zeros(2), g, hessian=lambda p: h)
    mu = 1e-3 * 2.0 * 2 ** 10  # mu0 = 1e-3 * max(1, max|H|) = 0.002; 0.002 * 2**10 > 2 first
    assert opt.last_shift == mu
    assert list(p) == [-1.0 / (-2.0 + 2 * mu), -1.0 / (1.0 + 2 * mu)]


def test_damped_step_is_at_most_the_gradient_norm_over_mu():
    rng = np.random.default_rng(5)
    for _ in range(50):
        a = rng.normal(size=(3, 3))
        h, g = a + a.T, rng.normal(size=3)
        opt = O.make("newton")
        p = opt.update(np.zeros(3), g, hessian=lambda p: h)
        if opt.last_shift:
            assert np.linalg.norm(p) <= np.linalg.norm(g) / opt.last_shift * (1 + 1e-12)
            damped = h + 2 * opt.last_shift * np.eye(3)
            assert np.all(np.linalg.eigvalsh(damped) >= opt.last_shift * (1 - 1e-12))


def test_quadratic_is_solved_in_one_step_from_the_tape_hessian():
    r = run("(x-50)**2+3*(x-50)*(y+1)+5*(y+1)**2", [3.0, 7.0])
    assert r.steps == 1 and r.converged
    assert r.final[0].tolist() == pytest.approx([50.0, -1.0], abs=1e-12)


def test_rosenbrock_converges_to_1_1():
    r = run("(1-x)**2+100*(y-x**2)**2", [-1.2, 1.0])
    assert r.converged and r.steps < 30
    assert r.final[0].tolist() == pytest.approx([1.0, 1.0], abs=1e-10)


def test_escapes_the_maximum_of_a_double_well_to_a_minimum():
    # f = x**4 - 3*x**2: H = 12x**2 - 6 < 0 at 0.1; minima at +-sqrt(1.5)
    r = run("x**4-3*x**2", [0.1])
    assert r.converged and r.final[0][0] == pytest.approx(math.sqrt(1.5), rel=1e-12)
    points = [row[0][0] for row in r.rows]
    values = [row[1] for row in r.rows]
    # the damped steps (H < 0 up to x = 1/sqrt(2)) go downhill; then plain Newton steps,
    # which may overshoot (no line search): 0.886 -> 1.629 raises f
    assert values[:4] == sorted(values[:4], reverse=True) and points[3] > 1 / math.sqrt(2)
    assert values[4] > values[3]


def test_maximize_negates_the_hessian():
    r = run("-(x-2)**2+1", [5.0], maximize=True)
    assert r.steps == 1 and r.final[0].tolist() == [2.0]


def test_lr_scales_the_step_and_schedules_apply():
    r = run("(x-10)**2", [0.0], steps=2, tol=0, lr=0.5, schedule="exp:0.5")
    assert [row[0][0] for row in r.rows] == [0.0, 5.0, 6.25]
    assert [row[3] for row in r.rows] == [0.5, 0.5, 0.25]


def test_torch_weight_decay_is_in_gradient_and_hessian():
    # f + wd/2 x**2 has its minimum at 2*50/(2+wd) for f = (x-50)**2
    r = run("(x-50)**2", [0.0], steps=1, tol=0, weight_decay=0.5)
    assert r.final[0][0] == pytest.approx(100 / 2.5, rel=1e-15)


def test_non_finite_hessian_gives_a_nan_step():
    opt = O.make("newton")
    p = opt.update(np.zeros(1), np.ones(1), hessian=lambda p: np.array([[math.inf]]))
    assert math.isnan(p[0]) and opt.last_shift is None


def test_newton_has_no_float_stepper_and_needs_a_hessian():
    opt = O.make("newton")
    assert opt.float_stepper(1) is None
    with pytest.raises(ValueError, match="newton needs a hessian callable"):
        opt.update(np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="damping must be a finite number > 0"):
        O.Newton(damping=0)


def test_a_solve_that_lapack_refuses_falls_back_to_the_cholesky_factor(monkeypatch):
    from gradcli.optimizers import newton as optimizers

    def refuse(a, b):
        raise np.linalg.LinAlgError("Singular matrix")

    h, g = np.array([[4.0, 2.0], [2.0, 3.0]]), np.array([1.0, 2.0])
    monkeypatch.setattr(np.linalg, "solve", refuse)
    np.testing.assert_allclose(optimizers._solve_positive(h, g), [-0.125, 0.75], rtol=1e-15)
    # not positive definite after all: a non-finite step, which the run reports as divergence
    assert np.isnan(optimizers._solve_positive(np.array([[1.0, 2.0], [2.0, 1.0]]), g)).all()
