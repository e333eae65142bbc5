"""CSV loading for fit: numbers, and every error naming the row and column."""
import numpy as np
import pytest

from gradcli.dataset import parse_csv, read_csv, split_variables
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
