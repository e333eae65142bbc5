"""``gradcli check``'s default reference: ball arithmetic (python-flint's Arb), at DIGITS digits.

The derivatives along ``wrt`` at the point, with the point and the expression's constants taken
as the float64 values they denote (what gradcli's engines differentiate; with ``--digits``, as
``diff --digits``, the exact decimals written and the real pi and e), computed as balls
(gradcli/taylor/ball.py) at rising precision until each has DIGITS certified significant
digits: exact to its digits, at any order (order 1000 in milliseconds where SymPy's
expressions swell past any budget). An order whose ball is outside the real domain, on a pole,
or undecided at the highest precision (a kink the ball straddles) is *singular*; one whose ball
still holds 0 at the highest precision is 0 (its text says how small).
"""
from __future__ import annotations

import math

from .reference import Reference

ARB = "arb"
DIGITS = 30


def arb_references(expression, wrt: str, point: dict, order: int,
                   digits: int = DIGITS, exact: bool = False) -> list[Reference]:
    """The reference derivatives of orders 0..order in ball arithmetic (see the module), each
    with ``digits`` certified digits (its ``text``). ``exact`` (``--digits``, SPEC 6.1): the
    numbers written in the expression are the decimals written and pi, e the real numbers,
    and a point's str values the decimals they write, as ``diff --digits`` takes them."""
    from ..taylor import ball as B
    from ..taylor.digits import Digits, certified

    point = {name: v if exact and isinstance(v, str) else float(v) for name, v in point.items()}

    def compute(prec):
        with B.working(prec, order + 1):
            return B.derivative_balls(B.root_series(expression.nodes, wrt, point, order, prec,
                                                    exact))

    try:
        notes = Digits()
        texts = certified(compute, order + 1, digits, notes)
    except (B.NotCertified, B.OutOfDomain, B.NoBallRule) as why:
        return _per_order(expression, wrt, point, order, str(why), digits, exact)
    small = dict(notes.zeros)
    return [Reference(_float(t), ARB, t if k not in small else f"0 (|value| < {small[k]})")
            for k, t in enumerate(texts)]


def _per_order(expression, wrt, point, order, why, digits=DIGITS,
               exact: bool = False) -> list[Reference]:
    """Order by order, so that the orders below a singular one keep their reference."""
    from ..taylor import ball as B
    from ..taylor.digits import certified

    out = []
    for k in range(order + 1):
        def compute(prec, k=k):
            with B.working(prec, k + 1):
                return B.derivative_balls(B.root_series(expression.nodes, wrt, point, k,
                                                        prec, exact))[k:]
        try:
            text = certified(compute, 1, digits)[0]
            out.append(Reference(_float(text), ARB, text))
        except (B.NotCertified, B.OutOfDomain) as error:
            out.append(Reference(math.nan, ARB, _reason(str(error)), singular=True))
        except B.NoBallRule as error:
            out.append(Reference(math.nan, "none", "not computed", why=str(error)))
        except KeyboardInterrupt as interrupt:  # the orders done go up with it (as SymPy's)
            interrupt.references = out
            raise
    return out


def _float(text: str) -> float:
    return float(text)   # beyond float64 gives +-inf: compare() agrees only with its infinity


def _reason(message: str) -> str:
    """The error's reason without the point (the check names the point itself)."""
    head, _, rest = message.partition(": ")
    return rest if head.startswith("at ") and rest else message
