"""gradcli eval: values in every format, with exact outputs."""


def test_eval_plain(gradcli):
    result = gradcli("eval", "sqrt(x**2+y**2)", "--at", "x=3,y=4", "--at", "x=5,y=12")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "5.0\n13.0\n", "")


def test_eval_json_has_the_spec_fields(gradcli):
    result = gradcli("eval", "sqrt(x**2+y**2)", "--at", "x=3,y=4", "--format", "json")
    assert result.stdout == ('{"expr": "sqrt(x**2+y**2)", "point": {"x": 3.0, "y": 4.0}, '
                             '"value": 5.0}\n')


def test_eval_csv(gradcli):
    result = gradcli("eval", "x/3", "--at", "1", "--at", "2", "--format", "csv")
    assert result.stdout == "expr,x,value\nx/3,1.0,0.3333333333333333\nx/3,2.0,0.6666666666666666\n"


def test_eval_table(gradcli):
    result = gradcli("eval", "x/3", "--at", "1", "--format", "table")
    assert [line.rstrip() for line in result.stdout.splitlines()] == [
        "x/3",
        "┏━━━━━┳━━━━━━━━━━━━━━┓",
        "┃   x ┃        value ┃",
        "┡━━━━━╇━━━━━━━━━━━━━━┩",
        "│ 1.0 │ 0.3333333333 │",  # 10 significant digits in tables (SPEC 6.4)
        "└─────┴──────────────┘",
    ]


def test_eval_constant_expression_needs_no_point(gradcli):
    result = gradcli("eval", "2**-1+2**3**2", "--format", "json")
    assert result.stdout == '{"expr": "2**-1+2**3**2", "point": {}, "value": 512.5}\n'


def test_eval_point_value_may_be_a_constant_expression(gradcli):
    result = gradcli("eval", "sin(x)", "--at", "pi/2", "--at", "x=-pi/2")
    assert result.stdout == "1.0\n-1.0\n"


def test_eval_domain_error_is_nan_with_a_warning_naming_the_function(gradcli):
    result = gradcli("eval", "log(x)+1", "--at", "-1", "--at", "-2", "--format", "json")
    assert result.exit_code == 0
    assert result.stdout == ('{"expr": "log(x)+1", "point": {"x": -1.0}, "value": "nan"}\n'
                             '{"expr": "log(x)+1", "point": {"x": -2.0}, "value": "nan"}\n')
    assert result.stderr == ("gradcli: warning: log(x)+1: log(-1.0) is nan at x=-1.0; "
                             "and at 1 other point\n")


def test_eval_division_by_zero_is_signed_inf(gradcli):
    result = gradcli("eval", "1/x", "--at", "0", "--at", "-0.0", "--format", "json")
    assert [line.split('"value": ')[1] for line in result.stdout.splitlines()] == \
        ['"inf"}', '"-inf"}']
    assert result.stderr == "gradcli: warning: 1/x: 1.0/0.0 is inf at x=0.0; and at 1 other point\n"


def test_eval_bare_value_for_two_variables_asks_for_names(gradcli):
    result = gradcli("eval", "x+y", "--at", "2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: --at '2': a value without a name needs an expression "
                             "of one variable; this one has 2 (x, y): name them, as x=1,y=1\n")


def test_eval_help_shows_examples(gradcli):
    result = gradcli("eval", "--help")
    assert result.exit_code == 0 and 'gradcli eval "sqrt(x**2+y**2)" --at x=3,y=4' in result.stdout


def test_eval_at_infinity_is_allowed_and_needs_no_warning(gradcli):
    result = gradcli("eval", "sigmoid(x)", "--at", "inf", "--at", "-inf", "--at", "-0")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "1.0\n0.0\n0.5\n", "")


def test_eval_point_value_beyond_float64_is_an_error(gradcli):
    result = gradcli("eval", "x", "--at", "x=1e999")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: --at: the number '1e999' is too large for float64 "
                             "at column 3 (write inf for infinity)\n  x=1e999\n    ^\n")


def test_eval_point_for_an_expression_without_variables_is_an_error(gradcli):
    result = gradcli("eval", "2+3", "--at", "1")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("gradcli: error: --at '1': the expression has no variables: "
                             "leave out --at\n")
