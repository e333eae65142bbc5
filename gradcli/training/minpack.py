"""MINPACK's lmder (Moré's Levenberg-Marquardt) in numpy: lmder, lmpar, qrfac, qrsolv.

A line-by-line transcription of the Fortran routines of MINPACK (Moré, Garbow, Hillstrom,
Argonne 1980; J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and theory",
Lecture Notes in Mathematics 630, 1978), the algorithm scipy.optimize.leastsq runs, so that
``gradcli fit`` need not import scipy.optimize (about 0.45 s of CPU a process; docs/fit.md has
the measurement). The loops over rows are numpy operations; the loops over the k parameters
stay loops. Arrays keep MINPACK's column-major layout as (k, n) C arrays: ``jac[j]`` is the
column of parameter j.

``lmder(fcn, jac, x0, ftol, xtol, gtol, maxfev)`` returns (x, info, nfev, njev) with MINPACK's
info codes: 1-4 converged (ftol, xtol, both, gtol), 5 evaluation cap, 6-8 tolerances below
machine precision (no further progress is possible).
"""
from __future__ import annotations

import math

import numpy as np

# Long vectors are multiplied with einsum, not BLAS: a multithreaded BLAS dot of 100,000
# numbers took ~10 ms on a loaded 2-core machine (its threads wait for cores), einsum 50 us.
EPSMCH = float(np.finfo(np.float64).eps)
DWARF = float(np.finfo(np.float64).tiny)
FACTOR = 100.0  # the initial step bound, times |D x| (MINPACK's default)


def enorm(v: np.ndarray) -> float:
    """The Euclidean norm, without overflow or destructive underflow (MINPACK's enorm)."""
    v = np.asarray(v, dtype=np.float64)
    if v.size == 0:
        return 0.0
    s = float(np.einsum("i,i->", v, v)) if v.ndim == 1 else float(np.sum(v * v))
    if 1e-280 < s < 1e280:
        return math.sqrt(s)
    big = float(np.max(np.abs(v)))
    if big == 0.0 or not math.isfinite(big):
        return big
    w = v / big
    return big * math.sqrt(float(np.einsum("i,i->", w, w)))


def qrfac(a: np.ndarray):
    """Householder QR with column pivoting of the n x k matrix given as a (k, n) array ``a``
    (row j: column j), in place: (ipvt, rdiag, acnorm). Afterwards a[j, j:] holds the
    Householder vector of step j and a[l, j] (l < j) the strict upper triangle of R, as
    MINPACK's fjac; rdiag is R's diagonal, acnorm the original column norms."""
    k, n = a.shape
    acnorm = np.array([enorm(a[j]) for j in range(k)])
    rdiag = acnorm.copy()
    wa = rdiag.copy()
    ipvt = np.arange(k)
    for j in range(min(n, k)):
        kmax = j + int(np.argmax(rdiag[j:]))
        if kmax != j:
            a[[j, kmax]] = a[[kmax, j]]
            rdiag[kmax] = rdiag[j]
            wa[kmax] = wa[j]
            ipvt[[j, kmax]] = ipvt[[kmax, j]]
        ajnorm = enorm(a[j, j:])
        if ajnorm != 0.0:
            if a[j, j] < 0.0:
                ajnorm = -ajnorm
            a[j, j:] /= ajnorm
            a[j, j] += 1.0
            if j + 1 < k:
                v = a[j, j:]
                rest = a[j + 1:, j:]
                sums = np.einsum("ci,i->c", rest, v)  # einsum: no multithreaded BLAS
                rest -= np.outer(sums / a[j, j], v)
                for c in range(j + 1, k):
                    if rdiag[c] != 0.0:
                        temp = a[c, j] / rdiag[c]
                        rdiag[c] *= math.sqrt(max(0.0, 1.0 - temp * temp))
                        if 0.05 * (rdiag[c] / wa[c]) ** 2 <= EPSMCH:
                            rdiag[c] = enorm(a[c, j + 1:])
                            wa[c] = rdiag[c]
        rdiag[j] = -ajnorm
    return ipvt, rdiag, acnorm


def qrsolv(r: np.ndarray, ipvt: np.ndarray, diag: np.ndarray, qtb: np.ndarray):
    """Given R (k x k, upper triangle of ``r[i, j]`` with i <= j) of J P = Q R, solve
    min |(J; D) x - (Q^T b; 0)| for x: (x, sdiag); r's strict lower triangle receives the
    transpose of S, sdiag its diagonal (MINPACK's qrsolv; r[i, j] means row i, column j)."""
    n = r.shape[0]
    x = np.empty(n)
    wa = np.empty(n)
    sdiag = np.zeros(n)
    for j in range(n):
        r[j:, j] = r[j, j:]
        x[j] = r[j, j]
        wa[j] = qtb[j]
    for j in range(n):
        l = ipvt[j]
        if diag[l] != 0.0:
            sdiag[j:] = 0.0
            sdiag[j] = diag[l]
            qtbpj = 0.0
            for c in range(j, n):
                if sdiag[c] == 0.0:
                    continue
                if abs(r[c, c]) < abs(sdiag[c]):
                    cotan = r[c, c] / sdiag[c]
                    sin = 0.5 / math.sqrt(0.25 + 0.25 * cotan * cotan)
                    cos = sin * cotan
                else:
                    tan = sdiag[c] / r[c, c]
                    cos = 0.5 / math.sqrt(0.25 + 0.25 * tan * tan)
                    sin = cos * tan
                r[c, c] = cos * r[c, c] + sin * sdiag[c]
                temp = cos * wa[c] + sin * qtbpj
                qtbpj = -sin * wa[c] + cos * qtbpj
                wa[c] = temp
                if c + 1 < n:
                    below = r[c + 1:, c].copy()
                    r[c + 1:, c] = cos * below + sin * sdiag[c + 1:]
                    sdiag[c + 1:] = -sin * below + cos * sdiag[c + 1:]
        sdiag[j] = r[j, j]
        r[j, j] = x[j]
    nsing = n
    for j in range(n):
        if sdiag[j] == 0.0 and nsing == n:
            nsing = j
        if nsing < n:
            wa[j] = 0.0
    for j in range(nsing - 1, -1, -1):
        total = float(r[j + 1:nsing, j] @ wa[j + 1:nsing]) if j + 1 < nsing else 0.0
        wa[j] = (wa[j] - total) / sdiag[j]
    x[ipvt] = wa
    return x, sdiag


def lmpar(r: np.ndarray, ipvt: np.ndarray, diag: np.ndarray, qtb: np.ndarray,
          delta: float, par: float):
    """The Levenberg-Marquardt parameter: (par, x) with x solving (J^T J + par D^2) x = J^T b
    and | |D x| - delta | <= 0.1 delta, or par = 0 when the Gauss-Newton step fits
    (MINPACK's lmpar: at most 10 iterations of Moré's safeguarded Newton method)."""
    n = r.shape[0]
    wa1 = qtb.copy()
    nsing = n
    for j in range(n):
        if r[j, j] == 0.0 and nsing == n:
            nsing = j
        if nsing < n:
            wa1[j] = 0.0
    for j in range(nsing - 1, -1, -1):
        wa1[j] /= r[j, j]
        temp = wa1[j]
        if j > 0:
            wa1[:j] -= r[:j, j] * temp
    x = np.empty(n)
    x[ipvt] = wa1
    it = 0
    wa2 = diag * x
    dxnorm = enorm(wa2)
    fp = dxnorm - delta
    if fp <= 0.1 * delta:
        return 0.0, x
    parl = 0.0
    if nsing >= n:
        wa1 = diag[ipvt] * (wa2[ipvt] / dxnorm)
        for j in range(n):
            total = float(r[:j, j] @ wa1[:j]) if j else 0.0
            wa1[j] = (wa1[j] - total) / r[j, j]
        temp = enorm(wa1)
        parl = ((fp / delta) / temp) / temp
    wa1 = np.array([float(r[:j + 1, j] @ qtb[:j + 1]) for j in range(n)]) / diag[ipvt]
    gnorm = enorm(wa1)
    paru = gnorm / delta
    if paru == 0.0:
        paru = DWARF / min(delta, 0.1)
    par = min(max(par, parl), paru)
    if par == 0.0:
        par = gnorm / dxnorm
    sdiag = None
    while True:
        it += 1
        if par == 0.0:
            par = max(DWARF, 0.001 * paru)
        wa1 = math.sqrt(par) * diag
        x, sdiag = qrsolv(r, ipvt, wa1, qtb)
        wa2 = diag * x
        dxnorm = enorm(wa2)
        temp = fp
        fp = dxnorm - delta
        if abs(fp) <= 0.1 * delta or (parl == 0.0 and fp <= temp < 0.0) or it == 10:
            break
        wa1 = diag[ipvt] * (wa2[ipvt] / dxnorm)
        for j in range(n):
            wa1[j] /= sdiag[j]
            temp = wa1[j]
            if j + 1 < n:
                wa1[j + 1:] -= r[j + 1:, j] * temp
        temp = enorm(wa1)
        parc = ((fp / delta) / temp) / temp
        if fp > 0.0:
            parl = max(parl, par)
        if fp < 0.0:
            paru = min(paru, par)
        par = max(parl, par + parc)
    return par, x


def lmder(fcn, jac, x0, *, ftol: float, xtol: float, gtol: float, maxfev: int,
          lower=None, upper=None):
    """Minimize sum(fcn(x)**2) from x0; ``jac(x)`` returns the Jacobian as a (k, n) array
    (row j: d fcn / d x_j at every row), which lmder may overwrite. (x, info, nfev, njev).

    ``lower``/``upper`` (arrays, +-inf for no bound; x0 inside): the box lower <= x <= upper,
    by projection (not MINPACK's; docs/fit.md "Bounds"). At each Jacobian the parameters on a
    bound whose gradient points out of the box are fixed (their columns zeroed, their step 0),
    the trust-region step is MINPACK's on the others, and the trial point is projected onto
    the box; a projected step's predicted reduction is that of the linear model at the
    projected step. No clipping and no fixed parameter: MINPACK's iterations exactly."""
    x = np.array(x0, dtype=np.float64)
    k = len(x)
    bounded = lower is not None and upper is not None
    if bounded:
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
    fvec = np.asarray(fcn(x), dtype=np.float64)
    nfev, njev, info, it = 1, 0, 0, 1
    fnorm = enorm(fvec)
    par, delta, xnorm = 0.0, 0.0, 0.0
    diag = np.ones(k)
    if maxfev < 1:
        return x, 5, nfev, njev
    while True:
        a = jac(x)
        njev += 1
        fixed = None
        scale = None
        if bounded:  # the scaling from every column; the fixed ones leave the QR
            scale = np.array([enorm(a[j]) for j in range(k)])
            with np.errstate(all="ignore"):
                g = np.einsum("ji,i->j", a, fvec)  # J^T f: the RSS's gradient / 2
            fixed = ((x <= lower) & (g > 0.0)) | ((x >= upper) & (g < 0.0))
            if fixed.any():
                a[fixed] = 0.0
            else:
                fixed = None
        ipvt, rdiag, acnorm = qrfac(a)
        if scale is None:
            scale = acnorm
        if it == 1:
            diag = np.where(scale == 0.0, 1.0, scale)
            xnorm = enorm(diag * x)
            delta = FACTOR * xnorm
            if delta == 0.0:
                delta = FACTOR
        wa4 = fvec.copy()
        qtf = np.empty(k)
        for j in range(k):
            if a[j, j] != 0.0:
                v = a[j, j:]
                temp = -float(np.einsum("i,i->", v, wa4[j:])) / a[j, j]
                wa4[j:] += v * temp
            a[j, j] = rdiag[j]
            qtf[j] = wa4[j]
        r = np.ascontiguousarray(a[:, :k].T)  # R: r[i, j], i <= j
        gnorm = 0.0
        if fnorm != 0.0:
            for j in range(k):
                l = ipvt[j]
                if acnorm[l] != 0.0:
                    total = float(r[:j + 1, j] @ (qtf[:j + 1] / fnorm))
                    gnorm = max(gnorm, abs(total / acnorm[l]))
        if gnorm <= gtol:
            info = 4
        if info:
            break
        diag = np.maximum(diag, scale)
        while True:
            par, step = lmpar(r, ipvt, diag, qtf, delta, par)
            step = -step
            if fixed is not None:
                step[fixed] = 0.0
            trial = x + step
            pnorm = enorm(diag * step)
            if it == 1:
                delta = min(delta, pnorm)
            clipped = False
            if bounded:
                inside = np.minimum(np.maximum(trial, lower), upper)
                if not np.array_equal(inside, trial):
                    clipped = True
                    trial = inside
                    step = inside - x
                    pnorm = enorm(diag * step)
            fnew = np.asarray(fcn(trial), dtype=np.float64)
            nfev += 1
            fnorm1 = enorm(fnew)
            actred = -1.0
            if 0.1 * fnorm1 < fnorm:
                actred = 1.0 - (fnorm1 / fnorm) ** 2
            # R P^T step: MINPACK's loop over the columns j adding r(i, j) * step(ipvt(j))
            wa3 = np.zeros(k)
            for j in range(k):
                wa3[:j + 1] += r[:j + 1, j] * step[ipvt[j]]
            temp1 = enorm(wa3) / fnorm
            temp2 = math.sqrt(par) * pnorm / fnorm
            prered = temp1 * temp1 + temp2 * temp2 / 0.5
            dirder = -(temp1 * temp1 + temp2 * temp2)
            if clipped:  # not the LM step: 1 - |f + J s|^2/|f|^2 with J s = Q R P^T s
                slope = float(qtf @ wa3) / fnorm / fnorm
                prered = -(2.0 * slope + temp1 * temp1)
                dirder = slope
            ratio = actred / prered if prered != 0.0 else 0.0
            if clipped and prered <= 0.0:  # the projection undid the model's decrease
                ratio = 0.0
            if ratio <= 0.25:
                temp = 0.5 if actred >= 0.0 else 0.5 * dirder / (dirder + 0.5 * actred)
                if 0.1 * fnorm1 >= fnorm or temp < 0.1 or clipped and dirder >= 0.0:
                    temp = 0.1  # dirder >= 0: a clipped step uphill, no interpolation
                delta = temp * min(delta, pnorm / 0.1)
                par = par / temp
            elif par == 0.0 or ratio >= 0.75:
                delta = pnorm / 0.5
                par = 0.5 * par
            if ratio >= 1e-4:
                x = trial
                xnorm = enorm(diag * x)
                fvec = fnew
                fnorm = fnorm1
                it += 1
            if abs(actred) <= ftol and prered <= ftol and 0.5 * ratio <= 1.0:
                info = 1
            if delta <= xtol * xnorm:
                info = 3 if info == 1 else 2
            if info:
                return x, info, nfev, njev
            if nfev >= maxfev:
                info = 5
            if abs(actred) <= EPSMCH and prered <= EPSMCH and 0.5 * ratio <= 1.0:
                info = 6
            if delta <= EPSMCH * xnorm:
                info = 7
            if gnorm <= EPSMCH:
                info = 8
            if info:
                return x, info, nfev, njev
            if ratio >= 1e-4:
                break
    return x, info, nfev, njev
