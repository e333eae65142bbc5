"""W5 of issue 22: parse c_0 + c_1*x**1 + ... + c_k*x**k (c_i = (i % 7) - 3: every power
distinct) and differentiate once at 0.999, against eval(text) + torch autograd and Python's
own compile + eval (value only), side by side in one run.

    python tests/benchmarks/bench_parse.py [--repeats 5] [--sizes 100,1000,10000,100000,1000000]
                                           [--peers-up-to 100000] [--graph-up-to 100000]

gradcli is timed as a user calls it: ``gc.parse(text).derivatives("x", 1, at=0.999)`` in
this process, the cycle collector as Python leaves it (the library never pauses it). Such
text is read as columns (gradcli/language/polynomial.py) and differentiated from them
(gradcli/taylor/polynomial.py); the "graph's way" column times the same text through the
parser's graph and Taylor mode's first order at one point (what a polynomial written
otherwise, say with x*x, takes: gradcli/taylor/dual.py, then the ball check of what its
bound cannot vouch for), up to --graph-up-to terms or the library's length limit for a
graph (1,000,000 characters: W5's text to 75,000 terms); "torch/graph" is eval + torch's
time over it. The "(c)*x**k" columns time the same polynomial written with every
coefficient in parentheses (never read as columns) through gc.parse, and eval + torch of
that same text (its ratio: torch / gradcli of that text). Every time is CPU time (each system runs on one thread), the
median of interleaved repeats (each repeat loops for >= 250 ms); ratios are peer / gradcli (above 1: gradcli is faster). torch is
optional (`pip install torch==2.13.0`); without it the torch column says "not installed".
The growth exponent is the slope of log(time) against log(terms) over the sizes from 1,000
up (target <= 1.05). Python's compiler recurses once per '+' (a RecursionError at the
default limit, and the C stack of the main thread overflows near 70,000 terms), so the
whole run is made in a thread with a 2 GB stack and a high recursion limit; the peers run
up to --peers-up-to terms (at 1,000,000 Python's compile + eval alone takes about 8 s and
1.8 GB).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time

import numpy as np

import gradcli as gc

X = 0.999
GRAPH = "graph's way"
STACK = 2**31 - 2**16   # bytes of the thread the run is made in (Python's compiler recursion)


def polynomial(terms: int) -> str:
    return " + ".join(str((i % 7) - 3) if i == 0 else f"{(i % 7) - 3}*x**{i}"
                      for i in range(terms))


def exact(terms: int) -> tuple[float, float]:
    """The value and derivative by Horner's rule in 60-digit mpmath (the oracle; the
    float64 0.999 exactly)."""
    import mpmath

    with mpmath.workdps(60):
        x = mpmath.mpf(X)
        value = slope = mpmath.mpf(0)
        for i in reversed(range(terms)):
            slope = slope * x + value
            value = value * x + ((i % 7) - 3)
        return float(value), float(slope)


def gradcli_w5(text):
    return gc.parse(text).derivatives("x", 1, at=X)


def graph_way(text):
    from gradcli.expression import Expression
    from gradcli.language.parser import parse_graph

    return Expression(text, parse_graph(text)).derivatives("x", 1, at=X)


def parenthesised(terms: int) -> str:
    """The same polynomial with every coefficient in parentheses: not read as columns (the
    graph's way, parsed, Taylor mode's first order at one point, checked as any graph is)."""
    return " + ".join(f"({(i % 7) - 3})" if i == 0 else f"({(i % 7) - 3})*x**{i}"
                      for i in range(terms))


def gradcli_parenthesised(text):
    return gc.parse(text).derivatives("x", 1, at=X)


def torch_parenthesised(text):
    return torch_w5(text)


def python_eval(text):
    return eval(compile(text, "<w5>", "eval"), {"x": X})


def torch_w5(text):
    import torch

    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    value = eval(compile(text, "<w5>", "eval"), {"x": x})
    value.backward()
    return value.item(), x.grad.item()


def per_call(fn, text, min_seconds=0.25) -> float:
    """CPU seconds of one call (every system here runs on one thread; on a shared machine
    the wall clock measures the neighbours too), over calls for at least ``min_seconds``: a
    full collection of the cycle collector, every few calls of a system that keeps many
    objects (a graph), is then counted in its share rather than in one sample or none."""
    start = time.process_time()
    fn(text)
    once = time.process_time() - start
    number = max(1, int(min_seconds / max(once, 1e-9)))
    start = time.process_time()
    for _ in range(number):
        fn(text)
    return (time.process_time() - start) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000,100000,1000000")
    parser.add_argument("--peers-up-to", type=int, default=100_000)
    parser.add_argument("--graph-up-to", type=int, default=100_000)
    args = parser.parse_args()
    sys.setrecursionlimit(10**7)
    threading.stack_size(STACK)
    failed = []
    thread = threading.Thread(target=lambda: _guarded(run, args, failed))
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def _guarded(fn, args, failed):
    try:
        fn(args)
    except BaseException as e:  # re-raised in the main thread
        failed.append(e)


def run(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    try:
        import torch  # noqa: F401

        torch_note = f"torch {torch.__version__}"
    except ImportError:
        torch_note = None
        print("torch not installed: no torch column (pip install torch==2.13.0)")
    systems = {"gradcli": gradcli_w5, "graph's way": graph_way,
               "python compile+eval": python_eval}
    if torch_note:
        systems["eval + torch autograd"] = torch_w5
        # the parenthesised text, gradcli's graph way against eval + torch of the same text:
        # its ratio is torch / gradcli of that text (printed in its own column)
        systems["(c)*x**k: gradcli"] = gradcli_parenthesised
        systems["(c)*x**k: torch"] = torch_parenthesised
    gradcli_w5(polynomial(10))  # imports
    print(f"W5 at x = {X}: median of {args.repeats} interleaved repeats; ratio = other / gradcli")
    print(f"  {'terms':>9s} {'gradcli':>10s} {'rel err':>8s}   " + "   ".join(
        f"{name:>22s} {'ratio':>6s}" for name in list(systems)[1:]))
    times = []
    from gradcli.limits import MAX_POLYNOMIAL_LENGTH as LIMIT

    for n in list(sizes):
        text = polynomial(n)
        texts = {name: parenthesised(n) if name.startswith("(c)") else text for name in systems}
        if len(text) > LIMIT:
            print(f"  {n:>9,d} skipped: {len(text):,} characters, beyond the library's limit of "
                  f"{LIMIT:,} for a polynomial")
            sizes.remove(n)
            continue
        value, slope = exact(n)
        got = gradcli_w5(text)
        err = max(abs(float(got[0]) - value) / abs(value), abs(float(got[1]) - slope) / abs(slope))
        usable = {}
        for name, fn in systems.items():
            up_to = args.graph_up_to if name in ("graph's way", "(c)*x**k: gradcli") \
                else args.peers_up_to
            if name != "gradcli" and n > up_to:
                usable[name] = "(not run)"
                continue
            try:
                fn(texts[name])
                usable[name] = fn
            except (RecursionError, MemoryError, SyntaxError) as e:
                usable[name] = type(e).__name__
            except gc.errors.ParseError:   # the graph's way beyond the library's length limit
                usable[name] = "(beyond the limit)"
        samples = {name: [] for name in systems}
        reps = args.repeats if n <= 100_000 else max(1, args.repeats // 2)
        for _ in range(reps):
            for name, fn in usable.items():
                if callable(fn):
                    samples[name].append(per_call(fn, texts[name]))
        med = {name: statistics.median(s) for name, s in samples.items() if s}
        times.append(med["gradcli"])
        cells = []
        for name in list(systems)[1:]:
            base = "(c)*x**k: gradcli" if name == "(c)*x**k: torch" else "gradcli"
            if name in med and base in med:
                cells.append(f"{_ms(med[name]):>22s} {med[name] / med[base]:5.2f}x")
            elif name in med:
                cells.append(f"{_ms(med[name]):>22s} {'':>6s}")
            else:
                cells.append(f"{usable[name]:>22s} {'':>6s}")
        if "graph's way" in med and "eval + torch autograd" in med:   # the graph's way's target
            cells.append(f"torch/graph {med['eval + torch autograd'] / med[GRAPH]:5.2f}x")
        print(f"  {n:>9,d} {_ms(med['gradcli']):>10s} {err:8.1e}   " + "   ".join(cells),
              flush=True)
    big = [(n, t) for n, t in zip(sizes, times) if n >= 1000]
    if len(big) >= 2:
        slope = np.polyfit(np.log([n for n, _ in big]), np.log([t for _, t in big]), 1)[0]
        print(f"  growth exponent of gradcli ({big[0][0]:,}..{big[-1][0]:,} terms): {slope:.2f} "
              f"(target <= 1.05)")
    print("  targets: eval + torch ratio > 1 at every size; python compile+eval ratio >= 0.1")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


if __name__ == "__main__":
    main()
