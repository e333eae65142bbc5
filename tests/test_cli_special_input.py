"""Bad input around the functions of SPEC 6.2 (issue 17), in-process (CliRunner) and in a real
process: a wrong number of arguments, a function or a constant used as a variable, the names
and number forms of other languages are one line with its caret, exit 2; a pole (gamma(-1))
or a domain error is a number flagged with one warning (SPEC 4), exit 0. Never a traceback.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from gradcli.cli import cli

ERRORS = [  # (arguments, the error line on stderr)
    (["eval", "gamma(x, 1)", "--at", "1"], "function 'gamma' takes 1 argument, got 2 at column 1"),
    (["eval", "clip(x)", "--at", "1"], "function 'clip' takes 3 arguments, got 1 at column 1"),
    (["diff", "mod(x)", "--at", "1"], "function 'mod' takes 2 arguments, got 1 at column 1"),
    (["grad", "heaviside(x, 0.5)", "--at", "1"],
     "function 'heaviside' takes 1 argument, got 2 at column 1"),
    (["eval", "x*gamma", "--at", "1"], "'gamma' is a function at column 3 (call it as gamma(...))"),
    (["diff", "erf + x", "--at", "1"], "'erf' is a function at column 1 (call it as erf(...))"),
    (["eval", "tau(x)", "--at", "1"],
     "'tau' is a constant, not a function at column 1 (write tau*(...) to multiply)"),
    (["grad", "x", "--at", "x=1,gamma=2", "--wrt", "x,gamma"],
     "--wrt x,gamma: 'gamma' is a function, not a variable"),
    (["eval", "ln(x)", "--at", "2"], "unknown function 'ln' at column 1 (did you mean 'log'?)"),
    (["eval", "arctan(x)", "--at", "2"],
     "unknown function 'arctan' at column 1 (did you mean 'atan'?)"),
    (["eval", "arcsinh(x)", "--at", "2"],
     "unknown function 'arcsinh' at column 1 (did you mean 'asinh'?)"),
    (["eval", "modd(x, 2)", "--at", "2"],
     "unknown function 'modd' at column 1 (did you mean 'mod'?)"),
    (["eval", "modulo(x, 2)", "--at", "2"],
     "unknown function 'modulo' at column 1 (gradcli functions lists them)"),
    (["eval", "0x10"], "hexadecimal numbers are not part of the language at column 1 "
                       "(write 16 for 0x10)"),
    (["eval", "1_000*x", "--at", "1"], "'_' between digits is not part of the language at "
                                       "column 1 (write 1000 for 1_000)"),
    (["eval", "1,5"], "unexpected ',' at column 2 (write 1.5 for a decimal number)"),
    (["eval", "x", "--at", "0x10"], "--at: '0x10' is not a number: hexadecimal numbers are not "
                                    "part of the language at column 1 (write 16 for 0x10)"),
    (["eval", "x", "--at", "1_000"], "--at: '1_000' is not a number: '_' between digits is not "
                                     "part of the language at column 1 (write 1000 for 1_000)"),
    (["eval", "x", "--at", "1,5"], "--at: several values need names at column 1 (write 1.5 for "
                                   "a decimal number, or name the values: x=1,y=2)"),
    (["eval", "x", "--at", "x=1,5"], "--at: expected name=value, found '5' at column 5 (write "
                                     "x=1.5 for a decimal number, or name each value: x=1,y=2)"),
    (["functions", "tau"], "'tau' is a constant (6.283185307179586), not a function"),
]

FLAGGED = [  # (arguments, stdout, the warning): a number, flagged, exit 0
    (["eval", "gamma(-1)"], "nan\n", "gamma(-1): gamma(-1.0) is nan"),
    (["grad", "gamma(x)", "--at", "-2"], "nan\n", "gamma(x): gamma(-2.0) is nan at x=-2.0"),
    (["eval", "lgamma(x)", "--at", "-3"], "inf\n", "lgamma(x): lgamma(-3.0) is inf at x=-3.0"),
    (["eval", "digamma(x)", "--at", "0"], "-inf\n", "digamma(x): digamma(0.0) is -inf at x=0.0"),
    (["eval", "mod(x, 0)", "--at", "1"], "nan\n", "mod(x, 0): mod(1.0, 0.0) is nan at x=1.0"),
    (["eval", "cot(x)", "--at", "0"], "inf\n", "cot(x): cot(0.0) is inf at x=0.0"),
]

VALID = [  # what used to be an error or a misleading hint (issue 17), now an answer
    (["eval", "mod(x, 2)", "--at", "7"], "1.0\n"),
    (["eval", "tau"], "6.283185307179586\n"),
    (["diff", "sinc(x)", "--at", "0", "--order", "2"], "-0.3333333333333333\n"),
    (["grad", "erf(x)*y", "--at", "x=0,y=1,z=3", "--wrt", "z,x"], "0.0 1.1283791670955126\n"),
]


def _in_process(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def _real_process(args):
    result = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                            text=True, timeout=120, env={"PYTHONWARNINGS": "ignore",
                                                         "PATH": "/usr/bin:/bin"})
    return result.returncode, result.stdout, result.stderr


# a real process each (about 0.2 s): in the full suite; the inner loop runs CliRunner's
RUNNERS = [pytest.param(_in_process, id="clirunner"),
           pytest.param(_real_process, id="process", marks=pytest.mark.slow)]


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("args, message", ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_bad_input_is_one_line_and_exit_2(run, args, message):
    code, stdout, stderr = run(args)
    assert (code, stdout) == (2, ""), stderr
    lines = stderr.splitlines()
    assert lines[0] == f"gradcli: error: {message}"
    assert "Traceback" not in stderr and len(lines) <= 3   # the line, the text, the caret
    if len(lines) == 3:
        assert lines[2].strip() == "^"


@pytest.mark.parametrize("run", RUNNERS)
@pytest.mark.parametrize("args, stdout, warning", FLAGGED, ids=[" ".join(a) for a, *_ in FLAGGED])
def test_a_pole_or_domain_error_is_a_flagged_number(run, args, stdout, warning):
    assert run(args) == (0, stdout, f"gradcli: warning: {warning}\n")


@pytest.mark.parametrize("args, stdout", VALID, ids=[" ".join(a) for a, _ in VALID])
def test_what_issue_17_found_broken_is_answered(args, stdout):
    assert _in_process(args) == (0, stdout, "")
