"""The package's layout (issue 15): imports go one way, no cycle, small modules that say their job.

Read from the source (ast), not by importing: every ``import`` of a gradcli module, at the
top of a module or inside a function, is an edge. LAYERS lists the modules from the bottom
up; a module may import its own layer and the layers below it. docs/design.md describes
the same order.
"""
import ast
import fnmatch
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "gradcli"
MAX_LINES = 550

# bottom first; a module belongs to the first layer with a pattern that matches its name
LAYERS = [
    ("the leaves: errors, limits, the registry, indices, process knobs",
     ["gradcli.errors", "gradcli.limits", "gradcli.registry", "gradcli.indices",
      "gradcli.compiled.tuning"]),
    ("the core: graph, point names, tensors and tapes, the functions, numpy interop, SymPy forms",
     ["gradcli.graph", "gradcli.names", "gradcli.tensor", "gradcli.tape", "gradcli.functions",
      "gradcli.interop", "gradcli.nonfinite", "gradcli.symbolic"]),
    ("series arithmetic, which the ops' Taylor rules call",
     ["gradcli.taylor.series", "gradcli.taylor.special_series"]),
    ("the ops (their ball rules call taylor.ball's arithmetic, imported when they run)",
     ["gradcli.ops", "gradcli.ops.*"]),
    ("the engines: the language, Taylor mode and ball arithmetic, compiled programs",
     ["gradcli.language", "gradcli.language.*", "gradcli.taylor", "gradcli.taylor.*",
      "gradcli.compiled", "gradcli.compiled.*"]),
    ("Expression, the catalogue",
     ["gradcli.expression", "gradcli.catalog"]),
    ("optimizers", ["gradcli.optimizers", "gradcli.optimizers.*"]),
    ("training and checking", ["gradcli.training", "gradcli.training.*",
                               "gradcli.check", "gradcli.check.*"]),
    ("the public API and the command line", ["gradcli", "gradcli.__main__",
                                             "gradcli.cli", "gradcli.cli.*"]),
]

# imports against the order, each with its reason: a new one fails test_imports_go_down
UPWARD = {
    # the ops' ball rules call ball arithmetic (only when a ball rule runs); taylor.ball
    # holds both that arithmetic and the engine that runs the rules
    **{(f"gradcli.ops.{m}", "gradcli.taylor.ball"): "a ball rule calls ball arithmetic"
       for m in ("arith", "derived", "elementary", "masks", "piecewise", "rounding",
                 "special", "trig")},
}

# imports inside functions that close a cycle (the one edge of each cycle that is named
# here is taken out before the test looks for cycles), each with its reason
LAZY_BACK_EDGES = {
    ("gradcli.tensor", "gradcli.interop"):
        "Tensor.__array_ufunc__ hands numpy's ufuncs to interop, which builds on tensor",
}


def _modules() -> dict:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str) -> dict:
    """{imported gradcli module: True if at the module's top level}."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = set(map(id, tree.body))
    found: dict = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            # a parent package is imported with any of its modules: not an edge
            if target in MODULES and target != name and not name.startswith(target + "."):
                found[target] = found.get(target, False) or id(node) in top
    return found


IMPORTS = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> int:
    for k, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return k
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_layout.py")


def _cycles(edges: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer():
    for name in MODULES:
        _layer(name)


def test_imports_go_down():
    upward = sorted((name, target) for name, targets in IMPORTS.items() for target in targets
                    if _layer(target) > _layer(name) and (name, target) not in UPWARD)
    assert not upward, (f"imports against the order of LAYERS (tests/test_layout.py): "
                        f"{upward}")
    stale = sorted(pair for pair in UPWARD if pair[1] not in IMPORTS.get(pair[0], {}))
    assert not stale, f"UPWARD names imports that are gone: {stale}"


def test_only_the_entry_points_import_the_command_line():
    users = sorted(name for name, targets in IMPORTS.items() if not name.startswith("gradcli.cli")
                   and any(t == "gradcli.cli" or t.startswith("gradcli.cli.") for t in targets))
    assert users == ["gradcli.__main__"], users


def test_no_import_cycle_at_the_top_of_modules():
    edges = {name: [t for t, top in targets.items() if top] for name, targets in IMPORTS.items()}
    assert _cycles(edges) == []


def test_no_import_cycle_through_imports_in_functions_but_the_named_ones():
    for (name, target), why in LAZY_BACK_EDGES.items():
        assert target in IMPORTS.get(name, {}), f"LAZY_BACK_EDGES names an import that is gone"
        assert not IMPORTS[name][target], f"{name} imports {target} at its top: {why}"
    edges = {name: [t for t in targets if (name, t) not in LAZY_BACK_EDGES]
             for name, targets in IMPORTS.items()}
    cycles = _cycles(edges)
    assert not cycles, (f"import cycles (break them, or name the import inside a function "
                        f"that closes one in LAZY_BACK_EDGES with its reason): {cycles}")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_is_short_and_its_first_line_says_its_job(name):
    text = MODULES[name].read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name]}: {lines} lines (split it along its jobs)"
    doc = ast.get_docstring(ast.parse(text))
    assert doc and text.lstrip("r").startswith('"""'), f"{MODULES[name]}: no docstring first"
    assert len(doc.splitlines()[0].split()) >= 2, f"{MODULES[name]}: its first line says little"


def test_the_folders_are_the_documented_ones():
    design = (ROOT.parent / "docs" / "design.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())
    assert folders == ["check", "cli", "compiled", "language", "ops", "optimizers", "taylor",
                       "training"]
    for folder in folders:
        assert f"| `{folder}/` |" in design, folder
