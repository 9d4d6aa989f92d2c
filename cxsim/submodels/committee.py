"""committee (docs/ODD.md 7): the CX committee's meetings (no kernel: little data)."""

from __future__ import annotations

import numpy as np

from ._common import _agent_sum, _mask, on


def committee(m) -> None:
    """CX committee meeting: convergence of buy-in, familiarity, detection, unified planning."""
    p = m.params
    if m.E == 0:
        return
    start, cadence = p["committee.start_week"], p["committee.cadence_weeks"]
    meets = _mask(on(m, "committee.enabled") & (m.week >= start) & ((m.week - start) % cadence == 0))
    if meets is False:
        return
    m.committee_met = meets
    mean = _agent_sum(m.st.influence_col * m.buy_in) / m.st.influence_total
    np.add(m.buy_in, p["committee.convergence"] * (mean[None, :] - m.buy_in), out=m.buy_in, where=meets)
    np.multiply(m.jealousy, 1.0 - p["committee.familiarity"], out=m.jealousy, where=meets)
    np.add(m.trust, p["committee.trust_gain"] * (1.0 - m.trust), out=m.trust, where=meets)
    caught = m.covert & (m.rng.uniform(m.week, "committee_detect", m.E) < p["committee.detection"])
    if meets is not True:
        caught &= meets
    if caught.any():
        np.copyto(m.exposed, p["politics.exposure_weeks"], where=caught)
        np.multiply(m.jealousy, 1.0 - p["sponsorship.correction"] * m.sponsor, out=m.jealousy, where=caught)
        m.covert &= ~caught
        m.expressed = np.where(caught, m.buy_in, m.expressed)
    m.ev_detected += caught.sum(axis=0)
    np.multiply(m.silo, 1.0 - p["committee.planning"], out=m.silo, where=meets)
