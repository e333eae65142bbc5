"""The documentation's sections: finding them (a missing one fails), and every subcommand toured.

Other test files read a page's section by name (``section("check")``) to test what it
says; the sections live in README.md and docs/*.md between ``<!-- section: NAME ... -->``
and ``<!-- end: NAME -->``. A section that is not found is an error, never an empty text
(a renamed marker or a moved page must fail the suite, not skip its tests). Every
transcript of every page is run by tests/test_docs.py.
"""
import re
from pathlib import Path

import click

from gradcli.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def section(name: str) -> str:
    """The text between ``<!-- section: NAME... -->`` and ``<!-- end: NAME -->`` in README.md
    or a docs/*.md page. Raises LookupError when no page has it, or one page has it twice."""
    found = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        pattern = rf"<!-- section: {re.escape(name)}\b[^>]*-->(.*?)<!-- end: {re.escape(name)}\b"
        found += re.findall(pattern, text, re.S)
    if len(found) != 1:
        where = ", ".join(str(p.relative_to(ROOT)) for p in pages())
        raise LookupError(f"{len(found)} sections '<!-- section: {name} -->' ... "
                          f"'<!-- end: {name} -->' in {where}: expected exactly one")
    return found[0]


def transcripts(text: str) -> list[tuple[str, str]]:
    """(command, output) for each ``$ `` line of the console blocks."""
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output))
    return pairs


def shell_lines(command: str, cwd=None) -> list[str]:
    """The lines (stdout and stderr, right-stripped) of a documented command line run in
    bash, with ``gradcli`` meaning this checkout's ``python -m gradcli`` and tables 100 wide."""
    import os
    import subprocess
    import sys

    script = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{command}'
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            env=env, timeout=60, cwd=cwd)
    return [line.rstrip() for line in result.stdout.splitlines()]


def subcommands() -> list[str]:
    return cli.list_commands(click.Context(cli))


def test_every_subcommand_is_toured_in_the_readme():
    usage = section("usage")
    missing = [name for name in subcommands()
               if not re.search(rf"^\$ (.*\| )?gradcli {re.escape(name)}\b", usage, re.M)]
    assert not missing, f"subcommands without a `$ gradcli NAME` transcript in the README: {missing}"


def test_every_subcommand_has_its_page_with_a_transcript():
    for name in subcommands():
        page = ROOT / "docs" / f"{name}.md"
        assert page.exists(), f"docs/{name}.md is missing"
        shown = transcripts(page.read_text(encoding="utf-8"))
        assert any(re.match(rf"(.*\| )?gradcli {re.escape(name)}\b", c) for c, _ in shown), \
            f"docs/{name}.md has no `$ gradcli {name}` transcript"


def test_a_missing_section_is_an_error_not_an_empty_text():
    import pytest

    with pytest.raises(LookupError, match="no-such-section"):
        section("no-such-section")
    assert "gradcli check" in section("check")
