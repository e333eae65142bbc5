"""The reference derivatives of ``gradcli check``: SymPy within a time budget, then mpmath.

SymPy's expression is built from gradcli's graph through each op's registered SymPy mapping
(gradcli/symbolic.py), never from text. The values of the variables other than ``wrt`` are
substituted as exact numbers while the expression is built, so SymPy differentiates
``x**2``, not ``x**y`` (whose derivative, substituted at x=0, y=2, is nan). SymPy then
differentiates order by order, and each derivative, with the point substituted exactly, is
evaluated at DIGITS significant digits.

Its expressions can swell exponentially with the order (tanh(tanh(tanh(x))) reaches 64,000
operations at order 10), so SymPy gets a time budget. It runs in a forked worker process that
sends each order's value as soon as it has it; at the deadline the worker is killed (SIGKILL,
which stops it even inside C code, where an alarm signal would wait), and the orders it did
not finish are computed by mpmath's numerical differentiation (``mpmath.diffs``, the
all-orders form of ``mpmath.diff``: central differences with a tiny step, at the working
precision (DIGITS + 6) * (order + 1) digits that DIGITS in the result need) of an mpmath function of ``wrt``
made from the same SymPy expression (``lambdify(..., "mpmath")``). Without ``os.fork``
(Windows), SymPy runs in this process and the budget is checked between orders only.

A reference that is not a finite real number (SymPy's ``nan``, ``zoo``, ``oo``, a complex
value outside the real domain, an unevaluated ``DiracDelta(0)``) is *singular*: the
derivative does not exist there as a real number.
"""
from __future__ import annotations

import json
import math
import os
import select
import signal
import time
from dataclasses import dataclass

from .errors import GradcliError

DIGITS = 30           # significant digits of every reference value
PRETTY_LIMIT = 400    # larger formulas (in operations) are not pretty-printed
SYMPY, MPMATH = "sympy", "mpmath"
MAX_WAIT = 1e6        # seconds: a longer budget is no deadline at all
TIMED_OUT = "timeout"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass
class Reference:
    """One order's reference: its value, where it came from, and the formula (SymPy's)."""

    value: float            # nan / +-inf for a singular reference; +-inf also past float64
    method: str             # SYMPY or MPMATH
    text: str               # the value as computed: '0.6442176872...', 'zoo', 'nan', '1.0*I'
    singular: bool = False
    formula: str | None = None   # str() of SymPy's derivative (with symbolic=True)
    pretty: str | None = None    # sympy.pretty of it (with pretty=True, small formulas only)
    why: str | None = None       # for MPMATH: why not SymPy (TIMED_OUT, or SymPy's error)


def sympy_expression(expression, wrt: str, point: dict):
    """(the SymPy expression in the symbol ``wrt`` alone, that symbol, the point's value)."""
    import sympy as sp

    from .symbolic import number, to_sympy

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
    """The reference derivatives of orders 0..order: SymPy's while the budget lasts
    (``timeout`` seconds), mpmath's for the rest."""
    f, symbol, at = sympy_expression(expression, wrt, point)
    out, failure = sympy_derivatives(f, symbol, at, order, timeout, symbolic, pretty)
    if len(out) <= order:
        rest = mpmath_derivatives(f, symbol, at, range(len(out), order + 1))
        for r in rest:
            r.why = failure or TIMED_OUT
        out += rest
    return out


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
    return Reference(float(message["value"]), SYMPY, message["text"], message["singular"],
                     message.get("formula"), message.get("pretty"))


def sympy_derivatives(f, symbol, at, order: int, timeout: float, symbolic: bool = False,
                      pretty: bool = False) -> tuple[list[Reference], str | None]:
    """SymPy's references for the orders 0, 1, ... that finish within ``timeout`` seconds,
    and SymPy's error if it failed before the end (None otherwise)."""
    if timeout <= 0:
        return [], None
    if not hasattr(os, "fork"):
        return _sympy_in_process(f, symbol, at, order, timeout, symbolic, pretty)
    messages, failure = _sympy_in_worker(f, symbol, at, order, timeout, symbolic, pretty)
    return [_message_reference(m) for m in messages], failure


def _sympy_in_process(f, symbol, at, order, timeout, symbolic, pretty):
    deadline = time.monotonic() + timeout
    out = []
    try:
        for message in sympy_orders(f, symbol, at, order, symbolic, pretty):
            out.append(_message_reference(message))
            if time.monotonic() > deadline:
                break
    except Exception as e:  # a SymPy failure: the rest goes to mpmath
        return out, f"{type(e).__name__}: {e}"
    return out, None


def _sympy_in_worker(f, symbol, at, order, timeout, symbolic, pretty):
    """Run sympy_orders in a forked child: the messages that arrive before the deadline,
    and the worker's error if it reported one."""
    import warnings

    read_end, write_end = os.pipe()
    parent = os.getpid()
    with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads alive
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the worker: never returns, never touches the parent's streams
        os.close(read_end)
        _worker(write_end, parent, f, symbol, at, order, symbolic, pretty)
    os.close(write_end)
    messages: list[dict] = []
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
                if "order" not in message:  # the worker failed: the rest goes to mpmath
                    return messages, message.get("error", "SymPy failed")
                messages.append(message)
    finally:
        _end_worker(pid)
        os.close(read_end)
    return messages, None


def _worker(write_end, parent, f, symbol, at, order, symbolic, pretty):
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the worker at once
        _die_with(parent)
        with os.fdopen(write_end, "wb") as out:
            try:
                for message in sympy_orders(f, symbol, at, order, symbolic, pretty):
                    out.write(json.dumps(message).encode() + b"\n")
                    out.flush()
            except Exception as e:  # a SymPy failure: the parent falls back to mpmath
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

    return sp.lambdify(symbol, f, modules="mpmath")


def mpmath_derivatives(f, symbol, at, orders) -> list[Reference]:
    """mpmath's references for the given orders, at DIGITS significant digits."""
    import mpmath

    try:
        function = mpmath_function(f, symbol)
    except (RecursionError, TypeError, ValueError, NameError) as e:
        raise GradcliError(f"no reference derivative: SymPy ran out of time and mpmath "
                           f"cannot evaluate the expression ({type(e).__name__})") from None
    orders = list(orders)
    values = {}
    with mpmath.workdps(DIGITS):
        x = mpmath.mpf(at.p) / at.q
        try:  # one set of evaluations serves every order (mpmath.diffs)
            for k, value in enumerate(mpmath.diffs(function, x, max(orders, default=0))):
                values[k] = value
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            pass  # the orders not reached are nan: singular
        return [_mpmath_reference(mpmath, values.get(k, mpmath.nan)) for k in orders]


def _mpmath_reference(mpmath, value) -> Reference:
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return Reference(math.nan, MPMATH, mpmath.nstr(value, DIGITS), True)
        value = value.real
    if not isinstance(value, mpmath.mpf):
        value = mpmath.mpf(value)
    text = mpmath.nstr(value, DIGITS)
    if mpmath.isnan(value) or mpmath.isinf(value):
        return Reference(float(value), MPMATH, text, True)
    return Reference(float(value), MPMATH, text)
