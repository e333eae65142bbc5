"""samples/tape_minimize.py: the tutorial's SGD and Adam runs print the published numbers."""
import pathlib
import subprocess
import sys

SAMPLE = pathlib.Path(__file__).resolve().parent.parent / "samples" / "tape_minimize.py"


def test_tape_minimize_prints_the_sgd_adam_and_clipping_numbers():
    result = subprocess.run([sys.executable, str(SAMPLE)], capture_output=True, text=True,
                            timeout=120, cwd=SAMPLE.parent.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "SGD float64: x = 0.9999999983170326"
    label, value = lines[1].split(" = ")
    assert label == "SGD float32: x" and f"{float(value):.9g}" == "0.999998569"  # as TF prints
    assert lines[2:] == ["Adam step 1: x = 3.9999999999", "Adam step 10: x = 12.9182579758",
                         "Adam step 200: x = 50.0027357131", "global norm = 13.0",
                         "clipped = [[1.5, 2.0], 6.0]"]
