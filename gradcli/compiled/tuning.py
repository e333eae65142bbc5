"""Process-wide knobs for speed (glibc's malloc, the cycle collector while building): set by the CLI entry point only.

The library leaves the interpreter and the C library as it found them: nothing
here runs at import or from a library call unless ``tune_process()`` was called,
which ``main`` in gradcli/cli/__init__.py does once (the process is the CLI's).
A Python program that owns its process may call it too (the benchmarks do).
``blas_one_thread`` only reads the environment.
"""
from __future__ import annotations

import contextlib
import gc

_TUNED: list = []  # [True] once tune_process() ran


def tune_process() -> None:
    """For the CLI entry point: keep freed memory (``keep_freed_memory``) and pause the
    cycle collector while programs are built (``building``). Idempotent."""
    if not _TUNED:
        _TUNED.append(True)
        keep_freed_memory()


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory instead of handing it back to the system.

    A replay holds several big temporaries at once; when they are freed, glibc trims
    the top of the heap and the next replay page-faults every page back in: measured
    5x slower for 100,000-row arrays. Raising the trim and mmap thresholds (mallopt)
    keeps the pages; elsewhere than glibc this does nothing. Memory is never given
    back, which suits a command that exits; a long-lived process decides for itself."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_trim_threshold, 1 << 28)
        libc.mallopt(m_mmap_threshold, 1 << 25)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def building():
    """While a program is built: the cycle collector paused, where ``tune_process`` ran.

    Building keeps every instruction: the cycle collector rescans them all again and
    again (measured, CPU time to build and differentiate the 60,000-term polynomial
    sum(k*x**(k%5)*y): 2.0 s paused, 3.1 s collecting). In a library call the
    collector is left alone: pausing it would pause it for every thread."""
    if not _TUNED or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def blas_one_thread(environ) -> bool:
    """Whether OpenBLAS was told to run on one thread: the first of OPENBLAS_NUM_THREADS,
    GOTO_NUM_THREADS and OMP_NUM_THREADS that is set (OpenBLAS's own order) is 1."""
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        value = environ.get(name, "").strip()
        if value:
            return value == "1"
    return False
