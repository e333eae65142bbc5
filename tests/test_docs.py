"""Every console transcript and every Python block of README.md and docs/*.md is real.

The pages are found generically (README.md and every docs/*.md), so a page or a
transcript added by anyone is tested without touching this file:

- a ```console block holds transcripts: each ``$ `` line is a command line, and the lines
  after it, up to the next ``$ `` line, are its exact output (stdout and stderr in the
  order written, each line right-stripped). ``gradcli`` means this checkout's
  ``python -m gradcli``; the command runs in a scratch directory that holds links to the
  checkout's top-level files (``samples/...`` works, a ``--plot`` file lands there),
  with tables 100 columns wide. Output that shows a wall time (``5.26 ms``) is compared
  with the times masked and the table padding squeezed; everything else exactly.
- a ```python block is executed; the blocks of one page run in order in one namespace,
  as a reader would paste them. Examples state their results with ``assert``.
- other blocks (```sh, ```text) are shown, not run: use them for output that depends on
  the machine (and say so in the text).

docs/functions.md is generated from the op registry (gradcli/catalog.py); a test here
compares it with the registry. Regenerate it with ``python -m gradcli.catalog > docs/functions.md``.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
ENV = {"COLUMNS": "100", "LINES": "40", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
EXIT_ECHO = '; echo "exit status $?"'
TIME = r"\d[\d.]*(?:e-?\d+)? ?(?:ms|us|µs|ns|s)"


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def fenced_blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, first line number of the body) of each fenced block of a page."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1)
            for m in FENCE.finditer(text)]


def page_transcripts(path: Path) -> list[tuple[str, str, int]]:
    """(command, expected output, line) of each ``$ `` line of the page's console blocks."""
    found = []
    for language, body, line in fenced_blocks(path):
        if language != "console":
            continue
        offset = 0
        for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output, line + body.count("\n", 0, body.index(chunk, offset))))
            offset = body.index(chunk, offset) + len(chunk)
    return found


PYTHON_PAGES = [pytest.param(p, id=_name(p)) for p in PAGES
                if any(lang == "python" for lang, _, _ in fenced_blocks(p))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A scratch directory with links to the checkout's top-level entries."""
    where = tmp_path_factory.mktemp("docs")
    for entry in ROOT.iterdir():
        if not entry.name.startswith("."):
            (where / entry.name).symlink_to(entry)
    return where


def plain_words(command: str) -> list[str] | None:
    """The words of a command line that needs no shell (no pipe, redirection, expansion or
    escape outside quotes), else None."""
    if "$" in command or "`" in command or "\\" in command:
        return None
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:
        return None
    if any(word and all(c in "();<>|&" for c in word) for word in words):
        return None
    return words


def _needs_bash(command: str) -> bool:
    words = plain_words(command.removesuffix(EXIT_ECHO))
    return not words or words[0] != "gradcli"


# slow (the full suite runs them, the inner loop does not): a shell line (a real process),
# and the in-process lines that draw (--plot: matplotlib), compile (--jit: numba) or run
# every optimizer (--opt all): 0.5-0.7 s each where the others take milliseconds
HEAVY = ("--plot", "--jit", "--opt all")


def _slow(command: str) -> bool:
    return _needs_bash(command) or any(flag in command for flag in HEAVY)


TRANSCRIPTS = [pytest.param(cmd, out, id=f"{_name(p)}:{line}",
                            marks=[pytest.mark.slow] if _slow(cmd) else [])
               for p in PAGES for cmd, out, line in page_transcripts(p)]


def run_in_process(command: str, cwd: Path) -> list[str] | None:
    """The output of a plain ``gradcli WORDS [; echo "exit status $?"]`` line, run with
    click's CliRunner (fast); None for anything that needs a shell."""
    echo_status = command.endswith(EXIT_ECHO)
    words = plain_words(command.removesuffix(EXIT_ECHO))
    if not words or words[0] != "gradcli":
        return None
    from click.testing import CliRunner

    from gradcli.cli import cli

    env = {**ENV, "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner(env=env).invoke(cli, words[1:], prog_name="gradcli")
    finally:
        os.chdir(old)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    lines = [line.rstrip() for line in result.output.splitlines()]
    if echo_status:
        lines.append(f"exit status {result.exit_code}")
    return lines


def run_in_bash(command: str, cwd: Path) -> list[str]:
    """The output lines (stdout and stderr interleaved, right-stripped) of a command line
    run by bash, ``gradcli`` being this checkout's ``python -m gradcli``."""
    script = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{command}'
    result = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, **ENV}, timeout=120, cwd=cwd)
    return [line.rstrip() for line in result.stdout.splitlines()]


def shows_wall_time(lines: list[str]) -> bool:
    return any(re.search(rf"; {TIME}$", line) or re.search(rf"│ *{TIME} *│", line)
               for line in lines)


def mask_wall_time(lines: list[str]) -> list[str]:
    """Times replaced by <time>, runs of padding and of table rules squeezed to one."""
    out = []
    for line in lines:
        line = re.sub(rf"; {TIME}$", "; <time>", line)
        line = re.sub(rf"(?<=│) *{TIME} *(?=│)", " <time> ", line)
        out.append(re.sub(r"([ ━─])\1+", r"\1", line).rstrip())
    return out


def test_the_pages_are_there():
    names = {_name(p) for p in PAGES}
    for page in ("README.md", "docs/diff.md", "docs/grad.md", "docs/eval.md", "docs/check.md",
                 "docs/minimize.md", "docs/fit.md", "docs/graph.md", "docs/taylor.md",
                 "docs/functions.md", "docs/library.md", "docs/semantics.md",
                 "docs/performance.md", "docs/limits.md", "docs/design.md"):
        assert page in names, f"{page} is missing"
    assert len(TRANSCRIPTS) >= 40, "the console transcripts were not found"


@pytest.mark.skipif(os.name != "posix", reason="the transcripts are bash command lines")
@pytest.mark.parametrize("command, output", TRANSCRIPTS)
def test_transcript_is_the_real_output(command, output, workdir):
    assert re.search(r"(^|[|;&(] *)gradcli ", command) and not re.search(r"\bpip\b", command), \
        "a ```console transcript runs gradcli; show other commands in a ```sh block"
    expected = [line.rstrip() for line in output.splitlines()]
    got = run_in_process(command, workdir)
    if got is None:
        got = run_in_bash(command, workdir)
    if shows_wall_time(expected):
        expected, got = mask_wall_time(expected), mask_wall_time(got)
    assert got == expected, f"$ {command}"


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_blocks_run(page, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    namespace: dict = {"__name__": "__docs__"}
    for language, body, line in fenced_blocks(page):
        if language == "python":
            code = compile("\n" * (line - 1) + body, str(page), "exec")
            exec(code, namespace)  # noqa: S102  (our own documentation, not user input)


def test_the_mask_for_wall_times_keeps_the_numbers():
    shown = ["│ sgd │ 0.002 │ 3.7e-07 │  30.7 ms │", "final point x = 1.0, f = 0.0; 5.26 ms"]
    other = ["│ sgd │ 0.002 │ 3.7e-07 │ 1.2 s │", "final point x = 1.0, f = 0.0; 17 us"]
    wrong = ["│ sgd │ 0.003 │ 3.7e-07 │ 30.7 ms │", "final point x = 1.0, f = 0.0; 5.26 ms"]
    assert shows_wall_time(shown) and not shows_wall_time(["60.0", "ok: max error 0"])
    assert mask_wall_time(shown) == mask_wall_time(other) != mask_wall_time(wrong)


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first, second = re.search(r"<!-- section: commands -->\n```sh\n(.*?)```", readme,
                              re.S).group(1).splitlines()
    assert first.startswith("pip install . && gradcli diff ")
    command = first.split(" && ", 1)[1]
    assert run_in_process(command, ROOT) == ["60.0"], "the README says the first command prints 60.0"
    install, test = second.split(" && ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install == "pip install -e '.[test,plot]'"
    assert re.search(r"^python3 -m pip install .*-e '\.\[test,plot\]'", ci, re.M)
    assert re.search(rf"^{re.escape(test)}\b", ci, re.M), "CI must run the README's command"
    assert "-m " not in test.removeprefix("python3 -m pytest"), "the full suite, no selection"


def test_the_readme_is_short_and_links_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    for page in PAGES[1:]:
        assert f"({_name(page)}" in readme or f"]({page.name})" in readme, \
            f"the README does not link {_name(page)}"
    for stale in ("issue 7", "SPEC", "load average", "December 2026"):
        assert stale not in readme, stale


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces -> '-'."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.*)$", text, re.M)}


def test_every_docs_link_points_to_a_page_and_a_heading_that_exist():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target, anchor in re.findall(r"\]\(([^)#\s]*\.md)(?:#([^)]*))?\)", text):
            linked = (page.parent / target).resolve()
            assert linked.exists(), f"{_name(page)} links {target}"
            if anchor:
                assert anchor in _anchors(linked), f"{_name(page)} links {target}#{anchor}"


def test_functions_page_is_the_registry_catalogue():
    from gradcli import catalog

    page = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    assert page == catalog.markdown(), \
        "docs/functions.md is out of date: python -m gradcli.catalog > docs/functions.md"


def test_every_catalogued_function_parses_with_the_arguments_shown():
    import gradcli as gc
    from gradcli import catalog
    from gradcli.registry import language_functions

    listed = catalog.functions()
    assert {f.name for f in listed} == set(language_functions())
    for function in listed:
        assert len(set(function.arguments)) == len(function.arguments) >= 1, function
        expression = gc.parse(function.signature)
        assert sorted(expression.variables) == sorted(function.arguments), function.signature
        assert function.doc and function.library == f"gc.{function.name}", function


def test_the_design_page_names_every_module_of_the_package():
    """docs/design.md's folder table names every module, so ls gradcli/ can be read with it:
    a top-level module as `name.py`, a folder as `name/` with each of its modules `stem`."""
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([\w.]+/?)`.*$", text, re.M)}
    package = ROOT / "gradcli"
    missing = []
    for entry in sorted(package.iterdir()):
        if entry.name.startswith(("__pycache__", ".")):
            continue
        if entry.is_dir():
            row = rows.get(f"{entry.name}/", "")
            missing += [f"{entry.name}/" for _ in [0] if not row]
            missing += [f"{entry.name}/{m.name}" for m in sorted(entry.glob("*.py"))
                        if m.stem != "__init__" and row and f"`{m.stem}`" not in row]
        elif entry.suffix == ".py" and f"`{entry.name}`" not in text:
            missing.append(entry.name)
    assert not missing, f"docs/design.md does not say what these do: {missing}"
