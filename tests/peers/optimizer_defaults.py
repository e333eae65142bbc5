"""Compare test_optimizer_defaults.TORCH with the installed torch.optim's signatures.

    python tests/peers/optimizer_defaults.py     # exit 1 and the differences, if any

Not collected by pytest (CI never installs torch). Rows torch has no class for (lion,
bfgs, newton) are gradcli's choices and are left out.
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_optimizer_defaults import TORCH  # noqa: E402

CLASSES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam",
           "adamw": "AdamW", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam",
           "rprop": "Rprop", "adadelta": "Adadelta", "asgd": "ASGD", "lbfgs": "LBFGS"}
RENAMED = {"rho": {"rmsprop": "alpha"}}  # gradcli's name -> torch's, per optimizer


def main() -> int:
    import torch

    bad = 0
    for name, cls in CLASSES.items():
        params = inspect.signature(getattr(torch.optim, cls)).parameters
        for arg, want in TORCH[name].items():
            theirs = RENAMED.get(arg, {}).get(name, arg)
            got = params[theirs].default
            ok = (tuple(got) == tuple(want)) if isinstance(want, tuple) else got == want
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} torch.optim.{cls}({theirs}={got!r})  table: {want!r}")
    print(f"torch {torch.__version__}: {'all agree' if not bad else f'{bad} differ'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
