"""The fused run loop (gradcli/training/fused.py, ``jit=True``): its generated text run as plain
Python and compiled by numba, against ``descend`` (the oracle: the same rows bit for bit, which
test_many_variables.py ties to the published Adam rule) and numpy's own pairwise sum."""
import math

import numpy as np
import pytest

import gradcli as gc
from gradcli import optimizers as O
from gradcli.compiled.program import compile_expression
from gradcli.training.descend import descend
from gradcli.training.fused import (FusedUnavailable, descend_fused, pairwise_loops,
                                   pairwise_sum)


def rosenbrock(dim):
    names = [f"x{i:02d}" for i in range(dim)]
    text = "+".join(f"100*({names[i + 1]}-{names[i]}**2)**2+(1-{names[i]})**2"
                    for i in range(dim - 1))
    return text, names


def start(dim):
    return [-1.2 if i % 2 == 0 else 1.0 for i in range(dim)]


@pytest.mark.parametrize("n", [*range(1, 40), 100, 127, 128, 129, 136, 200, 257, 300, 1000])
def test_pairwise_sum_is_numpys_order(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 10.0 ** rng.uniform(-8, 8, size=n)
    total = eval(pairwise_sum([f"x[{i}]" for i in range(n)]), {"x": x.tolist()})  # noqa: S307
    assert total == np.add.reduce(x)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 100, 128, 129, 300, 1000])
def test_pairwise_loops_are_numpys_order(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 10.0 ** rng.uniform(-8, 8, size=n)
    scope = {"Q": x.tolist(), "range": range}
    exec("\n".join(pairwise_loops("Q", n, "total")), scope)  # noqa: S102
    assert scope["total"] == np.add.reduce(x)


def same_rows(a, b):
    assert len(a.rows) == len(b.rows)
    assert a.kept_steps == b.kept_steps
    for r, s in zip(a.rows, b.rows):
        assert np.asarray(r[0]).tolist() == np.asarray(s[0]).tolist()
        assert (r[1], r[2], r[3]) == (s[1], s[2], s[3])
    assert (a.converged, a.diverged_at) == (b.converged, b.diverged_at)


@pytest.mark.parametrize("dim", [3, 12, 40])  # 40: the loops over terms and coordinates
@pytest.mark.parametrize("name, options", [
    ("adam", {"lr": 1e-3}), ("momentum", {"lr": 1e-4}), ("adagrad", {"lr": 0.05, "weight_decay": 0.01}),
    ("adamw", {"lr": 1e-3, "amsgrad": True}), ("lion", {"lr": 1e-4, "maximize": False}),
    ("sgd", {"lr": 1e-4, "clip_value": 0.5})])
def test_generated_loop_as_python_is_descend_bit_for_bit(dim, name, options):
    text, names = rosenbrock(dim)
    program = compile_expression(gc.parse(text), names)
    ref = descend(program.point_function(), start(dim), O.make(name, **options), 300, tol=0.0,
                  variables=names)
    run = descend_fused(program, start(dim), O.make(name, **options), 300, tol=0.0,
                        variables=names, native=False)
    same_rows(ref, run)


def test_kept_rows_convergence_and_divergence_as_descend():
    text = "+".join(f"(x{i:02d}-{i % 3})**2" for i in range(10))
    program = compile_expression(gc.parse(text))
    keep = lambda k: k % 7 == 0  # noqa: E731
    for opt, steps, tol in [(("sgd", 0.1), 500, 1e-10), (("sgd", 1.5), 2000, 1e-10),
                            (("adam", 0.1), 5000, 1e-6)]:
        runs = [f(program, [0.5] * 10, O.make(opt[0], lr=opt[1]), steps, tol, keep=keep)
                for f in (lambda p, *a, **k: descend(p.point_function(), *a, **k),
                          lambda p, *a, **k: descend_fused(p, *a, native=False, **k))]
        same_rows(*runs)
    assert runs[0].converged
    assert runs[1].steps == runs[0].steps


def test_what_is_not_fused_says_why():
    program = compile_expression(gc.parse("(x-1)**2+(y-2)**2"))
    for optimizer, words in [(O.make("nadam"), "branches"), (O.make("adam", schedule="exp:0.9"),
                                                              "schedule"),
                             (O.make("adam", clip_norm=1.0), "clipping"),
                             (O.make("newton"), "element-wise")]:
        with pytest.raises(FusedUnavailable, match=words):
            descend_fused(program, [0.0, 0.0], optimizer, 10, 0.0, native=False)
    with pytest.raises(FusedUnavailable, match="cannot compile"):
        descend_fused(compile_expression(gc.parse("erf(x)+y**2")), [0.0, 0.0], O.make("adam"),
                      10, 0.0, native=False)
    with pytest.raises(gc.GradcliError, match="jit: bounds"):
        gc.minimize("(x-1)**2", {"x": 0}, opt="adam", jit=True, bounds={"x": (0, 1)})


@pytest.mark.slow
def test_numba_loop_is_descend_bit_for_bit():
    """numba's compiled loop (no fast-math: IEEE + - * / and sqrt, libm's pow): the rows of
    descend, through gc.minimize as a user calls it; numba is the `jit` extra (in `test`)."""
    for dim in (5, 20):  # every statement written out; loops over terms and coordinates
        text, names = rosenbrock(dim)
        begin = dict(zip(names, start(dim)))
        fused = gc.minimize(text, begin, opt="adam", lr=1e-3, steps=3000, tol=0.0, jit=True)
        plain = gc.minimize(text, begin, opt="adam", lr=1e-3, steps=3000, tol=0.0)
        assert fused.compile_seconds > 0
        same_rows(plain, fused)
        assert math.isfinite(fused.final[1])


def test_cli_jit_says_what_it_cannot_fuse(gradcli):
    result = gradcli("minimize", "(x-50)**2", "--opt", "nadam", "--jit")
    assert result.exit_code == 2
    assert result.stderr == ("gradcli: error: --jit: nadam's rule branches on values: it is not "
                             "fused (run without jit)\n")
    result = gradcli("minimize", "(x-50)**2", "--opt", "adam", "--jit", "--bounds", "x=0:60")
    assert result.exit_code == 2 and "--jit: --bounds is not fused" in result.stderr


@pytest.mark.slow
def test_cli_jit_prints_what_the_default_loop_prints(gradcli):
    text, _ = rosenbrock(20)
    args = ["minimize", text, "--opt", "adam", "--lr", "1e-3", "--steps", "5000", "--tol", "0",
            "--format", "json", "--every", "1000"]
    fused, plain = gradcli(*args, "--jit"), gradcli(*args)
    assert fused.exit_code == plain.exit_code == 0
    assert fused.stdout == plain.stdout


@pytest.mark.slow
def test_cli_jit_with_variables_named_like_python_builtins(gradcli):
    """The fused loop's source is exec'd: it holds generated slot names (p0, g0, ...) and
    numbers only, so variables named __import__, exec or np are plain variables there."""
    text = "(__import__-1)**2+(exec-2)**2+(np-3)**2"
    args = ["minimize", text, "--opt", "adam", "--lr", "0.1", "--steps", "3000",
            "--format", "json"]
    fused, plain = gradcli(*args, "--jit"), gradcli(*args)
    assert fused.exit_code == plain.exit_code == 0
    assert fused.stdout == plain.stdout and '"__import__": 1.0000000000' in fused.stdout


def test_numba_is_imported_by_a_fused_run_only():
    import subprocess
    import sys

    text, names = rosenbrock(40)
    code = ("import sys, gradcli as gc\n"
            f"run = gc.minimize({text!r}, opt='adam', steps=50, tol=0)\n"
            "print('numba' in sys.modules, 'llvmlite' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False False\n"


def test_generated_loops_with_subtracted_terms_are_descend_bit_for_bit():
    # arithmetic only: numba's cos is libm's, the vector function's numpy's (an ulp apart)
    text = "".join(f"+100*(x{i + 1:02d}-x{i:02d}**2)**2-(x{i:02d}/10-1)**2" for i in range(40))[1:]
    program = compile_expression(gc.parse(text))
    begin = [0.3 * (i % 5) for i in range(41)]
    ref = descend(program.point_function(), begin, O.make("adam", lr=1e-3), 200, tol=0.0)
    run = descend_fused(program, begin, O.make("adam", lr=1e-3), 200, tol=0.0, native=False)
    same_rows(ref, run)


@pytest.mark.slow
@pytest.mark.parametrize("text, names", [
    ("x**3-2*x*y+y**5/7+x**-2+(y-3)**-3", ["x", "y"]),
    ("+".join(f"(x{i + 1:02d}-x{i:02d}**3)**3+x{i:02d}**-4" for i in range(20)), None),
])
def test_numba_loop_keeps_integer_powers_bit_for_bit(text, names):
    """numba computes float ** int-literal as a chain of products (two or more roundings),
    Python as libm's pow (one): the fused loop writes the exponents as floats, so x**3, x**5
    and 1/x**4 are libm's in both (before, a quarter of random points differed by an ulp)."""
    expression = gc.parse(text)
    names = names or expression.variables
    begin = dict(zip(names, [0.7 + 0.01 * i for i in range(len(names))]))
    for opt, options in [("rmsprop", {"clip_value": 0.5}), ("adam", {"lr": 1e-3})]:
        fused = gc.minimize(text, begin, opt=opt, steps=300, tol=0.0, jit=True, **options)
        plain = gc.minimize(text, begin, opt=opt, steps=300, tol=0.0, **options)
        same_rows(plain, fused)


def test_float_exponents_rewrites_integer_literals_only():
    from gradcli.training.fused import float_exponents

    assert float_exponents("a = v0 ** 3\nb = 1.0 / v1 ** 12\nc = v2 ** -3") == (
        "a = v0 ** 3.0\nb = 1.0 / v1 ** 12.0\nc = v2 ** -3.0")
    for kept in ("v0 ** 2.5", "v0 ** 1e3", "b1 ** t", "v0 ** 3.0"):
        assert float_exponents(kept) == kept


def test_float_form_of_x_to_the_minus_2_is_numpys():
    """powi's float form of x**-2 is 1/(x*x), as numpy's forward 1/np.power(x, 2) (numpy
    squares for the exponent 2; Python's x ** 2 is libm's pow, an ulp off x*x at ~0.1% of
    points, e.g. 1.1656423432705465): the float function, the fused loop and numpy agree."""
    from gradcli.registry import OPS

    xs = np.random.default_rng(1).uniform(-3, 3, 20_000)
    xs[0] = 1.1656423432705465
    form = OPS["powi"].scalar.choose(n=-2)
    fn = eval(f"lambda x: {form.format('x')}")  # noqa: S307 (the op's own template)
    assert [fn(x) for x in xs.tolist()] == (1.0 / np.power(xs, 2)).tolist()


def test_cli_jit_with_the_default_optimizer_names_what_it_fuses(gradcli):
    result = gradcli("minimize", "x**2", "--jit")   # lbfgs, the default
    assert result.exit_code == 2
    assert result.stderr == ("gradcli: error: --jit: lbfgs is not an element-wise rule (the fused "
                             "loop runs first-order rules such as adam; or run without jit)\n")


@pytest.mark.slow
def test_without_an_importable_numba_jit_is_one_line_and_long_replays_stay_numpy(tmp_path):
    """A real process where ``import numba`` fails (a broken install shadowing it): --jit is
    an error line with exit status 2, never a traceback; a program replayed past NATIVE_AFTER
    keeps numpy's chunks (the same numbers)."""
    import os
    import subprocess
    import sys

    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text("raise ImportError('numba is broken here')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.getcwd()}"}
    for opts in (["--opt", "adam"], ["--opt", "sgd,adam", "--format", "json"]):
        done = subprocess.run([sys.executable, "-m", "gradcli", "minimize", "(1-x)**2+(y-x)**2",
                               "--jit", *opts], capture_output=True, text=True, env=env)
        assert done.returncode == 2, done.stderr
        assert done.stderr == "gradcli: error: --jit: jit needs numba: pip install 'gradcli[jit]'\n"
        assert done.stdout == ""
    code = ("import sys, numpy as np, gradcli as gc\n"
            "from gradcli.compiled import native\n"
            "from gradcli.compiled.program import compile_expression\n"
            "native.NATIVE_AFTER = 0.0\n"
            "p = compile_expression(gc.parse('sin(x)*cos(y)+x*x/y'))\n"
            "env = {'x': np.linspace(0.1, 3, 70_000), 'y': np.linspace(1, 2, 70_000)}\n"
            "a = p.value_and_grad(env); b = p.value_and_grad(env)\n"
            "print(list(p._fused.values()), all(np.array_equal(u, v) for u, v in zip(a, b)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[None] True\n"


@pytest.mark.slow
def test_many_variables_with_sin_and_exp_are_within_ulps_of_the_default_loop():
    """Over 16 variables the default loop's vector path calls numpy's sin and exp, the fused
    loop libm's (docs/minimize.md says so): the iterates differ in their last bits only."""
    text = "+".join(f"(x{i + 1:02d}-sin(x{i:02d}))**2+exp(x{i:02d}/4)" for i in range(40))
    names = gc.parse(text).variables
    begin = dict(zip(names, [0.3 + 0.01 * i for i in range(len(names))]))
    plain = gc.minimize(text, begin, opt="adam", lr=1e-2, steps=300, tol=0.0)
    fused = gc.minimize(text, begin, opt="adam", lr=1e-2, steps=300, tol=0.0, jit=True)
    np.testing.assert_allclose(fused.final[0], plain.final[0], rtol=1e-12, atol=1e-14)
    assert fused.final[1] == pytest.approx(plain.final[1], rel=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "(" + "+".join(f"100*(x{i + 1:02d}-x{i:02d}**2)**2" for i in range(20)) + ")-("
    + "-".join(f"(x{i:02d}/10-1)**2" for i in range(20, 40)) + ")",
    "+".join(f"((x{i + 1:02d}-x{i:02d}**2)**2-(x{i:02d}-1)**2)" for i in range(40)),
], ids=["two groups", "nested differences"])
def test_sums_that_are_not_a_chain_run_as_loops_bit_for_bit(text):
    """A sum that is not a left chain ((a+b)-(c-d), a+(b-c)+...) was written out statement by
    statement (121 variables: 9.6 s of numba compile against 1.3 s as loops); its pairs are
    now added in a loop in the expression's order, the rows those of descend."""
    from gradcli.training.fused import compile_loop

    program = compile_expression(gc.parse(text))
    n = len(program.wrt)
    assert "PAIR_SUB" in compile_loop(program, O.make("adam"), n, native=False).source
    begin = [0.3 * (i % 5) - 0.2 for i in range(n)]
    ref = descend(program.point_function(), begin, O.make("adam", lr=1e-3), 200, tol=0.0)
    same_rows(ref, descend_fused(program, begin, O.make("adam", lr=1e-3), 200, tol=0.0,
                                 native=False))
    same_rows(ref, descend_fused(program, begin, O.make("adam", lr=1e-3), 200, tol=0.0))
