"""Pipelines (issue 22, item 1): 100,000 points on stdin through `gradcli diff/grad/eval
EXPR --at -`, whole process, against one-off numpy scripts that read the same lines, compute
the hand-written value or derivative and print repr() per value.

    python tests/benchmarks/bench_pipeline.py [--points 100000] [--rounds 5]

Each round runs every system once, in turn (interleaved: the machine is shared), with
stdout to a file; the table gives the median wall time, the median peak RSS (that
process alone) and the ratios gradcli / one-off (target: time <= 1.5,
RSS <= 2; measured with GNU time). The environment is cleaned as bench_peers.py's W1 (PYTHONDONTWRITEBYTECODE
would make every gradcli process compile its sources).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

EXPR = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"
ONE_OFF = {
    "value": "import sys\nimport numpy as np\n"
             "x = np.array(sys.stdin.read().split(), dtype=float)\n"
             "v = np.sin(x)*np.exp(-x**2/10)+np.log(1+x**2)-np.sqrt(1+x**2)*np.cos(3*x)\n"
             "sys.stdout.write('\\n'.join(map(repr, v.tolist())) + '\\n')\n",
    "derivative": "import sys\nimport numpy as np\n"
                  "x = np.array(sys.stdin.read().split(), dtype=float)\n"
                  "s = np.sqrt(1 + x**2)\n"
                  "d = ((np.cos(x) - x / 5 * np.sin(x)) * np.exp(-x**2 / 10) + 2 * x / (1 + x**2)"
                  " - x / s * np.cos(3 * x) + 3 * s * np.sin(3 * x))\n"
                  "sys.stdout.write('\\n'.join(map(repr, d.tolist())) + '\\n')\n",
}
SYMPY_ONE_OFF = ("import sys\nimport numpy as np\nimport sympy as sp\nx = sp.Symbol('x')\n"
                 f"f = sp.lambdify(x, sp.diff(sp.sympify({EXPR!r}), x), 'numpy')\n"
                 "v = f(np.array(sys.stdin.read().split(), dtype=float))\n"
                 "sys.stdout.write('\\n'.join(map(repr, v.tolist())) + '\\n')\n")


TIME = "/usr/bin/time"  # GNU time: the peak RSS of its child alone (a child of this
# process would count the memory it had when forked from this one, numpy and all)


def run(args, stdin_path, out_path, env, rss_path):
    """(wall seconds, peak RSS in MB or None) of one process."""
    measure = os.path.exists(TIME)
    argv = [TIME, "-f", "%M", "-o", rss_path, *args] if measure else args
    with open(stdin_path, "rb") as fin, open(out_path, "wb") as fout:
        start = time.perf_counter()
        code = subprocess.call(argv, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{args} exited {code}")
    if not measure:
        return wall, None
    with open(rss_path) as f:
        return wall, int(f.read().split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONDONTWRITEBYTECODE")}
    tmp = tempfile.mkdtemp(prefix="bench_pipeline_")
    points = os.path.join(tmp, "points.txt")
    xs = np.random.default_rng(22).uniform(-5, 5, args.points)
    with open(points, "w") as f:
        f.write("".join(f"{x!r}\n" for x in xs.tolist()))
    scripts = {}
    for name, text in ONE_OFF.items():
        scripts[name] = os.path.join(tmp, f"{name}.py")
        with open(scripts[name], "w") as f:
            f.write(text)
    py, gradcli = sys.executable, [sys.executable, "-m", "gradcli"]
    systems = {
        "numpy one-off: value": ([py, scripts["value"]], None),
        "numpy one-off: derivative": ([py, scripts["derivative"]], None),
        "gradcli eval": ([*gradcli, "eval", EXPR, "--at", "-"], "numpy one-off: value"),
        "gradcli diff": ([*gradcli, "diff", EXPR, "--at", "-"], "numpy one-off: derivative"),
        "gradcli diff --fast": ([*gradcli, "diff", EXPR, "--at", "-", "--fast"],
                                "numpy one-off: derivative"),
        "gradcli grad": ([*gradcli, "grad", EXPR, "--at", "-"], "numpy one-off: derivative"),
    }
    try:
        import sympy  # noqa: F401

        path = os.path.join(tmp, "lambdify_one_off.py")
        with open(path, "w") as f:
            f.write(SYMPY_ONE_OFF)
        systems["sympy lambdify one-off: derivative"] = ([py, path], "numpy one-off: derivative")
    except ImportError:
        print("(sympy not installed: no lambdify row)")
    times = {name: [] for name in systems}
    rss = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, (argv, _) in systems.items():
            wall, peak = run(argv, points, os.path.join(tmp, "out.txt"), env,
                             os.path.join(tmp, "rss.txt"))
            times[name].append(wall)
            rss[name].append(peak)
    print(f"{args.points:,} points on stdin, whole process, median of {args.rounds} interleaved "
          f"rounds ({os.cpu_count()} cores)")
    print(f"  {'system':36s} {'time':>8s} {'peak RSS':>9s} {'time ratio':>11s} {'RSS ratio':>10s}")
    for name, (_, floor) in systems.items():
        t = statistics.median(times[name])
        m = statistics.median(rss[name]) if None not in rss[name] else math.nan
        ratio = rss_ratio = ""
        if floor is not None:
            ratio = f"{t / statistics.median(times[floor]):.2f}x"
            if None not in rss[floor]:
                rss_ratio = f"{m / statistics.median(rss[floor]):.2f}x"
        print(f"  {name:36s} {t * 1000:6.0f} ms {m:6.0f} MB {ratio:>11s} {rss_ratio:>10s}")
    print("  ratios: gradcli (or SymPy) / the numpy one-off of the same quantity; "
          "targets: time <= 1.5x, RSS <= 2x")


if __name__ == "__main__":
    main()
