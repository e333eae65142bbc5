"""NIST StRD nonlinear regression: the default ``gradcli fit MODEL --data FILE --target y
--init START`` against the certified values (tests/data/nist, with their source).

LRE (log relative error) = -log10(|got - certified| / |certified|), capped at 11 (the certified
values have 11 digits): the number of digits that agree. Issue 19's targets: every parameter
to LRE >= 6 on at least 51 of the 54 (problem, start) pairs, standard errors to LRE >= 4 on at
least 48; the lower-difficulty problems each from both starts.
"""
import json
import math
from pathlib import Path

import pytest

NIST = Path(__file__).resolve().parent / "data" / "nist"
PROBLEMS = json.loads((NIST / "problems.json").read_text())
LOWER = ["Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b"]


def lre(got: float, certified: float) -> float:
    if got == certified:
        return 11.0
    if not math.isfinite(got):
        return 0.0
    return max(0.0, min(11.0, -math.log10(abs(got - certified) / abs(certified))))


def run(gradcli, name: str, start: str) -> dict:
    problem = PROBLEMS[name]
    init = ",".join(f"{p}={v!r}" for p, v in zip(problem["params"], problem[start]))
    out = gradcli("fit", problem["model"], "--data", str(NIST / f"{name}.csv"),
                  "--target", problem["target"], "--init", init, "--format", "json")
    assert (out.exit_code, out.stderr) == (0, ""), (name, start, out.stderr)
    return json.loads(out.stdout)


def digits(record: dict, problem: dict) -> tuple[float, float]:
    """(smallest LRE of the parameters, smallest LRE of the standard errors)."""
    names = problem["params"]
    values = min(lre(record["params"][p], c) for p, c in zip(names, problem["certified"]))
    errors = min(lre(record["stderr"][p], c)
                 for p, c in zip(names, problem["certified_stderr"]))
    return values, errors


def test_the_data_are_the_certified_ones():
    """The transcription: 27 problems, their row counts, and the RSS at the certified values
    equal to the certified RSS (a wrong digit in a row moves it)."""
    import numpy as np

    import gradcli as gc
    from gradcli.training.dataset import read_csv

    assert len(PROBLEMS) == 27
    for name, problem in PROBLEMS.items():
        data = read_csv(str(NIST / f"{name}.csv"))
        assert data.rows == problem["observations"], name
        model = gc.parse(problem["model"])
        env = {c: data.data[c] for c in data.columns if c in model.variables}
        env.update(zip(problem["params"], problem["certified"]))
        r = model.evaluate(env) - data.data[problem["target"]]
        rss = float(np.sum(r * r))
        if name != "Lanczos1":  # certified RSS 1.4e-25: below the data's own rounding
            assert rss == pytest.approx(problem["certified_rss"], rel=1e-9), name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_the_certified_values_are_the_least_squares_solution_of_the_data(name):
    """Each problem's certified values against its data, with SymPy's derivatives of the model
    (not gradcli's): a Gauss-Newton step from the certified parameters moves none of them by
    more than 1e-9 relative (a stationary point: a wrong digit in a parameter or a data row
    moves it), and each certified standard deviation is sqrt(RSS/(n-p) diag((J^T J)^-1)) there,
    with the certified RSS, to 1e-8. Measured: steps <= 2e-10, deviations within 5e-10.
    tests/peers/verify_nist_certified.py repeats the fit at 40 digits: every certified value is
    the 11-digit rounding of the exact least-squares solution of the data."""
    import numpy as np
    import sympy as sp

    from gradcli.training.dataset import read_csv

    problem = PROBLEMS[name]
    data = read_csv(str(NIST / f"{name}.csv"))
    symbols = {c: sp.Symbol(c) for c in [*problem["params"], *data.columns]}
    model = sp.sympify(problem["model"], locals={**symbols, "pi": sp.pi, "atan": sp.atan})
    columns = [c for c in data.columns if symbols[c] in model.free_symbols]
    args = [symbols[c] for c in [*problem["params"], *columns]]
    values = [*problem["certified"], *(data.data[c] for c in columns)]
    y = np.asarray(data.data[problem["target"]], dtype=float)
    r = y - sp.lambdify(args, model, "numpy")(*values)
    jac = np.stack([np.broadcast_to(sp.lambdify(args, sp.diff(model, symbols[p]), "numpy")(
        *values), y.shape) for p in problem["params"]], axis=1)
    b = np.abs(np.array(problem["certified"]))
    step = np.linalg.lstsq(jac * b, r, rcond=None)[0]
    assert np.max(np.abs(step)) <= 1e-9, (name, step)
    n, k = jac.shape
    norms = np.linalg.norm(jac, axis=0)
    inverse_r = np.linalg.inv(np.linalg.qr(jac / norms)[1]) / norms[:, None]
    stderr = np.sqrt(np.sum(inverse_r ** 2, axis=1) * problem["certified_rss"] / (n - k))
    np.testing.assert_allclose(stderr, problem["certified_stderr"], rtol=1e-8, err_msg=name)


@pytest.mark.parametrize("name", LOWER)
@pytest.mark.parametrize("start", ["start1", "start2"])
def test_lower_difficulty_problems_to_six_digits(gradcli, name, start):
    problem = PROBLEMS[name]
    record = run(gradcli, name, start)
    values, errors = digits(record, problem)
    assert record["opt"] == "lm" and record["converged"] is True
    assert values >= 6, (name, start, values)
    assert errors >= 4, (name, start, errors)
    assert lre(record["rss"], problem["certified_rss"]) >= 6


@pytest.mark.slow
def test_all_54_pairs_reach_the_issue_targets(gradcli):
    six = four = 0
    failures = []
    for name, problem in PROBLEMS.items():
        for start in ("start1", "start2"):
            values, errors = digits(run(gradcli, name, start), problem)
            six += values >= 6
            four += errors >= 4
            if values < 6 or errors < 4:
                failures.append((name, start, round(values, 1), round(errors, 1)))
    # measured: 54/54 and 52/54 (Lanczos1's certified standard errors, ~1e-10, come from a
    # residual sum of squares of 1.4e-25, below the rounding of its own data)
    assert six >= 51 and four >= 48, failures
