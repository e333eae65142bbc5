"""The columnar fast path of many bare-number points (gradcli/cli/columns.py): it reads
exactly what the line-by-line path reads, and every format writes the same bytes."""
import math

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcli.cli.inputs as inputs
from gradcli.cli import cli
from gradcli.cli.columns import NumberLines, Rows, number_lines
from gradcli.cli.points import _NUMBER, BARE, PointError, parse_point

LINE = st.text(alphabet="0123456789.+-eE \t", max_size=12)
NUMBER = st.floats(allow_nan=False, allow_infinity=False).map(repr)


def _line_by_line(texts):
    out = []
    for n, text in enumerate(texts, 1):
        try:
            out.append(parse_point(text.strip(), f"stdin line {n}"))
        except PointError:
            return None
    return out


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LINE, NUMBER), min_size=1, max_size=8))
def test_number_lines_reads_what_parse_point_reads(texts):
    """The oracle is parse_point, line by line: where the fast path takes a batch, every
    point is the one parse_point makes (value bit for bit, stripped text, line number);
    where parse_point reads every line as one finite bare number, the fast path takes it."""
    fast = number_lines(list(enumerate(texts, 1)))
    slow = _line_by_line(texts)
    numbers = slow is not None and all(_NUMBER.match(t.strip()) for t in texts)
    if fast is None:  # (a constant such as 0-0 is read line by line: its own rules)
        assert not numbers
        return
    assert numbers and all(p.names == (BARE,) for p in slow)
    assert len(fast) == len(slow)
    for point, expected in zip(fast, slow):
        assert point == expected
        assert math.copysign(1, point.values[0]) == math.copysign(1, expected.values[0])


@pytest.mark.parametrize("texts", [["1", ""], ["1 2", "3"], ["#1"], ["1e999"], ["nan"],
                                   ["x=1"], ["pi"], ["1_000"], ["\u00a01"], ["١"], ["1,5"]])
def test_number_lines_leaves_the_rest_to_the_general_path(texts):
    assert number_lines(list(enumerate(texts, 1))) is None


def test_number_lines_slices_stay_columns():
    points = number_lines([(3, " 1.5"), (4, "-2e3\t"), (7, ".5")])
    assert isinstance(points, NumberLines) and len(points) == 3
    part = points[1:]
    assert isinstance(part, NumberLines) and list(part.values) == [-2000.0, 0.5]
    assert part[0].where == "stdin line 4" and part[0].text == "-2e3"
    assert points.named(("x",))[-1].names == ("x",)


def test_rows_are_made_when_asked():
    made = []
    rows = Rows(3, lambda i: made.append(i) or i * 10, lambda: ["a", "b", "c"])
    assert made == [] and rows.plain() == ["a", "b", "c"]
    assert list(rows) == [0, 10, 20] and rows[-1] == 20 and rows[1:] == [10, 20]
    with pytest.raises(IndexError):
        rows[3]


POINTS = "".join(f"{x}\n" for x in ("0.5", "-1.25", "3", "1e-3", "2.0", "-0", "  7.5\t"))
RUNS = [
    ["diff", "sin(x)*exp(-x**2/10)+log(1+x**2)", "--at", "-", "--fast"],
    ["diff", "x**3", "--at", "-", "--order", "2"],
    ["eval", "sqrt(x)", "--at", "-"],  # nan at -1.25: the warning names the same point
    ["grad", "x**2*sin(x)", "--at", "-"],
    ["grad", "x**2*sin(x)", "--at", "-", "--hessian"],
    ["grad", "x**2", "--at", "-", "--wrt", "x,y"],
]


@pytest.mark.parametrize("args", RUNS)
@pytest.mark.parametrize("fmt", ["plain", "json", "csv", "table"])
def test_every_format_writes_the_bytes_of_the_line_by_line_path(args, fmt, monkeypatch):
    runner = CliRunner()
    fast = runner.invoke(cli, [*args, "--format", fmt], input=POINTS)
    monkeypatch.setattr(inputs, "number_lines", lambda lines: None)
    slow = runner.invoke(cli, [*args, "--format", fmt], input=POINTS)
    assert fast.exit_code == slow.exit_code == 0, (fast.output, slow.output)
    assert fast.stdout == slow.stdout
    assert fast.stderr == slow.stderr
    assert len(fast.stdout.splitlines()) >= 7 or fmt == "table"


def test_plain_numbers_are_the_floats_repr():
    result = CliRunner().invoke(cli, ["diff", "x**2", "--at", "-", "--format", "plain"],
                                input="0.1\n3\n-2.5\n")
    assert result.stdout == "0.2\n6.0\n-5.0\n"  # d/dx x**2 = 2x, exact in float64


def test_a_bad_line_keeps_its_row_next_to_fast_batches():
    result = CliRunner().invoke(cli, ["eval", "x+1", "--at", "-", "--format", "plain"],
                                input="1\nbad\n2\n")
    assert result.exit_code == 2
    assert result.stdout == "2.0\n\n3.0\n"


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=6) | st.sampled_from([b"\xe2\x82", b"\xff", b"\xef\xbb\xbf",
                                                           "é€".encode(), b"1.5"]),
                max_size=12),
       st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_stdin_lines_decoded_at_once_are_the_lines_decoded_one_by_one(parts, end):
    """A pipe's chunk is decoded whole and split: the oracle decodes line by line."""
    import os

    data = end.join(p.replace(b"\n", b"").replace(b"\r", b"") for p in parts) + end
    raw = data.split(end)[:-1]
    if end == b"\r" and raw and not raw[-1]:  # a CR at the very end may have been the
        raw.pop()  # first half of a CRLF: an empty last line is not one (as before)
    expected = [line.decode("utf-8", "replace") for line in raw]
    if expected:
        expected[0] = expected[0].lstrip("\ufeff")
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        got = [item for batch in inputs.stdin_line_batches(stream) for item in batch]
    assert got == list(enumerate(expected, 1))


def test_number_lines_of_no_lines_is_none():
    assert number_lines([]) is None
