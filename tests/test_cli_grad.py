"""gradcli grad: gradient and Hessian in every format, with exact outputs."""
import json

F = "x**2*y+sin(y)"


def test_grad_plain_prints_the_components_on_one_line(gradcli):
    result = gradcli("grad", F, "--at", "x=1,y=2", "--at", "y=0,x=0")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "4.0 0.5838531634528576\n0.0 1.0\n"


def test_grad_plain_with_hessian_appends_its_rows(gradcli):
    result = gradcli("grad", F, "--at", "x=1,y=2", "--hessian")
    assert result.stdout == "4.0 0.5838531634528576 4.0 2.0 2.0 -0.9092974268256817\n"


def test_grad_json_has_the_spec_fields(gradcli):
    result = gradcli("grad", F, "--at", "x=1,y=2", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == ('{"expr": "x**2*y+sin(y)", "point": {"x": 1.0, "y": 2.0}, '
                             '"variables": ["x", "y"], "value": 2.909297426825682, '
                             '"gradient": [4.0, 0.5838531634528576]}\n')


def test_grad_json_hessian_only_with_the_flag(gradcli):
    record = json.loads(gradcli("grad", F, "--at", "x=1,y=2", "--hessian",
                                "--format", "json").stdout)
    assert record["hessian"] == [[4.0, 2.0], [2.0, -0.9092974268256817]]
    assert list(record) == ["expr", "point", "variables", "value", "gradient", "hessian"]


def test_grad_csv_columns_name_each_partial(gradcli):
    result = gradcli("grad", "x*y", "--at", "x=1,y=2", "--hessian", "--format", "csv")
    assert result.stdout == (
        'expr,x,y,value,gradient[x],gradient[y],"hessian[x,x]","hessian[x,y]",'
        '"hessian[y,x]","hessian[y,y]"\n'
        "x*y,1.0,2.0,2.0,2.0,1.0,0.0,1.0,1.0,0.0\n")


def test_grad_table_has_a_column_per_partial(gradcli):
    result = gradcli("grad", "x*y", "--at", "x=1,y=2", "--format", "table")
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines == [
        "x*y",
        "┏━━━━━┳━━━━━┳━━━━━┳━━━━━━━┳━━━━━━━┓",
        "┃   x ┃   y ┃   f ┃ ∂f/∂x ┃ ∂f/∂y ┃",
        "┡━━━━━╇━━━━━╇━━━━━╇━━━━━━━╇━━━━━━━┩",
        "│ 1.0 │ 2.0 │ 2.0 │   2.0 │   1.0 │",
        "└─────┴─────┴─────┴───────┴───────┘",
    ]


def test_grad_at_kinks_follows_the_documented_rule(gradcli):
    kinks = json.loads(gradcli("grad", "abs(x)+relu(y)", "--at", "x=0,y=0",
                               "--format", "json").stdout)
    tie = json.loads(gradcli("grad", "max(x,y)", "--at", "x=1,y=1", "--format", "json").stdout)
    assert (kinks["gradient"], tie["gradient"]) == ([0.0, 0.0], [0.5, 0.5])


def test_grad_unknown_variable_in_at_is_named(gradcli):
    result = gradcli("grad", "x*y", "--at", "x=1,y=2,z=3")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: --at 'x=1,y=2,z=3': the expression has no "
                             "variable 'z' (its variables: x, y)\n")


def test_grad_missing_variable_in_at_is_named(gradcli):
    result = gradcli("grad", "x*y", "--at", "x=1")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "gradcli: error: --at 'x=1': no value given for variable 'y'\n"


def test_grad_help_shows_examples(gradcli):
    result = gradcli("grad", "--help")
    assert result.exit_code == 0
    assert 'gradcli grad "x**2*y+sin(y)" --at x=1,y=2 --hessian' in result.stdout
