"""persuasion (docs/ODD.md 7): the owner persuades the executives; rule and kernel."""

from __future__ import annotations

import numba

from ._common import _columns, _flags, _mask, on


def persuasion(m) -> None:
    """The owner persuades: buy-in, understanding and trust rise with credibility, trust and low jealousy."""
    p = m.params
    enabled = _mask(on(m, "persuasion.enabled"))
    if enabled is False or m.E == 0:
        return
    col = _columns(m.R)
    _persuasion_kernel(m.jealousy, m.buy_in, m.understanding, m.trust, col(m.owner_present * m.credibility), m.owner,
                       col(p["persuasion.rate"]), col(p["business_case.understanding_gain"]),
                       col(p["persuasion.trust_gain"]), _flags(enabled, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _persuasion_kernel(jealousy, buy_in, understanding, trust, voice, owner, rate, understanding_gain, trust_gain,
                       enabled):
    """The arithmetic of :func:`persuasion` per executive and replication (where ``enabled``).

    reach = (1 - jealousy) * (present * credibility); buy_in += ((rate * reach) * trust) * (1 - buy_in)
    (0 for the owner); understanding and trust += (gain * reach) * (1 - x); buy_in and trust clipped.
    """
    E, R = buy_in.shape
    for i in range(E):
        for r in range(R):  # (new values, then kept where enabled: no branch, so the loop vectorizes)
            on = enabled[r]
            b0, u0, t0 = buy_in[i, r], understanding[i, r], trust[i, r]
            reach = (1.0 - jealousy[i, r]) * voice[r]
            effect = 0.0 if i == owner else reach * rate[r] * t0
            b = b0 + (1.0 - b0) * effect
            b = 0.0 if b < 0.0 else b
            b = 1.0 if b > 1.0 else b
            t = t0 + reach * trust_gain[r] * (1.0 - t0)
            t = 0.0 if t < 0.0 else t
            t = 1.0 if t > 1.0 else t
            buy_in[i, r] = b if on else b0
            understanding[i, r] = u0 + reach * understanding_gain[r] * (1.0 - u0) if on else u0
            trust[i, r] = t if on else t0
