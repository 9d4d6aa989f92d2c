"""sponsorship (docs/ODD.md 7): the CEO's sponsorship and its co-ownership pull; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from ._common import _columns, _flags, _mask, _pick, on

_SPONSOR = {"none": 0.0, "active": 1.0}


def sponsorship(m) -> None:
    """CEO sponsorship: its strength this week, and the co-ownership pull on every executive."""
    p = m.params
    level = p["sponsorship.level"]
    if isinstance(level, str):
        strength = _SPONSOR.get(level, p["sponsorship.passive_strength"])
    else:
        strength = np.where(level == "none", 0.0, np.where(level == "active", 1.0, p["sponsorship.passive_strength"]))
    active = on(m, "sponsorship.enabled") & (m.week >= p["sponsorship.start_week"])
    m.sponsor = _pick(active, strength, 0.0)
    pulling = _mask(m.sponsor > 0.0)
    if pulling is not False and m.E:
        col = _columns(m.R)
        _pull_kernel(m.buy_in, col(p["sponsorship.coownership_rate"] * m.sponsor), _flags(pulling, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pull_kernel(x, rate, on):
    """X += rate * (1 - x) where ``on``, for ``x (n, R)`` and ``(R,)`` columns ``rate`` and ``on``."""
    n, R = x.shape
    for i in range(n):
        for r in range(R):
            x0 = x[i, r]
            x[i, r] = x0 + (1.0 - x0) * rate[r] if on[r] else x0
