"""The reference derivatives of ``gradcli check``: SymPy within a time budget, then mpmath.

SymPy's expression is built from gradcli's graph through each op's registered SymPy mapping
(gradcli/symbolic.py), never from text. The values of the variables other than ``wrt`` are
substituted as exact numbers while the expression is built, so SymPy differentiates
``x**2``, not ``x**y`` (whose derivative, substituted at x=0, y=2, is nan). SymPy then
differentiates order by order, and each derivative, with the point substituted exactly, is
evaluated at DIGITS significant digits.

Its expressions can swell exponentially with the order (tanh(tanh(tanh(x))) reaches 64,000
operations at order 10), so the references of a point get a time budget, ``timeout``
seconds from the moment SymPy is loaded (its one-time import, ~0.4 s, is not counted;
building the SymPy expression is). SymPy has the first SYMPY_SHARE of it. It runs in a
forked worker process that sends each order's value as soon as it has it; at its deadline
the worker is killed (SIGKILL, which stops it even inside C code, where an alarm signal would
wait), and the orders it did not finish are computed by mpmath's numerical differentiation
(``mpmath.diffs``, the all-orders form of ``mpmath.diff``: central differences with a tiny
step, at the working precision (DIGITS + 6) * (order + 1) digits that DIGITS in the result
need) of an mpmath function of ``wrt`` made from the same SymPy expression
(``lambdify(..., "mpmath")``), in a second worker that has the rest of the budget and is
killed at its end too. mpmath computes the orders in batches of doubling size (all orders
up to n cost about n**2 digit-evaluations, so the batches cost 4/3 of one), sending each
batch as it is done. An order neither finished in time has no reference: its method is
NONE (value nan, not singular), and the check does not compare it. Without ``os.fork``
(Windows), both run in this process and the deadlines are checked between orders only.

A reference that is not a finite real number (SymPy's ``nan``, ``zoo``, ``oo``, a complex
value outside the real domain, an unevaluated ``DiracDelta(0)``) is *singular*: the
derivative does not exist there as a real number.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import select
import signal
import sys
import time
from dataclasses import dataclass

from ..errors import GradcliError

DIGITS = 30           # significant digits of every reference value
PRETTY_LIMIT = 400    # larger formulas (in operations) are not pretty-printed
SYMPY, MPMATH, NONE = "sympy", "mpmath", "none"   # NONE: no reference within the budget
SYMPY_SHARE = 0.75    # of the budget: SymPy's; mpmath has the rest (and SymPy's unused time)
MPMATH_FIRST_BATCH = 8  # orders of mpmath's first batch (then each batch doubles)
MAX_WAIT = 1e6        # seconds: a longer budget is no deadline at all
TIMED_OUT = "timeout"
INTERRUPTED = "interrupted"  # why an order has no reference after Ctrl-C or SIGTERM
NOT_COMPUTED = "not computed"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Python frames SymPy and mpmath may use: they recurse through an expression tens of frames a
# level (diff, evalf, xreplace, lambdify's printer), so 200 nested sines (the parser's
# deepest) need more than Python's default 1000. Raised in the forked worker (a process of
# its own) and, without fork, around the work in this process (then put back).
DEEP_RECURSION = 20_000


@dataclass
class Reference:
    """One order's reference: its value, where it came from, and the formula (SymPy's)."""

    value: float            # nan / +-inf for a singular reference; +-inf also past float64
    method: str             # SYMPY, MPMATH, or NONE (no reference within the budget)
    text: str               # the value as computed: '0.6442176872...', 'zoo', 'nan', '1.0*I'
    singular: bool = False
    formula: str | None = None   # str() of SymPy's derivative (with symbolic=True)
    pretty: str | None = None    # sympy.pretty of it (with pretty=True, small formulas only)
    why: str | None = None       # for MPMATH: why not SymPy (TIMED_OUT, or SymPy's error);
    #                              for NONE: why not mpmath (TIMED_OUT, or mpmath's error)

    @property
    def available(self) -> bool:
        return self.method != NONE


def sympy_expression(expression, wrt: str, point: dict):
    """(the SymPy expression in the symbol ``wrt`` alone, that symbol, the point's value)."""
    import sympy as sp

    from ..symbolic import number, to_sympy

    symbol = sp.Symbol(wrt, real=True)
    symbols = {name: number(sp, float(value)) for name, value in point.items() if name != wrt}
    symbols[wrt] = symbol
    return to_sympy(expression.root, symbols), symbol, number(sp, float(point.get(wrt, 0.0)))


def classify(value) -> tuple[float, str, bool]:
    """(float value, text, singular) of an evaluated SymPy number."""
    import sympy as sp

    text = str(value)
    if value.is_extended_real and value.is_finite:
        if value.is_Float or value.is_Rational:
            return float(value), text, False
    if value == sp.oo:
        return math.inf, text, True
    if value == -sp.oo:
        return -math.inf, text, True
    return math.nan, text, True


def references(expression, wrt: str, point: dict, order: int, timeout: float = 10.0,
               symbolic: bool = False, pretty: bool = False) -> list[Reference]:
    """The reference derivatives of orders 0..order within ``timeout`` seconds: SymPy's
    until SYMPY_SHARE of it, mpmath's for the rest until its end, NONE for what is left.
    A KeyboardInterrupt (Ctrl-C, SIGTERM) goes on up carrying ``references``: the orders
    0, 1, ... finished before it."""
    importlib.import_module("sympy")  # loaded before the clock starts: a one-time cost

    deadline = time.monotonic() + timeout
    f, symbol, at = sympy_expression(expression, wrt, point)
    sympy_left = deadline - (1.0 - SYMPY_SHARE) * timeout - time.monotonic()
    out: list[Reference] = []
    try:
        out, failure = sympy_derivatives(f, symbol, at, order, _left(sympy_left), symbolic,
                                         pretty)
        if len(out) > order:
            return out
        missing = range(len(out), order + 1)
        rest, mpmath_failure = mpmath_within(f, symbol, at, missing,
                                             _left(deadline - time.monotonic()))
    except KeyboardInterrupt as interrupt:  # the orders done go up with it
        interrupt.references = out + [_message_reference(m)
                                      for m in getattr(interrupt, "messages", ())]
        raise
    for r in rest:
        r.why = failure or TIMED_OUT
    out += rest
    out += [Reference(math.nan, NONE, NOT_COMPUTED, why=mpmath_failure or TIMED_OUT)
            for _ in range(len(out), order + 1)]
    return out


def _left(seconds: float) -> float:
    """Seconds left (nan from inf - inf is no deadline; never below 0)."""
    return math.inf if math.isnan(seconds) else max(0.0, seconds)


# -- SymPy, in a worker with a deadline ---------------------------------------------------------
def sympy_orders(f, symbol, at, order: int, symbolic: bool, pretty: bool):
    """Yield the message of each order 0..order: SymPy's derivative evaluated at ``at``."""
    import sympy as sp

    derivative = f
    for k in range(order + 1):
        if k:
            derivative = sp.diff(derivative, symbol)
        value = derivative.xreplace({symbol: at}).evalf(DIGITS)
        number, text, singular = classify(value)
        message = {"order": k, "value": repr(number), "text": text, "singular": singular}
        if symbolic:
            message["formula"] = str(derivative)
        if pretty:
            small = sp.count_ops(derivative) <= PRETTY_LIMIT
            message["pretty"] = sp.pretty(derivative) if small else None
        yield message


def _message_reference(message: dict) -> Reference:
    return Reference(float(message["value"]), message.get("method", SYMPY), message["text"],
                     message["singular"], message.get("formula"), message.get("pretty"))


def sympy_derivatives(f, symbol, at, order: int, timeout: float, symbolic: bool = False,
                      pretty: bool = False) -> tuple[list[Reference], str | None]:
    """SymPy's references for the orders 0, 1, ... that finish within ``timeout`` seconds,
    and SymPy's error if it failed before the end (None otherwise)."""
    messages, failure = within(lambda: sympy_orders(f, symbol, at, order, symbolic, pretty),
                               timeout)
    return [_message_reference(m) for m in messages], failure


def within(messages, timeout: float) -> tuple[list[dict], str | None]:
    """The messages that the generator ``messages()`` yields within ``timeout`` seconds (in a
    forked worker, killed at the deadline; without fork, in this process, the deadline
    checked between messages), and its error if it raised one."""
    if timeout <= 0:
        return [], None
    if not hasattr(os, "fork"):
        return _in_process(messages, timeout)
    return _in_worker(messages, timeout)


def _in_process(messages, timeout):
    deadline = time.monotonic() + timeout
    out = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEEP_RECURSION))
    try:
        for message in messages():
            out.append(message)
            if time.monotonic() > deadline:
                break
    except KeyboardInterrupt as interrupt:  # the messages received go up with it
        interrupt.messages = out
        raise
    except Exception as e:  # a SymPy (or mpmath) failure: the rest goes on without it
        return out, f"{type(e).__name__}: {e}"
    finally:
        sys.setrecursionlimit(limit)
    return out, None


def _in_worker(messages, timeout):
    """Run messages() in a forked child: the messages that arrive before the deadline, and
    the worker's error if it reported one."""
    import warnings

    read_end, write_end = os.pipe()
    parent = os.getpid()
    with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads alive
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the worker: never returns, never touches the parent's streams
        os.close(read_end)
        _worker(write_end, parent, messages)
    os.close(write_end)
    received: list[dict] = []
    pending = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            wait = remaining if remaining < MAX_WAIT else None  # --timeout inf: no deadline
            if remaining <= 0 or not select.select([read_end], [], [], wait)[0]:
                break
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                message = json.loads(line)
                if "order" not in message:  # the worker failed: the rest goes on without it
                    return received, message.get("error", "the worker failed")
                received.append(message)
    except KeyboardInterrupt as interrupt:  # the messages received go up with it
        interrupt.messages = received
        raise
    finally:
        _end_worker(pid)
        os.close(read_end)
    return received, None


def _worker(write_end, parent, messages):
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the worker at once
        _die_with(parent)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), DEEP_RECURSION))
        with os.fdopen(write_end, "wb") as out:
            try:
                for message in messages():
                    out.write(json.dumps(message).encode() + b"\n")
                    out.flush()
            except Exception as e:  # a SymPy (or mpmath) failure: the parent goes on without
                out.write(json.dumps({"error": f"{type(e).__name__}: {e}"}).encode() + b"\n")
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Linux: the worker gets SIGKILL when its parent dies (a killed gradcli leaves no
    SymPy computation behind); elsewhere it ends at its next write to the closed pipe."""
    if not os.path.exists("/proc/self"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _end_worker(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:
            continue


# -- mpmath ----------------------------------------------------------------------------------------
def mpmath_function(f, symbol):
    """f as a function of one mpmath number (SymPy's mpmath printer, from the graph's
    expression; no user text)."""
    import sympy as sp

    import mpmath

    # the generated code calls mpf(...), mpc(...), pi...: a user variable of such a name
    # (``mpf``) would shadow them (issue 23); a Dummy's printed name cannot collide (it
    # costs 15 ms more to print, so only names of mpmath's namespace get one)
    if symbol.name in vars(mpmath) or symbol.name in ("mpmath", "math", "builtins"):
        dummy = sp.Dummy("x")
        return sp.lambdify(dummy, f.xreplace({symbol: dummy}), modules="mpmath")
    return sp.lambdify(symbol, f, modules="mpmath")


def mpmath_derivatives(f, symbol, at, orders) -> list[Reference]:
    """mpmath's references for the given orders, at DIGITS significant digits (no deadline;
    a function mpmath cannot evaluate is a GradcliError)."""
    try:
        return [_message_reference(m) for m in mpmath_orders(f, symbol, at, orders)]
    except (RecursionError, TypeError, ValueError, NameError) as e:
        raise GradcliError(f"no reference derivative: mpmath cannot evaluate the expression "
                           f"({type(e).__name__})") from None


def mpmath_within(f, symbol, at, orders, timeout: float) -> tuple[list[Reference], str | None]:
    """mpmath's references for the first of the given orders that it finishes within
    ``timeout`` seconds (in a worker, as SymPy's), and its error if it failed."""
    messages, failure = within(lambda: mpmath_orders(f, symbol, at, orders), timeout)
    return [_message_reference(m) for m in messages], failure


def mpmath_orders(f, symbol, at, orders):
    """Yield the message of each of the given orders (ascending), in batches: mpmath.diffs up
    to MPMATH_FIRST_BATCH orders past the first, then up to twice as many each time."""
    import mpmath

    function = mpmath_function(f, symbol)
    orders = sorted(set(orders))
    if not orders:
        return
    done = 0  # the orders[:done] have been sent
    with mpmath.workdps(DIGITS):
        x = mpmath.mpf(at.p) / at.q
        top = min(orders[-1], max(orders[0], 1) + MPMATH_FIRST_BATCH - 1)
        while done < len(orders):
            values = {}
            try:  # one set of evaluations serves every order up to top (mpmath.diffs)
                for k, value in enumerate(mpmath.diffs(function, x, top)):
                    values[k] = value
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                pass  # the orders not reached are nan: singular
            while done < len(orders) and orders[done] <= top:
                k = orders[done]
                yield _mpmath_message(mpmath, k, values.get(k, mpmath.nan))
                done += 1
            top = min(orders[-1], 2 * top)


def _mpmath_message(mpmath, k: int, value) -> dict:
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return {"order": k, "value": "nan", "text": mpmath.nstr(value, DIGITS),
                    "singular": True, "method": MPMATH}
        value = value.real
    if not isinstance(value, mpmath.mpf):
        value = mpmath.mpf(value)
    singular = bool(mpmath.isnan(value) or mpmath.isinf(value))
    return {"order": k, "value": repr(float(value)), "text": mpmath.nstr(value, DIGITS),
            "singular": singular, "method": MPMATH}
