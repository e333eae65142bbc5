"""CSV loading for fit: numbers, and every error naming the row and column."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.training.dataset import parse_csv, read_csv, split_variables
from gradcli.errors import GradcliError


def test_numbers_by_column():
    d = parse_csv("x,y\n1,3\n2,5\n\n3,7.5\n")
    assert d.columns == ["x", "y"] and d.rows == 3
    np.testing.assert_array_equal(d.data["y"], [3.0, 5.0, 7.5])


@pytest.mark.parametrize("text, message", [
    ("", "the data is empty: expected a header row and rows of numbers"),
    ("   \n\n", "the data is empty: expected a header row and rows of numbers"),
    ("x,y\n", "the data has a header but no rows of data"),
    ("x,y\n1,2\n3,abc\n", "the data: row 3, column 'y': 'abc' is not a number"),
    ("x,y\n1,2\n3, nan\n", "the data: row 3, column 'y': 'nan' is not a finite number"),
    ("x,y\n-inf,2\n", "the data: row 2, column 'x': '-inf' is not a finite number"),
    ("x,y\n1,\n", "the data: row 2, column 'y': '' is not a number"),
    ("x,y\n1,2\n3\n", "the data: row 3 has 1 cells, the header has 2"),
    ("x,x\n1,2\n", "the data: column 'x' appears twice in the header"),
    ("x,,y\n1,2,3\n", "the data: header cell 2 is empty"),
])
def test_bad_csv_errors(text, message):
    with pytest.raises(GradcliError) as info:
        parse_csv(text)
    assert info.value.message == message


def test_missing_file_and_stdin(tmp_path):
    with pytest.raises(GradcliError, match="cannot read 'nope.csv': no such file"):
        read_csv("nope.csv")
    assert read_csv("-", "a,b\n1,2\n").rows == 1
    with pytest.raises(GradcliError, match="standard input is empty"):
        read_csv("-", "")


@pytest.mark.parametrize("data, message", [
    (b"x,y\n\x80,1\n", "row 2 is not UTF-8 text (byte 0x80 at column 1)"),
    (b"x,y\n1,2\n2,ab\xe9\n", "row 3 is not UTF-8 text (byte 0xe9 at column 5)"),  # latin-1
    (b"x,\xce\xbby\n1,\xff\n", "row 2 is not UTF-8 text (byte 0xff at column 3)"),
    (b"\xce\xbb,y\r\n1,2\r\n\xce\xbb\xce\xbb,\xc3(\r\n",   # columns count characters
     "row 3 is not UTF-8 text (byte 0xc3 at column 4)"),
])
def test_invalid_utf8_is_an_error_naming_the_row_and_column(tmp_path, data, message):
    with pytest.raises(GradcliError) as info:
        read_csv("-", data)
    assert info.value.message == f"standard input: {message}"
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    with pytest.raises(GradcliError) as info:
        read_csv(str(path))
    assert info.value.message == f"'{path}': {message}"


def test_utf8_bytes_read_the_same_from_a_file_and_stdin(tmp_path):
    data = "\ufeffx,λ\r\n1,2\r\n3,4.5\r\n".encode()
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    for d in (read_csv("-", data), read_csv(str(path))):
        assert d.columns == ["x", "λ"] and d.data["λ"].tolist() == [2.0, 4.5]


def test_split_into_data_and_parameters():
    d = parse_csv("x,y\n1,2\n")
    assert split_variables(["b", "w", "x"], d, "y") == (["x"], ["b", "w"])


def test_split_errors():
    d = parse_csv("x,y\n1,2\n")
    with pytest.raises(GradcliError, match=r"the data has no target column 'z' \(its columns: x, y\)"):
        split_variables(["w", "x"], d, "z")
    with pytest.raises(GradcliError, match=r"the model has no parameters: every variable \(x\) is a data column"):
        split_variables(["x"], d, "y")
    with pytest.raises(GradcliError, match=r"the model has no parameters: it has no variables"):
        split_variables([], d, "y")
    with pytest.raises(GradcliError, match="the target column 'y' cannot appear in the model"):
        split_variables(["w", "y"], d, "y")


def careful(text):
    """parse_csv without its fast path."""
    import gradcli.training.csv_stream as csv_stream

    fast = csv_stream._fast
    csv_stream._fast = lambda text, columns: None
    try:
        return parse_csv(text)
    finally:
        csv_stream._fast = fast


@pytest.mark.parametrize("text", [
    "x,y\n1,2\n3,4\n",
    "\n\n x , y \r\n1,2\r\n\r\n3, 4.5e-3\r\n",
    "x,y\n1,2\n3,4",
    'x,y\n"1",2\n3,"4"\n',
    '"x",y\n1,2\n',
    "a\n1\n2\n",
])
def test_fast_and_careful_readers_agree(text):
    fast, slow = parse_csv(text), careful(text)
    assert fast.columns == slow.columns
    for name in fast.columns:
        np.testing.assert_array_equal(fast.data[name], slow.data[name])


def test_plain_blocks_take_the_fast_path():
    from gradcli.training.csv_stream import _fast

    assert _fast("1,2\n3,4\n", 2).shape == (2, 2)
    assert _fast('"1",2\n', 2).tolist() == [[1.0, 2.0]]  # numpy reads quoted numbers
    assert _fast("1,nan\n", 2) is None     # reported carefully
    assert _fast("1,2,3\n", 2) is None


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=20),
       st.sampled_from(["\n", "\r\n"]), st.sampled_from(["", " "]))
def test_every_float_reads_back_exactly(rows, newline, pad):
    text = "x,y" + newline + "".join(f"{pad}{a!r},{b!r}{pad}{newline}" for a, b in rows)
    d = parse_csv(text)
    assert d.data["x"].tolist() == [a for a, _ in rows]
    assert d.data["y"].tolist() == [b for _, b in rows]
    assert careful(text).data["y"].tolist() == d.data["y"].tolist()
