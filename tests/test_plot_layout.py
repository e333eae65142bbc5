"""What the pictures show (issue 20 item 6), measured on the drawn figures: the loss axis
linear over less than two decades, no label over tick labels or over the other panel,
legends outside the data, every run of --opt all with a line of its own, fit's parameters
and R² in the picture, and ``gradcli: wrote FILE`` on stderr."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow  # pictures: `pytest -m "not slow"` leaves them out
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
LINE = str(ROOT / "samples" / "noisy_line.csv")
ROSENBROCK = "(1-x)**2+100*(y-x**2)**2"


@pytest.fixture
def drawn(monkeypatch):
    """Run gradcli with --plot; the figure is kept (not written) and drawn for measuring."""
    from gradcli.cli import cli, plot

    figures = []
    monkeypatch.setattr(plot, "_save", lambda fig, filename: figures.append(fig))

    def run(*args):
        result = CliRunner().invoke(cli, [*args, "--plot", "picture.png", "--format", "plain"],
                                    prog_name="gradcli")
        assert result.exit_code in (0, 1), result.stderr
        (fig,) = figures[-1:]
        fig.canvas.draw()
        return fig, result
    yield run
    import matplotlib.pyplot as plt

    for fig in figures:
        plt.close(fig)


def _boxes(fig):
    renderer = fig.canvas.get_renderer()
    return renderer, [ax for ax in fig.axes]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _labels_clear(fig) -> None:
    """No axis label over a tick label of its own axes, nor over another panel."""
    renderer, axes = _boxes(fig)
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            label = axis.label.get_window_extent(renderer)
            for tick in axis.get_ticklabels():
                if tick.get_text():
                    assert not _overlap(label, tick.get_window_extent(renderer)), \
                        (axis.label.get_text(), tick.get_text())
            for other in axes:
                if other is not ax:
                    assert not _overlap(label, other.get_window_extent(renderer)), \
                        axis.label.get_text()


def _legends_outside_the_data(fig) -> None:
    renderer, axes = _boxes(fig)
    for ax in axes:
        legend = ax.get_legend()
        if legend is not None:
            for other in axes:
                assert not _overlap(legend.get_window_extent(renderer),
                                    other.get_window_extent(renderer))


def test_a_loss_spanning_less_than_two_decades_is_on_a_linear_axis(drawn):
    """issue 20: f from 5.25 to 5.23 had a log axis with ticks 5x10^0 and its label over them."""
    fig, result = drawn("minimize", "(x-3)**2+5", "--opt", "sgd", "--lr", "0.001",
                        "--steps", "20", "--from", "2.5")
    loss = fig.axes[-1]
    assert loss.get_yscale() == "linear" and "log" not in loss.get_ylabel()
    ticks = [t.get_text() for t in loss.get_yticklabels()]
    assert not any("times" in t or "10^" in t for t in ticks), ticks
    assert [t.get_text() for t in loss.get_xticklabels() if t.get_text()] and all(
        re.fullmatch(r"−?\d+", t.get_text()) for t in loss.get_xticklabels() if t.get_text())
    _labels_clear(fig)
    # f - min f, min f the least value reached (5.2308: sgd has not reached 5 in 20 steps)
    (line,) = loss.get_lines()
    f = np.array([(2.5 + 0.5 * (1 - (1 - 0.002) ** k) - 3) ** 2 + 5 for k in range(21)])
    assert np.allclose(line.get_ydata(), f - f[-1], rtol=1e-9, atol=1e-15)
    assert result.stderr == "gradcli: wrote picture.png\n"


def test_a_loss_over_many_decades_is_on_a_log_axis(drawn):
    fig, _ = drawn("minimize", "(x-50)**2", "--opt", "adam", "--lr", "1", "--steps", "200",
                   "--from", "3")
    loss = fig.axes[-1]
    assert loss.get_yscale() == "log" and loss.get_ylabel() == "f (log scale)"
    _labels_clear(fig)


def test_opt_all_gives_every_run_a_line_of_its_own_and_legends_under_the_panels(drawn):
    """18 runs and matplotlib's 10 colours: sgd and rprop were the same blue line."""
    from matplotlib.colors import to_hex

    from gradcli.optimizers import ALL_NAMES

    fig, result = drawn("minimize", ROSENBROCK, "--opt", "all", "--from", "x=-1.5,y=2",
                        "--steps", "300")
    for ax in fig.axes:
        lines = [line for line in ax.get_lines() if line.get_label() in ALL_NAMES]
        assert [line.get_label() for line in lines] == list(ALL_NAMES)
        looks = {(to_hex(line.get_color()), line.get_linestyle()) for line in lines}
        assert len(looks) == len(ALL_NAMES)
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()][-len(ALL_NAMES):] == list(ALL_NAMES)
    _legends_outside_the_data(fig)
    _labels_clear(fig)
    assert result.stderr.startswith("gradcli: wrote picture.png\n")


def test_the_fit_picture_shows_the_parameters_and_r2(drawn):
    """scipy's curve_fit gives the same line; R² from its residuals."""
    import csv

    from scipy.optimize import curve_fit

    with open(LINE, encoding="utf-8") as fh:
        rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(fh)]
    x, y = np.array(rows).T
    (w, b), _ = curve_fit(lambda x, w, b: w * x + b, x, y)
    r2 = 1 - np.sum((y - (w * x + b)) ** 2) / np.sum((y - y.mean()) ** 2)
    fig, result = drawn("fit", "w*x+b", "--data", LINE, "--target", "y")
    title = fig._suptitle.get_text().splitlines()
    assert title[0] == "w*x+b"
    numbers = dict(re.findall(r"(\w+|R²) = (\S+?)(?:,|$)", title[1]))
    assert float(numbers["b"]) == pytest.approx(b, rel=1e-8)
    assert float(numbers["w"]) == pytest.approx(w, rel=1e-8)
    assert float(numbers["R²"]) == pytest.approx(r2, rel=1e-8)
    data, loss = fig.axes
    assert data.get_xlabel() == "x" and data.get_ylabel() == "y"
    assert loss.get_xlabel() == "iteration"  # lm's rows are iterations, as in its table
    assert all(re.fullmatch(r"−?\d+", t.get_text()) for t in loss.get_xticklabels()
               if t.get_text())  # lm's three iterations: no tick at 0.25
    _legends_outside_the_data(fig)
    _labels_clear(fig)
    assert result.stderr == "gradcli: wrote picture.png\n"


def test_a_minimum_above_zero_is_drawn_from_it(drawn):
    """Rosenbrock + 3 from (0, 0) with lbfgs: on f itself the curve sat flat at 3."""
    fig, _ = drawn("minimize", ROSENBROCK + "+3", "--from", "x=0,y=0")
    loss = fig.axes[-1]
    assert loss.get_ylabel() == "f − min f (log scale)"
    assert loss.get_title().startswith("f by step, min f = 3")
    assert np.nanmin(loss.get_lines()[0].get_ydata()) < 1e-6  # the progress is in sight
    _labels_clear(fig)
