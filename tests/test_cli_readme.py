"""The README's Usage section: every subcommand shown, every transcript real."""
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from gradcli.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def section(name: str) -> str:
    """The README text between ``<!-- section: NAME... -->`` and ``<!-- end: ... -->``."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- section: {re.escape(name)}\b[^>]*-->(.*?)<!-- end: ", text, re.S)
    return match.group(1) if match else ""


def transcripts(text: str) -> list[tuple[str, str]]:
    """(command, output) for each ``$ `` line of the console blocks."""
    pairs = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output))
    return pairs


def shell_lines(command: str, cwd=None) -> list[str]:
    """The lines (stdout and stderr, right-stripped) of a README command line run in bash,
    with ``gradcli`` meaning this checkout's ``python -m gradcli`` and tables 100 wide."""
    script = f'gradcli() {{ {sys.executable} -m gradcli "$@"; }}\n{command}'
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, timeout=60, cwd=cwd)
    return [line.rstrip() for line in result.stdout.splitlines()]


def test_every_subcommand_is_shown_in_the_readme():
    usage = section("usage")
    missing = []
    for name in cli.list_commands(click.Context(cli)):
        shown = re.compile(rf"(^\$ |\| )gradcli {re.escape(name)}\b", re.M)
        if not (shown.search(usage) or shown.search(section(name))):
            missing.append(name)
    assert not missing, f"subcommands without a `$ gradcli NAME` example in the README: {missing}"


@pytest.mark.skipif(os.name != "posix", reason="the transcripts are bash command lines")
@pytest.mark.parametrize("command, output", transcripts(section("usage")))
def test_usage_transcript_is_the_real_output(command, output):
    assert shell_lines(command) == output.splitlines()
