"""W3's f' and f'' at many points with the compiled program's chunks of different sizes.

    python tests/benchmarks/bench_chunks.py [--points 1000000] [--repeats 9] [--threads 2]

Chunks of CHUNK_BYTES per array (gradcli/compiled/replay.py) against one pass per block
(chunks off), taken in turn (a, b, c, ..., a, b, c, ...), the median wall and CPU time of
each; a size of 0 is one pass. Ratios are against the chunk size in use today.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import gradcli as gc  # noqa: E402
from gradcli.compiled import replay  # noqa: E402
from gradcli.compiled.program import compile_expression  # noqa: E402
from gradcli.compiled.tuning import tune_process  # noqa: E402

W3_TEXT = "sin(x)*exp(-x**2/10)+log(1+x**2)-sqrt(1+x**2)*cos(3*x)"
SIZES = (0, 4096, 8192, 16384, 32768, 65536)  # points of float64 per chunk; 0: one pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", default="")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    if args.threads:
        os.environ["GRADCLI_THREADS"] = args.threads
    tune_process()
    sizes = [int(s) for s in args.sizes.split(",")]
    program = compile_expression(gc.parse(W3_TEXT))
    xs = np.linspace(-5.0, 5.0, args.points)
    today = replay.CHUNK_BYTES
    calls = {"f'": lambda: program.value_and_grad({"x": xs}),
             "f''": lambda: program.hessian({"x": xs})}
    for label, call in calls.items():
        wall = {s: [] for s in sizes}
        cpu = {s: [] for s in sizes}
        for s in sizes:  # warm up, plans made
            replay.CHUNK_BYTES = s * 8 if s else 1 << 60
            call()
        for _ in range(args.repeats):
            for s in sizes:
                replay.CHUNK_BYTES = s * 8 if s else 1 << 60
                w, c = time.perf_counter(), time.process_time()
                call()
                wall[s].append(time.perf_counter() - w)
                cpu[s].append(time.process_time() - c)
        replay.CHUNK_BYTES = today
        base = today // 8
        for s in sizes:
            mw, mc = statistics.median(wall[s]), statistics.median(cpu[s])
            ratio = mw / statistics.median(wall[base]) if base in wall else float("nan")
            print(f"{label:4s} chunk {s or 'off':>6}  wall {mw * 1e3:7.2f} ms  cpu {mc * 1e3:7.2f} ms"
                  f"  ratio {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
