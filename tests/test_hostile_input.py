"""Hostile input: a catalogue of malformed input for every subcommand (issue 9).

Each row of CATALOGUE is ``(args, stdin, expected)``: the command line, what stdin holds
(None: nothing) and a piece of the one error line. Every row must end with exit status 2
(1 where SPEC says so: a divergence), exactly one ``gradcli: error: ...`` line on stderr
(followed by the expression and a caret line for errors that point at a column), nothing
on stdout, no traceback anywhere, and within a second. Adding a case is adding a line.

Placeholders in args and stdin: ``{marker}`` is a file that injected code would create
(it must never exist afterwards), ``{data}`` the directory holding the CSV files of
FILES. Known bugs of other modules are rows wrapped in ``bug(reason, ...)``: strict
xfails, so that a fix shows up as an unexpected pass.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from gradcli import limits

# CPU seconds of this process (time.process_time, ITIMER_PROF), not the wall clock: on a
# busy machine (other processes on the 2 cores) a case's wall time says nothing of the code,
# and a wall-clock alarm fired inside CPython's ast constructor aborted the whole pytest run
TIME_LIMIT = 1.0       # seconds for one case, in-process
WATCHDOG = 1.5         # a case still running after this long is stopped: a hang is a failure
EXIT_USAGE, EXIT_FAILED = 2, 1

MARKER = "{marker}"
INJECTED = f"__import__('os').system('touch {MARKER}')"

FILES = {  # bad CSV for fit
    "good.csv": "x,y\n1,2\n2,4\n3,6\n",
    "empty.csv": "",
    "header.csv": "x,y\n",
    "ragged.csv": "x,y\n1,2\n3\n",
    "long_row.csv": "x,y\n1,2,3\n",
    "nocol.csv": "x,z\n1,2\n",
    "nonnum.csv": "x,y\n1,2\n2,abc\n",
    "nancell.csv": "x,y\n1,2\n2,nan\n",
    "bigcell.csv": "x,y\n1,2\n2,1e999\n",
    "emptycell.csv": "x,y\n1,2\n,4\n",
    "dupcol.csv": "x,x,y\n1,2,3\n",
    "latin1.csv": b"x,y\n1,\xe92\n",
    "inject.csv": f"x,y\n1,{INJECTED}\n",
    "unicode_minus.csv": "x,y\n\u22121,2\n",
}


def bug(reason: str, *row):
    """A row that fails today because of another module: a strict xfail naming it."""
    return pytest.param(*row, marks=pytest.mark.xfail(strict=True, reason=reason))


def fails(expected: str):
    """An expected stderr piece for a row whose exit status is 1 (SPEC: minimize diverged)."""
    return (EXIT_FAILED, expected)


LONG_1M_DANGLING = "x+" * 500_000                     # 1,000,000 characters, error at the end
DEEP_PARENS = "(" * 100_000 + "x" + ")" * 100_000      # 100,000 nested parentheses
DEEP_OPEN = "(" * 100_000                             # ... never closed
DEEP_CALLS = "sin(" * 20_000 + "x" + ")" * 20_000
DEEP_POWERS = "x**" * 50_000 + "2"
DEEP_SIGNS = "-" * 100_000 + "x"
AT1 = ("--at", "1")

CATALOGUE = [
    # -- syntax: dangling and doubled operators ------------------------------------------
    (["eval", "x+", *AT1], None, "unexpected end of expression"),
    (["eval", "--", "*x", *AT1], None, "unexpected '*'"),
    (["diff", "x*/2", *AT1], None, "unexpected '/'"),
    (["grad", "x**", *AT1], None, "unexpected end of expression"),
    (["eval", "x***2", *AT1], None, "unexpected '*'"),
    (["eval", "x^^2", *AT1], None, "unexpected '^'"),
    (["eval", "x**-", *AT1], None, "unexpected end of expression"),
    (["graph", "x+*y"], None, "unexpected '*'"),
    (["check", "x/", *AT1], None, "unexpected end of expression"),
    (["minimize", "x**2+", "--opt", "sgd"], None, "unexpected end of expression"),
    (["fit", "w*x+", "--data", "{data}/good.csv", "--target", "y"], None,
     "unexpected end of expression"),
    (["eval", "x//2", *AT1], None, "unexpected '/'"),
    # -- syntax: parentheses and argument lists ------------------------------------------
    (["eval", "(x", *AT1], None, "expected ')'"),
    (["eval", "x)", *AT1], None, "unmatched ')'"),
    (["eval", "((x)", *AT1], None, "expected ')'"),
    (["diff", "exp(x", *AT1], None, "to close the '(' at column 4"),
    (["eval", "()"], None, "empty parentheses"),
    (["eval", "sin()"], None, "needs an argument"),
    (["eval", "atan2(x,)", *AT1], None, "unexpected ')'"),
    (["eval", "max(,x)", *AT1], None, "unexpected ','"),
    (["eval", "x,y", "--at", "x=1,y=2"], None, "unexpected ','"),
    (["graph", ")("], None, "unexpected ')'"),
    # -- syntax: numbers -----------------------------------------------------------------
    (["eval", "1e"], None, "the exponent of '1e' has no digits"),
    (["eval", "1e+"], None, "the exponent of '1e' has no digits"),
    (["eval", "1..2"], None, "malformed number '1..'"),
    (["eval", "1.2.3"], None, "malformed number"),
    (["eval", "."], None, "unexpected character '.'"),
    (["eval", "0x1F"], None, "hexadecimal numbers are not part of the language at column 1 (write 31 for 0x1F)"),
    (["eval", "1_000"], None, "'_' between digits is not part of the language at column 1 (write 1000 for 1_000)"),
    (["eval", "1e999"], None, "too large for float64"),
    (["eval", "1" * 400], None, "too large for float64"),
    # -- unknown functions, arities, names that are not what they seem -------------------
    (["eval", "sinn(x)", *AT1], None, "unknown function 'sinn' at column 1 (did you mean 'sin'?)"),
    (["diff", "expp(x)", *AT1], None, "did you mean 'exp'?"),
    (["grad", "sqr(x)", *AT1], None, "did you mean 'sqrt'?"),
    (["eval", "frobnicate(x)", *AT1], None, "unknown function 'frobnicate'"),
    (["eval", "sin(x,x)", *AT1], None, "function 'sin' takes 1 argument, got 2"),
    (["eval", "atan2(x)", *AT1], None, "takes 2 arguments, got 1"),
    (["eval", "log(x,2,3)", *AT1], None, "(or 2: log(x, base)), got 3"),
    (["eval", "pow(x)", *AT1], None, "takes 2 arguments, got 1"),
    (["eval", "pi(2)"], None, "'pi' is a constant, not a function"),
    (["eval", "sin"], None, "'sin' is a function"),
    (["check", "cos", *AT1], None, "'cos' is a function"),
    # -- juxtaposition: 2x -----------------------------------------------------------------
    (["eval", "2x", *AT1], None, "write 2*x"),
    (["diff", "3sin(x)", *AT1], None, "write 3*sin"),
    (["eval", "x y", "--at", "x=1,y=2"], None, "write x*y"),
    (["minimize", "2x**2", "--opt", "sgd"], None, "write 2*x"),
    # -- empty ---------------------------------------------------------------------------------
    (["eval", ""], None, "empty expression"),
    (["diff", "   ", *AT1], None, "empty expression"),
    (["grad", "\t \t", *AT1], None, "empty expression"),
    (["check", "", *AT1], None, "empty expression"),
    (["minimize", " ", "--opt", "adam"], None, "empty expression"),
    (["fit", "", "--data", "{data}/good.csv", "--target", "y"], None, "empty expression"),
    (["graph", ""], None, "empty expression"),
    # -- size: nesting and length ------------------------------------------------------------
    (["eval", DEEP_PARENS, *AT1], None, "limit"),
    (["diff", DEEP_OPEN, *AT1], None, "limit"),
    (["grad", DEEP_CALLS, *AT1], None, "limit"),
    (["eval", DEEP_POWERS, *AT1], None, "limit"),
    (["diff", "--", DEEP_SIGNS, *AT1], None, "limit"),
    (["graph", DEEP_PARENS], None, "limit"),
    (["check", DEEP_PARENS, *AT1], None, "limit"),
    (["minimize", DEEP_PARENS, "--opt", "sgd"], None, "limit"),
    (["eval", "-"], DEEP_PARENS + "\n", "limit"),
    (["eval", "x+" * 500_001 + "x", *AT1], None, "limit"),
    (["eval", LONG_1M_DANGLING, *AT1], None, "limit"),
    (["eval", "1" * 1_000_000], None, "beyond the limit of 100000 characters"),
    (["eval", "1" * 400], None, "too large for float64"),
    # -- NUL bytes and odd unicode -------------------------------------------------------------
    (["eval", "x\x00", *AT1], None, "U+0000"),
    (["eval", "-"], "x\x00+1\n", "stdin line 1: unexpected character U+0000"),
    (["eval", "x\u22121", *AT1], None, "unicode minus sign (U+2212) at column 2 (use the ASCII '-')"),
    (["diff", "x\u20131", *AT1], None, "use the ASCII '-'"),
    (["eval", "2\u00d7x", *AT1], None, "use '*'"),
    (["eval", "\uff11+\uff11"], None, "unexpected character '\uff11'"),
    (["eval", "\uff53\uff49\uff4e(x)", *AT1], None, "unexpected character '\uff53'"),
    (["eval", "x\u200b+1", *AT1], None, "U+200B"),
    (["eval", "\ufeffx", *AT1], None, "U+FEFF"),
    (["eval", "\u202ex", *AT1], None, "U+202E"),
    (["eval", "x\u00a0+1", *AT1], None, "U+00A0"),
    (["eval", "\U0001f600+1"], None, "unexpected character '\U0001f600'"),
    (["eval", "x\u00b2", *AT1], None, "unexpected character '\u00b2'"),
    (["eval", "\u221ax", *AT1], None, "unexpected character '\u221a'"),
    (["eval", "\u03c0"], None, "unexpected character '\u03c0'"),
    (["eval", "\udcff"], None, "U+DCFF"),  # an undecodable byte of argv (surrogateescape)
    (["graph", "x\x1b[31m"], None, "U+001B"),
    # -- injection: nothing may run ------------------------------------------------------------
    (["eval", INJECTED], None, "unexpected character \"'\""),
    (["diff", INJECTED, *AT1], None, "unexpected character"),
    (["check", INJECTED, *AT1], None, "unexpected character"),
    (["minimize", INJECTED, "--opt", "sgd"], None, "unexpected character"),
    (["fit", INJECTED, "--data", "{data}/good.csv", "--target", "y"], None,
     "unexpected character"),
    (["eval", "-"], INJECTED + "\n", "stdin line 1: unexpected character"),
    (["eval", "().__class__"], None, "unexpected character '.'"),
    (["eval", 'eval("1")'], None, "unexpected character '\"'"),
    (["eval", "x.__class__", *AT1], None, "unexpected character '.'"),
    (["eval", "lambda: 1"], None, "unexpected character ':'"),
    (["eval", f"`touch {MARKER}`"], None, "unexpected character '`'"),
    (["eval", f"$(touch {MARKER})"], None, "unexpected character '$'"),
    (["eval", "1; import os"], None, "unexpected character ';'"),
    (["eval", "exec(x)", *AT1], None, "unknown function 'exec'"),
    (["eval", "globals()"], None, "unknown function 'globals'"),
    (["eval", "[x for x in ()]"], None, "unexpected character '['"),
    (["eval", "__builtins__"], None, "no value given for variable '__builtins__'"),
    (["eval", "x", "--at", f"x={INJECTED}"], None, "--at:"),
    (["diff", "x", *AT1, "--wrt", "__import__('os')"], None, "is not a variable name"),
    (["minimize", "x**2", "--opt", "sgd", "--from", f"x={INJECTED}"], None, "--from:"),
    (["minimize", "x**2", "--opt", INJECTED], None, "unknown optimizer"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", INJECTED], None, "--decay"),
    (["fit", "w*x+b", "--data", "{data}/inject.csv", "--target", "y"], None, "is not a number"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--init", f"w={INJECTED}"],
     None, "--init:"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", INJECTED], None, "no target column"),
    # -- other characters of other languages ------------------------------------------------
    (["eval", "x%2", *AT1], None, "unexpected character '%'"),
    (["eval", "x==1", *AT1], None, "unexpected character '='"),
    (["eval", "x<2", *AT1], None, "unexpected character '<'"),
    (["eval", "~x", *AT1], None, "unexpected character '~'"),
    (["eval", "x@x", *AT1], None, "unexpected character '@'"),
    (["eval", "x#comment", *AT1], None, "unexpected character '#'"),
    # -- points (--at) ------------------------------------------------------------------------
    (["eval", "x", "--at", "x="], None, "a value is missing"),
    (["eval", "x", "--at", "=1"], None, "a variable name is missing"),
    (["eval", "x", "--at", "x=1,x=2"], None, "'x' is given twice"),
    (["eval", "x", "--at", "x=foo"], None, "'foo' is not a number"),
    (["eval", "x", "--at", "1e999"], None, "too large for float64"),
    (["grad", "x*y", "--at", "1,2"], None, "several values need names"),
    (["diff", "x", "--at", "x=1,,"], None, "expected name=value"),
    (["eval", "x", "--at", "2x=1"], None, "'2x' is not a variable name"),
    (["eval", "x", "--at", "x=sinn(1)"], None, "unknown function 'sinn'"),
    (["eval", "x", "--at", "x=\u22121"], None, "use the ASCII '-'"),
    (["eval", "x", "--at", "x=log(-1)"], None, "log(-1.0) is nan"),
    (["eval", "x", "--at", "x=10**400"], None, "not a finite number"),
    (["eval", "x", "--at", "y=1"], None, "has no variable 'y'"),
    (["eval", "x*y", "--at", "x=1"], None, "no value given for variable 'y'"),
    (["eval", "x"], None, "no value given for variable 'x'"),
    (["eval", "2", *AT1], None, "leave out --at"),
    (["eval", "x", "--at", "-", "--at", "-"], "1\n", "given twice"),
    (["eval", "-", "--at", "-"], "x\n", "cannot both read stdin"),
    (["eval", "x", "--at", ",".join(f"x{i}=1" for i in range(20_000))], None, "limit"),
    # -- diff / check: order and wrt ------------------------------------------------------------
    (["diff", "x", *AT1, "--order", "nan"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "inf"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "1e999"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "-1"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "1.5"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "1e3"], None, "non-negative integer"),
    (["diff", "x", *AT1, "--order", "\u0663"], None, "non-negative integer"),  # Arabic-Indic 3
    (["diff", "x", *AT1, "--order", ""], None, "non-negative integer"),
    (["check", "x", *AT1, "--order", "-2"], None, "non-negative integer"),
    (["diff", "x*y", "--at", "x=1,y=2"], None, "choose one with --wrt"),
    (["diff", "x", *AT1, "--wrt", "x,y"], None, "'x,y' is not a variable name"),  # (y: 0s)
    (["check", "x*y", "--at", "x=1,y=2"], None, "choose one with --wrt"),
    (["check", "x", *AT1, "--rtol", "-1"], None, "--rtol"),
    (["check", "x", *AT1, "--rtol", "nan"], None, "error: invalid value for '--rtol'"),
    (["check", "x", *AT1, "--timeout", "-1"], None, "--timeout"),
    # -- grad, graph, check: their own options and stdin -------------------------------------
    (["grad", "x*y", "--at", "x=1"], None, "no value given for variable 'y'"),
    (["grad", "x", "--hessian", "--at", "x=foo"], None, "'foo' is not a number"),
    (["grad", "sinn(x)", "--hessian", *AT1], None, "did you mean 'sin'?"),
    (["grad", "-", *AT1], "x+\n", "stdin line 1: unexpected end of expression"),
    (["graph", "x", "--at", "y=1"], None, "has no variable 'y'"),
    (["graph", "log(x,)", *AT1], None, "unexpected ')'"),
    (["graph", "-"], "2x\n", "write 2*x"),
    (["graph", INJECTED], None, "unexpected character"),
    (["check", "x", *AT1, "--wrt", "y"], None, "has no variable 'y'"),
    (["check", "sinn(x)", *AT1], None, "did you mean 'sin'?"),
    (["check", "x", "--at", "x=1,x=2"], None, "given twice"),
    (["check", "x", *AT1, "--timeout", "nan"], None, "error: invalid value for '--timeout'"),
    # -- minimize: optimizers and hyper-parameters -----------------------------------------------
    (["minimize", "x**2", "--opt", "foo"], None, "unknown optimizer 'foo'"),
    (["minimize", "x**2", "--opt", ""], None, "unknown optimizer"),
    (["minimize", "x**2", "--opt", "adam,,sgd"], None, "unknown optimizer"),
    (["minimize", "x**2", "--opt", "all,foo"], None, "unknown optimizer"),
    (["minimize", "x**2", "--opt", "--lr"], None, "unknown optimizer '--lr'"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "nan"], None, "--lr"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "inf"], None, "--lr"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "1e999"], None, "--lr"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "-1"], None, "--lr"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "abc"], None, "--lr"),
    (["minimize", "x**2", "--opt", "sgd", "--steps", "-1"], None, "--steps"),
    (["minimize", "x**2", "--opt", "sgd", "--steps", "1.5"], None, "--steps"),
    (["minimize", "x**2", "--opt", "sgd", "--steps", "1e3"], None, "--steps"),
    (["minimize", "x**2", "--opt", "sgd", "--steps", "nan"], None, "--steps"),
    (["minimize", "x**2", "--opt", "sgd", "--every", "0"], None, "--every"),
    (["minimize", "x**2", "--opt", "adam", "--betas", "1,2"], None, "--betas"),
    (["minimize", "x**2", "--opt", "adam", "--betas", "0.9"], None, "--betas"),
    (["minimize", "x**2", "--opt", "adam", "--betas", "nan,nan"], None, "--betas"),
    (["minimize", "x**2", "--opt", "adam", "--eps", "-1"], None, "--eps"),
    (["minimize", "x**2", "--opt", "momentum", "--momentum", "nan"], None, "--momentum"),
    (["minimize", "x**2", "--opt", "adamw", "--weight-decay", "inf"], None, "--weight-decay"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", "foo"], None, "--decay"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", "exp:"], None, "--decay"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", "step:0:0.5"], None, "--decay"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", "cosine:0"], None, "--decay"),
    (["minimize", "x**2", "--opt", "sgd", "--decay", "inverse:nan"], None, "--decay"),
    (["minimize", "x**2", "--opt", "sgd", "--clip-norm", "-1"], None, "--clip-norm"),
    (["minimize", "x**2", "--opt", "sgd", "--clip-norm", "nan"], None, "--clip-norm"),
    (["minimize", "x**2", "--opt", "sgd", "--clip-value", "0"], None, "--clip-value"),
    (["minimize", "x**2", "--opt", "sgd", "--dtype", "float16"], None, "--dtype"),
    (["minimize", "x**2", "--opt", "sgd", "--compat", "tf"], None, "--compat"),
    (["minimize", "x**2", "--opt", "sgd", "--tol", "nan"], None, "--tol"),
    (["minimize", "x**2", "--opt", "sgd", "--tol", "-1"], None, "--tol"),
    (["minimize", "x**2", "--opt", "sgd", "--plot", "out.txt"], None, "use a .png or .svg"),
    (["minimize", "x**2", "--opt", "sgd", "--plot", "/nonexistent/dir/a.png"], None,
     "does not exist"),
    (["minimize", "x**2", "--opt", "sgd", "--from", "y=1"], None, "has no variable 'y'"),
    (["minimize", "x**2", "--opt", "sgd", "--from", "x="], None, "a value is missing"),
    (["minimize", "x**2", "--opt", "sgd", "--from", "x=1,x=2"], None, "given twice"),
    (["minimize", "x**2", "--opt", "sgd", "--from", "1e999"], None, "too large for float64"),
    (["minimize", "3", "--opt", "sgd"], None, "nothing to minimize"),
    (["minimize", "x**2", "--opt", "sgd", "--lr", "10", "--from", "1"], None,
     fails("diverged at step")),
    (["minimize", "log(x)", "--opt", "sgd", "--from", "-1"], None, fails("diverged at step 0")),
    # -- fit: bad CSV and options ----------------------------------------------------------------
    (["fit", "w*x+b", "--data", "{data}/missing.csv", "--target", "y"], None, "no such file"),
    (["fit", "w*x+b", "--data", "{data}", "--target", "y"], None, "is a directory"),
    (["fit", "w*x+b", "--data", "{data}/empty.csv", "--target", "y"], None, "is empty"),
    (["fit", "w*x+b", "--data", "-", "--target", "y"], "", "empty"),
    (["fit", "w*x+b", "--data", "{data}/header.csv", "--target", "y"], None, "no rows of data"),
    (["fit", "w*x+b", "--data", "{data}/ragged.csv", "--target", "y"], None,
     "row 3 has 1 cells, the header has 2"),
    (["fit", "w*x+b", "--data", "{data}/long_row.csv", "--target", "y"], None, "row 2"),
    (["fit", "w*x+b", "--data", "{data}/nocol.csv", "--target", "y"], None,
     "no target column 'y'"),
    (["fit", "w*x+b", "--data", "{data}/nonnum.csv", "--target", "y"], None,
     "row 3, column 'y': 'abc' is not a number"),
    (["fit", "w*x+b", "--data", "{data}/nancell.csv", "--target", "y"], None,
     "is not a finite number"),
    (["fit", "w*x+b", "--data", "{data}/bigcell.csv", "--target", "y"], None,
     "is not a finite number"),
    (["fit", "w*x+b", "--data", "{data}/emptycell.csv", "--target", "y"], None,
     "'' is not a number"),
    (["fit", "w*x+b", "--data", "{data}/dupcol.csv", "--target", "y"], None, "appears twice"),
    (["fit", "w*x+b", "--data", "{data}/latin1.csv", "--target", "y"], None, "not UTF-8"),
    (["fit", "w*x+b", "--data", "{data}/unicode_minus.csv", "--target", "y"], None,
     "is not a number"),
    (["fit", "w*x+b", "--data", "-", "--target", "y"], "x,y\n1,2\n1\n", "row 3"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "x"], None,
     "cannot appear in the model"),
    (["fit", "x", "--data", "{data}/good.csv", "--target", "y"], None, "has no parameters"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--init", "q=1"], None,
     "no parameter 'q'"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--init", "w="], None,
     "a value is missing"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--epochs", "-1"], None,
     "--epochs"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--epochs", "1e3"], None,
     "--epochs"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--batch-size", "0"], None,
     "--batch-size"),
    (["fit", "w*x+b", "--data", "{data}/good.csv", "--target", "y", "--lr", "nan"], None, "--lr"),
    (["fit", "w*x+b", "--target", "y"], None, "--data"),
    (["fit", "w*x+b", "--data", "{data}/good.csv"], None, "--target"),
    # -- functions ----------------------------------------------------------------------------
    (["functions", "ln"], None, "no function named 'ln' (did you mean 'log'?)"),
    (["functions", "nosuch"], None, "no function named 'nosuch'"),
    (["functions", "--format", "xml"], None, "--format"),
    (["functions", "gamma(x)"], None, "no function named 'gamma(x)'"),
    # -- the command line itself ---------------------------------------------------------------
    (["diff", "-q", *AT1], None, "goes after --"),  # -x**2 works without -- (SPEC 6.4)
    (["diff", "--x", *AT1], None, "if it is an expression, it goes after --"),
    (["diff", "x", "--ordr", "2", *AT1], None, "Did you mean '--order'?"),
    (["eval", "x", *AT1, "--format", "xml"], None, "--format"),
    (["graph", "x", "--format", "png"], None, "--format"),
    (["diff"], None, "missing argument"),
    (["frobnicate"], None, "no such command"),
    (["eval", "x", "--bogus"], None, "no such option"),
    # -- certified digits and Taylor coefficients (SPEC 6.1) -----------------------------------
    (["taylor", "x+", *AT1], None, "unexpected end of expression"),
    (["taylor", "x", *AT1, "--order", "-2"], None, "--order"),
    (["taylor", "x", *AT1, "--digits", "0"], None, "must be an integer from 1 to 1000"),
    (["diff", "x", *AT1, "--digits", "5000"], None, "must be an integer from 1 to 1000"),
    (["eval", "x", *AT1, "--digits", "ten"], None, "must be an integer from 1 to 1000"),
    (["diff", "1/x", "--at", "0", "--digits", "10"], None, "at x=0: division by zero (a pole)"),
    (["taylor", "log(x)", "--at", "0", "--digits", "10"], None, "the logarithm of 0 (a pole)"),
    (["diff", "abs(x-0.1)", "--at", "0.1", "--digits", "10"], None, "at x=0.1: no certified"),
    (["grad", "sqrt(x)", "--at", "-1", "--digits", "10"], None, "at x=-1"),
    (["eval", "x", "--at", "inf", "--digits", "10"], None, "is not a finite number"),
    (["check", "x", *AT1, "--digits", "10", "--reference", "sympy"], None,
     "--digits needs the arb reference"),
    (["diff", "x", *AT1, "--digits", "5", "--dtype", "float32"], None,
     "no such option: --dtype (diff computes in float64; --digits D gives D certified digits"),
    (["eval", "x", *AT1, "--dtype=float32", "--digits", "5"], None, "eval computes in float64"),
    (["grad", "x", *AT1, "--digits", "5", "--dtype", "float32"], None, "grad computes in float64"),
    (["taylor", "x", *AT1, "--dtype", "float32", "--digits", "5"], None, "--dtype float32 is for"),
    (["check", "x", *AT1, "--digits", "5", "--dtype", "float32"], None, "check computes in float64"),
    (["diff", "log(x)", "--at", "0", "--order", "3", "--digits", "10"], None,
     "at x=0: the logarithm of 0 (a pole)"),
    (["taylor", "max(x, 0.3)", "--at", "0.3", "--digits", "10"], None, "at x=0.3: no certified"),
]


def _ids(row) -> str:
    values = row.values if hasattr(row, "values") else row
    text = " ".join(a if len(a) <= 24 else f"{a[:12]}...[{len(a)}]" for a in values[0])
    return text.encode("ascii", "backslashreplace").decode()[:60]


class Hang(BaseException):
    """Raised in the main thread by the watchdog timer: the case took far too long."""


@pytest.fixture
def watchdog():
    """Stop a case that runs longer than WATCHDOG CPU seconds (a hang fails, never blocks CI)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"still running after {WATCHDOG} s")

    previous = signal.signal(signal.SIGPROF, fire)
    signal.setitimer(signal.ITIMER_PROF, WATCHDOG)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile-data")
    for name, content in FILES.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def warm(data_dir):
    """Import every subcommand's modules once, so that a case's time is its own work."""
    from click.testing import CliRunner

    from gradcli.cli import cli

    good = str(data_dir / "good.csv")
    for args in (["eval", "x", *AT1], ["diff", "x", *AT1], ["grad", "x", *AT1],
                 ["graph", "x", *AT1], ["check", "x", *AT1],
                 ["minimize", "x**2", "--opt", "sgd", "--steps", "1"],
                 ["fit", "w*x", "--data", good, "--target", "y", "--epochs", "1"]):
        CliRunner().invoke(cli, args)


def fill(text, marker, data_dir):
    if text is None:
        return None
    return text.replace(MARKER, str(marker)).replace("{data}", str(data_dir))


def check_error_output(stdout: str, stderr: str, code: int, expected: str,
                       want_code: int) -> None:
    """The common assertions: exit status, one error line (+ caret display), nothing else."""
    assert "Traceback" not in stdout + stderr
    assert code == want_code, (code, stderr)
    lines = stderr.splitlines()
    assert lines, "no message on stderr"
    if want_code == EXIT_USAGE:
        assert stdout.strip("\n") == ""  # a bad stdin line keeps its row: an empty line
        assert lines[0].startswith("gradcli: error: "), lines[0]
        assert sum(line.startswith("gradcli:") for line in lines) == 1, stderr
        if len(lines) > 1:  # the expression, then a caret under the column
            assert len(lines) == 3, stderr
            assert lines[1].startswith("  ") and lines[2].strip() == "^", stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("gradcli: "), stderr
    assert expected in lines[0], (expected, lines[0])


def expectation(expected):
    return expected if isinstance(expected, tuple) else (EXIT_USAGE, expected)


@pytest.mark.parametrize("args, stdin, expected", CATALOGUE, ids=[_ids(r) for r in CATALOGUE])
def test_malformed_input_is_one_clear_error_within_a_second(
        args, stdin, expected, gradcli, data_dir, warm, tmp_path, watchdog):
    marker = tmp_path / "PWNED"
    args = [fill(a, marker, data_dir) for a in args]
    want_code, expected = expectation(expected)
    start = time.process_time()
    result = gradcli(*args, input=fill(stdin, marker, data_dir))
    elapsed = time.process_time() - start
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    check_error_output(result.stdout, result.stderr, result.exit_code, expected, want_code)
    assert not marker.exists(), "injected code ran"
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"


def test_the_catalogue_has_at_least_60_cases_for_every_subcommand():
    from click import Context

    from gradcli.cli import cli

    rows = [r.values if hasattr(r, "values") else r for r in CATALOGUE]
    assert len(rows) >= 60
    covered = {args[0] for args, _, _ in rows}
    assert set(cli.list_commands(Context(cli))) <= covered


# -- hostile but valid: these must succeed -----------------------------------------------------
VALID = [
    (["eval", "x", "--at", "nan"], "nan\n"),
    (["eval", "x", "--at", "-0"], "-0.0\n"),
    (["eval", "x", "--at", "inf"], "inf\n"),
    (["eval", "x", "--at", "x=-inf"], "-inf\n"),
    (["eval", "x", "--at", "x=pi/4"], "0.7853981633974483\n"),
    (["eval", "((((((((((x))))))))))", "--at", "2"], "2.0\n"),
    (["eval", "(" * limits.MAX_NESTING_DEPTH + "x" + ")" * limits.MAX_NESTING_DEPTH, "--at", "3"],
     "3.0\n"),
    (["eval", "+-+-x", "--at", "2"], "2.0\n"),
    (["eval", "-", "--at", "1"], "   \n\n# a comment\n"),  # nothing to do: no output, exit 0
    (["eval", "x+" * 2_000 + "x", "--at", "1"], "2001.0\n"),
    # at the length limit (50,000 ops); eval compiles the forward pass only (a149472)
    (["eval", "x+" * (limits.MAX_EXPRESSION_LENGTH // 2 - 1) + "x", "--at", "1"],
     f"{limits.MAX_EXPRESSION_LENGTH // 2}.0\n"),
    (["diff", "x**3", "--at", "2", "--order", "0"], "8.0\n"),
]


@pytest.mark.parametrize("args, stdout", VALID, ids=[_ids(r) for r in VALID])
def test_hostile_but_valid_input_is_answered(args, stdout, gradcli, warm, watchdog):
    stdin = stdout if args[1] == "-" else None
    start = time.process_time()
    result = gradcli(*args, input=stdin)
    elapsed = time.process_time() - start
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ("" if stdin is not None else stdout)
    assert elapsed < TIME_LIMIT


# -- a real process for a sample of the catalogue ------------------------------------------------
def _rows_without_bugs():
    return [r for r in CATALOGUE if not hasattr(r, "marks")]


SUBPROCESS_EVERY = 40  # every 40th row of the catalogue also runs as a real process


@pytest.mark.parametrize("args, stdin, expected", _rows_without_bugs()[::SUBPROCESS_EVERY],
                         ids=[_ids(r) for r in _rows_without_bugs()[::SUBPROCESS_EVERY]])
@pytest.mark.slow
def test_a_real_process_exits_with_the_status_and_no_traceback(args, stdin, expected, data_dir,
                                                               tmp_path):
    if any("\x00" in a for a in args):
        pytest.skip("a NUL byte cannot be passed in argv")
    if any(len(a) > 100_000 for a in args):
        pytest.skip("Linux limits one argument to 128 KiB")
    marker = tmp_path / "PWNED"
    args = [fill(a, marker, data_dir) for a in args]
    want_code, expected = expectation(expected)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}
    stdin_text = fill(stdin, marker, data_dir)
    result = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                            input=(stdin_text or "").encode("utf-8", "surrogateescape"),
                            env=env, timeout=60)
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    check_error_output(stdout, stderr, result.returncode, expected, want_code)
    assert not marker.exists()


@pytest.mark.slow
def test_a_real_process_never_runs_injected_code_anywhere(data_dir, tmp_path):
    """Injected code in argv, on stdin and in a CSV cell, in real processes: nothing runs."""
    marker = tmp_path / "PWNED"
    rows = [r for r in _rows_without_bugs() if MARKER in str(r[:2]) or "inject.csv" in r[0]]
    assert len(rows) >= 8
    for args, stdin, _ in (rows[0], rows[5], rows[-2]):  # argv, stdin, a CSV cell
        stdin_text = fill(stdin, marker, data_dir) or ""
        result = subprocess.run([sys.executable, "-m", "gradcli",
                                 *(fill(a, marker, data_dir) for a in args)],
                                capture_output=True, text=True, input=stdin_text, timeout=60)
        assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not marker.exists()


# -- limits (gradcli/limits.py): just below each one works, just above is a clear error ----------
def _limit_error(result, limit: int) -> None:
    assert result.exit_code == EXIT_USAGE, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("gradcli: error: ") and "limit" in first and str(limit) in first, first


def test_an_expression_at_the_length_limit_parses(watchdog):
    import gradcli as gc

    text = " " * (limits.MAX_EXPRESSION_LENGTH - 1) + "x"
    assert gc.parse(text).variables == ["x"]


# The lexer's fast path once matched r"([ \t\r\n]*)(?:token)" with findall, retrying a run of
# spaces that no token follows from every space: O(n**2) inside one C call that no signal
# interrupts (8,000 spaces: 4 s), fixed in 40fc455. A real process with a timeout, then, not
# the in-process watchdog.
@pytest.mark.parametrize("args, code, out", [
    (["eval", "x" + " " * 50_000, "--at", "1"], 0, "1.0\n"),
    (["eval", " " * 50_000 + "%"], EXIT_USAGE, ""),
], ids=["trailing spaces", "spaces then a bad character"])
@pytest.mark.slow
def test_whitespace_is_read_in_linear_time(args, code, out):
    try:
        result = subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                                text=True, timeout=3)
    except subprocess.TimeoutExpired:
        pytest.fail("still running after 3 s")
    assert (result.returncode, result.stdout) == (code, out)


def test_an_expression_beyond_the_length_limit_is_refused(gradcli, watchdog):
    result = gradcli("eval", " " * limits.MAX_EXPRESSION_LENGTH + "x", "--at", "1")
    _limit_error(result, limits.MAX_EXPRESSION_LENGTH)


def test_nesting_at_the_depth_limit_parses_and_one_more_level_is_refused(gradcli):
    depth = limits.MAX_NESTING_DEPTH
    ok = gradcli("eval", "(" * depth + "x" + ")" * depth, "--at", "2")
    assert (ok.exit_code, ok.stdout) == (0, "2.0\n")
    deeper = gradcli("eval", "(" * (depth + 1) + "x" + ")" * (depth + 1), "--at", "2")
    _limit_error(deeper, depth)


def test_deep_nesting_never_reaches_the_recursion_limit(gradcli):
    """Even with a low recursion limit, 100,000 levels are a clear error, not RecursionError."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        for text in (DEEP_PARENS, DEEP_CALLS, DEEP_POWERS):
            result = gradcli("grad", text, "--at", "1")
            assert result.exit_code == EXIT_USAGE and "limit" in result.stderr
    finally:
        sys.setrecursionlimit(max(previous, sys.getrecursionlimit()))


def test_the_order_limit_is_at_least_the_specs_1000_and_works(gradcli, watchdog):
    assert limits.MAX_ORDER >= 1000
    result = gradcli("diff", "x**3", "--at", "2", "--order", str(limits.MAX_ORDER),
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    import json

    assert json.loads(result.stdout)["derivatives"][:5] == [8.0, 12.0, 12.0, 6.0, 0.0]


def test_diff_beyond_the_order_limit_is_refused(gradcli, watchdog):
    _limit_error(gradcli("diff", "x**3", "--at", "2", "--order", str(limits.MAX_ORDER + 1)),
                 limits.MAX_ORDER)


def test_check_beyond_the_order_limit_is_refused(gradcli, watchdog):
    _limit_error(gradcli("check", "x", "--at", "1", "--order", str(limits.MAX_ORDER + 1)),
                 limits.MAX_ORDER)


def _limited_process(args, memory=2 << 30, timeout=20):
    """Run gradcli in a real process with at most ``memory`` bytes of address space."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run([sys.executable, "-m", "gradcli", *args], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


@pytest.mark.skipif(os.name != "posix", reason="needs resource.setrlimit")
def test_a_huge_order_is_a_clear_error_not_a_memory_error():
    result = _limited_process(["diff", "x**3", "--at", "2", "--order", "1000000000"])
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert result.returncode == EXIT_USAGE and "limit" in result.stderr


def test_steps_at_the_limit_are_accepted(gradcli):
    # x**2 from 0: the gradient is 0 at the start, so the run ends at once whatever --steps is
    result = gradcli("minimize", "x**2", "--opt", "sgd", "--steps", str(limits.MAX_STEPS))
    assert (result.exit_code, result.stdout) == (0, "x=0.0\n")


def test_steps_beyond_the_limit_are_refused(gradcli):
    _limit_error(gradcli("minimize", "x**2", "--opt", "sgd", "--steps",
                         str(limits.MAX_STEPS + 1)), limits.MAX_STEPS)


def test_epochs_at_the_limit_are_accepted(gradcli, data_dir):
    # w*x fitted to y = 2x from w=2: the gradient is 0, the run ends at once
    result = gradcli("fit", "w*x", "--data", str(data_dir / "good.csv"), "--target", "y",
                     "--init", "w=2", "--epochs", str(limits.MAX_EPOCHS))
    assert (result.exit_code, result.stdout) == (0, "w=2.0\n"), result.stderr


def test_epochs_beyond_the_limit_are_refused(gradcli, data_dir):
    _limit_error(gradcli("fit", "w*x", "--data", str(data_dir / "good.csv"), "--target", "y",
                         "--init", "w=2", "--epochs", str(limits.MAX_EPOCHS + 1)),
                 limits.MAX_EPOCHS)


def test_a_point_beyond_the_length_limit_is_refused_at_once():
    from gradcli.cli.points import parse_point

    start = time.process_time()   # CPU time: a busy machine's clock measures the neighbours
    with pytest.raises(limits.LimitError, match="beyond the limit of 100000 characters"):
        parse_point("x=1," * 30_000)
    assert time.process_time() - start < 0.1


def test_a_point_with_many_names_is_read_in_linear_time():
    from gradcli.cli.points import parse_point

    def cpu_time(n: int) -> float:   # CPU time, the least of three: a busy machine's clock
        text = ",".join(f"x{i}=1" for i in range(n))  # measures the neighbours
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            point = parse_point(text)
            best = min(best, time.process_time() - start)
        assert len(point.names) == n
        return best

    # ten times the names: about ten times the time when linear, a hundred when quadratic
    assert cpu_time(10_000) < 30 * max(cpu_time(1_000), 1e-3)


def test_limit_messages_name_the_input_the_value_and_the_limit():
    error = limits.exceeded("--order", 5000, limits.MAX_ORDER)
    assert str(error) == f"--order 5000 is beyond the limit of {limits.MAX_ORDER}"
    with pytest.raises(limits.LimitError):
        limits.check("--steps", limits.MAX_STEPS + 1, limits.MAX_STEPS)
    limits.check("--steps", limits.MAX_STEPS, limits.MAX_STEPS)  # at the limit: fine


# -- other modules' bugs found by hostile input ------------------------------------------------
def test_finite_differences_at_a_high_order_do_not_overflow():
    from gradcli.check.finite_difference import derivative

    value, error = derivative(lambda t: t, 1.0, 1030)
    assert isinstance(value, float)


# -- domain warnings: nan/inf named with the function and the point, once per expression -------
WARNING = "gradcli: warning: "
DOMAIN = [  # (args, stdout, the one warning)
    (["eval", "log(x)", "--at", "-1"], "nan\n", "log(x): log(-1.0) is nan at x=-1.0"),
    (["eval", "1/x", "--at", "0"], "inf\n", "1/x: 1.0/0.0 is inf at x=0.0"),
    (["eval", "sqrt(x)", "--at", "-1"], "nan\n", "sqrt(x): sqrt(-1.0) is nan at x=-1.0"),
    (["grad", "log(x)", "--at", "-1"], "-1.0\n", "log(x): log(-1.0) is nan at x=-1.0"),
    (["grad", "1/x", "--at", "0"], "-inf\n", "1/x: 1.0/0.0 is inf at x=0.0"),
    (["grad", "sqrt(x)", "--at", "-1"], "nan\n", "sqrt(x): sqrt(-1.0) is nan at x=-1.0"),
    (["diff", "log(x)", "--at", "-1", "--order", "0"], "nan\n",
     "log(x): log(-1.0) is nan at x=-1.0"),
    (["diff", "1/x", "--at", "0"], "-inf\n", "1/x: 1.0/0.0 is inf at x=0.0"),
    (["diff", "sqrt(x)", "--at", "-1"], "nan\n", "sqrt(x): sqrt(-1.0) is nan at x=-1.0"),
    (["eval", "log(x*y)", "--at", "x=-1,y=2"], "nan\n",
     "log(x*y): log(-2.0) is nan at x=-1.0, y=2.0"),
    (["eval", "exp(x)", "--at", "1000"], "inf\n", "exp(x): exp(1000.0) is inf at x=1000.0"),
    (["eval", "log(-1)"], "nan\n", "log(-1): log(-1.0) is nan"),
    (["graph", "log(x)", "--at", "-1", "--format", "json"], None,
     "log(x): log(-1.0) is nan at x=-1.0"),
    # several points: one warning, the first point named and the others counted
    (["eval", "log(x)", "--at", "-1", "--at", "-2", "--at", "1"], "nan\nnan\n0.0\n",
     "log(x): log(-1.0) is nan at x=-1.0; and at 1 other point"),
    (["grad", "sqrt(x)", "--at", "-4", "--at", "-9", "--at", "-1"], "nan\nnan\nnan\n",
     "sqrt(x): sqrt(-4.0) is nan at x=-4.0; and at 2 other points"),
    (["diff", "1/x", "--at", "0", "--at", "0", "--at", "2"], "-inf\n-inf\n-0.25\n",
     "1/x: 1.0/0.0 is inf at x=0.0; and at 1 other point"),
    # a derivative beyond the float64 range names the order (151! * 2**152 overflows)
    (["diff", "1/(1-x)", "--at", "0.5", "--order", "160"], "inf\n",
     "1/(1-x): the derivative of order 151 is inf at x=0.5"),
    # the order a plain line prints is named first (order 1 is -inf here, order 2 nan)
    (["diff", "y**y", "--at", "0", "--order", "2"], "nan\n",
     "y**y: the derivative of order 2 is nan at y=0.0"),
    (["taylor", "y**y", "--at", "0", "--order", "2", "--format", "csv"], None,
     "y**y: the coefficient of order 2 is nan at y=0.0"),
]


@pytest.mark.parametrize("args, stdout, warning", DOMAIN, ids=[_ids(r) for r in DOMAIN])
def test_a_domain_error_is_one_warning_naming_the_function_and_the_point(gradcli, args, stdout,
                                                                         warning):
    result = gradcli(*args)
    assert result.exit_code == 0
    if stdout is not None:
        assert result.stdout == stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(WARNING + warning), result.stderr
    assert WARNING not in result.stdout  # warnings never mix with the results


def test_many_points_on_stdin_give_one_warning(gradcli):
    points = "".join(f"{-k}\n" for k in range(1, 101))
    result = gradcli("eval", "log(x)", "--at", "-", input=points)
    assert result.stdout == "nan\n" * 100
    assert result.stderr == (f"{WARNING}log(x): log(-1.0) is nan at x=-1.0; "
                             f"and at 99 other points\n")


def test_each_expression_on_stdin_warns_once(gradcli):
    result = gradcli("grad", "-", "--at", "-1", input="log(x)\nsqrt(x)\nlog(x)\nx**2\n")
    assert result.stdout == "-1.0\nnan\n-1.0\n-2.0\n"
    assert result.stderr.splitlines() == [
        f"{WARNING}log(x): log(-1.0) is nan at x=-1.0",
        f"{WARNING}sqrt(x): sqrt(-1.0) is nan at x=-1.0"]


def test_a_point_that_is_itself_nan_explains_its_result_without_a_warning(gradcli):
    result = gradcli("eval", "log(x)", "--at", "nan", "--at", "inf")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "nan\ninf\n", "")


def test_domain_errors_are_json_strings_never_numbers(gradcli):
    import json

    result = gradcli("eval", "log(x)", "--at", "-1", "--at", "0", "--format", "json")
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == ["nan", "-inf"]
    assert result.stderr.count(WARNING) == 1


# -- the README's limits section ---------------------------------------------------------------
def _readme_limits_transcripts():
    from .test_cli_readme import section, transcripts

    return transcripts(section("limits"))


@pytest.mark.skipif(os.name != "posix", reason="the transcripts are bash command lines")
@pytest.mark.parametrize("command, output", _readme_limits_transcripts())
@pytest.mark.slow
def test_limits_transcript_is_the_real_output(command, output):
    from .test_cli_readme import shell_lines

    assert shell_lines(command) == output.splitlines()


def test_the_readme_limits_table_shows_the_values_of_gradcli_limits():
    from .test_cli_readme import section

    table = section("limits")
    for value in (limits.MAX_EXPRESSION_LENGTH, limits.MAX_NESTING_DEPTH, limits.MAX_ORDER,
                  limits.MAX_STEPS, limits.MAX_EPOCHS):
        assert f"| {value:,}" in table, value


# -- no Python warning reaches the user --------------------------------------------------------
TUTORIAL_CSV = "x,y\n1,2\n2,4\n3,6\n"
PYTHON_WARNINGS = [  # (args, stdin, where numpy's RuntimeWarning gets through; None: fixed)
    (["minimize", "x**2", "--opt", "sgd", "--clip-norm", "1e-320", "--from", "1", "--steps", "3"],
     None, None),  # fixed: gradcli/clipping.py's 'overflow encountered in scalar divide'
    (["minimize", "x**2", "--opt", "sgd", "--dtype", "float32", "--from", "1e39", "--steps", "3"],
     None, None),  # fixed: descent.py's 'overflow encountered in cast' (--from beyond float32)
    (["fit", "w*x+b", "--data", "-", "--target", "y", "--dtype", "float32", "--init", "w=1e39",
      "--epochs", "3"], TUTORIAL_CSV,
     None),  # fixed: fitting.py's 'overflow encountered in cast' (--init beyond float32)
]


@pytest.mark.parametrize("args, stdin, where", [
    pytest.param(*row, marks=[pytest.mark.xfail(strict=True, reason=row[2])] if row[2] else [])
    for row in PYTHON_WARNINGS], ids=[_ids(r) for r in PYTHON_WARNINGS])
@pytest.mark.slow
def test_no_python_warning_reaches_stderr(args, stdin, where):
    result = subprocess.run([sys.executable, "-m", "gradcli", *args], input=stdin or "",
                            capture_output=True, text=True, timeout=60)
    assert "Warning:" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert all(line.startswith("gradcli: ") for line in result.stderr.splitlines())


PEAK_MEMORY = """
import atexit, re, sys
def report():
    status = open("/proc/self/status").read()
    sys.stderr.write("VmHWM " + re.search(r"VmHWM:\\s+(\\d+)", status).group(1) + "\\n")
atexit.register(report)
from gradcli.cli import cli
cli(sys.argv[1:], prog_name="gradcli")
"""


def _peak_rss_kib(args) -> int:
    """The peak resident memory (KiB) of one gradcli process, from its own /proc (a fork's
    ru_maxrss would count the parent's pages)."""
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, *args], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(re.search(r"VmHWM (\d+)", result.stderr).group(1))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.slow
def test_a_long_minimize_run_does_not_hold_every_step_in_memory():
    run = ["minimize", "(x-3)**2", "--opt", "sgd", "--lr", "1e-9", "--tol", "0",
           "--format", "json", "--steps"]
    short, long = _peak_rss_kib(run + ["10"]), _peak_rss_kib(run + ["300000"])
    assert long - short < 40 * 1024, f"{(long - short) / 1024:.0f} MiB more for 300,000 steps"
