"""Initial state of the engine's arrays (docs/ODD.md section 5, "Initialization")."""

from __future__ import annotations

import numpy as np

from ._common import _clip01, _mask, _per_value, _pick, on
from .business_case import seen_gain
from .journey import journey


def jealousy_propensity(m, scale) -> np.ndarray:
    """Jealousy propensity ``(E, R)``: (entered jealousy + spread x z) x scale, clipped; 0 for the owner.

    ``z`` are the week-0 draws of stream "init_exec" (counter-based: the same numbers
    whenever they are drawn), so a lever that rescales jealousy mid-game redraws nothing.
    """
    z = m.rng.normal(0, "init_exec", 2 * m.E)[m.E:]
    entered = m.agent_values("executives", "jealousy")
    out = np.broadcast_to(_clip01((entered + m.params["organization.initial_spread"] * z) * scale), (m.E, m.R)).copy()
    out[m.owner] = 0.0
    return out


def initialize(m) -> None:
    """Initial state; spread between replications drawn from each replication's stream."""
    p, st = m.params, m.st
    E, D, R = m.E, m.D, m.R
    spread = p["organization.initial_spread"]
    zx = m.rng.normal(0, "init_exec", 2 * E) if E else np.zeros((0, R))
    # readiness and skill are uncertain by function (executive), so listing a function's
    # departments more finely does not change how much the organization varies
    zf = m.rng.normal(0, "init_dept", 2 * E) if E else np.zeros((0, R))
    zd = np.concatenate([zf[:E][st.dept_exec], zf[E:][st.dept_exec]]) if D else np.zeros((0, R))
    ex = lambda key: m.agent_values("executives", key)  # noqa: E731  (E, 1), or (E, R) for stacked points
    de = lambda key: m.agent_values("departments", key)  # noqa: E731

    m.buy_in = _clip01(ex("buy_in") + spread * zx[:E])
    m.propensity = np.zeros((E, R))
    politics_on = _mask(on(m, "politics.enabled"))
    if politics_on is not False and E:
        m.propensity = _pick(politics_on, jealousy_propensity(m, p["politics.jealousy_scale"]), m.propensity)
    m.jealousy = m.propensity.copy()
    m.expressed = m.buy_in.copy()
    m.understanding = np.broadcast_to(ex("understanding"), (E, R)).copy()
    m.trust = np.broadcast_to(ex("trust"), (E, R)).copy()
    m.exposed = np.zeros((E, R))
    m.covert = np.zeros((E, R), dtype=bool)
    # the company's receptiveness to CX practices: a multiplier on the adoption hazard
    m.culture = np.ascontiguousarray(np.maximum(1.0 + p["adoption.culture_spread"] * m.rng.normal(0, "culture", 1)[0],
                                                0.05))
    # each executive's temperament: the uniforms against which the smooth chances of
    # resisting and of playing along are compared (fixed for the run, so choices do not flicker)
    temperament = m.rng.uniform(0, "temperament", 2 * E) if E else np.zeros((0, R))
    m.resist_u = np.ascontiguousarray(temperament[:E])
    m.covert_u = np.ascontiguousarray(temperament[E:])

    head = st.head
    ready = de("readiness") + p["organization.readiness_shift"] + spread * zd[:D]
    ready = _clip01(ready)
    readiness_on = _mask(on(m, "readiness.enabled"))
    if readiness_on is not False:
        lead = p["readiness.change_management_lead_weeks"]
        gain = p["readiness.change_management_effect"] * (1.0 - _per_value(lead, lambda v: np.exp(-v / 13.0)))
        ready = _pick(readiness_on, ready + gain * (1.0 - ready), ready)
    m.readiness = _clip01(np.broadcast_to(ready, (D, R)).copy())
    m.skill = _clip01(np.broadcast_to(de("skill") + p["organization.skill_shift"] + spread * zd[D:], (D, R)).copy())
    m.silo = np.broadcast_to(de("silo_strength"), (D, R)).copy()
    m.adopters = np.broadcast_to(np.round(de("initial_adoption") * head), (D, R)).copy()

    m.owner_present = np.ones(R, dtype=bool)
    m.credibility = np.full(R, p["owner.initial_credibility"])
    m.vacancy = np.zeros(R)
    m.tenure = np.zeros(R)
    m.departures = np.zeros(R, dtype=np.int64)
    m.first_tenure = np.full(R, np.nan)
    m.budget = np.full(R, p["owner.budget"])
    m.spent = np.zeros(R)
    m.fatigue = np.zeros(R)
    m.results = np.zeros(R)
    m.sponsor = 0.0
    m.pressure = 0.0
    m.support_now = np.zeros(R)
    m.cx = np.zeros(R)
    journey(m)
    # results already visible at the start: an organization that practises CX sees its effect
    if _mask(on(m, "business_case.enabled")) is not False:
        seen = seen_gain(m.cx, p["journey.baseline_quality"])
        m.results = np.ascontiguousarray(_pick(on(m, "business_case.enabled"), seen, m.results), dtype=np.float64)
    m.begin_week()
