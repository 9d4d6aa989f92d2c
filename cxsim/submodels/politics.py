"""politics (docs/ODD.md 7): jealousy, covert and open resistance; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from ._common import _columns, _flags, _mask, _min, _pick, choice, on


def politics(m) -> None:
    """Jealousy grows with the owner's status; resisters play along in public or resist openly."""
    p = m.params
    enabled = _mask(on(m, "politics.enabled"))
    if enabled is False or m.E == 0:
        m.expressed = m.buy_in.copy()
        m.covert[:] = False
        return
    R = m.R
    col = _columns(R)
    status_per = _pick(choice(m, "owner.mandate", "budget"), p["mandate.status"], p["mandate.advisory_status"])
    pressure = _min(1.0, p["politics.conformity"] + p["sponsorship.resistance_cost"] * m.sponsor)
    m.pressure = pressure
    m.covert = np.empty(m.buy_in.shape, dtype=np.bool_)
    m.expressed = np.empty_like(m.buy_in)
    _politics_kernel(m.jealousy, m.propensity, m.buy_in, m.exposed, m.credibility, m.owner_present,
                     np.ascontiguousarray(m.st.influence_col, dtype=np.float64), m.owner, col(status_per),
                     col(p["politics.jealousy_growth"]), col(p["politics.jealousy_decay"]),
                     col(p["politics.resist_threshold"]), col(pressure),
                     _flags(_mask(pressure >= p["politics.covert_threshold"]), R), col(p["politics.buy_in_drag"]),
                     col(p["politics.credibility_erosion"]), col(1.0 - p["sponsorship.owner_protection"] * m.sponsor),
                     _flags(enabled, R), m.covert, m.expressed)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _politics_kernel(jealousy, propensity, buy_in, exposed, credibility, owner_present, influence, owner, status_per,
                     growth, decay, threshold, pressure, plays_along, drag, erosion, shield, enabled, covert,
                     expressed):
    """The arithmetic of :func:`politics` per replication r (where ``enabled[r]``) and executive i.

    Fills ``covert`` and ``expressed``:

    status = present * credibility * status_per;
    jealousy += (growth * status) * propensity * (1 - jealousy) - decay * jealousy (0 for the owner), clipped;
    resisting = jealousy >= threshold; covert = resisting, not exposed, where pressure makes it pay to play along;
    expressed = max(buy_in, pressure) if covert else buy_in;
    buy_in -= (drag * jealousy) * buy_in where resisting;
    credibility -= (erosion * shield) * sum_i covert * jealousy * influence (in executive order), clipped;
    exposure weeks count down. Replications where politics is off keep their state
    (jealousy is 0 throughout there) and have no covert resisters.
    """
    E, R = buy_in.shape
    per_rep = influence.shape[1] > 1
    gs = np.empty(R)
    for r in range(R):
        gs[r] = growth[r] * ((1.0 if owner_present[r] else 0.0) * credibility[r] * status_per[r])
    total = np.zeros(R)
    for i in range(E):
        # Executive by executive (rows are contiguous over replications), in short loops that each write
        # one array, with selects rather than branches, so that they vectorize.
        j, b, x, hidden = jealousy[i], buy_in[i], exposed[i], covert[i]
        for r in range(R):
            v = j[r] + (propensity[i, r] * gs[r] * (1.0 - j[r]) - j[r] * decay[r])
            v = 0.0 if v < 0.0 else v
            v = 1.0 if v > 1.0 else v
            j[r] = 0.0 if i == owner else (v if enabled[r] else j[r])
        for r in range(R):
            hidden[r] = enabled[r] & (j[r] >= threshold[r]) & (x[r] <= 0.0) & plays_along[r]
        for r in range(R):
            expressed[i, r] = max(b[r], pressure[r]) if hidden[r] else b[r]
        w = influence[i]
        for r in range(R):
            total[r] += (1.0 if hidden[r] else 0.0) * j[r] * w[r if per_rep else 0]
        for r in range(R):
            resisting = enabled[r] & (j[r] >= threshold[r])
            b[r] = b[r] - j[r] * drag[r] * b[r] * (1.0 if resisting else 0.0) if enabled[r] else b[r]
        for r in range(R):
            v = x[r] - 1.0
            v = 0.0 if v < 0.0 else v
            x[r] = v if enabled[r] else x[r]
    for r in range(R):
        if enabled[r]:
            c = credibility[r] - erosion[r] * shield[r] * total[r] * (1.0 if owner_present[r] else 0.0)
            c = 0.0 if c < 0.0 else c
            credibility[r] = 1.0 if c > 1.0 else c
