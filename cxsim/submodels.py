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
  ``fatigue``, ``results``, ``cx``, ``cx0``, and ``sponsor`` (a scalar, or ``(R,)``).

Parameters: ``m.params[key]`` is a Python scalar when every replication shares it
(one scenario, the interactive model), or an array with one value per replication
when the engine stacks several design points (:class:`~cxsim.engine.Engine`). The
rules read switches and choices through :func:`on` and :func:`choice`, which give
a bool or a per-replication mask, and apply a mechanism that is on for only some
replications with ``where=`` masks, so that every replication gets exactly the
operations it gets alone (see the notes below).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._ndtri import is_central, ndtri_central, ndtri_scalar
from .rng import LARGE, binomial_row, scratch, uniform_of

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
#
# Compiled kernels. The rules (all but committee and attrition, which touch little
# data) hand their arithmetic to a numba kernel, a compiled loop over (agent,
# replication) that takes every parameter as a (R,) column. A kernel does each
# element's operations in the formula's order (no fast-math: no reassociation, no
# fused multiply-add), computes exactly neutral terms instead of skipping them
# (x * 1.0 and x - 0.0 are x), and treats each replication on its own, so a
# replication's numbers are the same alone or in any batch and are those of the
# numpy formulation it replaced, bit for bit. Inner loops run over replications
# (contiguous), read a few arrays, write one and choose with selects rather than
# branches where they can, so that the compiler vectorizes them.
#
# Stacked design points. A parameter is a scalar or a per-replication array; every
# elementwise operation gives the same bits either way. Where the scalar code skips
# a mechanism (a switch is off, a week condition fails), the stacked code skips it
# only when it is off for every replication; otherwise it computes the update for all
# and applies it with ``where=mask`` (the replications where it is off keep their
# state untouched, exactly as if skipped). ``mask`` is ``True`` when the mechanism is
# on everywhere, which makes ``where=`` a no-op: the single-scenario path runs the
# same calls as before. Functions with no exact elementwise form for an array
# argument (exp, log, power of a parameter) are evaluated per distinct value
# (:func:`_per_value`, :func:`journey`) with the scalar code.


def on(m, key: str):
    """A switch: ``True``/``False``, or a ``(R,)`` bool mask when stacked points differ."""
    return m.params[key]


def choice(m, key: str, value: str):
    """Whether choice parameter ``key`` equals ``value``: a bool, or a ``(R,)`` mask."""
    return m.params[key] == value


def _mask(x):
    """``True`` / ``False`` if the condition holds for all / no replications, else the ``(R,)`` mask."""
    if x is True or x is False:
        return x
    if np.ndim(x) == 0:
        return bool(x)
    if x.all():
        return True
    if not x.any():
        return False
    return x


def _and(a, b):
    """Combine two results of :func:`_mask`."""
    if a is True:
        return b
    if b is True:
        return a
    if a is False or b is False:
        return False
    return _mask(a & b)


def _pick(cond, a, b):
    """``a`` where ``cond`` holds, else ``b`` (scalars stay scalars)."""
    cond = _mask(cond)
    if cond is True:
        return a
    if cond is False:
        return b
    return np.where(cond, a, b)


def _min(a, b):
    return np.minimum(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else min(a, b)




def _nonzero(x) -> bool:
    """Whether a parameter (scalar or per-replication) is nonzero for some replication."""
    return bool(x.any()) if isinstance(x, np.ndarray) else x != 0.0


def _per_value(x, fn):
    """``fn(x)`` for a scalar; for a per-replication array, ``fn`` of each distinct value (as a Python scalar)."""
    if not isinstance(x, np.ndarray):
        return fn(x)
    values, inverse = np.unique(x, return_inverse=True)
    return np.array([fn(v.item()) for v in values], dtype=np.float64)[inverse]


def _agent_sum(a):
    from .engine import agent_sum

    return agent_sum(a)




def _clip01(a: np.ndarray, where=True) -> np.ndarray:
    return _clip_ufunc(a, 0.0, 1.0, out=a, where=where)








_COLUMNS: dict = {}  # (R, scalar) -> its (R,) column, shared: kernels never write to a parameter column


def _columns(R: int):
    """A function giving a parameter (scalar or per-replication) as a contiguous float64 ``(R,)`` column."""
    def col(x):
        if isinstance(x, np.ndarray):
            if x.shape == (R,) and x.dtype == np.float64 and x.flags.c_contiguous:
                return x
            return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (R,)))
        value = float(x)
        key = (R, value.hex())  # (the hex form tells -0.0 from 0.0)
        column = _COLUMNS.get(key)
        if column is None:
            if len(_COLUMNS) > 4096:
                _COLUMNS.clear()
            column = _COLUMNS[key] = np.full(R, value)
        return column
    return col


def _head(m) -> np.ndarray:
    """Department headcounts as a contiguous float64 ``(D, R)`` array (kept on the engine)."""
    head = getattr(m, "_head_full", None)
    if head is None or head.shape != (m.D, m.R):
        head = np.broadcast_to(np.asarray(m.st.head, dtype=np.float64), (m.D, m.R))
        head = m._head_full = np.ascontiguousarray(head)
    return head




def initialize(m) -> None:
    """Initial state; spread between replications drawn from each replication's stream."""
    p, st = m.params, m.st
    E, D, R = m.E, m.D, m.R
    spread = p["organization.initial_spread"]
    zx = m.rng.normal(0, "init_exec", 2 * E) if E else np.zeros((0, R))
    zd = m.rng.normal(0, "init_dept", 2 * D) if D else np.zeros((0, R))
    ex = lambda key: m.agent_values("executives", key)  # noqa: E731  (E, 1), or (E, R) for stacked points
    de = lambda key: m.agent_values("departments", key)  # noqa: E731

    m.buy_in = _clip01(ex("buy_in") + spread * zx[:E])
    m.propensity = np.zeros((E, R))
    politics_on = _mask(on(m, "politics.enabled"))
    if politics_on is not False:
        propensity = _clip01((ex("jealousy") + spread * zx[E:]) * p["politics.jealousy_scale"])
        m.propensity = _pick(politics_on, propensity, m.propensity)
    if E:
        m.propensity[m.owner] = 0.0
    m.jealousy = m.propensity.copy()
    m.expressed = m.buy_in.copy()
    m.understanding = np.broadcast_to(ex("understanding"), (E, R)).copy()
    m.trust = np.broadcast_to(ex("trust"), (E, R)).copy()
    m.exposed = np.zeros((E, R))
    m.covert = np.zeros((E, R), dtype=bool)

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


def _flags(mask, R: int) -> np.ndarray:
    """A result of :func:`_mask` as a ``(R,)`` bool array."""
    if mask is True or mask is False:
        return np.full(R, mask)
    return np.ascontiguousarray(mask, dtype=np.bool_)


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
        if any_noise:  # normal quantiles of the uniforms: the central region for all (it vectorizes), then the tails
            mi = mixed[i]
            for r in range(R):
                u[r] = uniform_of(keys[r] ^ mi)
            for r in range(R):
                z[r] = ndtri_central(u[r])
            for r in range(R):
                if not is_central(u[r]):
                    z[r] = ndtri_scalar(u[r])
        for r in range(R):  # (new value, then kept where enabled: no branch, so the loop vectorizes)
            b0 = buy_in[i, r]
            b = b0 + (heard[i, r] - b0) * rate[r]
            b = b + z[r] * noise[r] if noisy[r] else b
            b = 0.0 if b < 0.0 else b
            b = 1.0 if b > 1.0 else b
            buy_in[i, r] = b if enabled[r] else b0


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


def business_case(m) -> None:
    """Visible results (the CX index's gain, seen with a lag) build or erode commitment around a threshold."""
    p = m.params
    enabled = _mask(on(m, "business_case.enabled"))
    if enabled is False:
        return
    R = m.R
    col = _columns(R)
    theta = p["business_case.threshold"]
    impatient = _mask((m.week >= p["business_case.patience_weeks"]) & (theta > 0.0))
    _business_case_kernel(m.results, m.cx, m.cx0, m.credibility, m.buy_in, m.understanding,
                          col(p["business_case.lag_weeks"]), col(theta), _flags(impatient, R),
                          col(p["business_case.gain"]), col(p["business_case.erosion"]),
                          col(p["business_case.understanding_gain"]), _flags(enabled, R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _business_case_kernel(results, cx, cx0, credibility, buy_in, understanding, lag, theta, impatient, gain,
                          erosion, understanding_gain, enabled):
    """The arithmetic of :func:`business_case` per replication (where ``enabled``).

    seen gain g = (cx - cx0) / max(1 - cx0, 1e-12) (0 when cx0 = 1); results += (g - results) / lag;
    up = gain * max(results - theta, 0); down = erosion * max(theta - results, 0) / theta once impatient;
    buy_in += up (1 - buy_in) - down buy_in and understanding += (understanding_gain * max(results, 0))
    (1 - understanding), clipped; credibility += up (1 - credibility) - down credibility, clipped.
    """
    E, R = buy_in.shape
    up = np.zeros(R)
    down = np.zeros(R)
    learn = np.zeros(R)
    for r in range(R):
        if not enabled[r]:
            continue
        g = (cx[r] - cx0[r]) / max(1.0 - cx0[r], 1e-12) if cx0[r] < 1.0 else 0.0
        res = results[r] + (g - results[r]) / lag[r]
        results[r] = res
        up[r] = gain[r] * max(res - theta[r], 0.0)
        if impatient[r]:
            down[r] = erosion[r] * (max(theta[r] - res, 0.0) / theta[r])
        else:
            down[r] = erosion[r] * 0.0
        learn[r] = understanding_gain[r] * max(res, 0.0)
        c = credibility[r] + up[r] * (1.0 - credibility[r]) - down[r] * credibility[r]
        c = 0.0 if c < 0.0 else c
        credibility[r] = 1.0 if c > 1.0 else c
    for i in range(E):
        for r in range(R):  # (new values, then kept where enabled: no branch, so the loop vectorizes)
            b0, u0 = buy_in[i, r], understanding[i, r]
            b = b0 + ((1.0 - b0) * up[r] - b0 * down[r])
            b = 0.0 if b < 0.0 else b
            b = 1.0 if b > 1.0 else b
            u = u0 + (1.0 - u0) * learn[r]
            u = 0.0 if u < 0.0 else u
            u = 1.0 if u > 1.0 else u
            buy_in[i, r] = b if enabled[r] else b0
            understanding[i, r] = u if enabled[r] else u0


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


def _spending(m):
    """Where a budget-holding owner's spending acts: True, False or a (R,) mask."""
    return _and(_mask(choice(m, "owner.mandate", "budget")), _mask(on(m, "mandate.enabled")))


def _intensity(m) -> np.ndarray:
    """Spending this week relative to the reference intensity (0 for an advisory owner)."""
    p = m.params
    spending = _spending(m)
    if spending is False or m.D == 0:
        return np.zeros(m.R)
    per_thousand = m.spent / (m.st.total_headcount / 1000.0)
    return _pick(spending, per_thousand / p["mandate.reference_intensity"], 0.0)


def mandate(m) -> None:
    """A budget-holding owner spends: training raises skill, staff raise readiness, targets weaken silos."""
    p = m.params
    m.spent = np.where(m.owner_present & (p["owner.mandate"] == "budget"), m.budget, 0.0)
    spending = _spending(m)
    if spending is False or m.D == 0:
        return
    col = _columns(m.R)
    _mandate_kernel(m.skill, m.readiness, m.silo, col(_intensity(m)), col(p["mandate.training_rate"]),
                    col(p["mandate.staff_rate"]), col(p["mandate.targets_rate"]), _flags(spending, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _mandate_kernel(skill, readiness, silo, intensity, training, staff, targets, spending):
    """Skill and readiness += min(rate * intensity, 1) * (1 - x); silo -= silo * min(targets * intensity, 1)."""
    D, R = skill.shape
    gains = np.empty((3, R))
    for r in range(R):
        gains[0, r] = min(training[r] * intensity[r], 1.0)
        gains[1, r] = min(staff[r] * intensity[r], 1.0)
        gains[2, r] = min(targets[r] * intensity[r], 1.0)
    for d in range(D):  # (one array per loop, new values kept where spending: the loops vectorize)
        x, g = skill[d], gains[0]
        for r in range(R):
            x[r] = x[r] + (1.0 - x[r]) * g[r] if spending[r] else x[r]
        x, g = readiness[d], gains[1]
        for r in range(R):
            x[r] = x[r] + (1.0 - x[r]) * g[r] if spending[r] else x[r]
        x, g = silo[d], gains[2]
        for r in range(R):
            x[r] = x[r] - x[r] * g[r] if spending[r] else x[r]


def readiness(m) -> None:
    """Readiness follows the owning executive's true buy-in; change fatigue wears it down."""
    p = m.params
    enabled = _mask(on(m, "readiness.enabled"))
    if enabled is False or m.D == 0:
        return
    col = _columns(m.R)
    _readiness_kernel(m.readiness, m.fatigue, m.buy_in, m.st.dept_exec, m.adopters, col(m.st.total_headcount),
                      col(m.st.load), col(p["readiness.alignment_rate"]), col(p["readiness.fatigue_rate"]),
                      col(p["readiness.fatigue_recovery"]), col(p["readiness.fatigue_effect"]), _flags(enabled, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _adopters_total(adopters):
    """Adopters summed over departments per replication, ((0 + a[0]) + a[1]) + ... as :func:`agent_sum` does."""
    total = np.zeros(adopters.shape[1])
    for d in range(adopters.shape[0]):
        for r in range(adopters.shape[1]):
            total[r] += adopters[d, r]
    return total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _readiness_kernel(readiness, fatigue, buy_in, dept_exec, adopters, total, load, alignment, fatigue_rate,
                      recovery, fatigue_effect, enabled):
    """The arithmetic of :func:`readiness` per department and replication (where ``enabled``).

    readiness += alignment * (buy_in[e(d)] - readiness); with a the adopted share,
    fatigue = max(fatigue + ((rate * load) (1 - a) - (recovery * a) fatigue), 0);
    readiness -= readiness (effect * fatigue), clipped.
    """
    D, R = readiness.shape
    share = _adopters_total(adopters)
    for r in range(R):
        if enabled[r]:
            a = share[r] / total[r]
            f = fatigue[r] + (fatigue_rate[r] * load[r] * (1.0 - a) - recovery[r] * a * fatigue[r])
            fatigue[r] = 0.0 if f < 0.0 else f
    for d in range(D):
        e = dept_exec[d]
        for r in range(R):  # (new values, then kept where enabled: no branch, so the loop vectorizes)
            x0 = readiness[d, r]
            x = x0 + (buy_in[e, r] - x0) * alignment[r]
            x = x - x * (fatigue_effect[r] * fatigue[r])
            x = 0.0 if x < 0.0 else x
            x = 1.0 if x > 1.0 else x
            readiness[d, r] = x if enabled[r] else x0


def employee_adoption(m) -> None:
    """Employees adopt (push p plus imitation q, Bass) and revert when support falls below a threshold."""
    p = m.params
    enabled = _mask(on(m, "adoption.enabled"))
    if enabled is False or m.D == 0:
        return
    st, R, D = m.st, m.R, m.D
    revert = _mask(p["adoption.reversion"] > 0.0) is not False
    # (a reversion of 0 gives rate 0: no adopter reverts, exactly as without the draw)
    resources = np.minimum(_intensity(m), 1.0) if revert else np.zeros(R)
    adopt, back = np.empty((D, R)), np.empty((D, R))
    hazard, rate = np.empty((D, R)), np.empty((D, R))
    col = _columns(R)
    large = _adoption_kernel(
        m.adopters, _head(m), m.buy_in, m.jealousy, m.covert, st.dept_exec, m.readiness, m.skill,
        m.silo, col(m.owner_present * m.credibility), col(st.total_headcount), col(st.load), col(resources),
        col(p["politics.sabotage"]), col(p["adoption.readiness_weight"]), col(p["adoption.skill_weight"]),
        col(p["adoption.silo_weight"]), col(p["adoption.leadership_weight"]), col(p["adoption.owner_weight"]),
        col(p["adoption.cross_department"]), col(p["adoption.p"]), col(p["adoption.q"]),
        col(p["adoption.support_threshold"]), col(p["adoption.reversion"]), revert,
        m.rng.keys, m.rng.item_hashes(m.week, "adopt", D), m.rng.item_hashes(m.week, "revert", D),
        adopt, back, hazard, rate)
    if large:  # means of 30 or more: the normal approximation (rare)
        for stream, x, n, q in (("adopt", adopt, _head(m) - m.adopters, hazard),
                                ("revert", back, m.adopters, rate)):
            if (x == LARGE).any():
                m.rng.finish_large(m.week, stream, x, n, q)
    np.add(m.adopters, adopt - back, out=m.adopters, where=enabled)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _adoption_kernel(adopters, head, buy_in, jealousy, covert, dept_exec, readiness, skill, silo, owner_push,
                     total, load, resources, sabotage_w, readiness_w, skill_w, silo_w, leadership_w, owner_w,
                     cross, p_push, q_imitate, theta, reversion, revert, keys, mixed_adopt, mixed_revert,
                     adopt, back, hazard, rate):
    """The arithmetic of :func:`employee_adoption` for every department and replication, and both draws.

    Per replication r (the parameters are ``(R,)`` columns) and department d, with e = d's executive:

    * lead = buy_in[e] * (1 - (sabotage * jealousy[e]) * covert[e]);
    * conditions = f(readiness, readiness_w) * f(skill, skill_w) * (1 - silo_w * silo),
      with the factor f(x, w) = (2x - 1) w + 1;
    * push = f(lead, leadership_w) * f(owner_push, owner_w) * conditions;
    * peers = (1 - cross) * adopted share of d + cross * adopted share of the organization;
    * hazard = clip((p * push + (q * conditions) * peers) / load, 0, 1);
      adopters drawn ~ Binomial(head - adopters, hazard) (stream "adopt");
    * support = 0.4 lead + 0.4 owner_push + 0.2 resources;
      rate = reversion * max(theta - support, 0) / max(theta, 1e-12);
      reverters ~ Binomial(adopters, rate) (stream "revert"), when ``revert``.

    Terms that are neutral for a mechanism switched off are exact (a factor of 1.0,
    a sabotage of 0), so computing them gives the bits of skipping them. Returns how
    many draws were left as :data:`~cxsim.rng.LARGE`.
    """
    D, R = adopters.shape
    share = _adopters_total(adopters)
    for r in range(R):
        share[r] /= total[r]
    rows = np.empty((5, R))  # (lead, conditions, push, peers, others) of one department
    lead, conditions, push, peers, others = rows[0], rows[1], rows[2], rows[3], rows[4]
    work = scratch(R)
    large = 0
    for d in range(D):
        # Each loop reads a few arrays and writes one, without branches, so that it vectorizes.
        e = dept_exec[d]
        b, j, cov, a, h = buy_in[e], jealousy[e], covert[e], adopters[d], head[d]
        for r in range(R):
            lead[r] = b[r] * (1.0 - j[r] * sabotage_w[r] * (1.0 if cov[r] else 0.0))
        rd, sk, si = readiness[d], skill[d], silo[d]
        for r in range(R):
            conditions[r] = ((rd[r] * 2.0 - 1.0) * readiness_w[r] + 1.0) * (
                (sk[r] * 2.0 - 1.0) * skill_w[r] + 1.0) * (1.0 - si[r] * silo_w[r])
        for r in range(R):
            push[r] = ((lead[r] * 2.0 - 1.0) * leadership_w[r] + 1.0) * (
                (owner_push[r] * 2.0 - 1.0) * owner_w[r] + 1.0) * conditions[r]
        for r in range(R):
            peers[r] = a[r] / h[r] * (1.0 - cross[r]) + cross[r] * share[r]
        hz = hazard[d]
        for r in range(R):
            x = (push[r] * p_push[r] + conditions[r] * q_imitate[r] * peers[r]) / load[r]
            x = 0.0 if x < 0.0 else x
            hz[r] = 1.0 if x > 1.0 else x
        for r in range(R):
            others[r] = h[r] - a[r]
        large += binomial_row(others, hz, keys, mixed_adopt[d], adopt[d], work)
        if revert:
            rt = rate[d]
            for r in range(R):
                t = theta[r] - (lead[r] * 0.4 + 0.4 * owner_push[r] + 0.2 * resources[r])
                t = 0.0 if t < 0.0 else t
                rt[r] = t * reversion[r] / max(theta[r], 1e-12)
            large += binomial_row(a, rt, keys, mixed_revert[d], back[d], work)
        else:
            back[d] = 0.0
    return large


def skill(m) -> None:
    """Learning by doing: skill grows with the department's adoption."""
    p = m.params
    enabled = _mask(on(m, "skill.enabled"))
    if enabled is False or m.D == 0:
        return
    _skill_kernel(m.skill, m.adopters, _head(m), _columns(m.R)(p["skill.learning_rate"]),
                  _flags(enabled, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _skill_kernel(skill, adopters, head, rate, enabled):
    """Skill += ((adopted share) * rate) * (1 - skill), clipped, where ``enabled``."""
    D, R = skill.shape
    for d in range(D):
        for r in range(R):  # (new value, then kept where enabled: no branch, so the loop vectorizes)
            s0 = skill[d, r]
            x = s0 + adopters[d, r] / head[d, r] * rate[r] * (1.0 - s0)
            x = 0.0 if x < 0.0 else x
            x = 1.0 if x > 1.0 else x
            skill[d, r] = x if enabled[r] else s0


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
    col = _columns(m.R)
    lam = col(_pick(on(m, "journey.enabled"), p["journey.weak_link_exponent"], 1.0))
    m.cx = np.empty(m.R)
    _journey_kernel(*_stage_terms(m.st), m.adopters, _head(m), col(base), lam, m.cx)


def _stage_terms(st):
    """The serving departments of each stage, for :func:`_journey_kernel` (cached on the structure).

    ``(start, dept, weights)``: stage s's terms are ``start[s] .. start[s + 1] - 1``, in
    department order; ``weights`` is ``(terms, 1)``, or ``(terms, R)`` when stacked
    points differ in headcounts. A department with weight 0 in every replication adds
    an exact 0 to the sum and is left out.
    """
    terms = getattr(st, "_stage_terms", None)
    if terms is None:
        sw = st.stage_weights
        w = sw.w if hasattr(sw, "w") else np.asarray(sw, dtype=np.float64)[:, :, None]  # (S, D, R) or (S, D, 1)
        used = (w != 0.0).any(axis=2)
        stage, dept = np.nonzero(used)  # row-major: stage by stage, departments ascending
        start = np.searchsorted(stage, np.arange(w.shape[0] + 1))
        terms = (start.astype(np.int64), dept.astype(np.int64), np.ascontiguousarray(w[stage, dept]))
        st._stage_terms = terms
    return terms


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _journey_kernel(start, dept, weights, adopters, head, base, lam, cx):
    """Stage quality and its power mean, per replication r.

    quality[s] = base + (1 - base) * sum over stage s's terms of weight * adopters[d] / head[d]
    (summed in department order from 0, as :func:`~cxsim.engine.agent_dot`);
    cx = (mean_s max(quality, 1e-12) ** lam) ** (1 / lam), with the limits lam = 1
    (arithmetic mean) and lam = 0 (geometric mean, |lam| < 1e-9).
    """
    S = start.size - 1
    D, R = adopters.shape
    per_rep = weights.shape[1] > 1
    share = np.empty((D, R))
    for d in range(D):
        for r in range(R):
            share[d, r] = adopters[d, r] / head[d, r]
    acc = np.empty(R)
    total = np.zeros(R)
    for s in range(S):
        acc[:] = 0.0
        for t in range(start[s], start[s + 1]):
            d = dept[t]
            for r in range(R):
                acc[r] += weights[t, r if per_rep else 0] * share[d, r]
        for r in range(R):
            q = acc[r] * (1.0 - base[r]) + base[r]
            lr = lam[r]
            if lr == 1.0:
                total[r] += q
            elif abs(lr) < 1e-9:
                total[r] += math.log(max(q, 1e-12))
            else:
                total[r] += max(q, 1e-12) ** lr
    for r in range(R):
        lr = lam[r]
        if lr == 1.0:
            cx[r] = total[r] / S
        elif abs(lr) < 1e-9:
            cx[r] = math.exp(total[r] / S)
        else:
            cx[r] = (total[r] / S) ** (1.0 / lr)
