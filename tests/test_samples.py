"""Every script in samples/ runs and prints the tutorial's numbers."""
import pathlib
import subprocess
import sys

import pytest

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "samples"

EXPECTED = {
    "tape_quadratic.py": ["dy/dx = -2.0", "d2y/dx2 = 2.0", "dy/da = 0.0", "dy/db = 0.0", "dy/dc = 1.0"],
    "tape_square.py": ["y = 9.0", "dy/dx = 6.0"],
    "tape_persistent.py": ["dz/dy = 18.0", "dz/dx = 108.0"],
    "tape_nested.py": ["dy/dx = 27.0", "d2y/dx2 = 18.0"],
    "tape_linear.py": ["y = 7.0", "dy/dw = 2.0", "dy/db = 1.0"],
    "parse_polynomial.py": ["d1f/dx1 at 2 = 48.0", "d2f/dx2 at 2 = 66.0", "d3f/dx3 at 2 = 60.0",
                            "orders 3..5 at 0 = [12.0, 24.0, 0.0]"],
    # float32: 0.9999985694885254 is the float32 that TensorFlow prints as 0.999998569
    "tape_minimize.py": ["SGD float64: x = 0.9999999983170326", "SGD float32: x = 0.9999985694885254",
                         "Adam step 1: x = 3.9999999999", "Adam step 10: x = 12.9182579758",
                         "Adam step 200: x = 50.0027357131", "global norm = 13.0",
                         "clipped = [[1.5, 2.0], 6.0]"],
}


def run(script):
    return subprocess.run([sys.executable, str(SAMPLES / script)], capture_output=True,
                          text=True, timeout=120, cwd=SAMPLES.parent)


@pytest.mark.parametrize("script", sorted(EXPECTED))
@pytest.mark.slow
def test_sample_prints_the_tutorial_numbers(script):
    result = run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED[script]


def test_every_python_sample_is_checked():
    scripts = {p.name for p in SAMPLES.glob("*.py")}
    unchecked = scripts - set(EXPECTED)
    assert not unchecked, f"samples without a test of their numbers: {sorted(unchecked)}"
