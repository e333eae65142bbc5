"""Every optimizer's defaults against torch.optim's and (compat="keras") Keras 3's, from their source.

SPEC 6 ("Update rules and defaults follow PyTorch's torch.optim") and issue 19: SGD's
default rate was Keras's 0.01 in torch mode, where torch.optim.SGD's is 1e-3.

TORCH holds ``inspect.signature(torch.optim.X)`` of torch 2.13.0+cpu, transcribed;
tests/peers/optimizer_defaults.py compares the table with an installed torch (CI never
installs torch). KERAS holds the ``__init__`` defaults of keras-team/keras 3's
keras/src/optimizers/{sgd,adagrad,rmsprop,adam,adamw,adamax,nadam,adadelta,lion}.py.
gradcli's names: torch's RMSprop ``alpha`` and Keras's ``rho`` are ``rho``; Keras's
``beta_1, beta_2`` are ``betas``; ``epsilon`` is ``eps``; Keras's ``weight_decay=None``
is 0. Optimizers one library lacks take the other's (or their own) defaults, as
docs/minimize.md says; those rows say where each number comes from.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from gradcli import optimizers as O
from gradcli.cli import cli

# torch 2.13.0+cpu, inspect.signature(torch.optim.<class>), the arguments gradcli has
TORCH = {
    "sgd": {"lr": 0.001, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
            "nesterov": False},                                  # torch.optim.SGD
    "adagrad": {"lr": 0.01, "eps": 1e-10, "initial_accumulator_value": 0.0,
                "weight_decay": 0.0},                            # torch.optim.Adagrad
    "rmsprop": {"lr": 0.01, "rho": 0.99, "eps": 1e-08, "momentum": 0.0, "centered": False,
                "weight_decay": 0.0},                            # torch.optim.RMSprop (alpha)
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "amsgrad": False,
             "weight_decay": 0.0},                               # torch.optim.Adam
    "adamw": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08, "amsgrad": False,
              "weight_decay": 0.01},                             # torch.optim.AdamW
    "adamax": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-08,
               "weight_decay": 0.0},                             # torch.optim.Adamax
    "nadam": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-08, "momentum_decay": 0.004,
              "weight_decay": 0.0},                              # torch.optim.NAdam
    "radam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-08,
              "weight_decay": 0.0},                              # torch.optim.RAdam
    "rprop": {"lr": 0.01, "etas": (0.5, 1.2), "step_sizes": (1e-06, 50)},  # torch.optim.Rprop
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-06, "weight_decay": 0.0},  # torch.optim.Adadelta
    "asgd": {"lr": 0.01, "lambd": 0.0001, "alpha": 0.75, "t0": 1000000.0,
             "weight_decay": 0.0},                               # torch.optim.ASGD
    "lbfgs": {"lr": 1, "tolerance_grad": 1e-07, "tolerance_change": 1e-09,
              "history_size": 100},                              # torch.optim.LBFGS
}
# torch has no Lion: Keras 3's lion.py (optax.lion has no default rate); bfgs is lbfgs's
# dense sibling (not in torch) with lbfgs's rate and tolerances; newton is gradcli's own
TORCH["lion"] = {"lr": 0.001, "betas": (0.9, 0.99), "weight_decay": 0.0}
TORCH["bfgs"] = {k: v for k, v in TORCH["lbfgs"].items() if k != "history_size"}
TORCH["newton"] = {"lr": 1.0, "damping": 0.001}  # docs/minimize.md: gradcli's, no peer

# keras-team/keras 3, keras/src/optimizers/<name>.py, __init__'s defaults
KERAS = {
    "sgd": {"lr": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
    "adagrad": {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7,
                "weight_decay": 0.0},
    "rmsprop": {"lr": 0.001, "rho": 0.9, "momentum": 0.0, "eps": 1e-7, "centered": False,
                "weight_decay": 0.0},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7, "amsgrad": False,
             "weight_decay": 0.0},
    "adamw": {"lr": 0.001, "weight_decay": 0.004, "betas": (0.9, 0.999), "eps": 1e-7,
              "amsgrad": False},
    "adamax": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7, "weight_decay": 0.0},
    "nadam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7, "weight_decay": 0.0},
    "adadelta": {"lr": 0.001, "rho": 0.95, "eps": 1e-7, "weight_decay": 0.0},
    "lion": {"lr": 0.001, "betas": (0.9, 0.99), "weight_decay": 0.0},
}
# Keras 3 has none of these: torch's defaults (and gradcli's own for newton)
for _name in ("radam", "rprop", "asgd", "lbfgs", "bfgs", "newton"):
    KERAS[_name] = TORCH[_name]

# the command line's momentum and nesterov are SGD with momentum 0.9 (nesterov=True)
for _table in (TORCH, KERAS):
    _table["momentum"] = {**_table["sgd"], "momentum": 0.9}
    _table["nesterov"] = {**_table["sgd"], "momentum": 0.9, "nesterov": True}


def test_the_tables_cover_every_optimizer():
    assert set(TORCH) == set(KERAS) == set(O.ALL_NAMES)


@pytest.mark.parametrize("compat, table", [("torch", TORCH), ("keras", KERAS)])
@pytest.mark.parametrize("name", O.ALL_NAMES)
def test_defaults_are_torch_optims_or_keras(name, compat, table):
    opt = O.make(name, compat=compat)
    for arg, want in table[name].items():
        assert getattr(opt, arg) == want, (name, compat, arg, getattr(opt, arg), want)


def test_the_default_mode_is_torch_and_sgds_rate_is_torch_optims_not_keras():
    assert O.SGD().lr == 0.001 and O.make("sgd").lr == 0.001
    assert O.SGD(compat="keras").lr == 0.01
    assert O.SGD(learning_rate=0.5).lr == 0.5  # a given rate is kept either way


def _sgd_run(*extra):
    result = CliRunner().invoke(cli, ["minimize", "(x-50)**2", "--from", "3", "--steps", "1",
                                      "--tol", "0", "--format", "csv", "--every", "1", *extra])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.mark.parametrize("opt", ["sgd", "momentum", "nesterov"])
def test_cli_sgd_family_steps_at_the_default_rate(opt):
    # g = 2(3 - 50) = -94: one step of sgd (and of momentum/nesterov: b = g at t = 1,
    # nesterov adds mu*b) from 3 moves x by lr*94, lr*94, lr*94*1.9
    scale = 1.9 if opt == "nesterov" else 1.0
    for extra, lr in (((), 0.001), (("--compat", "keras"), 0.01)):
        rows = _sgd_run("--opt", opt, *extra)
        assert rows[0] == "opt,step,x,value,grad_norm,lr"
        assert rows[1] == f"{opt},0,3.0,2209.0,94.0,{lr}"
        name, step, x, _, _, row_lr = rows[2].split(",")
        assert (name, step, float(row_lr)) == (opt, "1", lr)
        assert float(x) == pytest.approx(3 + lr * 94 * scale, abs=1e-14), (opt, extra)


def test_cli_help_states_the_default_rates():
    for command in ("minimize", "fit"):
        out = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
        assert ("Learning rate (default: the optimizer's in torch.optim, sgd 0.001; with "
                "--compat keras, in Keras, sgd 0.01)") in out, command
