"""Pictures for ``minimize --plot`` and ``fit --plot`` (matplotlib, the ``plot`` extra).

matplotlib is imported only here, only when a picture is asked for. Files are
written to a temporary file beside the target and renamed into place, so an
interrupted run never leaves half a picture.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..errors import GradcliError

FORMATS = (".png", ".svg")


@dataclass
class Path:
    """One optimizer's iterates: steps (k,), points (k, n variables), values (k,)."""
    label: str
    steps: np.ndarray
    points: np.ndarray
    values: np.ndarray


def check_target(filename: str) -> None:
    """Fail early (before any work) on a file name or setup that cannot be plotted."""
    suffix = os.path.splitext(filename)[1].lower()
    if suffix not in FORMATS:
        raise GradcliError(f"--plot: cannot write '{filename}': use a .png or .svg file name")
    directory = os.path.dirname(os.path.abspath(filename))
    if not os.path.isdir(directory):
        raise GradcliError(f"--plot: directory '{directory}' does not exist")
    if os.path.isdir(filename):
        raise GradcliError(f"--plot: cannot write '{filename}': it is a directory")
    try:  # the name's length and the directory's permissions, before any work
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(os.path.basename(filename))) > limit:
        raise GradcliError(f"--plot: cannot write '{filename}': the file name is longer "
                           f"than the file system allows ({limit} bytes)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gradcli-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _write_error(filename, exc) from None
    os.close(fd)
    os.unlink(tmp)
    _pyplot()


def _write_error(filename: str, exc: OSError) -> GradcliError:
    """One line for a picture that cannot be written (read-only, full, /proc, ...)."""
    return GradcliError(f"--plot: cannot write '{filename}': "
                        f"{(exc.strerror or str(exc)).lower()}")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise GradcliError("--plot needs matplotlib: pip install 'gradcli[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, filename: str) -> None:
    """Write atomically: a temporary file in the same directory, then a rename."""
    plt = _pyplot()
    directory = os.path.dirname(os.path.abspath(filename))
    suffix = os.path.splitext(filename)[1].lower()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gradcli-", suffix=suffix, dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=suffix[1:], dpi=120, bbox_inches="tight")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a picture is an ordinary file
        os.replace(tmp, filename)
    except OSError as exc:
        _remove(tmp)
        raise _write_error(filename, exc) from None
    except BaseException:
        _remove(tmp)
        raise
    finally:
        plt.close(fig)


def _remove(tmp: str | None) -> None:
    try:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _in_view(paths: list[Path]) -> np.ndarray:
    """The points that set the view: those whose value stays within 1e6 times the largest
    starting value, so that a diverged run (x = -1e156) does not shrink everything else to
    a dot; the diverged part runs off the edge of the picture. When some runs end at a
    finite value, only they set the view (a diverged one's first overshoots would too)."""
    settled = [p for p in paths if len(p.values) and np.isfinite(p.values[-1])]
    paths = settled or paths
    pts = np.concatenate([p.points for p in paths])
    values = np.concatenate([p.values for p in paths])
    start = max((abs(float(p.values[0])) for p in paths if np.isfinite(p.values[0])), default=1.0)
    with np.errstate(all="ignore"):
        keep = np.isfinite(values) & (np.abs(values) <= 1e6 * max(start, 1.0))
        keep &= np.all(np.isfinite(pts), axis=1)
    return pts[keep] if keep.any() else pts[:1]


def _loss_top(curves) -> float | None:
    """Where a log-scale loss axis stops when a curve diverges: 1e6 times the largest
    starting value (as _in_view), so that the other curves keep their shape; else None."""
    starts = [abs(float(v[0])) for _, _, v in curves if len(v) and np.isfinite(v[0])]
    top = 1e6 * max(max(starts, default=1.0), 1e-300)
    with np.errstate(all="ignore"):
        highest = max((float(np.max(np.where(np.isfinite(v), v, np.inf))) for _, _, v in curves
                       if len(v)), default=0.0)
    return top if highest > top else None


LOG_DECADES = 2  # the loss axis is logarithmic only when the values span more decades


def log_scale(curves) -> bool:
    """True when no finite value is negative and the positive ones span more than
    LOG_DECADES decades (a log axis over less shows one or two ticks and a flat curve; a
    value of exactly 0, a minimum reached, is left off a log axis)."""
    finite = [np.asarray(v, dtype=float)[np.isfinite(v)] for _, _, v in curves]
    values = np.concatenate(finite) if finite else np.zeros(0)
    positive = values[values > 0]
    if not positive.size or np.any(values < 0):
        return False
    with np.errstate(all="ignore"):
        return bool(np.log10(positive.max() / positive.min()) > LOG_DECADES)


SHIFT_FRACTION = 1e-3  # the curves show f - min f when |min f| is more than this part of the fall


def loss_offset(curves) -> float:
    """What the loss panel subtracts from every curve: the least finite value of any curve
    (min f, the best found) when it is far from 0 against how far the curves fell
    (|min f| > SHIFT_FRACTION x (start - min f)); else 0. On f itself such a curve (f = 5 +
    a vanishing remainder) flattens at min f after a few steps and its progress is out of
    sight; f - min f shows it (the best point itself is then 0: off a log axis)."""
    finite = [np.asarray(v, dtype=float)[np.isfinite(v)] for _, _, v in curves]
    values = np.concatenate(finite) if finite else np.zeros(0)
    starts = [float(v[0]) for _, _, v in curves if len(v) and np.isfinite(v[0])]
    if not values.size or not starts:
        return 0.0
    least, start = float(values.min()), max(starts)
    fell = start - least
    return least if fell > 0 and abs(least) > SHIFT_FRACTION * fell else 0.0


LINESTYLES = ("-", "--", ":", "-.")
PANEL_GAP = 0.3  # between the panels, in axes widths: the loss panel's label and 6-character
                 # ticks (0.0175) clear the left panel (at matplotlib's 0.2 its label touched it)


def style(k: int) -> dict:
    """The kth run's colour and line: matplotlib's ten colours, then the same ten dashed,
    dotted, ... (--opt all draws 18 runs: sgd and rprop were the same blue line)."""
    return {"color": f"C{k % 10}", "linestyle": LINESTYLES[k // 10 % len(LINESTYLES)]}


def _legend(ax, entries: int) -> None:
    """The legend under the panel, outside the axes: it never covers the data."""
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=min(entries, 4), frameon=False)


def _loss_axes(ax, curves, ylabel: str, xlabel: str) -> None:
    offset = loss_offset(curves)
    if offset:
        curves = [(label, x, np.asarray(v, dtype=float) - offset) for label, x, v in curves]
    positive = log_scale(curves)
    for k, (label, x, v) in enumerate(curves):
        if positive:  # 0 (the best point, after the shift) has no place on a log axis
            v = np.where(np.asarray(v) > 0, v, np.nan)
        ax.plot(x, v, label=label, linewidth=1.5, **style(k))
    top = _loss_top(curves)
    if positive:
        ax.set_yscale("log")
        if top is not None:  # the bottom from the data too (the margins of 1e300 reach 1e-15)
            low = min(float(np.min(v[np.isfinite(v) & (v > 0)])) for _, _, v in curves
                      if np.any(np.isfinite(v) & (v > 0)))
            ax.set_ylim(bottom=low / 2, top=top)
    elif top is not None:  # a diverged curve: the others keep their shape, it runs off
        starts = [abs(float(v[0])) for _, _, v in curves if len(v) and np.isfinite(v[0])]
        ax.set_ylim(top=1.5 * max(starts, default=1.0))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and epochs: no 2.5
    ax.set_xlabel(xlabel)
    short = ylabel.split(" (")[0]  # "loss (MSE)": "min loss"
    ax.set_ylabel((f"{ylabel} − min {short}" if offset else ylabel)
                  + (" (log scale)" if positive else ""))
    ax.set_title(f"{ylabel} by {xlabel}" + (f", min {short} = {offset:.6g}" if offset else ""))
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        _legend(ax, len(curves))


def _span(values: np.ndarray, margin: float = 0.25) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    width = hi - lo if hi > lo else max(1.0, abs(lo))
    return lo - margin * width, hi + margin * width


def plot_minimize(filename: str, expr, variables: list[str], fixed: dict, paths: list[Path]) -> None:
    """One variable: f with the iterates; two: contours with the path; always the loss curve.

    ``expr`` is a gc.parse Expression; ``fixed`` holds values for variables not optimized.
    """
    plt = _pyplot()
    n = len(variables)
    fig, axes = plt.subplots(1, 2 if n <= 2 else 1, figsize=(11 if n <= 2 else 6, 4.5),
                             gridspec_kw={"wspace": PANEL_GAP})
    axes = np.atleast_1d(axes)
    if n == 1:
        _function_panel(axes[0], expr, variables[0], fixed, paths)
    elif n == 2:
        _contour_panel(axes[0], expr, variables, fixed, paths)
    _loss_axes(axes[-1], [(p.label, p.steps, p.values) for p in paths], "f", "step")
    fig.suptitle(expr.text, fontsize="medium", y=1.03)  # above the panels' own titles
    _save(fig, filename)


def _mark_ends(ax, xs, ys, color) -> None:
    ax.plot(xs[0], ys[0], "o", color=color, markersize=8, markeredgecolor="black", zorder=5)
    ax.plot(xs[-1], ys[-1], "*", color=color, markersize=14, markeredgecolor="black", zorder=5)


def _function_panel(ax, expr, name, fixed, paths) -> None:
    lo, hi = _span(_in_view(paths)[:, 0])
    grid = np.linspace(lo, hi, 400)
    with np.errstate(all="ignore"):
        ax.plot(grid, expr.evaluate({**fixed, name: grid}), color="0.3", linewidth=1.5, label="f")
    for k, p in enumerate(paths):
        ax.plot(p.points[:, 0], p.values, marker=".", alpha=0.7, markersize=4, label=p.label,
                **style(k))
        _mark_ends(ax, p.points[:, 0], p.values, style(k)["color"])
    ax.set_xlim(lo, hi)
    ax.set_xlabel(name)
    ax.set_ylabel("f")
    ax.set_title("iterates (o start, * end)")
    ax.grid(True, alpha=0.3)
    _legend(ax, len(paths) + 1)


def _contour_panel(ax, expr, names, fixed, paths) -> None:
    pts = _in_view(paths)
    (x0, x1), (y0, y1) = _span(pts[:, 0]), _span(pts[:, 1])
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    with np.errstate(all="ignore"):
        z = np.asarray(expr.evaluate({**fixed, names[0]: gx, names[1]: gy}), dtype=float)
    finite = z[np.isfinite(z)]
    if finite.size:
        if finite.min() >= 0 and finite.max() > 0:
            # contours spaced geometrically show valleys such as Rosenbrock's
            levels = np.geomspace(max(finite.min(), finite.max() * 1e-6), finite.max(), 25)
            levels = np.unique(np.concatenate([[finite.min()], levels]))
        else:
            levels = 25
        ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.8)
    for k, p in enumerate(paths):
        ax.plot(p.points[:, 0], p.points[:, 1], marker=".", markersize=3, alpha=0.8,
                label=p.label, **style(k))
        _mark_ends(ax, p.points[:, 0], p.points[:, 1], style(k)["color"])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("contours of f and the path (o start, * end)")
    _legend(ax, len(paths))


def plot_fit(filename: str, model_text: str, epochs: np.ndarray, losses: np.ndarray,
             column: str | None = None, x=None, y=None, curve_x=None, curve_y=None,
             target: str = "y", label: str = "loss", others=(), results=(),
             step: str = "epoch") -> None:
    """The loss curve; with one input column, also the data and the fitted curve.

    ``others`` holds more runs drawn beside the first (``fit --opt a,b``), each
    ``(label, epochs, losses, curve_y)`` (``curve_y`` on ``curve_x``; None without data).
    ``results`` are lines written under the title (each run's parameters and R²);
    ``step`` names the loss panel's x axis (lm's are iterations).
    """
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        # a diverged run's losses (1e300 and beyond) overflow matplotlib's log-scale transforms
        warnings.simplefilter("ignore", RuntimeWarning)
        _draw_fit(filename, model_text, column, x, y, curve_x, target,
                  [(label, epochs, losses, curve_y), *others], list(results), step)


def _draw_fit(filename, model_text, column, x, y, curve_x, target, runs, results=(),
              step="epoch") -> None:
    plt = _pyplot()
    with_data = column is not None
    fig, axes = plt.subplots(1, 2 if with_data else 1, figsize=(11 if with_data else 6, 4.5),
                             gridspec_kw={"wspace": PANEL_GAP})
    axes = np.atleast_1d(axes)
    if with_data:
        ax = axes[0]
        ax.scatter(x, y, s=12, alpha=0.7, color="0.4", label="data")
        for k, (name, _, _, fitted) in enumerate(runs):
            title = "fitted model" if len(runs) == 1 else f"fitted model ({name})"
            ax.plot(curve_x, fitted, linewidth=2, label=title, **style(k))
        ax.set_xlabel(column)
        ax.set_ylabel(target)
        ax.set_title("data and fitted model")
        ax.grid(True, alpha=0.3)
        _legend(ax, len(runs) + 1)
    _loss_axes(axes[-1], [(name, e, v) for name, e, v, _ in runs], "loss (MSE)", step)
    # the fitted parameters and R² above the panels, where they cover nothing
    fig.suptitle("\n".join([model_text, *results]), fontsize="medium",
                 y=1.0 + 0.045 * len(results))
    _save(fig, filename)
