"""NIST StRD nonlinear regression, all 54 (problem, start) pairs: gradcli against scipy (issue 19).

For each pair, side by side:
- gradcli: the default command, ``gradcli fit MODEL --data FILE --target y --init START
  --format json``, as a separate process (wall time, and its CPU time, of the whole process:
  start-up, imports, parsing, the fit, the output);
- scipy curve_fit with its defaults (a finite-difference Jacobian, tolerances 1.5e-8);
- scipy curve_fit with an exact Jacobian (gradcli's compiled program) and gradcli's tolerances
  (ftol = xtol = 10 machine epsilons), timed in-process (the fit alone).

LRE = digits agreeing with the certified values (the smallest over the parameters, and over
the standard errors). Printed: one row per pair and the counts of pairs with every parameter
to LRE >= 6 and every standard error to LRE >= 4 (issue 19's targets: 51 and 48 of 54, each
gradcli run within 1 s).

    python tests/benchmarks/bench_nist.py [--in-process]   (--in-process: no child processes)
"""
import json
import math
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import gradcli as gc  # noqa: E402
from gradcli.compiled.program import compile_expression  # noqa: E402
from gradcli.training.dataset import read_csv  # noqa: E402

NIST = ROOT / "tests" / "data" / "nist"
PROBLEMS = json.loads((NIST / "problems.json").read_text())
TOL = 10 * np.finfo(float).eps


def lre(got, certified) -> float:
    got = float(got)
    if got == certified:
        return 11.0
    if not math.isfinite(got):
        return 0.0
    return max(0.0, min(11.0, -math.log10(abs(got - certified) / abs(certified))))


def digits(values, errors, problem):
    v = min(lre(a, b) for a, b in zip(values, problem["certified"]))
    e = min(lre(a, b) for a, b in zip(errors, problem["certified_stderr"])) \
        if errors is not None else 0.0
    return v, e


def run_gradcli(name, problem, start, in_process):
    init = ",".join(f"{p}={v!r}" for p, v in zip(problem["params"], problem[start]))
    args = ["fit", problem["model"], "--data", str(NIST / f"{name}.csv"), "--target",
            problem["target"], "--init", init, "--format", "json"]
    if in_process:
        t = time.perf_counter()
        result = gc.fit(problem["model"], str(NIST / f"{name}.csv"), target=problem["target"],
                        init=dict(zip(problem["params"], problem[start])))
        wall = time.perf_counter() - t
        return list(result.estimate), list(result.stderr), wall, wall
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                         text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        return None, None, wall, cpu
    record = json.loads(out.stdout)
    return ([record["params"][p] for p in problem["params"]],
            [record["stderr"][p] for p in problem["params"]], wall, cpu)


def run_curve_fit(problem, columns, y, start, exact):
    from scipy.optimize import curve_fit

    names = problem["params"]
    expression = gc.parse(problem["model"])
    program = compile_expression(expression, wrt=names)

    def env(p):
        return {**columns, **dict(zip(names, p))}

    def f(_, *p):
        with np.errstate(all="ignore"):
            return np.broadcast_to(program.value(env(p)), y.shape)

    def jac(_, *p):
        with np.errstate(all="ignore"):
            return np.broadcast_to(program.value_and_grad(env(p))[1], (len(y), len(names)))

    options = dict(jac=jac, ftol=TOL, xtol=TOL) if exact else {}
    t = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, cov = curve_fit(f, None, y, p0=problem[start], **options)
        errors = np.sqrt(np.diag(cov))
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        p, errors = [math.nan] * len(names), None
    return p, errors, time.perf_counter() - t


def main():
    in_process = "--in-process" in sys.argv
    counts = {"gradcli": [0, 0], "curve_fit": [0, 0], "curve_fit exact": [0, 0]}
    slowest = 0.0
    print(f"{'problem':9s} {'start':6s} | {'gradcli LRE p/se':>16s} {'wall s':>7s} {'cpu s':>6s} | "
          f"{'curve_fit':>9s} {'ms':>6s} | {'exact jac':>9s} {'ms':>6s}")
    for name, problem in PROBLEMS.items():
        data = read_csv(str(NIST / f"{name}.csv"))
        model_vars = gc.parse(problem["model"]).variables
        columns = {c: data.data[c] for c in data.columns if c in model_vars}
        y = data.data[problem["target"]]
        for start in ("start1", "start2"):
            values, errors, wall, cpu = run_gradcli(name, problem, start, in_process)
            ours = digits(values, errors, problem) if values is not None else (0.0, 0.0)
            slowest = max(slowest, wall)
            plain = run_curve_fit(problem, columns, y, start, exact=False)
            exact = run_curve_fit(problem, columns, y, start, exact=True)
            rows = {"gradcli": ours, "curve_fit": digits(plain[0], plain[1], problem),
                    "curve_fit exact": digits(exact[0], exact[1], problem)}
            for key, (v, e) in rows.items():
                counts[key][0] += v >= 6
                counts[key][1] += e >= 4
            print(f"{name:9s} {start:6s} | {ours[0]:7.1f} {ours[1]:7.1f}  {wall:7.2f} {cpu:6.2f} | "
                  f"{rows['curve_fit'][0]:9.1f} {plain[2] * 1e3:6.1f} | "
                  f"{rows['curve_fit exact'][0]:9.1f} {exact[2] * 1e3:6.1f}")
    print()
    for key, (six, four) in counts.items():
        print(f"{key:16s} every parameter LRE >= 6: {six}/54   every standard error LRE >= 4: "
              f"{four}/54")
    what = "in-process fit" if in_process else "whole process (wall)"
    print(f"slowest gradcli run ({what}): {slowest:.2f} s")


if __name__ == "__main__":
    main()
