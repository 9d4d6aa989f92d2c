"""politics (docs/ODD.md 7): jealousy, covert and open resistance; rule and kernel."""

from __future__ import annotations

import math

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
    start, cadence = p["committee.start_week"], p["committee.cadence_weeks"]
    sitting = on(m, "committee.enabled") & (m.week >= start)
    risk = _pick(sitting, p["committee.detection"] / cadence, 0.0)  # chance per week of being seen
    net = pressure - p["politics.deterrence"] * risk
    _politics_kernel(m.jealousy, m.propensity, m.buy_in, m.exposed, m.credibility, m.owner_present,
                     np.ascontiguousarray(m.st.influence_col, dtype=np.float64), m.owner, col(status_per),
                     col(p["politics.jealousy_growth"]), col(p["politics.jealousy_decay"]),
                     col(p["politics.resist_threshold"]), col(pressure), col(net),
                     col(p["politics.covert_threshold"]), col(p["politics.covert_width"]), m.resist_u, m.covert_u,
                     col(p["politics.buy_in_drag"]),
                     col(p["politics.credibility_erosion"]), col(1.0 - p["sponsorship.owner_protection"] * m.sponsor),
                     _flags(enabled, R), m.covert, m.expressed)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def resist_chance(j, threshold):
    """Chance that an executive with jealousy ``j`` resists: j^4 / (j^4 + threshold^4), 0 at j = 0."""
    j2, t2 = j * j, threshold * threshold
    j4, t4 = j2 * j2, t2 * t2
    return j4 / (j4 + t4) if j4 + t4 > 0.0 else 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def play_along_chance(net, threshold, width):
    """Chance that a resister plays along: a smooth S-curve of net pressure, 1/2 at ``threshold``.

    0.5 (1 + z / sqrt(1 + z^2)) with z = (net - threshold) / width: only + - * / and a
    square root, which IEEE arithmetic rounds the same on every processor.
    """
    z = (net - threshold) / width
    return 0.5 * (1.0 + z / math.sqrt(1.0 + z * z))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _politics_kernel(jealousy, propensity, buy_in, exposed, credibility, owner_present, influence, owner, status_per,
                     growth, decay, threshold, pressure, net, covert_threshold, covert_width, resist_u, covert_u,
                     drag, erosion, shield, enabled, covert, expressed):
    """The arithmetic of :func:`politics` per replication r (where ``enabled[r]``) and executive i.

    Fills ``covert`` and ``expressed``:

    status = present * credibility * status_per;
    jealousy += (growth * status) * propensity * (1 - jealousy) - decay * jealousy (0 for the owner), clipped;
    resisting = resist_u < resist_chance(jealousy, threshold);
    covert = resisting, not exposed, and covert_u < play_along_chance(net pressure);
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
    along = np.empty(R)
    for r in range(R):
        along[r] = play_along_chance(net[r], covert_threshold[r], covert_width[r])
    total = np.zeros(R)
    resisting = np.empty(R, dtype=np.bool_)
    for i in range(E):
        # Executive by executive (rows are contiguous over replications), in short loops that each write
        # one array, with selects rather than branches, so that they vectorize.
        j, b, x, hidden = jealousy[i], buy_in[i], exposed[i], covert[i]
        for r in range(R):
            v = j[r] + (propensity[i, r] * gs[r] * (1.0 - j[r]) - j[r] * decay[r])
            v = 0.0 if v < 0.0 else v
            v = 1.0 if v > 1.0 else v
            j[r] = 0.0 if i == owner else (v if enabled[r] else j[r])
        ru, cu = resist_u[i], covert_u[i]
        for r in range(R):
            resisting[r] = enabled[r] & (ru[r] < resist_chance(j[r], threshold[r]))
        for r in range(R):
            hidden[r] = resisting[r] & (x[r] <= 0.0) & (cu[r] < along[r])
        for r in range(R):
            expressed[i, r] = max(b[r], pressure[r]) if hidden[r] else b[r]
        w = influence[i]
        for r in range(R):
            total[r] += (1.0 if hidden[r] else 0.0) * j[r] * w[r if per_rep else 0]
        for r in range(R):
            b[r] = b[r] - j[r] * drag[r] * b[r] * (1.0 if resisting[r] else 0.0) if enabled[r] else b[r]
        for r in range(R):
            v = x[r] - 1.0
            v = 0.0 if v < 0.0 else v
            x[r] = v if enabled[r] else x[r]
    for r in range(R):
        if enabled[r]:
            c = credibility[r] - erosion[r] * shield[r] * total[r] * (1.0 if owner_present[r] else 0.0)
            c = 0.0 if c < 0.0 else c
            credibility[r] = 1.0 if c > 1.0 else c
