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


# -- a minimum above 0 (issue 20): the loss panel shows f - min f ----------------------------------
def test_the_loss_offset_is_min_f_when_it_hides_the_progress():
    from gradcli.cli.plot import loss_offset

    steps = np.arange(4)
    # lbfgs on (x-3)**2+5 from 0: f = 14, 9, 5 (x = 0, 1, 3): 5 is far from 0 against the fall 9
    assert loss_offset([("lbfgs", steps[:3], np.array([14.0, 9.0, 5.0]))]) == 5.0
    # a minimum of 0 up to rounding (Adam on (x-50)**2 ends at 7.5e-6 after 2209): no shift
    assert loss_offset([("adam", steps, np.array([2209.0, 541.9, 0.23, 7.5e-6]))]) == 0.0
    # negative minima too (sin from 0 towards -1); a diverged run's inf and nan are left out
    assert loss_offset([("a", steps, np.array([0.0, -0.5, -0.9, -1.0])),
                        ("b", steps, np.array([0.0, 3.0, np.inf, np.nan]))]) == -1.0
    # no fall at all (a constant, or 0 steps): nothing to show above the least value
    assert loss_offset([("sgd", steps[:2], np.array([5.0, 5.0]))]) == 0.0


def _loss_panel(curves):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from gradcli.cli.plot import _loss_axes

    fig, ax = plt.subplots()
    _loss_axes(ax, curves, "f", "step")
    return fig, ax


def test_a_minimum_above_zero_is_subtracted_and_the_label_says_so():
    """Rosenbrock + 3 from (0, 0): f falls from 4 to 3 + 1e-12. On f itself a log axis would
    span 0.12 decades (linear, flat after a few steps); f - 3 spans 12 decades: log, and
    the last step's 1e-12 is on the picture."""
    import matplotlib.pyplot as plt

    steps = np.arange(5)
    values = 3.0 + np.array([1.0, 0.5, 1e-3, 1e-8, 1e-12])
    fig, ax = _loss_panel([("bfgs", steps, values)])
    try:
        assert ax.get_yscale() == "log"
        assert ax.get_ylabel() == "f − min f (log scale)"
        assert ax.get_title() == "f by step, min f = 3"
        (line,) = ax.get_lines()
        shown = line.get_ydata()
        # the data drawn is f - min f (min f = 3 + 1e-12, itself 0: off the log axis)
        assert np.allclose(shown[:4], values[:4] - values[-1], rtol=1e-3) and np.isnan(shown[4])
        assert ax.get_ylim()[0] <= 1e-8 and ax.get_ylim()[1] >= 1.0
    finally:
        plt.close(fig)


def test_a_minimum_of_zero_is_drawn_as_it_is():
    import matplotlib.pyplot as plt

    steps = np.arange(4)
    fig, ax = _loss_panel([("adam", steps, np.array([2209.0, 541.9, 0.23, 7.5e-6]))])
    try:
        assert ax.get_ylabel() == "f (log scale)" and ax.get_title() == "f by step"
        assert list(ax.get_lines()[0].get_ydata()) == [2209.0, 541.9, 0.23, 7.5e-6]
    finally:
        plt.close(fig)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # matplotlib's, of 1e300
def test_a_diverged_curve_does_not_stretch_the_log_axis_below_the_data():
    """--opt all on Rosenbrock + 3: sgd's 1e300 set the top at 1e6 x the start, and matplotlib's
    margins over 300 decades put the bottom at 1e-11, below every value drawn."""
    import matplotlib.pyplot as plt

    steps = np.arange(4)
    fig, ax = _loss_panel([("bfgs", steps, 3.0 + np.array([1.0, 0.1, 1e-4, 0.0])),
                           ("sgd", steps, np.array([4.0, 100.0, 1e300, np.inf]))])
    try:
        assert ax.get_yscale() == "log"
        bottom, top = ax.get_ylim()
        assert bottom == pytest.approx(1e-4 / 2, rel=1e-6) and top == pytest.approx(1e6)
    finally:
        plt.close(fig)
