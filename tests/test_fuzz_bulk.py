"""Fuzzing in bulk on every CI run (issue 21): over 10,000 hypothesis examples, grammar-aware
and byte-level, through the library and the command line, asserting no traceback, no
exception but GradcliError, only the exit statuses 0, 1 and 2, and no hang (each example
under HANG seconds).

Budget (measured on 2 shared cores; derandomized, so every run tries the same inputs):

    library, grammar-valid expressions at awkward points   4,000 examples
    library, random bytes and hostile text into parse       3,000 examples
    command line, grammar-valid expressions (eval/diff/grad) 1,500 examples
    command line, random bytes on stdin and as --at          1,500 examples
                                                            10,000 examples, about 20 s

tests/test_fuzz.py holds the wider but slower cases (minimize, fit, options; 400 examples
by default, 10,000 with GRADCLI_FUZZ=long).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.errors import GradcliError

from .test_fuzz import grammar_expressions, hostile_text, mutated, parse_or_error, run

pytestmark = pytest.mark.slow  # bulk runs: `pytest -m "not slow"` leaves them out

HANG = 10.0  # seconds: an example slower than this is a hang (the slowest take ~0.1 s)
AWKWARD = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.pi, -np.pi / 2, 1e-300, 1e300,
                           -1e300, 5e-324, 1e-8, 700.0, -745.0, 1.5e10])


def bulk(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


class timed:
    """``with timed(what):`` fails when the block takes longer than HANG seconds."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.start = time.monotonic()

    def __exit__(self, *exc):
        spent = time.monotonic() - self.start
        assert spent < HANG, f"{self.what!r} took {spent:.1f} s"
        return False


@bulk(4000)
@given(grammar_expressions(max_leaves=6), AWKWARD, st.integers(0, 4))
def test_the_library_answers_grammar_valid_expressions_at_awkward_points(text, value, order):
    """Parse, value, gradient and derivatives up to order 4: float64 numbers (nan and inf
    allowed) or a GradcliError, never another exception."""
    with timed(text):
        expression = gc.parse(text)
        env = {name: value for name in expression.variables}
        with np.errstate(all="ignore"):
            try:
                result = expression.evaluate(env)
                assert np.asarray(result).dtype == np.float64
                if expression.variables:
                    gradient = expression.gradient(env)
                    assert np.asarray(gradient).shape == (len(expression.variables),)
                    first = sorted(expression.variables)[0]
                    derivatives = expression.derivatives(first, order=order, at=env)
                    assert np.asarray(derivatives).shape[-1] == order + 1
            except GradcliError as error:
                assert error.message and "\n" not in error.headline()


@bulk(2000)
@given(st.one_of(hostile_text, st.binary(max_size=200).map(
    lambda b: b.decode("utf-8", "replace"))))
def test_the_parser_takes_any_text_or_bytes(text):
    with timed(text):
        parse_or_error(text)


@bulk(1000)
@given(mutated(grammar_expressions(max_leaves=6)))
def test_the_parser_takes_almost_valid_text(text):
    with timed(text):
        parse_or_error(text)


@bulk(1500)
@given(st.sampled_from(["eval", "diff", "grad"]), grammar_expressions(max_leaves=5), AWKWARD,
       st.sampled_from(["plain", "json", "csv"]))
def test_the_command_line_answers_grammar_valid_expressions(command, text, value, fmt):
    expression = parse_or_error(text)
    at = []
    if expression is not None and expression.variables:
        at = ["--at", ",".join(f"{v}={value!r}" for v in expression.variables)]
        if command == "diff" and len(expression.variables) > 1:
            at += ["--wrt", sorted(expression.variables)[0]]
    with timed(text):
        result = run([command, "--", text, *at, "--format", fmt])
    if expression is not None:  # valid text: an answer (nan/inf warned), not an error
        assert result.exit_code == 0, (text, result.stderr)


@bulk(1500)
@given(st.sampled_from([["eval", "-", "--at", "x=1"], ["diff", "x**2", "--at", "-"],
                        ["grad", "x*y", "--at", "-"], ["eval", "x", "--at"]]),
       st.binary(max_size=150))
def test_the_command_line_takes_any_bytes_on_stdin_or_as_a_point(args, data):
    text = data.decode("utf-8", "replace")
    with timed(text):
        if args[-1] == "--at":
            run(args + [text.replace("\x00", "")])  # argv cannot hold NUL
        else:
            run(args, input=text)
