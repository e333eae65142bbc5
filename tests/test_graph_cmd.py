"""gradcli graph and the tape view behind it: values, adjoints checked against the tape and
finite differences, playback order, exact tree/plain/DOT/JSON output, a DOT checker."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import gradcli as gc
from gradcli.registry import OPS
from gradcli.cli.tapeview import structure, trace
from tests.strategies import smooth_expressions

README = Path(__file__).resolve().parent.parent / "README.md"


# -- the view: structure --------------------------------------------------------------------------
def test_structure_numbers_nodes_in_topological_order_with_the_output_last():
    view = structure(gc.parse("sin(x)*sin(x)+x**2").root)
    assert [(n.id, n.op, n.name, n.inputs, n.uses) for n in view.nodes] == [
        (0, "var", "x", (), 2),
        (1, "sin", None, (0,), 2),
        (2, "mul", None, (1, 1), 1),
        (3, "powi", None, (0,), 1),
        (4, "add", None, (2, 3), 0),
    ]
    assert view.output == 4 and view.nodes[3].attrs == {"n": 2} and not view.traced


def test_constants_are_named_by_their_number_or_their_name():
    view = structure(gc.parse("2*pi + 0.5*e + x**3").root)
    assert [n.name for n in view.nodes if n.op == "const"] == ["2", "pi", "0.5", "e"]


# -- the view: values and adjoints ----------------------------------------------------------------
def test_values_are_the_forward_pass_and_the_output_adjoint_is_one():
    expr = gc.parse("exp(x)*y - y/x")
    view = trace(expr.root, {"x": 0.5, "y": 3.0})
    assert view.values[view.output][0] == expr.evaluate(x=0.5, y=3.0)
    assert view.adjoints[view.output][0] == 1.0


def test_variable_adjoints_are_the_gradient_from_the_tape():
    expr = gc.parse("x**2*y + sin(y)*exp(-x) + atan2(y, x)")
    xs, ys = np.array([1.0, -0.5, 2.0]), np.array([2.0, 0.25, -1.0])
    view = trace(expr.root, {"x": xs, "y": ys})
    by_name = {n.name: n.id for n in view.nodes if n.op == "var"}
    gradient = expr.gradient({"x": xs, "y": ys})
    for j, name in enumerate(expr.variables):
        np.testing.assert_array_equal(view.adjoints[by_name[name]], gradient[:, j])


def test_variable_adjoints_equal_a_direct_tape_gradient():
    x, y = gc.constant(1.5), gc.constant(-2.0)
    with gc.GradientTape() as tape:
        tape.watch([x, y])
        out = gc.sin(x * y) + x ** 3
    gx, gy = tape.gradient(out, [x, y])
    view = trace(gc.parse("sin(x*y) + x**3").root, {"x": 1.5, "y": -2.0})
    adjoint = {n.name: view.adjoints[n.id][0] for n in view.nodes if n.op == "var"}
    assert (adjoint["x"], adjoint["y"]) == (float(gx), float(gy))


def test_constant_adjoints_are_derivatives_with_respect_to_the_constant():
    view = trace(gc.parse("2*x + 3").root, {"x": 5.0})
    adjoint = {n.name: view.adjoints[n.id][0] for n in view.nodes if n.op == "const"}
    assert adjoint == {"2": 5.0, "3": 1.0}


def sympy_adjoint(view, k: int) -> float:
    """d output / d node k, independently of the tape: SymPy (30 digits) differentiates
    the output with node k replaced by a symbol t, at t = the node's value."""
    import sympy as sp

    t = sp.Symbol("t", real=True)
    exact, with_t = [], []  # each node's value; each node's expression in t
    for n in view.nodes:
        if n.op == "var":
            value = sp.Float(repr(float(view.values[n.id][0])), 30)
            exact.append(value)
            with_t.append(value)
        elif n.op == "const":
            value = sp.N({"pi": sp.pi, "e": sp.E}.get(n.name, sp.Float(repr(n.node.value))), 30)
            exact.append(value)
            with_t.append(value)
        else:
            rule = OPS[n.op].sympy
            exact.append(sp.N(rule(sp, *(exact[i] for i in n.inputs), **n.attrs), 30))
            with_t.append(rule(sp, *(with_t[i] for i in n.inputs), **n.attrs))
        if n.id == k:
            with_t[k] = t
    derivative = sp.diff(with_t[view.output], t)
    # cbrt's mapping is sign(u)*|u|**(1/3); where SymPy cannot tell that u is real
    # (sin(sqrt(t+1)) for real t) it leaves d sign(u)/dt unevaluated, which is 0 away
    # from u = 0 (the only points where the sign's derivative could matter are kinks)
    derivative = derivative.replace(
        lambda e: isinstance(e, sp.Derivative) and e.expr.func is sp.sign, lambda e: sp.S.Zero)
    return float(derivative.subs(t, exact[k]).evalf(30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smooth_expressions(("x", "y"), max_leaves=5), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
@example(text="cbrt(2+sin(sqrt(1+(x)**2)))", x0=0.0, y0=0.0)  # found by hypothesis: see above
@pytest.mark.slow
def test_every_adjoint_is_the_derivative_of_the_output_by_that_node(text, x0, y0):
    expr = gc.parse(text)
    env = {v: {"x": x0, "y": y0}[v] for v in expr.variables}
    view = trace(expr.root, env)
    gradient = expr.gradient(env) if expr.variables else []
    for j, name in enumerate(expr.variables):  # the tape's own gradient, exactly
        k = next(n.id for n in view.nodes if n.name == name and n.op == "var")
        assert view.adjoints[k][0] == gradient[j]
    for n in view.nodes:  # every node, against SymPy with that node as the variable
        want = sympy_adjoint(view, n.id)
        assert math.isclose(view.adjoints[n.id][0], want, rel_tol=1e-8, abs_tol=1e-10), (text, n)


def test_adjoints_accumulate_over_every_use_of_a_node():
    view = trace(gc.parse("x*x*x").root, {"x": 2.0})
    assert view.adjoints[0][0] == 12.0  # 3 x**2, summed over three uses


# -- the view: playback ---------------------------------------------------------------------------
def test_playback_is_tensorflows_order_and_users_come_before_inputs():
    # the tape plays back as TensorFlow's does: an op once all its users have run, ready
    # ops first in, first out from the output (so not always the reverse of recording)
    view = trace(gc.parse("sin(x)*sin(x)+x**2+log(x, 2)").root, {"x": 1.5})
    ops = [n for n in view.nodes if not n.is_leaf]
    assert sorted(view.playback[n.id] for n in ops) == list(range(1, len(ops) + 1))
    assert view.playback[view.output] == 1
    for n in view.nodes:
        if n.is_leaf:
            assert view.playback[n.id] is None
        for i in n.inputs:
            if view.playback[i] is not None:
                assert view.playback[i] > view.playback[n.id]


def test_a_leaf_alone_has_adjoint_one_and_no_playback():
    view = trace(gc.parse("x").root, {"x": 3.0})
    assert (view.values[0][0], view.adjoints[0][0], view.playback) == (3.0, 1.0, [None])


# -- the command: exact output --------------------------------------------------------------------
def lines(result):
    return [line.rstrip() for line in result.stdout.splitlines()]


def test_tree_shows_value_adjoint_and_playback_in_columns(gradcli):
    result = gradcli("graph", "sin(x)*x", "--at", "1", "--format", "tree")
    assert (result.exit_code, result.stderr) == (0, "")
    assert lines(result) == [
        "sin(x)*x  at x=1.0",
        "                        value             adjoint  playback",
        "mul        0.8414709848078965                 1.0         1",
        "├── sin    0.8414709848078965                 1.0         2",
        "│   └── x                 1.0  1.3817732906760363",
        "└── x  (shown above)",
    ]


def test_tree_names_a_shared_subexpression_and_refers_to_it_where_it_recurs(gradcli):
    result = gradcli("graph", "sin(x)*sin(x)+x**2", "--format", "tree")
    assert (result.exit_code, result.stderr) == (0, "")
    assert lines(result) == [
        "sin(x)*sin(x)+x**2",
        "add",
        "├── mul",
        "│   ├── %1 = sin",
        "│   │   └── x",
        "│   └── %1  (sin(x), shown above)",
        "└── powi n=2",
        "    └── x  (shown above)",
    ]


def test_tree_with_a_shared_subexpression_at_a_point(gradcli):
    result = gradcli("graph", "sin(x)*sin(x)+x**2", "--at", "1", "--format", "tree")
    assert lines(result) == [
        "sin(x)*sin(x)+x**2  at x=1.0",
        "                               value            adjoint  playback",
        "add                1.708073418273571                1.0         1",
        "├── mul           0.7080734182735712                1.0         2",
        "│   ├── %1 = sin  0.8414709848078965  1.682941969615793         4",
        "│   │   └── x                    1.0  2.909297426825682",
        "│   └── %1  (sin(x), shown above)",
        "└── powi n=2                     1.0                1.0         3",
        "    └── x  (shown above)",
    ]


def test_dot_output_is_exact(gradcli):
    result = gradcli("graph", "sin(x)*x", "--at", "1", "--format", "dot")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == """\
digraph gradcli {
  label="sin(x)*x  at x=1.0";
  labelloc=t;
  rankdir=BT;
  fontname="Helvetica";
  node [shape=box, fontname="Helvetica"];
  n0 [label="x\\nvalue 1.0\\nadjoint 1.3817732906760363", shape=ellipse];
  n1 [label="sin\\nvalue 0.8414709848078965\\nadjoint 1.0\\nplayback 2"];
  n2 [label="mul\\nvalue 0.8414709848078965\\nadjoint 1.0\\nplayback 1", penwidth=2];
  n0 -> n1;
  n1 -> n2;
  n0 -> n2;
}
"""


def test_dot_without_a_point_labels_ops_only(gradcli):
    result = gradcli("graph", "2*x**3", "--format", "dot")
    assert result.stdout.splitlines()[6:] == [
        '  n0 [label="2", shape=ellipse, style=dashed];',
        '  n1 [label="x", shape=ellipse];',
        '  n2 [label="powi n=3"];',
        '  n3 [label="mul", penwidth=2];',
        "  n1 -> n2;",
        "  n0 -> n3;",
        "  n2 -> n3;",
        "}",
    ]


def test_plain_is_the_tape_one_step_per_line(gradcli):
    result = gradcli("graph", "sin(x)*x", "--at", "2")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "%0 = x  value=2.0 adjoint=0.0770037537313969\n"
        "%1 = sin(%0)  value=0.9092974268256817 adjoint=2.0 playback=2\n"
        "%2 = %1*%0  value=1.8185948536513634 adjoint=1.0 playback=1\n")


def test_plain_without_a_point_lists_the_steps(gradcli):
    result = gradcli("graph", "log(x, 2) - -pi", "--format", "plain")
    assert result.stdout == ("%0 = x\n%1 = 2\n%2 = log(%0)\n%3 = log(%1)\n%4 = %2/%3\n"
                             "%5 = pi\n%6 = -%5\n%7 = %4 - %6\n")


# -- the command: JSON, exactly SPEC's object -----------------------------------------------------
def test_json_is_the_spec_object_with_values_only_at_a_point(gradcli):
    result = gradcli("graph", "x*y+2", "--format", "json")
    record = json.loads(result.stdout)
    assert record == {"expr": "x*y+2", "point": None, "output": 4, "nodes": [
        {"id": 0, "op": "var", "name": "x", "inputs": []},
        {"id": 1, "op": "var", "name": "y", "inputs": []},
        {"id": 2, "op": "mul", "name": None, "inputs": [0, 1]},
        {"id": 3, "op": "const", "name": "2", "inputs": []},
        {"id": 4, "op": "add", "name": None, "inputs": [2, 3]},
    ]}


def test_json_at_a_point_has_value_adjoint_and_playback(gradcli):
    result = gradcli("graph", "x*y+2", "--at", "x=3,y=4", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        '{"expr": "x*y+2", "point": {"x": 3.0, "y": 4.0}, "output": 4, "nodes": ['
        '{"id": 0, "op": "var", "name": "x", "inputs": [], "value": 3.0, "adjoint": 4.0, '
        '"playback": null}, '
        '{"id": 1, "op": "var", "name": "y", "inputs": [], "value": 4.0, "adjoint": 3.0, '
        '"playback": null}, '
        '{"id": 2, "op": "mul", "name": null, "inputs": [0, 1], "value": 12.0, "adjoint": 1.0, '
        '"playback": 2}, '
        '{"id": 3, "op": "const", "name": "2", "inputs": [], "value": 2.0, "adjoint": 1.0, '
        '"playback": null}, '
        '{"id": 4, "op": "add", "name": null, "inputs": [2, 3], "value": 14.0, "adjoint": 1.0, '
        '"playback": 1}]}\n')


def test_json_powi_carries_its_exponent(gradcli):
    record = json.loads(gradcli("graph", "x**-2", "--format", "json").stdout)
    assert record["nodes"][1] == {"id": 1, "op": "powi", "name": None, "inputs": [0], "n": -2}


def test_json_variable_adjoints_match_the_grad_command(gradcli):
    expr, point = "x**2*y+sin(y)", "x=1,y=2"
    graph = json.loads(gradcli("graph", expr, "--at", point, "--format", "json").stdout)
    grad = json.loads(gradcli("grad", expr, "--at", point, "--format", "json").stdout)
    adjoints = {n["name"]: n["adjoint"] for n in graph["nodes"] if n["op"] == "var"}
    assert [adjoints[v] for v in grad["variables"]] == grad["gradient"]
    assert graph["nodes"][graph["output"]]["value"] == grad["value"]


def test_json_writes_non_finite_numbers_as_strings_and_warns(gradcli):
    result = gradcli("graph", "sqrt(x)", "--at", "0", "--format", "json")
    record = json.loads(result.stdout)
    assert record["nodes"][0]["adjoint"] == "inf"
    assert result.exit_code == 0
    assert result.stderr.startswith("gradcli: warning: sqrt(x): the derivative along x is inf")


# -- the command: points, stdin, errors -----------------------------------------------------------
def test_one_result_per_point_in_order(gradcli):
    result = gradcli("graph", "x**3", "--at", "1", "--at", "2", "--format", "json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["point"] for r in records] == [{"x": 1.0}, {"x": 2.0}]
    assert [r["nodes"][0]["adjoint"] for r in records] == [3.0, 12.0]


def test_points_from_stdin_and_blocks_separated_by_a_blank_line(gradcli):
    result = gradcli("graph", "x**3", "--at", "-", "--format", "plain", input="1\n2\n")
    assert result.stdout == ("%0 = x  value=1.0 adjoint=3.0\n"
                             "%1 = %0**3  value=1.0 adjoint=1.0 playback=1\n"
                             "\n"
                             "%0 = x  value=2.0 adjoint=12.0\n"
                             "%1 = %0**3  value=8.0 adjoint=1.0 playback=1\n")


def test_expressions_from_stdin_report_bad_lines_and_go_on(gradcli):
    result = gradcli("graph", "-", "--format", "json", input="x+1\n# comment\nsin(\n2*y\n")
    assert [json.loads(line)["expr"] for line in result.stdout.splitlines()] == ["x+1", "2*y"]
    assert result.exit_code == 2
    assert result.stderr.startswith("gradcli: error: stdin line 3: ")


def test_an_expression_without_variables_needs_no_at_and_shows_values(gradcli):
    result = gradcli("graph", "2*pi", "--format", "json")
    record = json.loads(result.stdout)
    assert record["point"] == {}
    assert [n["adjoint"] for n in record["nodes"]] == [math.pi, 2.0, 1.0]


def test_a_bad_expression_is_exit_2_with_one_message(gradcli):
    result = gradcli("graph", "sinn(x)", "--at", "1")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "gradcli: error: unknown function 'sinn' at column 1 (did you mean 'sin'?)")


def test_a_point_with_an_unknown_variable_is_exit_2(gradcli):
    result = gradcli("graph", "x*y", "--at", "x=1,z=2")
    assert result.exit_code == 2
    assert result.stderr == ("gradcli: error: --at 'x=1,z=2': the expression has no variable "
                             "'z' (its variables: x, y)\n")


def test_an_unknown_format_is_exit_2(gradcli):
    result = gradcli("graph", "x", "--format", "table")
    assert result.exit_code == 2 and "'table' is not one of" in result.stderr


def test_help_shows_examples(gradcli):
    result = gradcli("graph", "--help")
    assert result.exit_code == 0
    assert 'gradcli graph "sin(x)*sin(x)" --at 1 --format dot | dot -Tpng > g.png' in result.stdout


@pytest.mark.slow
def test_a_long_expression_goes_through_every_format(gradcli):
    text = "+".join(f"sin(x*{i})" for i in range(2000))
    for fmt in ("json", "plain", "dot"):
        result = gradcli("graph", text, "--at", "0.5", "--format", fmt)
        assert result.exit_code == 0, fmt
    nested = "sin(" * 150 + "x" + ")" * 150
    result = gradcli("graph", nested, "--at", "1", "--format", "tree")
    out = result.stdout.splitlines()  # the title folded at the terminal, the headings, the tree
    headings = next(i for i, line in enumerate(out) if line.split() == ["value", "adjoint",
                                                                         "playback"])
    assert result.exit_code == 0 and len(out) - headings - 1 == 151
    assert "".join(out[:headings]) == nested + "  at x=1.0"


@pytest.mark.skipif(os.name != "posix", reason="pipes of a POSIX shell")
@pytest.mark.parametrize("fmt", ["tree", "plain", "dot", "json"])
@pytest.mark.slow
def test_a_closed_stdout_ends_quietly_with_141(fmt):
    script = (f"seq 1 20000 | {sys.executable} -m gradcli graph 'sin(x)*x' --at - "
              f"--format {fmt} | head -1; echo ${{PIPESTATUS[1]}} >&2")
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert len(out.stdout.splitlines()) == 1 and out.stderr == "141\n"


# -- DOT, read back -------------------------------------------------------------------------------
DOT_NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"(?:, [^\]]*)?\];$')
DOT_EDGE = re.compile(r"^\s*(n\d+) -> (n\d+);$")


def read_dot(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A small checker of our DOT: one digraph, its node statements and its edges."""
    body = text.strip().splitlines()
    assert body[0] == "digraph gradcli {" and body[-1] == "}"
    nodes, edges = {}, []
    for line in body[1:-1]:
        if m := DOT_NODE.match(line):
            assert m.group(1) not in nodes
            nodes[m.group(1)] = m.group(2)
        elif m := DOT_EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert re.match(r'^\s*(label|labelloc|rankdir|fontname|node)\b', line), line
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges


@pytest.mark.parametrize("text, n_nodes, n_edges", [
    ("x", 1, 0),
    ("sin(x)*x", 3, 3),
    ("sin(x)*sin(x)+x**2", 5, 6),
    ("x**2*y+sin(y)", 6, 6),  # the exponent 2 is an attribute of powi, not a node
    ("log(x, 2)", 5, 4),
])
def test_dot_read_back_has_a_node_per_graph_node_and_an_edge_per_input(gradcli, text, n_nodes,
                                                                         n_edges):
    nodes, edges = read_dot(gradcli("graph", text, "--format", "dot").stdout)
    assert (len(nodes), len(edges)) == (n_nodes, n_edges)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(smooth_expressions(("x", "y"), max_leaves=6))
def test_dot_of_random_expressions_reads_back_to_the_graph(text):
    from gradcli.cli.graph import GraphResult, dot_text

    expr = gc.parse(text)
    view = trace(expr.root, {v: 0.5 for v in expr.variables})
    nodes, edges = read_dot(dot_text(GraphResult(expr, {}, view.at(0))))
    assert len(nodes) == len(view.nodes)
    assert sorted(edges) == sorted((f"n{i}", f"n{n.id}") for n in view.nodes for i in n.inputs)
    for n in view.nodes:
        assert f"adjoint {float(view.adjoints[n.id][0])!r}" in nodes[f"n{n.id}"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
@pytest.mark.slow
def test_graphviz_renders_the_output():
    out = subprocess.run(
        f'{sys.executable} -m gradcli graph "sin(x)*sin(x)+x**2" --at 1 --format dot | dot -Tsvg',
        shell=True, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "<svg" in out.stdout and out.stderr == ""


# -- the README's graph section is real -----------------------------------------------------------
def readme_transcripts() -> list[tuple[str, str]]:
    from .test_cli_readme import section, transcripts

    return transcripts(section("graph"))


def test_the_readme_graph_section_has_transcripts():
    assert any(c.startswith("gradcli graph") for c, _ in readme_transcripts())


@pytest.mark.skipif(os.name != "posix", reason="the transcripts are bash command lines")
@pytest.mark.parametrize("command, output", readme_transcripts())
@pytest.mark.slow
def test_readme_graph_transcript_is_the_real_output(command, output):
    from .test_cli_readme import shell_lines

    assert shell_lines(command) == output.splitlines()
