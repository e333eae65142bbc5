"""Record torch.optim's iterates on the tests' bowl, for tests that must not need torch.

    pip install torch   # any recent CPU build
    python tests/peers/record_torch_optim.py            # rewrites tests/data/torch_optim.json
    python tests/peers/record_torch_optim.py --check    # compares a fresh run with the file

For every optimizer of ``test_optimizers.RULES`` and every variant of options in
``RECORDED_VARIANTS`` (test_optimizers.VARIANTS), torch.optim (float64, with its LR
scheduler for the schedules) runs 30 steps on test_optimizers.bowl_grad from BOWL_START,
with gradients clipped as tf.clip_by_global_norm / clip by value do (torch's own
clip_grad_norm_ adds 1e-6 to the norm). The file keeps the settings it was made with, and
the tests (test_optimizers, test_cli_minimize) fail when theirs differ: re-record then.
This script is not collected by pytest; CI never installs torch.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_optimizers import BOWL_START, LR, VARIANTS, bowl_grad  # noqa: E402
from tests.test_optimizers import RULES as NAMES  # noqa: E402

FILE = ROOT / "tests" / "data" / "torch_optim.json"
STEPS = 30  # within cosine's T_MAX, where torch's recursive form is the closed form
RECORDED_VARIANTS = ["plain", "weight_decay", "maximize", "exp", "step", "cosine", "inverse",
                     "clip_norm", "clip_value", "everything"]


def torch_optimizer(torch, name, params, lr, options):
    kw = {k: v for k, v in options.items() if k in ("weight_decay", "maximize")}
    if name in ("sgd", "momentum", "nesterov"):
        kw.update({"momentum": 0.9, "nesterov": name == "nesterov"} if name != "sgd" else {})
    cls = {"adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adamax": torch.optim.Adamax,
           "nadam": torch.optim.NAdam}.get(name, torch.optim.SGD)
    return cls(params, lr=lr, **kw)


def torch_scheduler(torch, opt, schedule):
    if schedule is None:
        return None
    kind, *a = schedule.split(":")
    sched = torch.optim.lr_scheduler
    if kind == "exp":
        return sched.ExponentialLR(opt, gamma=float(a[0]))
    if kind == "step":
        return sched.StepLR(opt, step_size=int(a[0]), gamma=float(a[1]))
    if kind == "cosine":
        return sched.CosineAnnealingLR(opt, T_max=int(a[0]))
    return sched.LambdaLR(opt, lambda k: 1.0 / (1.0 + float(a[0]) * k))


def torch_run(torch, name, options) -> list[list[float]]:
    param = torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(torch, name, [param], LR[name], options)
    scheduler = torch_scheduler(torch, opt, options.get("schedule"))
    grad = (lambda p: -bowl_grad(p)) if options.get("maximize") else bowl_grad
    iterates = []
    for _ in range(STEPS):
        g = grad(param.detach().numpy())
        if "clip_norm" in options:
            c = options["clip_norm"]
            g = g * (c * min(1 / np.linalg.norm(g), 1 / c))
        if "clip_value" in options:
            g = np.clip(g, -options["clip_value"], options["clip_value"])
        param.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        iterates.append(param.detach().numpy().tolist())
    return iterates


def settings() -> dict:
    """What the record depends on; the tests compare it with theirs."""
    return {"bowl_start": list(BOWL_START), "steps": STEPS, "lr": {n: LR[n] for n in NAMES},
            "variants": {v: VARIANTS[v] for v in RECORDED_VARIANTS}}


def record() -> dict:
    import torch

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam keeps mu_product in the default dtype
    try:
        runs = {f"{name}/{variant}": torch_run(torch, name, VARIANTS[variant])
                for name in NAMES for variant in RECORDED_VARIANTS}
    finally:
        torch.set_default_dtype(before)
    return {"source": f"torch {torch.__version__}, numpy {np.__version__}, "
                      f"Python {platform.python_version()}: tests/peers/record_torch_optim.py",
            "settings": settings(), "runs": runs}


def main() -> int:
    fresh = record()
    if "--check" in sys.argv[1:]:
        saved = json.loads(FILE.read_text(encoding="utf-8"))
        worst = max(abs(a - b) / (1e-13 + abs(b))
                    for key, run in fresh["runs"].items()
                    for step, want in zip(run, saved["runs"][key]) for a, b in zip(step, want))
        same = fresh["settings"] == saved["settings"] and worst <= 1e-11
        print(f"{'same' if same else 'DIFFERENT'}: largest relative difference {worst:.3g}"
              f" ({fresh['source']} against {saved['source']})")
        return 0 if same else 1
    FILE.parent.mkdir(exist_ok=True)
    runs = ",\n".join(f"  {json.dumps(key)}: {json.dumps(run)}" for key, run in fresh["runs"].items())
    FILE.write_text(f'{{"source": {json.dumps(fresh["source"])},\n'
                    f' "settings": {json.dumps(fresh["settings"])},\n'
                    f' "runs": {{\n{runs}\n }}}}\n', encoding="utf-8")
    print(f"wrote {FILE.relative_to(ROOT)}: {len(fresh['runs'])} runs of {STEPS} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
