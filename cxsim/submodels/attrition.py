"""attrition (docs/ODD.md 7): the owner's departure, successors, budget cuts (no kernel: little data)."""

from __future__ import annotations

import numpy as np

from ._common import _and, _mask, _per_value, _pick, choice, on


def _successor_wait(vacancy_weeks, u: np.ndarray):
    """Geometric wait for a successor with mean ``vacancy_weeks``, at least one week (before the max with 1)."""
    q = 1.0 / vacancy_weeks
    if not isinstance(q, np.ndarray):
        return 1.0 if q >= 1.0 else np.ceil(np.log(u) / np.log1p(-q))
    # log1p(-q) of each distinct q, as the scalar code computes it (-1 stands in where q >= 1)
    denominator = _per_value(q, lambda v: -1.0 if v >= 1.0 else np.log1p(-v))
    return np.where(q >= 1.0, 1.0, np.ceil(np.log(u) / denominator))


def attrition(m) -> None:
    """The owner may leave (hazard falls with support and credibility); successors arrive; budgets are cut."""
    p = m.params
    present = m.owner_present
    m.tenure += present
    enabled = _mask(on(m, "attrition.enabled"))
    if enabled is False or m.E == 0:
        return
    ceo = m.st.ceo
    support = np.maximum(m.sponsor, m.buy_in[ceo] * m.understanding[ceo])
    m.support_now = _pick(enabled, support, m.support_now)
    u = m.rng.uniform(m.week, "owner_departure", 3)
    hazard = (
        p["attrition.hazard"]
        * (1.0 - p["sponsorship.owner_protection"] * support)
        * (1.0 - p["attrition.credibility_protection"] * m.credibility)
    )
    leave = present & (u[0] < hazard)
    if enabled is not True:
        leave &= enabled
    budget_owner = _mask(choice(m, "owner.mandate", "budget"))  # an advisory owner has no budget to lose
    # (State arrays are updated in place where a condition holds: np.copyto / out=
    # with where=, which gives the values of np.where without new arrays.)
    if leave.any():
        first = leave & (m.departures == 0)
        np.copyto(m.first_tenure, m.tenure, where=first)
        m.departures += leave
        wait = _successor_wait(p["attrition.vacancy_weeks"], u[1])
        np.copyto(m.vacancy, np.maximum(wait, 1.0), where=leave)
        m.owner_present = present & ~leave
        m.ev_owner_left |= leave
        if budget_owner is not False:
            cut_now = leave if budget_owner is True else leave & budget_owner
            np.multiply(m.budget, 1.0 - p["attrition.budget_cut"], out=m.budget, where=cut_now)
            m.ev_budget_cut |= cut_now & (m.budget > 0)
    vacant = ~m.owner_present & ~leave
    if vacant.any():
        np.subtract(m.vacancy, 1.0, out=m.vacancy, where=vacant)
        arrive = vacant & (m.vacancy <= 0.0)
        if arrive.any():
            m.owner_present = m.owner_present | arrive
            np.copyto(m.credibility, p["owner.initial_credibility"], where=arrive)
            np.copyto(m.tenure, 0.0, where=arrive)
            np.multiply(m.jealousy, 1.0 - p["attrition.successor_reset"], out=m.jealousy, where=arrive[None, :])
            m.ev_successor |= arrive
    if budget_owner is not False:
        cut = (m.budget > 0) & (u[2] < p["attrition.budget_cut_hazard"] * (1.0 - support)) & m.owner_present
        mask = _and(budget_owner, enabled)
        if mask is not True:
            cut &= mask
        if cut.any():
            np.multiply(m.budget, 1.0 - p["attrition.budget_cut"], out=m.budget, where=cut)
            m.ev_budget_cut |= cut
