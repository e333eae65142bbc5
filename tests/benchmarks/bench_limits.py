"""Issue 23's limits: time and peak memory of each hostile input, before and after.

    python tests/benchmarks/bench_limits.py [--before DIR] [--only a,b] [--repeats 1]
                                            [--fit-epochs 200000]

Each case runs ``python -m gradcli`` (or the library) in a process of its own, measured by
os.wait4: wall time, CPU time (user + system) and peak RSS. ``--before DIR`` adds a second
candidate, an older gradcli unpacked in DIR (``git archive COMMIT | tar -x -C DIR``), run
with PYTHONPATH=DIR; the two are taken in turn for every repeat, and the ratios
before/after of CPU time and peak RSS are printed beside them. The cases and the commits
before each fix (docs/limits.md has the last run):

    stdin_line   a 100 MB line on a pipe, then a line '2'            5f9165f^
    endless      an endless stdin line for 10 s                       5f9165f^
    parse_cache  40 distinct 100,000-character expressions on stdin   5f9165f^
    fit_rows     200 parameters, --fit-epochs epochs of adam           8b3144f
    order        the library's derivatives(order=10**9)               5f9165f^ (ulimit -v 4 GB)
    csv_file     a CSV of 10,000,001 rows (80 MB) from its file       f74c012^
    csv_pipe     the same through a pipe                              f74c012^
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable
ORDER_CODE = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
              "import gradcli as gc\n"
              "try:\n    gc.parse('sin(x)').derivatives('x', order=10**9, at={'x': 1.0})\n"
              "except BaseException as e:\n    print(type(e).__name__)\n")


def cases(work: str, fit_epochs: int) -> dict:
    """name -> (argv, stdin file or None): the shell is used only where a pipe is the point."""
    gradcli = f"{PY} -m gradcli"
    model = " + ".join(f"p{i}*x**{i % 5}" for i in range(200))
    return {
        "stdin_line": (["sh", "-c", "(head -c 100000000 /dev/zero | tr '\\0' 1; "
                        f"printf '\\n2\\n') | {gradcli} diff 'x**2' --at -"], None),
        "endless": (["sh", "-c", f"tr '\\0' 1 < /dev/zero | timeout 10 {gradcli} eval - "
                     "--at 1"], None),
        "parse_cache": ([PY, "-m", "gradcli", "eval", "-", "--at", "1"],
                        os.path.join(work, "expressions.txt")),
        "fit_rows": ([PY, "-m", "gradcli", "fit", model, "--data",
                      os.path.join(work, "fit.csv"), "--target", "y", "--opt", "adam",
                      "--lr", "1e-9", "--epochs", str(fit_epochs), "--tol", "0", "--format",
                      "json"], None),
        "order": ([PY, "-c", ORDER_CODE], None),
        "csv_file": ([PY, "-m", "gradcli", "fit", "w*x", "--target", "y", "--data",
                      os.path.join(work, "rows.csv")], None),
        "csv_pipe": (["sh", "-c", f"cat '{os.path.join(work, 'rows.csv')}' | {gradcli} fit "
                      "'w*x' --target y --data -"], None),
    }


def write_inputs(work: str, names) -> None:
    if "parse_cache" in names:
        with open(os.path.join(work, "expressions.txt"), "w") as fh:
            for k in range(40):
                fh.write("+".join(["x"] * 49_990) + f"+{k}\n")
    if "fit_rows" in names:
        with open(os.path.join(work, "fit.csv"), "w") as fh:
            fh.write("x,y\n" + "".join(f"{i / 10},{1 + i / 5}\n" for i in range(10)))
    if {"csv_file", "csv_pipe"} & set(names):
        with open(os.path.join(work, "rows.csv"), "wb") as fh:
            fh.write(b"x,y\n")
            block = b"0.5,1.5\n" * 1_000_000
            for _ in range(10):
                fh.write(block)
            fh.write(b"0.5,1.5\n")


def measure(argv, stdin, pythonpath: str, work: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one run (its children included: wait4's rusage).
    It runs in ``work``: ``python -m`` puts the working directory first on sys.path, so
    in a checkout it would import the checkout's gradcli whatever PYTHONPATH says."""
    env = {**os.environ, "PYTHONPATH": pythonpath}
    source = open(stdin, "rb") if stdin else subprocess.DEVNULL
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=source, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=work)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = 0  # reaped by wait4
    if stdin:
        source.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="an older gradcli unpacked in this directory")
    parser.add_argument("--only", default="", help="cases, comma-separated (default: all)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fit-epochs", type=int, default=200_000)
    args = parser.parse_args()
    candidates = ([("before", os.path.abspath(args.before))] if args.before else [])
    candidates.append(("after", ROOT))
    with tempfile.TemporaryDirectory() as work:
        table = cases(work, args.fit_epochs)
        names = [n for n in args.only.split(",") if n] or list(table)
        unknown = set(names) - set(table)
        if unknown:
            sys.exit(f"unknown cases: {', '.join(sorted(unknown))} (known: {', '.join(table)})")
        write_inputs(work, names)
        print(f"load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
        for label, path in candidates:  # the gradcli each candidate really imports
            where = subprocess.run([PY, "-c", "import gradcli; print(gradcli.__file__)"],
                                   env={**os.environ, "PYTHONPATH": path}, cwd=work,
                                   capture_output=True, text=True).stdout.strip()
            print(f"{label}: {where}")
        print(f"{'case':<12} {'candidate':<9} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}"
              f" {'CPU ratio':>10} {'RSS ratio':>10}")
        for name in names:
            argv, stdin = table[name]
            runs = {label: [] for label, _ in candidates}
            for _ in range(args.repeats):
                for label, path in candidates:  # taken in turn
                    runs[label].append(measure(argv, stdin, path, work))
            best = {label: min(r, key=lambda m: m[1]) for label, r in runs.items()}
            for label, (wall, cpu, peak) in best.items():
                ratio = ""
                if label == "before":
                    _, cpu_after, peak_after = best["after"]
                    ratio = (f"{cpu / max(cpu_after, 1e-3):>10.2f}x"
                             f" {peak / max(peak_after, 1e-3):>9.2f}x")
                print(f"{name:<12} {label:<9} {wall:>8.2f} {cpu:>8.2f} {peak:>8.1f} {ratio}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"this process's own peak: {own:.0f} MB")


if __name__ == "__main__":
    main()
