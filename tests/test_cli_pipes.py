"""Real processes and pipes: stdin, `| head -1`, JSON Lines and CSV read back, Ctrl-C,
and the imports of the fast paths."""
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.slow,  # real processes: `pytest -m "not slow"` leaves them out
              pytest.mark.skipif(os.name != "posix", reason="pipes and signals of a POSIX shell")]

GRADCLI = f"{sys.executable} -m gradcli"
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def shell(command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run a bash pipeline where ``gradcli`` is this interpreter's gradcli."""
    script = f'gradcli() {{ {GRADCLI} "$@"; }}\nset -o pipefail\n{command}'
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def test_points_piped_on_stdin():
    result = shell("""printf '1\\n2\\n' | gradcli diff "x**3" --at - --format plain""")
    assert (result.returncode, result.stdout, result.stderr) == (0, "3.0\n12.0\n", "")


def test_expressions_piped_on_stdin():
    result = shell("""printf 'x**2\\n\\n# comment\\nsin(x)\\n' | gradcli eval - --at 0.5""")
    assert (result.returncode, result.stdout, result.stderr) == \
        (0, "0.25\n0.479425538604203\n", "")


def test_json_lines_parse_back(tmp_path):
    points = tmp_path / "points.txt"
    points.write_text("".join(f"x={i / 10},y={-i}\n" for i in range(50)))
    result = shell(f'gradcli grad "x**2*y" --at - --hessian --format json < {points}')
    assert (result.returncode, result.stderr) == (0, "")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 50
    for i, record in enumerate(records):
        x, y = i / 10, float(-i)
        assert record["point"] == {"x": x, "y": y}
        assert record["gradient"] == [2 * x * y, x**2]
        assert record["hessian"] == [[2 * y, 2 * x], [2 * x, 0.0]]


def test_csv_parses_back_with_the_csv_module():
    result = shell('gradcli diff "x**4" --at 1 --at 2 --order 4 --format csv')
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["x"], r["value"], r["derivatives[1]"]) for r in rows] == \
        [("1.0", "24.0", "4.0"), ("2.0", "24.0", "32.0")]


@pytest.mark.slow
def test_head_closing_the_pipe_ends_quietly(tmp_path):
    points = tmp_path / "points.txt"
    points.write_text("".join(f"{i}\n" for i in range(20000)))  # megabytes of JSON: > a pipe buffer
    producer = subprocess.Popen([sys.executable, "-m", "gradcli", "diff", "x**3", "--at", "-",
                                 "--format", "json"], stdin=points.open(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=ENV)
    head = subprocess.run(["head", "-1"], stdin=producer.stdout, capture_output=True, text=True,
                          timeout=30)
    producer.stdout.close()
    stderr = producer.stderr.read().decode()
    assert producer.wait(timeout=30) == 141
    assert stderr == ""
    assert json.loads(head.stdout)["value"] == 0.0


def test_head_on_a_short_output_is_not_an_error():
    result = shell('gradcli diff "x**4+2*x**3-3*x**2+4*x-5" --at 2 --order 3 | head -1')
    assert (result.returncode, result.stdout, result.stderr) == (0, "60.0\n", "")


def test_ctrl_c_prints_what_was_done_and_exits_130():
    process = subprocess.Popen([sys.executable, "-m", "gradcli", "diff", "x**3", "--at", "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=ENV)
    process.stdin.write(b"2\n")
    process.stdin.flush()
    first = process.stdout.readline()  # answered before stdin ends: points are streamed
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=30)
    assert (first, rest, stderr, process.returncode) == \
        (b"12.0\n", b"", b"gradcli: interrupted\n", 130)


@pytest.mark.slow
def test_ten_thousand_points_finish_well_under_a_second(tmp_path):
    points = tmp_path / "points.txt"
    points.write_text("".join(f"x={i / 1000},y={1 - i / 1000}\n" for i in range(10000)))
    floor_start = time.perf_counter()
    shell(f"{sys.executable} -c 'import numpy, click'")
    floor = time.perf_counter() - floor_start
    start = time.perf_counter()
    result = shell(f'gradcli grad "x**2*y+sin(y)" --at - --format json < {points}')
    elapsed = time.perf_counter() - start
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 10000
    assert elapsed - floor < 1.0, f"{elapsed:.2f} s (interpreter start-up {floor:.2f} s)"


@pytest.mark.parametrize("args", [["--version"], ["diff", "x**2", "--at", "2"],
                                  ["grad", "x*y", "--at", "x=1,y=2", "--format", "json"],
                                  ["eval", "x", "--at", "1", "--format", "csv"]])
@pytest.mark.slow
def test_fast_paths_import_neither_rich_nor_sympy(args):
    code = ("import sys\nfrom gradcli.cli import cli\n"
            "try:\n    cli.main(sys.argv[1:], prog_name='gradcli')\nexcept SystemExit:\n    pass\n"
            "loaded = {m.split('.')[0] for m in sys.modules}\n"
            "heavy = sorted(loaded & {'rich', 'sympy', 'matplotlib'})\n"
            "print('heavy:', heavy, file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            env=ENV, timeout=30)
    assert result.stderr.splitlines()[-1] == "heavy: []"
