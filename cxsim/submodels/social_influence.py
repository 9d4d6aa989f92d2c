"""social_influence (docs/ODD.md 7): DeGroot averaging of buy-in; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from .._ndtri import ndtri_row
from ..rng import uniform_of
from ._common import _and, _columns, _flags, _mask, on


def social_influence(m) -> None:
    """DeGroot averaging: each executive averages their own true view with the expressed views they hear."""
    p = m.params
    enabled = _mask(on(m, "social_influence.enabled"))
    if enabled is False or m.E == 0:
        return
    R = m.R
    col = _columns(R)
    noise = col(p["social_influence.noise"])
    start, speaker, weights = _influence_terms(m.st)
    self_col = m.st.self_col
    _influence_kernel(start, speaker, weights, np.ascontiguousarray(self_col, dtype=np.float64), m.buy_in,
                      m.expressed, col(p["social_influence.rate"]), noise, _flags(enabled, R),
                      _flags(_and(enabled, _mask(noise > 0.0)), R), m.rng.keys,
                      m.rng.item_hashes(m.week, "buy_in_noise", m.E))


def _influence_terms(st):
    """The influence matrix's nonzero terms by listener, for :func:`_influence_kernel` (cached on the structure).

    ``(start, speaker, weights)``: listener i's terms are ``start[i] .. start[i + 1] - 1``
    in speaker order; ``weights`` is ``(terms, 1)``, or ``(terms, R)`` when stacked points
    differ in influence weights (a speaker with weight 0 in every replication adds an
    exact 0 to the sum and is left out), as :func:`~cxsim.engine.agent_dot` sums.
    """
    terms = getattr(st, "_influence_terms", None)
    if terms is None:
        w = st.influence_matrix
        w = w.w if hasattr(w, "w") else np.asarray(w, dtype=np.float64)[:, :, None]  # (E, E, R) or (E, E, 1)
        listener, speaker = np.nonzero((w != 0.0).any(axis=2))
        start = np.searchsorted(listener, np.arange(w.shape[0] + 1))
        terms = (start.astype(np.int64), speaker.astype(np.int64), np.ascontiguousarray(w[listener, speaker]))
        st._influence_terms = terms
    return terms


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _influence_kernel(start, speaker, weights, self_w, buy_in, expressed, rate, noise, enabled, noisy, keys,
                      mixed):
    """The arithmetic of :func:`social_influence`, per executive i and replication r, updating ``buy_in``.

    heard = sum_j W[i, j] expressed[j] + W[i, i] (buy_in[i] - expressed[i]) (in speaker order from 0);
    buy_in += rate * (heard - buy_in); then, where ``noisy``, buy_in += noise * z with z the
    normal quantile of uniform i of stream "buy_in_noise"; clipped to [0, 1] where ``enabled``.
    """
    E, R = buy_in.shape
    per_rep = weights.shape[1] > 1
    self_rep = self_w.shape[1] > 1
    heard = np.zeros((E, R))
    for i in range(E):  # every listener hears the views of the start of the week
        for t in range(start[i], start[i + 1]):
            j = speaker[t]
            for r in range(R):
                heard[i, r] += weights[t, r if per_rep else 0] * expressed[j, r]
        for r in range(R):
            heard[i, r] = heard[i, r] + (buy_in[i, r] - expressed[i, r]) * self_w[i, r if self_rep else 0]
    any_noise = noisy.any()
    u, z = np.empty(R), np.zeros(R)
    for i in range(E):
        if any_noise:  # normal quantiles of the uniforms
            mi = mixed[i]
            for r in range(R):
                u[r] = uniform_of(keys[r] ^ mi)
            ndtri_row(u, z)
        for r in range(R):  # (new value, then kept where enabled: no branch, so the loop vectorizes)
            b0 = buy_in[i, r]
            b = b0 + (heard[i, r] - b0) * rate[r]
            b = b + z[r] * noise[r] if noisy[r] else b
            b = 0.0 if b < 0.0 else b
            b = 1.0 if b > 1.0 else b
            buy_in[i, r] = b if enabled[r] else b0
