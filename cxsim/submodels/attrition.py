"""attrition (docs/ODD.md 7): the owner's departure, successors, budget cuts; rule and kernel."""

from __future__ import annotations

import math

import numba
import numpy as np

from .._libm import log, log1p
from ..rng import uniform_of
from ._common import _columns, _flags, _mask, choice, on


def attrition(m) -> None:
    """The owner may leave (hazard falls with support and credibility); successors arrive; budgets are cut."""
    p = m.params
    m.tenure += m.owner_present
    enabled = _mask(on(m, "attrition.enabled"))
    if enabled is False or m.E == 0:
        return
    R, ceo = m.R, m.st.ceo
    col = _columns(R)
    present = m.owner_present = np.ascontiguousarray(m.owner_present, dtype=np.bool_)
    _attrition_kernel(
        present, m.tenure, m.support_now, m.departures, m.first_tenure, m.vacancy, m.credibility, m.budget,
        m.jealousy, m.ev_owner_left, m.ev_successor, m.ev_budget_cut, col(m.sponsor), m.buy_in[ceo],
        m.understanding[ceo], col(p["attrition.hazard"]), col(p["sponsorship.owner_protection"]),
        col(p["attrition.credibility_protection"]), col(p["attrition.vacancy_weeks"]), col(p["attrition.budget_cut"]),
        col(p["attrition.budget_cut_hazard"]), col(p["owner.initial_credibility"]),
        col(p["attrition.successor_reset"]), _flags(enabled, R),
        _flags(_mask(choice(m, "owner.mandate", "budget")), R),  # (an advisory owner has no budget to lose)
        m.rng.keys, m.rng.item_hashes(m.week, "owner_departure", 3))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _attrition_kernel(present, tenure, support_now, departures, first_tenure, vacancy, credibility, budget, jealousy,
                      ev_left, ev_successor, ev_cut, sponsor, ceo_buy_in, ceo_understanding, hazard, protection,
                      credibility_protection, vacancy_weeks, budget_cut, cut_hazard, initial_credibility,
                      successor_reset, enabled, budget_owner, keys, mixed):
    """The arithmetic of :func:`attrition` per replication r, updating the owner's state in place.

    With u0, u1, u2 uniforms 0-2 of stream "owner_departure" and
    support = max(sponsor, CEO's buy-in * understanding) (kept in ``support_now`` where ``enabled``):

    * the owner leaves where ``enabled`` and present and u0 < hazard * (1 - protection * support)
      * (1 - credibility_protection * credibility): a departure (the first records its tenure), a
      vacancy of max(ceil(log(u1) / log(1 - 1 / vacancy_weeks)), 1) weeks (1 where vacancy_weeks <= 1:
      a geometric wait with that mean), and a budget-holding owner's budget cut by ``budget_cut``;
    * a vacant post counts down; at 0 a successor arrives with the initial credibility, tenure 0,
      and every executive's jealousy times (1 - successor_reset);
    * a budget-holding owner in post (``budget_owner`` and ``enabled``) with a budget left loses
      ``budget_cut`` of it where u2 < cut_hazard * (1 - support).

    Logarithms from :mod:`cxsim._libm` (the same bits on every platform).
    """
    E, R = jealousy.shape
    m0, m1, m2 = mixed[0], mixed[1], mixed[2]
    for r in range(R):
        b = ceo_buy_in[r] * ceo_understanding[r]
        support = sponsor[r] if sponsor[r] >= b else b
        support_now[r] = support if enabled[r] else support_now[r]
        h = hazard[r] * (1.0 - protection[r] * support) * (1.0 - credibility_protection[r] * credibility[r])
        if present[r] and enabled[r] and uniform_of(keys[r] ^ m0) < h:
            if departures[r] == 0:
                first_tenure[r] = tenure[r]
            departures[r] += 1
            q = 1.0 / vacancy_weeks[r]
            wait = 1.0 if q >= 1.0 else math.ceil(log(uniform_of(keys[r] ^ m1)) / log1p(-q))
            vacancy[r] = max(wait, 1.0)
            present[r] = False
            ev_left[r] = True
            if budget_owner[r]:
                budget[r] = budget[r] * (1.0 - budget_cut[r])
                ev_cut[r] = ev_cut[r] or budget[r] > 0.0
        elif not present[r]:
            vacancy[r] = vacancy[r] - 1.0
            if vacancy[r] <= 0.0:
                present[r] = True
                credibility[r] = initial_credibility[r]
                tenure[r] = 0.0
                for i in range(E):
                    jealousy[i, r] = jealousy[i, r] * (1.0 - successor_reset[r])
                ev_successor[r] = True
        if budget_owner[r] and enabled[r] and present[r] and budget[r] > 0.0 \
                and uniform_of(keys[r] ^ m2) < cut_hazard[r] * (1.0 - support):
            budget[r] = budget[r] * (1.0 - budget_cut[r])
            ev_cut[r] = True
