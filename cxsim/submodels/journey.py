"""journey (docs/ODD.md 7): the CX index, a power mean of stage quality; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from .._libm import exp_row, log_row
from ._common import _columns, _head, _pick, adoption_share, on


def journey(m) -> None:
    """CX index: stage quality from serving departments' adoption, power mean that punishes weak links."""
    p = m.params
    base = p["journey.baseline_quality"]
    if m.D == 0:
        m.cx = np.full(m.R, base)
        return
    sw = m.st.stage_weights
    if sw.shape[0] == 0:
        m.cx = base + (1.0 - base) * adoption_share(m)
        return
    col = _columns(m.R)
    lam = col(_pick(on(m, "journey.enabled"), p["journey.weak_link_exponent"], 1.0))
    m.cx = np.empty(m.R)
    _journey_kernel(*_stage_terms(m.st), m.adopters, _head(m), col(base), lam, m.cx)


def _stage_terms(st):
    """The serving departments of each stage, for :func:`_journey_kernel` (cached on the structure).

    ``(start, dept, weights)``: stage s's terms are ``start[s] .. start[s + 1] - 1``, in
    department order; ``weights`` is ``(terms, 1)``, or ``(terms, R)`` when stacked
    points differ in headcounts. A department with weight 0 in every replication adds
    an exact 0 to the sum and is left out.
    """
    terms = getattr(st, "_stage_terms", None)
    if terms is None:
        sw = st.stage_weights
        w = sw.w if hasattr(sw, "w") else np.asarray(sw, dtype=np.float64)[:, :, None]  # (S, D, R) or (S, D, 1)
        used = (w != 0.0).any(axis=2)
        stage, dept = np.nonzero(used)  # row-major: stage by stage, departments ascending
        start = np.searchsorted(stage, np.arange(w.shape[0] + 1))
        terms = (start.astype(np.int64), dept.astype(np.int64), np.ascontiguousarray(w[stage, dept]))
        st._stage_terms = terms
    return terms


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _journey_kernel(start, dept, weights, adopters, head, base, lam, cx):
    """Stage quality and its power mean, per replication r.

    quality[s] = base + (1 - base) * sum over stage s's terms of weight * adopters[d] / head[d]
    (summed in department order from 0, as :func:`~cxsim.engine.agent_dot`);
    cx = (mean_s max(quality, 1e-12) ** lam) ** (1 / lam), with the limits lam = 1
    (arithmetic mean, of the quality itself) and lam = 0 (geometric mean, |lam| < 1e-9).
    Powers (x^y = exp(y log x)), logarithms and exponentials from :mod:`cxsim._libm` (plain arithmetic:
    the loops vectorize and the bits are the same on every platform); every replication
    computes all three forms and keeps the one its ``lam`` asks for, without a branch.
    """
    S = start.size - 1
    D, R = adopters.shape
    per_rep = weights.shape[1] > 1
    share = np.empty((D, R))
    for d in range(D):
        for r in range(R):
            share[d, r] = adopters[d, r] / head[d, r]
    acc = np.empty(R)
    floored, logq, scaled, power = np.empty(R), np.empty(R), np.empty(R), np.empty(R)
    total = np.zeros(R)
    for s in range(S):
        acc[:] = 0.0
        for t in range(start[s], start[s + 1]):
            d = dept[t]
            for r in range(R):
                acc[r] += weights[t, r if per_rep else 0] * share[d, r]
        for r in range(R):
            q = acc[r] * (1.0 - base[r]) + base[r]
            acc[r] = q
            floored[r] = max(q, 1e-12)
        log_row(floored, logq)
        for r in range(R):
            scaled[r] = logq[r] * lam[r]
        exp_row(scaled, power)  # (into another array: a loop whose output is its input does not vectorize)
        for r in range(R):
            lr = lam[r]
            total[r] += acc[r] if lr == 1.0 else (logq[r] if abs(lr) < 1e-9 else power[r])
    for r in range(R):
        total[r] = total[r] / S
    exp_row(total, floored)  # the geometric mean
    log_row(total, logq)  # (total / S) ** (1 / lam) = exp(log(total / S) * (1 / lam))
    for r in range(R):
        scaled[r] = logq[r] * (1.0 / lam[r])
    exp_row(scaled, power)
    for r in range(R):
        lr = lam[r]
        cx[r] = total[r] if lr == 1.0 else (floored[r] if abs(lr) < 1e-9 else power[r])
