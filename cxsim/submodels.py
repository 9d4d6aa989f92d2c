"""The submodels, one function each, in the order of the weekly schedule.

Each function takes the :class:`~cxsim.engine.Engine` ``m`` and updates its state
arrays in place, elementwise over replications. Each has a neutral setting (its
section's ``enabled = false``, or zero weights) that removes the mechanism. The
headings of docs/ODD.md section 7 ("Submodels") are these function names.

State, agents-first and replications-last:

* executives ``(E, R)``: ``buy_in`` (true, private), ``expressed`` (what colleagues
  see), ``jealousy``, ``propensity`` (to jealousy), ``understanding``, ``trust`` (in
  the owner), ``exposed`` (weeks left of exposure after being caught), ``covert``;
* departments ``(D, R)``: ``adopters``, ``readiness``, ``skill``, ``silo``;
* organization ``(R,)``: ``owner_present``, ``credibility``, ``vacancy``,
  ``tenure``, ``departures``, ``first_tenure``, ``budget``, ``spent``,
  ``fatigue``, ``results``, ``cx``, ``cx0``, and the scalar ``sponsor``.
"""

from __future__ import annotations

import numpy as np

try:  # the ufunc np.clip calls, without np.clip's Python-level argument handling
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip_ufunc

__all__ = [
    "initialize",
    "sponsorship",
    "committee",
    "politics",
    "social_influence",
    "persuasion",
    "business_case",
    "attrition",
    "mandate",
    "readiness",
    "employee_adoption",
    "skill",
    "journey",
]

_SPONSOR = {"none": 0.0, "active": 1.0}


# Performance notes. The rules update state in place and reuse their temporaries
# (fewer, cheaper numpy calls), but each keeps the floating-point operations of its
# plain formula (given in a comment) in the same order: only the exact commutative
# swaps a*b = b*a and a+b = b+a are used, so the results are bit-for-bit those of the
# formulas. Terms that are exactly neutral are skipped (a factor of exactly 1.0; the
# sabotage and credibility erosion when nobody resists covertly, which are exactly 0).


def _agent_sum(a):
    from .engine import agent_sum

    return agent_sum(a)


def _agent_dot(w, a):
    from .engine import agent_dot

    return agent_dot(w, a)


def _clip01(a: np.ndarray) -> np.ndarray:
    return _clip_ufunc(a, 0.0, 1.0, out=a)


def _factor(x: np.ndarray, weight: float) -> np.ndarray | float:
    """Multiplier 1 + w (2x - 1): 1 at x = 0.5 or w = 0, in [1 - w, 1 + w] for x in [0, 1]."""
    if weight == 0.0:
        return 1.0
    f = np.multiply(x, 2.0)
    f -= 1.0
    f *= weight
    f += 1.0
    return f


def _times(a, b):
    """``a * b`` where either may be the exact scalar 1.0 (then the other is returned as is)."""
    if isinstance(a, float) and a == 1.0:
        return b
    if isinstance(b, float) and b == 1.0:
        return a
    return a * b


def _one_minus(x: np.ndarray) -> np.ndarray:
    return np.subtract(1.0, x)


def initialize(m) -> None:
    """Initial state; spread between replications drawn from each replication's stream."""
    p, st, sc = m.params, m.st, m.scenario
    E, D, R = m.E, m.D, m.R
    spread = p["organization.initial_spread"]
    zx = m.rng.normal(0, "init_exec", 2 * E) if E else np.zeros((0, R))
    zd = m.rng.normal(0, "init_dept", 2 * D) if D else np.zeros((0, R))
    col = lambda rows, key: np.array([r[key] for r in rows], dtype=np.float64)[:, None]  # noqa: E731

    ex = sc.executives
    m.buy_in = _clip01(col(ex, "buy_in") + spread * zx[:E])
    m.propensity = np.zeros((E, R))
    if p["politics.enabled"]:
        m.propensity = _clip01((col(ex, "jealousy") + spread * zx[E:]) * p["politics.jealousy_scale"])
    if E:
        m.propensity[m.owner] = 0.0
    m.jealousy = m.propensity.copy()
    m.expressed = m.buy_in.copy()
    m.understanding = np.broadcast_to(col(ex, "understanding"), (E, R)).copy()
    m.trust = np.broadcast_to(col(ex, "trust"), (E, R)).copy()
    m.exposed = np.zeros((E, R))
    m.covert = np.zeros((E, R), dtype=bool)

    de = sc.departments
    head = st.headcount[:, None]
    ready = col(de, "readiness") + p["organization.readiness_shift"] + spread * zd[:D]
    ready = _clip01(ready)
    if p["readiness.enabled"]:
        lead = p["readiness.change_management_lead_weeks"]
        gain = p["readiness.change_management_effect"] * (1.0 - np.exp(-lead / 13.0))
        ready = ready + gain * (1.0 - ready)
    m.readiness = _clip01(np.broadcast_to(ready, (D, R)).copy())
    m.skill = _clip01(np.broadcast_to(col(de, "skill") + p["organization.skill_shift"] + spread * zd[D:], (D, R)).copy())
    m.silo = np.broadcast_to(col(de, "silo_strength"), (D, R)).copy()
    m.adopters = np.broadcast_to(np.round(col(de, "initial_adoption") * head), (D, R)).copy()

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
    m.cx0 = m.cx.copy()
    m.begin_week()


def expressed_view(m) -> np.ndarray:
    """Expressed buy-in as colleagues see it now, ``(E, R)``.

    ``politics`` sets what each executive shows at the start of the week; true
    buy-in moves after that (influence, persuasion, results). An executive who is
    not playing along shows their current true buy-in; one who is shows at least
    the week's public pressure. Metrics and the Mesa agents read this view.
    """
    if not m.covert.any():
        return m.buy_in.copy()
    return np.where(m.covert, np.maximum(m.buy_in, m.pressure), m.buy_in)


def adoption_share(m) -> np.ndarray:
    """Headcount-weighted share of employees who have adopted, ``(R,)``."""
    if m.D == 0:
        return np.zeros(m.R)
    return _agent_sum(m.adopters) / m.st.total_headcount


def sponsorship(m) -> None:
    """CEO sponsorship: its strength this week, and the co-ownership pull on every executive."""
    p = m.params
    level = p["sponsorship.level"]
    strength = _SPONSOR.get(level, p["sponsorship.passive_strength"])
    on = p["sponsorship.enabled"] and m.week >= p["sponsorship.start_week"]
    m.sponsor = strength if on else 0.0
    if m.sponsor > 0.0 and m.E:
        # buy_in += (rate * sponsor) * (1 - buy_in)
        t = _one_minus(m.buy_in)
        t *= p["sponsorship.coownership_rate"] * m.sponsor
        m.buy_in += t


def committee(m) -> None:
    """CX committee meeting: convergence of buy-in, familiarity, detection, unified planning."""
    p = m.params
    start, cadence = p["committee.start_week"], p["committee.cadence_weeks"]
    if not p["committee.enabled"] or m.week < start or (m.week - start) % cadence or m.E == 0:
        return
    m.committee_met = True
    w = m.st.exec_influence[:, None]
    wsum = float(m.st.exec_influence.sum()) or 1.0
    mean = _agent_sum(w * m.buy_in) / wsum
    m.buy_in += p["committee.convergence"] * (mean[None, :] - m.buy_in)
    m.jealousy *= 1.0 - p["committee.familiarity"]
    m.trust += p["committee.trust_gain"] * (1.0 - m.trust)
    caught = m.covert & (m.rng.uniform(m.week, "committee_detect", m.E) < p["committee.detection"])
    if caught.any():
        m.exposed[caught] = p["politics.exposure_weeks"]
        m.jealousy[caught] *= 1.0 - p["sponsorship.correction"] * m.sponsor
        m.covert &= ~caught
        m.expressed = np.where(caught, m.buy_in, m.expressed)
    m.ev_detected += caught.sum(axis=0)
    m.silo *= 1.0 - p["committee.planning"]


def politics(m) -> None:
    """Jealousy grows with the owner's status; resisters play along in public or resist openly."""
    p = m.params
    if not p["politics.enabled"] or m.E == 0:
        m.expressed = m.buy_in.copy()
        m.covert[:] = False
        return
    status_per = p["mandate.status"] if p["owner.mandate"] == "budget" else p["mandate.advisory_status"]
    status = m.owner_present * m.credibility * status_per
    j = m.jealousy
    # j += (growth * status) * propensity * (1 - j) - decay * j
    t = np.multiply(m.propensity, p["politics.jealousy_growth"] * status)
    u = _one_minus(j)
    t *= u
    np.multiply(j, p["politics.jealousy_decay"], out=u)
    t -= u
    j += t
    j[m.owner] = 0.0
    _clip01(j)
    resisting = j >= p["politics.resist_threshold"]
    pressure = min(1.0, p["politics.conformity"] + p["sponsorship.resistance_cost"] * m.sponsor)
    m.pressure = pressure
    m.covert = resisting & (m.exposed <= 0.0) if pressure >= p["politics.covert_threshold"] else np.zeros_like(resisting)
    any_covert = bool(m.covert.any())
    # expressed = covert ? max(buy_in, pressure) : buy_in
    m.expressed = m.buy_in.copy()
    if any_covert:
        np.copyto(m.expressed, np.maximum(m.buy_in, pressure), where=m.covert)
    # buy_in -= ((drag * j) * buy_in) * resisting
    t = np.multiply(j, p["politics.buy_in_drag"])
    t *= m.buy_in
    t *= resisting
    m.buy_in -= t
    # An active sponsor protects the owner: covert attacks on credibility land less.
    credibility = m.credibility
    if any_covert:  # (without covert resisters the erosion is exactly 0)
        shield = 1.0 - p["sponsorship.owner_protection"] * m.sponsor
        erosion = p["politics.credibility_erosion"] * shield * _agent_sum(m.covert * j * m.st.exec_influence[:, None])
        credibility = credibility - erosion * m.owner_present
    m.credibility = _clip_ufunc(credibility, 0.0, 1.0)
    np.subtract(m.exposed, 1.0, out=m.exposed)
    np.maximum(m.exposed, 0.0, out=m.exposed)


def social_influence(m) -> None:
    """DeGroot averaging: each executive averages their own true view with the expressed views they hear."""
    p = m.params
    if not p["social_influence.enabled"] or m.E == 0:
        return
    W = m.st.influence_matrix
    # heard = W @ expressed + diag(W) * (buy_in - expressed)
    heard = _agent_dot(W, m.expressed)
    t = np.subtract(m.buy_in, m.expressed)
    t *= m.st.self_weights[:, None]
    heard += t
    # buy_in += rate * (heard - buy_in)
    heard -= m.buy_in
    heard *= p["social_influence.rate"]
    m.buy_in += heard
    if p["social_influence.noise"] > 0.0:
        z = m.rng.normal(m.week, "buy_in_noise", m.E)
        z *= p["social_influence.noise"]
        m.buy_in += z
    _clip01(m.buy_in)


def persuasion(m) -> None:
    """The owner persuades: buy-in, understanding and trust rise with credibility, trust and low jealousy."""
    p = m.params
    if not p["persuasion.enabled"] or m.E == 0:
        return
    reach = _one_minus(m.jealousy)
    reach *= m.owner_present * m.credibility  # (owner present * credibility) * (1 - jealousy)
    effect = np.multiply(reach, p["persuasion.rate"])
    effect *= m.trust  # (rate * reach) * trust
    effect[m.owner] = 0.0
    t = _one_minus(m.buy_in)
    t *= effect
    m.buy_in += t  # buy_in += effect * (1 - buy_in)
    for x, rate in ((m.understanding, p["business_case.understanding_gain"]), (m.trust, p["persuasion.trust_gain"])):
        np.multiply(reach, rate, out=effect)
        np.subtract(1.0, x, out=t)
        effect *= t
        x += effect  # x += (rate * reach) * (1 - x)
    _clip01(m.buy_in)
    _clip01(m.trust)


def business_case(m) -> None:
    """Visible results (the CX index's gain, seen with a lag) build or erode commitment around a threshold."""
    p = m.params
    if not p["business_case.enabled"]:
        return
    gain = np.where(m.cx0 < 1.0, (m.cx - m.cx0) / np.maximum(1.0 - m.cx0, 1e-12), 0.0)
    m.results += (gain - m.results) / p["business_case.lag_weeks"]
    theta = p["business_case.threshold"]
    above = np.maximum(m.results - theta, 0.0)
    below = np.zeros(m.R)
    if m.week >= p["business_case.patience_weeks"] and theta > 0.0:
        below = np.maximum(theta - m.results, 0.0) / theta
    up, down = p["business_case.gain"] * above, p["business_case.erosion"] * below
    if m.E:
        # buy_in += up * (1 - buy_in) - down * buy_in
        t = _one_minus(m.buy_in)
        t *= up
        t -= np.multiply(m.buy_in, down)
        m.buy_in += t
        _clip01(m.buy_in)
        # understanding += (gain * max(results, 0)) * (1 - understanding)
        np.subtract(1.0, m.understanding, out=t)
        t *= p["business_case.understanding_gain"] * np.maximum(m.results, 0.0)
        m.understanding += t
        _clip01(m.understanding)
    m.credibility = np.clip(m.credibility + up * (1.0 - m.credibility) - down * m.credibility, 0.0, 1.0)


def attrition(m) -> None:
    """The owner may leave (hazard falls with support and credibility); successors arrive; budgets are cut."""
    p = m.params
    present = m.owner_present
    m.tenure += present
    if not p["attrition.enabled"] or m.E == 0:
        return
    ceo = m.st.ceo
    support = np.maximum(m.sponsor, m.buy_in[ceo] * m.understanding[ceo])
    m.support_now = support
    u = m.rng.uniform(m.week, "owner_departure", 3)
    hazard = (
        p["attrition.hazard"]
        * (1.0 - p["sponsorship.owner_protection"] * support)
        * (1.0 - p["attrition.credibility_protection"] * m.credibility)
    )
    leave = present & (u[0] < hazard)
    # (State arrays are updated in place where a condition holds: np.copyto / out=
    # with where=, which gives the values of np.where without new arrays.)
    if leave.any():
        first = leave & (m.departures == 0)
        np.copyto(m.first_tenure, m.tenure, where=first)
        m.departures += leave
        # Geometric wait for a successor with the given mean, at least one week.
        q = 1.0 / p["attrition.vacancy_weeks"]
        wait = 1.0 if q >= 1.0 else np.ceil(np.log(u[1]) / np.log1p(-q))
        np.copyto(m.vacancy, np.maximum(wait, 1.0), where=leave)
        m.owner_present = present & ~leave
        m.ev_owner_left |= leave
        if p["owner.mandate"] == "budget":  # an advisory owner has no budget to lose
            np.multiply(m.budget, 1.0 - p["attrition.budget_cut"], out=m.budget, where=leave)
            m.ev_budget_cut |= leave & (m.budget > 0)
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
    if p["owner.mandate"] == "budget":
        cut = (m.budget > 0) & (u[2] < p["attrition.budget_cut_hazard"] * (1.0 - support)) & m.owner_present
        if cut.any():
            np.multiply(m.budget, 1.0 - p["attrition.budget_cut"], out=m.budget, where=cut)
            m.ev_budget_cut |= cut


def _intensity(m) -> np.ndarray:
    """Spending this week relative to the reference intensity (0 for an advisory owner)."""
    p = m.params
    if p["owner.mandate"] != "budget" or not p["mandate.enabled"] or m.D == 0:
        return np.zeros(m.R)
    per_thousand = m.spent / (m.st.total_headcount / 1000.0)
    return per_thousand / p["mandate.reference_intensity"]


def mandate(m) -> None:
    """A budget-holding owner spends: training raises skill, staff raise readiness, targets weaken silos."""
    p = m.params
    m.spent = np.where(m.owner_present & (p["owner.mandate"] == "budget"), m.budget, 0.0)
    if not p["mandate.enabled"] or p["owner.mandate"] != "budget" or m.D == 0:
        return
    intensity = _intensity(m)
    # x += min(rate * intensity, 1) * (1 - x) for skill and readiness; silo -= min(...) * silo
    for x, rate in ((m.skill, p["mandate.training_rate"]), (m.readiness, p["mandate.staff_rate"])):
        t = _one_minus(x)
        t *= np.minimum(rate * intensity, 1.0)
        x += t
    m.silo -= np.multiply(m.silo, np.minimum(p["mandate.targets_rate"] * intensity, 1.0))


def readiness(m) -> None:
    """Readiness follows the owning executive's true buy-in; change fatigue wears it down."""
    p = m.params
    if not p["readiness.enabled"] or m.D == 0:
        return
    lead = m.buy_in.take(m.st.dept_exec, axis=0)
    lead -= m.readiness
    lead *= p["readiness.alignment_rate"]
    m.readiness += lead  # readiness += rate * (lead - readiness)
    share = adoption_share(m)
    m.fatigue += p["readiness.fatigue_rate"] * m.st.load * (1.0 - share) - p["readiness.fatigue_recovery"] * share * m.fatigue
    np.maximum(m.fatigue, 0.0, out=m.fatigue)
    m.readiness -= np.multiply(m.readiness, p["readiness.fatigue_effect"] * m.fatigue)  # (effect * fatigue) * readiness
    _clip01(m.readiness)


def employee_adoption(m) -> None:
    """Employees adopt (push p plus imitation q, Bass) and revert when support falls below a threshold."""
    p = m.params
    if not p["adoption.enabled"] or m.D == 0:
        return
    st = m.st
    head = st.headcount[:, None]
    share_d = m.adopters / head
    share = adoption_share(m)
    de = st.dept_exec
    # lead = buy_in[de] * (1 - sabotage), sabotage = (sabotage_weight * jealousy[de]) * covert[de]
    # (exactly buy_in[de] when nobody resists covertly)
    lead = m.buy_in.take(de, axis=0)
    if p["politics.enabled"] and m.covert.any():
        sabotage = m.jealousy.take(de, axis=0)
        sabotage *= p["politics.sabotage"]
        sabotage *= m.covert.take(de, axis=0)
        lead *= np.subtract(1.0, sabotage, out=sabotage)
    owner_push = (m.owner_present * m.credibility)[None, :]
    conditions = _times(_factor(m.readiness, p["adoption.readiness_weight"]), _factor(m.skill, p["adoption.skill_weight"]))
    if p["adoption.silo_weight"]:
        t = np.multiply(m.silo, p["adoption.silo_weight"])
        conditions = _times(conditions, np.subtract(1.0, t, out=t))
    push = _times(_times(_factor(lead, p["adoption.leadership_weight"]), _factor(owner_push, p["adoption.owner_weight"])),
                  conditions)
    cross = p["adoption.cross_department"]
    # peers = (1 - cross) * share_d + cross * share
    peers = share_d
    peers *= 1.0 - cross
    peers += cross * share
    # hazard = clip((p * push + (q * conditions) * peers) / load, 0, 1)
    hazard = np.multiply(push, p["adoption.p"])
    t = np.multiply(conditions, p["adoption.q"])
    t *= peers
    hazard += t
    hazard /= st.load
    _clip01(hazard)
    draws = [("adopt", head - m.adopters, hazard)]
    if p["adoption.reversion"] > 0.0:
        resources = np.minimum(_intensity(m), 1.0)
        # support = 0.4 lead + 0.4 owner_push + 0.2 resources;
        # rate = reversion * max(theta - support, 0) / max(theta, 1e-12)
        rate = np.multiply(lead, 0.4)
        rate += 0.4 * owner_push
        rate += 0.2 * resources
        theta = p["adoption.support_threshold"]
        np.subtract(theta, rate, out=rate)
        np.maximum(rate, 0.0, out=rate)
        rate *= p["adoption.reversion"]
        rate /= max(theta, 1e-12)
        draws.append(("revert", m.adopters, rate))
    # Both draws in one pass; each uses uniforms 0..D-1 (and D..2D-1) of its own stream.
    drawn = m.rng.binomials(m.week, draws)
    if len(drawn) == 2:
        m.adopters += drawn[0] - drawn[1]
    else:
        m.adopters += drawn[0]


def skill(m) -> None:
    """Learning by doing: skill grows with the department's adoption."""
    p = m.params
    if not p["skill.enabled"] or m.D == 0:
        return
    t = m.adopters / m.st.headcount[:, None]
    t *= p["skill.learning_rate"]
    t *= _one_minus(m.skill)
    m.skill += t  # skill += (rate * adopted share) * (1 - skill)
    _clip01(m.skill)


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
    quality = _agent_dot(sw, m.adopters / m.st.headcount[:, None])
    quality *= 1.0 - base
    quality += base  # base + (1 - base) * (stage weights @ adopted shares)
    lam = p["journey.weak_link_exponent"] if p["journey.enabled"] else 1.0
    S = sw.shape[0]
    if lam == 1.0:
        m.cx = _agent_sum(quality) / S
    elif abs(lam) < 1e-9:
        m.cx = np.exp(_agent_sum(np.log(np.maximum(quality, 1e-12, out=quality), out=quality)) / S)
    else:
        m.cx = (_agent_sum(np.power(np.maximum(quality, 1e-12, out=quality), lam, out=quality)) / S) ** (1.0 / lam)
