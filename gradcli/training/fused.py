"""The run loop fused into one function compiled by numba (``jit=True``, the ``jit`` extra).

Gradient, norm and optimizer step of every step are written out on float locals and compiled once.

    run = descend_fused(program, start, optimizer, steps, tol, variables=names)

For long runs: numba compiles the loop once (about a second for a 100-variable Rosenbrock;
its import alone 0.3-0.5 s), after which a step costs what its float arithmetic costs, with
no Python call per step. The loop's text is generated from the parts the other paths use,
so it computes what they compute: the one-point function on floats (compiled/scalar.py's
statements, each op's registered ``scalar`` form), the optimizer's rule traced onto floats
(optimizers/float_step.py: the ``_element``/``_step`` code ``update`` runs), and the gradient
norm summed in numpy's pairwise order (``pairwise_sum``), so that the iterates are those of
``descend`` bit for bit where numba's float operations are Python's (+ - * /, sqrt and
libm's functions; the tests compare them on Rosenbrock). numba is imported only here, and
only when a fused run is asked for; without it, ``compile_loop(..., native=False)`` gives the
same function as plain Python (slow: for the tests of the generated text).

Taken where the one-point function is written out on floats with operators and math
functions only, the optimizer's rule traces onto floats (not NAdam, RAdam, Rprop), the rate
is constant (no schedule) and there is no norm clipping; otherwise ``FusedUnavailable``
says why. Rows are kept as ``descend`` keeps them (``keep``); the loop runs in chunks of
``PROGRESS_EVERY`` steps, between which progress is reported and Ctrl-C is seen.
"""
from __future__ import annotations

import math
import re
import time

import numpy as np

from .descend import PROGRESS_EVERY, Run, _finite


class FusedUnavailable(ValueError):
    """The fused loop cannot run this expression or optimizer (the message says why)."""


def pairwise_sum(terms: list[str]) -> str:
    """The source of the sum of ``terms`` added in the order of numpy's pairwise summation of a
    contiguous float64 vector (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum): fewer
    than 8 in order; up to 128 in 8 running sums combined ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)),
    the rest added in order; more, two halves (the first a multiple of 8) summed alike."""
    n = len(terms)
    if n == 0:
        return "0.0"
    if n < 8:
        text = f"(-0.0 + {terms[0]})" if n == 1 else terms[0]
        for t in terms[1:]:
            text = f"({text} + {t})"
        return text
    if n <= 128:
        r = list(terms[:8])
        i = 8
        while i < n - n % 8:
            r = [f"({r[j]} + {terms[i + j]})" for j in range(8)]
            i += 8
        text = f"((({r[0]} + {r[1]}) + ({r[2]} + {r[3]})) + (({r[4]} + {r[5]}) + ({r[6]} + {r[7]})))"
        for t in terms[i:]:
            text = f"({text} + {t})"
        return text
    half = n // 2
    half -= half % 8
    return f"({pairwise_sum(terms[:half])} + {pairwise_sum(terms[half:])})"


def pairwise_loops(array: str, n: int, out: str) -> list[str]:
    """Statements setting ``out`` to numpy's pairwise sum of ``array[0:n]`` (pairwise_sum's
    order, as loops over its blocks of at most 128 entries: the text does not grow with n)."""
    lines, count = [], [0]

    def block(lo, m):
        name = f"s{count[0]}"
        count[0] += 1
        if m < 8:
            lines.append(f"{name} = -0.0")
            lines.append(f"for i in range({lo}, {lo + m}):")
            lines.append(f"    {name} = {name} + {array}[i]")
        elif m <= 128:
            r = [f"{name}r{j}" for j in range(8)]
            lines.extend(f"{r[j]} = {array}[{lo + j}]" for j in range(8))
            lines.append(f"for i in range({lo + 8}, {lo + m - m % 8}, 8):")
            lines.extend(f"    {r[j]} = {r[j]} + {array}[i + {j}]" for j in range(8))
            lines.append(f"{name} = ((({r[0]} + {r[1]}) + ({r[2]} + {r[3]})) + "
                         f"(({r[4]} + {r[5]}) + ({r[6]} + {r[7]})))")
            lines.append(f"for i in range({lo + m - m % 8}, {lo + m}):")
            lines.append(f"    {name} = {name} + {array}[i]")
        else:
            half = m // 2
            half -= half % 8
            a, b = block(lo, half), block(lo + half, m - half)
            lines.append(f"{name} = {a} + {b}")
        return name

    if n == 0:
        return [f"{out} = 0.0"]
    if n == 1:
        return [f"{out} = {array}[0]"]
    return lines + [f"{out} = {block(0, n)}"]


def _norm_source(n: int) -> list[str]:
    """Statements setting ``norm`` from g0 ... g{n-1}: sqrt of the pairwise sum of squares (the
    squares as locals: the sum's text stays one line per block)."""
    lines = [f"q{i} = g{i} * g{i}" for i in range(n)]
    if n == 1:  # numpy's reduction of one entry is the entry itself
        return lines + ["norm = sqrt(q0)"]
    return lines + [f"norm = sqrt({pairwise_sum([f'q{i}' for i in range(n)])})"]


_MATH = {name: getattr(math, name) for name in dir(math) if callable(getattr(math, name))}


def _check_optimizer(optimizer):
    if optimizer.needs_hessian or not optimizer.elementwise:
        raise FusedUnavailable(f"{optimizer.name} is not an element-wise rule (the fused loop "
                               f"runs first-order rules such as adam; or run without jit)")
    if optimizer.schedule is not None:
        raise FusedUnavailable("a learning-rate schedule is not fused (run without jit)")
    if optimizer.clip_norm is not None or getattr(optimizer, "clip_each", None) is not None:
        raise FusedUnavailable("norm clipping is not fused (run without jit)")
    if optimizer.dtype is not None and optimizer.dtype != np.float64:
        raise FusedUnavailable("the fused loop runs float64 only")


# From this many variables a sum of repeated terms is fused as loops over its terms and
# coordinates (numba's compile time grows faster than the text: 100 variables written out
# took 7-12 s to compile, as loops about 1 s); below, every statement written out.
LOOPS_FROM = 16


def loop_source(program, optimizer, n: int):
    """(source of ``chunk``, its namespace): the fused loop of ``program``'s one-point function
    and ``optimizer``'s float step over n variables, or FusedUnavailable."""
    from ..compiled.scalar import CONSTANTS
    from ..optimizers import float_step as FS

    if program.dtype != np.float64:
        raise FusedUnavailable("the fused loop runs float64 only")
    made = program.scalar_source()
    if made is None:
        raise FusedUnavailable("the expression has an operation with no float form")
    source, namespace = made
    for name, fn in namespace.items():
        if not (callable(fn) and getattr(fn, "__module__", None) == "math"
                or fn in _MATH.values()):
            raise FusedUnavailable(f"the expression's float form calls {name.lstrip('_')}, which "
                                   f"the fused loop cannot compile")
    _check_optimizer(optimizer)
    states = [{k: float(v) for k, v in optimizer._new_state(()).items()} for _ in range(n)]
    names = [list(s) for s in states]
    try:
        body, asked = FS._traced_body(optimizer, n, False, names, first=False)
        first = FS._traced_body(optimizer, n, False, names, first=True)[0] if asked else None
    except FS._Untraceable:
        raise FusedUnavailable(f"{optimizer.name}'s rule branches on values: it is not "
                               f"fused (run without jit)") from None

    def update(lines):  # 'new = [a, b, ...]' -> the new coordinates, after every one is made
        *head, last = lines
        values = last[len("new = ["):-1].split(", ")
        return head + [f"n{i} = {v}" for i, v in enumerate(values)] + [
            f"p{i} = n{i}" for i in range(n)]

    lines = source.splitlines()
    unpack = lines[1].strip()[:-len(", = p")].split(", ") if n else []
    fg_body = [line.strip() for line in lines[2:-1]]
    results = lines[-1].strip()[len("return ("):-len(",)")].split(", ")
    out = ["def chunk(P, G, S, lr, k0, count, stop, marks, rows_p, rows_f, rows_norm):"]
    out += [f"    p{i} = P[{i}]" for i in range(n)]
    out += [f"    g{i} = G[{i}]" for i in range(n)]
    out += ["    f = 0.0", "    norm = 0.0", "    r = 0", "    k = k0", "    status = 0",
            "    for j in range(count):", "        t = k + 1.0"]
    if first is not None:
        out.append("        if t == 1.0:")
        out += ["            " + line for line in update(first)]
        out.append("        else:")
        out += ["            " + line for line in update(body)]
    else:
        out += ["        " + line for line in update(body)]
    out += [f"        {slot} = p{i}" for i, slot in enumerate(unpack)]
    out += ["        " + line for line in fg_body]
    out.append(f"        f = {results[0]}")
    out += [f"        g{i} = {r}" for i, r in enumerate(results[1:])]
    out += ["        " + line for line in _norm_source(n)]
    out += ["        k += 1", "        if marks[j]:"]
    out += [f"            rows_p[r, {i}] = p{i}" for i in range(n)]
    out += ["            rows_f[r] = f", "            rows_norm[r] = norm", "            r += 1",
            "        if f - f != 0.0 or norm - norm != 0.0:", "            status = 1",
            "            break", "        if norm <= stop:", "            status = 2",
            "            break"]
    out += [f"    P[{i}] = p{i}" for i in range(n)]
    out += [f"    G[{i}] = g{i}" for i in range(n)]
    out.append("    return k, f, norm, r, status")
    scope = {**_MATH, **CONSTANTS, **namespace, "abs": abs, "min": min, "max": max}
    return "\n".join(out) + "\n", scope


def _step_loops(optimizer, names):
    """(lines before the loop over coordinates, lines of its body on coordinate i) of the
    optimizer's traced float step: the per-step scalars (lr / (1 - b1**t), ...) made once,
    the rest on P[i], G[i] and the coordinate's buffers S[i * m + j]."""
    from ..optimizers import float_step as FS

    m = len(names[0])
    lines, asked = FS._traced_body(optimizer, 1, False, names[:1], first=False)
    first = FS._traced_body(optimizer, 1, False, names[:1], first=True)[0] if asked else None

    def split(lines):
        *body, last = lines
        new = last[len("new = ["):-1]
        per, before, local = [], [], {"p0", "g0"}
        for line in body:
            target, _, expr = line.partition(" = ")
            used = set(re.findall(r"\b[_a-zA-Z][_a-zA-Z0-9]*\b", expr))
            if target.startswith("S[") or "S[" in expr or used & local:
                local.add(target)
                per.append(line)
            else:
                before.append(line)
        per.append(f"P[i] = {new}")
        per = [re.sub(r"S\[(\d+)\]", lambda mt: f"S[i * {m} + {mt.group(1)}]", line)
               for line in per]
        per = [re.sub(r"\bp0\b", "pi_", re.sub(r"\bg0\b", "gi_", line)) for line in per]
        return before, ["pi_ = P[i]", "gi_ = G[i]", *per]

    return split(lines), (split(first) if first is not None else None)


def loop_source_terms(program, optimizer, n: int):
    """``loop_source`` for a sum of repeated terms (compiled/vector.py's plan): each template
    a loop over its terms, the contributions added in the vector function's order, the step a
    loop over the coordinates; (source, namespace), or None where the plan does not apply."""
    from ..compiled import vector
    from ..compiled.scalar import CONSTANTS, scalar_source

    made = vector.plan(program.expression, program.wrt)
    if made is None:
        return None
    terms, pairs, made = made
    t_count = len(terms)
    chain = vector.is_chain(pairs)
    scope = {**_MATH, **CONSTANTS, "abs": abs, "min": min, "max": max}
    body, scatter = [], {}
    for t, (template, code, instrs, output, grads, inputs) in enumerate(made):
        live = [(j, g) for j, g in enumerate(grads) if g is not None]
        src = scalar_source(code, instrs, inputs, [output, *(g for _, g in live)])
        if src is None:
            return None
        source, namespace = src
        _check_math(namespace)
        scope.update(namespace)
        lines = [re.sub(r"\bv(\d+)\b", rf"t{t}v\1", line) for line in source.splitlines()]
        unpack = lines[1].strip()[:-len(", = p")].split(", ") if inputs else []
        results = lines[-1].strip()[len("return ("):-len(",)")].split(", ")
        idx = np.array(template.indices, dtype=np.int64).reshape(len(template.positions),
                                                                 template.arity)
        k = len(template.positions)
        scope[f"POS{t}"] = np.array(template.positions, dtype=np.int64)
        body.append(f"for k in range({k}):")
        for j, slot in enumerate(unpack):
            scope[f"I{t}_{j}"] = idx[:, j].copy()
            body.append(f"    {slot} = P[I{t}_{j}[k]]")
        body += ["    " + line.strip() for line in lines[2 if inputs else 1:-1]]
        negated = chain and template.sign < 0  # a chain's a - b is a + (-b), bit for bit
        body.append(f"    TV[POS{t}[k]] = {'-' if negated else ''}{results[0]}")
        for (j, _), r in zip(live, results[1:]):
            body.append(f"    C{t}_{j}[k] = {r}")
            scatter[(t, j)] = (f"C{t}_{j}", idx[:, j], template.positions)
    order, _ = vector._scatter_order(scatter, n)
    work = [f"TV = WORK({t_count if chain else t_count + len(pairs)})", f"Q = WORK({n})"]
    work += [f"{name} = WORK({len(index)})" for name, index, _ in scatter.values()]
    body += [f"for i in range({n}):", "    G[i] = -0.0"]
    touched = np.zeros(n, dtype=bool)
    for key in order:
        name, index, _ = scatter[key]
        touched[index] = True
        t, j = key
        down = len(set(index.tolist())) != len(index)  # one variable several times: later first
        body.append(f"for k in range({len(index) - 1}, -1, -1):" if down
                    else f"for k in range({len(index)}):")
        body.append(f"    G[I{t}_{j}[k]] = G[I{t}_{j}[k]] + {name}[k]")
    untouched = np.flatnonzero(~touched)
    if len(untouched):
        scope["UNTOUCHED"] = untouched.astype(np.int64)
        body += ["for k in range(len(UNTOUCHED)):", "    G[UNTOUCHED[k]] = 0.0"]
    if chain:
        body += ["f = TV[0]", f"for k in range(1, {t_count}):", "    f = f + TV[k]"]
    else:  # the sum's pairs in the expression's order (a + (b - c) ...), as vector.py adds them
        for name, column in zip(("PAIR_A", "PAIR_B", "PAIR_SUB"), zip(*pairs)):
            scope[name] = np.array([c == "-" if name == "PAIR_SUB" else c for c in column],
                                   dtype=np.int64)
        body += [f"for k in range({len(pairs)}):",
                 "    if PAIR_SUB[k]:",
                 f"        TV[{t_count} + k] = TV[PAIR_A[k]] - TV[PAIR_B[k]]",
                 "    else:",
                 f"        TV[{t_count} + k] = TV[PAIR_A[k]] + TV[PAIR_B[k]]",
                 f"f = TV[{t_count + len(pairs) - 1}]"]
    body += [f"for i in range({n}):", "    Q[i] = G[i] * G[i]"]
    body += pairwise_loops("Q", n, "total") + ["norm = sqrt(total)"]
    states = [{k: float(v) for k, v in optimizer._new_state(()).items()} for _ in range(n)]
    try:
        (before, per), first = _step_loops(optimizer, [list(s) for s in states])
    except Exception as e:  # noqa: BLE001 (the tracer's refusal)
        if type(e).__name__ == "_Untraceable":
            raise FusedUnavailable(f"{optimizer.name}'s rule branches on values: it is not "
                                   f"fused (run without jit)") from None
        raise

    def step(pre, per, indent):
        return ([indent + line for line in pre] + [indent + f"for i in range({n}):"]
                + [indent + "    " + line for line in per])

    out = ["def chunk(P, G, S, lr, k0, count, stop, marks, rows_p, rows_f, rows_norm):"]
    out += ["    " + line for line in work]
    out += ["    f = 0.0", "    norm = 0.0", "    r = 0", "    k0_ = k0", "    status = 0",
            "    for j in range(count):", "        t = k0_ + 1.0"]
    if first is not None:
        out.append("        if t == 1.0:")
        out += step(*first, "            ")
        out.append("        else:")
        out += step(before, per, "            ")
    else:
        out += step(before, per, "        ")
    out += ["        " + line for line in body]
    out += ["        k0_ += 1", "        if marks[j]:", f"            for i in range({n}):",
            "                rows_p[r, i] = P[i]",
            "            rows_f[r] = f", "            rows_norm[r] = norm", "            r += 1",
            "        if f - f != 0.0 or norm - norm != 0.0:", "            status = 1",
            "            break", "        if norm <= stop:", "            status = 2",
            "            break"]
    out.append("    return k0_, f, norm, r, status")
    return "\n".join(out) + "\n", scope


def _check_math(namespace):
    for name, fn in namespace.items():
        if not (callable(fn) and getattr(fn, "__module__", None) == "math"
                or fn in _MATH.values()):
            raise FusedUnavailable(f"the expression's float form calls {name.lstrip('_')}, which "
                                   f"the fused loop cannot compile")


def float_exponents(source: str) -> str:
    """``a ** 3`` written ``a ** 3.0``: Python's float ** int is the C library's pow (one
    rounding), numba's float ** int literal a chain of products (x**3 differed from Python's
    in a quarter of random points); a float exponent is the C library's pow in both."""
    return _INT_EXPONENT.sub(r"** \1.0", source)


_INT_EXPONENT = re.compile(r"\*\* (-?[0-9]+)(?![0-9.eEjJ_])")


def compile_loop(program, optimizer, n: int, native: bool = True):
    """The fused ``chunk`` function: compiled by numba (native), or as plain Python."""
    made = None
    if n >= LOOPS_FROM:
        _check_optimizer(optimizer)
        made = loop_source_terms(program, optimizer, n)
    source, scope = made if made is not None else loop_source(program, optimizer, n)
    source = float_exponents(source)
    scope = {"__builtins__": {"range": range, "len": len}, **scope,
             "WORK": np.empty if native else (lambda m: [0.0] * m)}
    exec(compile(source, "<gradcli fused loop>", "exec"), scope)  # noqa: S102 (generated text)
    chunk = scope["chunk"]
    if not native:  # Python floats, as the float path has them (not numpy scalars)
        python_chunk = chunk

        def chunk(P, G, S, *rest):
            lists = P.tolist(), G.tolist(), S.tolist()
            out = python_chunk(*lists, *rest)
            P[:], G[:], S[:] = lists
            return out
    else:
        try:
            import numba
        except ImportError:
            raise FusedUnavailable("jit needs numba: pip install 'gradcli[jit]'") from None
        chunk = numba.njit(error_model="numpy", cache=False)(chunk)
    chunk.source = source
    return chunk


def descend_fused(program, start, optimizer, steps: int, tol: float, variables=None,
                  progress=None, keep=None, native: bool = True) -> Run:
    """``descend`` (training/descend.py) through the fused loop: the same rows and stopping
    rules (converged, diverged, interrupted), ``run.compile_seconds`` the time to build it."""
    n = len(start)
    run = Run(optimizer, list(variables) if variables is not None else [f"p{i}" for i in range(n)],
              tol)
    if optimizer.dtype is None:
        optimizer.dtype = np.dtype(np.float64)
    if optimizer._shape is not None or optimizer._variables:
        raise ValueError("this optimizer is in use; make another one")
    built = time.perf_counter()
    chunk = compile_loop(program, optimizer, n, native)
    fg = program.point_function()
    optimizer._shape = ("fused", n)
    state = np.array([float(v) for s in [optimizer._new_state(())] * n for v in s.values()],
                     dtype=np.float64)
    P = np.array(start, dtype=np.float64)
    f, g = fg(P.copy())
    G = np.array(g, dtype=np.float64).reshape(n)
    norm = float(np.sqrt(np.add.reduce(G * G)))
    empty = (np.zeros((0, n)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.bool_))
    if native:  # compile now (the first call), on no step
        chunk(P.copy(), G.copy(), state.copy(), optimizer.lr, 0, 0, -1.0, empty[3], *empty[:3])
    run.compile_seconds = time.perf_counter() - built
    stop = tol if tol > 0 else -1.0
    rows = run.rows
    if keep is not None:
        run.kept_steps = kept = []
    last = (P.copy(), float(f), norm, optimizer.lr_at(0))
    if keep is None or keep(0):
        rows.append(last)
        if keep is not None:
            kept.append(0)
    started = time.perf_counter()
    done = 0
    try:
        if not _finite(f, norm, G):
            run.diverged_at = 0
        elif not norm <= stop:
            while done < steps:
                count = min(PROGRESS_EVERY - done % PROGRESS_EVERY, steps - done)
                marks = np.array([keep is None or keep(done + 1 + j) for j in range(count)],
                                 dtype=np.bool_)
                m = int(marks.sum())
                rows_p, rows_f, rows_norm = np.empty((m, n)), np.empty(m), np.empty(m)
                k, f, norm, r, status = chunk(P, G, state, optimizer.lr, done, count, stop,
                                              marks, rows_p, rows_f, rows_norm)
                lr = optimizer.lr  # rows: views of this chunk's own array of points
                rows.extend(zip(rows_p[:r], rows_f[:r].tolist(), rows_norm[:r].tolist(),
                                [lr] * r))
                if keep is not None:
                    kept.extend((np.flatnonzero(marks)[:r] + done + 1).tolist())
                done = int(k)
                last = (P.copy(), float(f), float(norm), optimizer.lr)
                if status == 1 and not _finite(f, norm, G):
                    run.diverged_at = done
                    break
                if status == 2:
                    break
                if progress is not None and done % PROGRESS_EVERY == 0 and done < steps:
                    progress(done, f)
    except KeyboardInterrupt:
        run.interrupted = True
    run.seconds = time.perf_counter() - started
    optimizer.iterations = done
    optimizer.last_lr = optimizer.lr
    optimizer.last_grad_norm = last[2]
    if keep is not None and (not kept or kept[-1] != done):
        rows.append(last)
        kept.append(done)
    if rows:
        run.converged = run.diverged_at is None and rows[-1][2] <= stop
    return run
