"""--plot pictures: written atomically, right format, clear errors."""
import os

import numpy as np
import pytest

import gradcli as gc
from gradcli.errors import GradcliError
from gradcli.cli.plot import Path, check_target, plot_fit, plot_minimize

pytestmark = pytest.mark.slow  # pictures: `pytest -m "not slow"` leaves them out

pytest.importorskip("matplotlib")


def rosenbrock_path(n=30):
    steps = np.arange(n)
    pts = np.stack([np.linspace(-1.5, 1.0, n), np.linspace(2.0, 1.0, n)], axis=1)
    f = gc.parse("(1-x)**2+100*(y-x**2)**2")
    return f, Path("adam", steps, pts, f.evaluate({"x": pts[:, 0], "y": pts[:, 1]}))


def test_two_variable_plot_is_a_png(tmp_path):
    f, p = rosenbrock_path()
    out = tmp_path / "r.png"
    plot_minimize(str(out), f, ["x", "y"], {}, [p])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [n for n in os.listdir(tmp_path) if n.startswith(".gradcli-")] == []


def test_one_variable_plot_is_an_svg(tmp_path):
    f = gc.parse("(x-50)**2")
    xs = np.linspace(3, 50, 20)
    out = tmp_path / "a.svg"
    plot_minimize(str(out), f, ["x"], {}, [Path("sgd", np.arange(20), xs[:, None], f.evaluate(xs))])
    assert b"<svg" in out.read_bytes()[:500]


def test_fit_plot(tmp_path):
    out = tmp_path / "fit.png"
    x = np.arange(1.0, 6.0)
    plot_fit(str(out), "w*x+b", np.arange(10), np.geomspace(10, 0.1, 10), "x", x, 2 * x + 1,
             x, 2 * x + 1)
    assert out.stat().st_size > 1000


def test_bad_suffix_and_missing_directory(tmp_path):
    with pytest.raises(GradcliError, match=r"use a \.png or \.svg file name"):
        check_target(str(tmp_path / "x.jpg"))
    with pytest.raises(GradcliError, match="does not exist"):
        check_target(str(tmp_path / "nope" / "x.png"))


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    f, p = rosenbrock_path()
    out = tmp_path / "r.png"
    import matplotlib.figure

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", boom)
    with pytest.raises(KeyboardInterrupt):
        plot_minimize(str(out), f, ["x", "y"], {}, [p])
    assert os.listdir(tmp_path) == []


def test_a_picture_gets_the_permissions_of_an_ordinary_file(tmp_path):
    f, p = rosenbrock_path()
    out = tmp_path / "r.png"
    previous = os.umask(0o022)
    try:
        plot_minimize(str(out), f, ["x", "y"], {}, [p])
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_a_diverged_run_does_not_set_the_view():
    from gradcli.cli.plot import _in_view

    f, good = rosenbrock_path()
    pts = np.array([[-1.5, 2.0], [0.05, 2.5], [2.0, -2.0], [-1.2e156, 9.1e103]])
    bad = Path("momentum", np.arange(4), pts, f.evaluate({"x": pts[:, 0], "y": pts[:, 1]}))
    view = _in_view([good, bad])
    # the settled run alone sets the view (a diverged run's overshoots ran it off, --opt all)
    assert np.abs(view).max() <= 2.5 and len(view) == len(good.points)
    view = _in_view([bad])  # every run diverged: its start and first steps, not x = -1.2e156
    assert np.abs(view).max() <= 2.5 and len(view) == 3


def test_a_diverged_loss_curve_does_not_flatten_the_others():
    from gradcli.cli.plot import _loss_top

    steps = np.arange(4)
    calm = ("adam", steps, np.array([12.5, 10.0, 8.0, 6.0]))
    wild = ("momentum", steps, np.array([12.5, 400.0, 1e30, np.inf]))
    assert _loss_top([calm, wild]) == 1.25e7
    assert _loss_top([calm]) is None
