"""What a run measures: per-week metrics and per-replication outcomes, as pure functions of state.

Per week (``METRICS``): each a top-level function of the engine returning one
value per replication. Per department and per executive: ``adoption:<dept>``,
``buy_in:<exec>`` and ``expressed:<exec>``. Events per week: ``EVENTS``.
Per replication (``outcomes``): ``final_adoption``, ``weeks_to_50``,
``weeks_to_80``, ``success``, ``owner_departures`` and more.
"""

from __future__ import annotations

import numba
import numpy as np

from .engine import agent_sum
from .submodels import adoption_share, expressed_view

__all__ = ["METRICS", "EVENTS", "OUTCOMES", "Recorder", "outcomes", "first_week_at"]


def adoption(m):
    """Headcount-weighted share of employees who have adopted CX practices."""
    return adoption_share(m)


def buy_in(m):
    """Mean true (private) buy-in of the executives."""
    return agent_sum(m.buy_in) / m.E if m.E else np.zeros(m.R)


def expressed_buy_in(m):
    """Mean expressed (public) buy-in of the executives."""
    return agent_sum(expressed_view(m)) / m.E if m.E else np.zeros(m.R)


def covert_resisters(m):
    """Executives playing along in public while resisting in private."""
    return agent_sum(m.covert.astype(np.float64))


def jealousy(m):
    """Mean jealousy toward the owner among the other executives."""
    if m.E <= 1:
        return np.zeros(m.R)
    return (agent_sum(m.jealousy) - m.jealousy[m.owner]) / (m.E - 1)


def owner_credibility(m):
    """Credibility of the CX owner (of the last owner while the post is vacant)."""
    return m.credibility.copy()


def owner_present(m):
    """1 while the owner's post is filled, 0 while it is vacant."""
    return m.owner_present.astype(np.float64)


def budget_spent(m):
    """Program budget spent this week (k-currency)."""
    return m.spent.copy()


def readiness(m):
    """Headcount-weighted mean readiness for change."""
    return _weighted(m, m.readiness)


def skill(m):
    """Headcount-weighted mean CX skill."""
    return _weighted(m, m.skill)


def cx_index(m):
    """CX index over the journey's stages (weak links punished)."""
    return m.cx.copy()


def results(m):
    """Business results as executives see them (lagged CX gain)."""
    return m.results.copy()


def fatigue(m):
    """Change fatigue in the organization."""
    return m.fatigue.copy()


def _weighted(m, a):
    if m.D == 0:
        return np.zeros(m.R)
    return agent_sum(a * m.st.head) / m.st.total_headcount


METRICS = {
    f.__name__: f
    for f in (
        adoption, buy_in, expressed_buy_in, covert_resisters, jealousy, owner_credibility, owner_present,
        budget_spent, readiness, skill, cx_index, results, fatigue,
    )
}

def owner_left(m):
    """1 in the week the CX owner left (or was pushed out)."""
    return m.ev_owner_left.astype(np.float64)


def successor_arrived(m):
    """1 in the week a successor took over the vacant owner's post."""
    return m.ev_successor.astype(np.float64)


def budget_cut(m):
    """1 in a week the CX budget was cut."""
    return m.ev_budget_cut.astype(np.float64)


def resistance_detected(m):
    """Covert resisters the committee saw this week."""
    return m.ev_detected.astype(np.float64)


def committee_met(m):
    """1 in a week the CX committee met (a bool, or a per-replication mask when points are stacked)."""
    return np.full(m.R, m.committee_met, dtype=np.float64)


# Events of the week just simulated (recorded at the tick they lead to).
EVENTS = {f.__name__: f for f in (owner_left, successor_arrived, budget_cut, resistance_detected, committee_met)}

OUTCOMES = (
    "final_adoption", "weeks_to_50", "weeks_to_80", "success", "owner_departures",
    "first_owner_tenure", "peak_adoption", "final_cx_index", "final_buy_in", "detections",
)


class Recorder:
    """Per-week metrics of an engine, kept as arrays ``(ticks + 1, R)`` (tick 0 = initial state)."""

    def __init__(self, m, ticks: int, per_agent: bool = True):
        self.m, self.per_agent = m, per_agent
        n = ticks + 1
        self.n = 0
        self.series = {k: np.zeros((n, m.R), dtype=np.float32) for k in (*METRICS, *EVENTS)}
        if per_agent:
            self.dept = np.zeros((n, m.D, m.R), dtype=np.float32)
            self.exec_true = np.zeros((n, m.E, m.R), dtype=np.float32)
            self.exec_expr = np.zeros((n, m.E, m.R), dtype=np.float32)
        # Outcomes need full precision of adoption, kept separately.
        self.adoption64 = np.zeros((n, m.R))
        self.detections = np.zeros(m.R)
        self.record()

    def grow(self, extra: int) -> None:
        """Make room for ``extra`` more weeks (interactive models run open-ended)."""
        def pad(a):
            return np.concatenate([a, np.zeros((extra,) + a.shape[1:], dtype=a.dtype)])

        self.series = {k: pad(v) for k, v in self.series.items()}
        self.adoption64 = pad(self.adoption64)
        if self.per_agent:
            self.dept, self.exec_true, self.exec_expr = pad(self.dept), pad(self.exec_true), pad(self.exec_expr)

    def select(self, cols: np.ndarray, view) -> "Recorder":
        """A recorder holding only replications (columns) ``cols``, attached to ``view`` (their engine columns)."""
        out = object.__new__(Recorder)
        out.m, out.per_agent, out.n = view, self.per_agent, self.n
        cols = np.asarray(cols)
        if cols.size and (np.diff(cols) == 1).all():
            cols = slice(int(cols[0]), int(cols[-1]) + 1)  # consecutive columns: views, no copies
        out.series = {k: v[:, cols] for k, v in self.series.items()}
        out.adoption64 = self.adoption64[:, cols]
        out.detections = self.detections[cols]
        if self.per_agent:
            out.dept, out.exec_true, out.exec_expr = (a[:, :, cols]
                                                      for a in (self.dept, self.exec_true, self.exec_expr))
        return out

    def record(self) -> None:
        """Record the engine's current state as the next tick."""
        m, t = self.m, self.n
        if t >= self.adoption64.shape[0]:
            self.grow(max(52, t))
        if not self._record_fast(m, t):
            self._record_numpy(m, t)
        self.n = t + 1

    def _record_numpy(self, m, t: int) -> None:
        """Tick ``t`` from the metric functions themselves (the reference for :func:`_record_kernel`)."""
        self.adoption64[t] = adoption_share(m)
        for k, f in METRICS.items():
            # (adoption is adoption_share, just computed)
            self.series[k][t] = self.adoption64[t] if f is adoption else f(m)
        if t > 0:
            for k, f in EVENTS.items():
                self.series[k][t] = f(m)
            self.detections += m.ev_detected
        if self.per_agent:
            if m.D:
                np.divide(m.adopters, m.st.head, out=self.dept[t])
            self.exec_true[t] = m.buy_in
            self.exec_expr[t] = expressed_view(m)

    def _record_fast(self, m, t: int) -> bool:
        """Tick ``t`` in one call of :func:`_record_kernel`; False (nothing written) for state it does not take."""
        R, E, D = m.R, m.E, m.D
        buy, jeal, covert, adopters, ready, skill = m.buy_in, m.jealousy, m.covert, m.adopters, m.readiness, m.skill
        head, met = m.st.head, m.committee_met
        if type(met) in (bool, np.bool_):
            met = np.full(R, met)
        flags = m.owner_present, m.ev_owner_left, m.ev_successor, m.ev_budget_cut, met
        ok = (R > 0 and _is(buy, (E, R)) and _is(jeal, (E, R)) and _is(covert, (E, R), np.bool_)
              and _is(adopters, (D, R)) and _is(ready, (D, R)) and _is(skill, (D, R))
              and type(head) is np.ndarray and head.shape in ((D, 1), (D, R)) and head.dtype == np.float64
              and all(_is(x, (R,), np.bool_) for x in flags) and _is(m.ev_detected, (R,), np.int64)
              and _is(self.detections, (R,)) and self.adoption64.shape[1:] == (R,))
        if self.per_agent:
            per_agent = (self.dept[t], self.exec_true[t], self.exec_expr[t])
            ok = ok and per_agent[0].shape == (D, R) and per_agent[1].shape == per_agent[2].shape == (E, R)
        else:
            per_agent = (_NO_ROWS, _NO_ROWS, _NO_ROWS)
        if not ok:
            return False
        _record_kernel(
            buy, jeal, covert, _column(m.pressure, R), m.owner, adopters, ready, skill, head,
            _column(m.st.total_headcount, R), *(_column(x, R) for x in (m.credibility, m.spent, m.cx, m.results,
                                                                         m.fatigue)),
            *flags, m.ev_detected, t > 0, self.detections, self.adoption64[t],
            tuple([self.series[k][t] for k in _KERNEL_SERIES]), self.per_agent, *per_agent)
        return True


# The order of the series rows :func:`_record_kernel` fills.
_KERNEL_SERIES = (
    "adoption", "buy_in", "expressed_buy_in", "covert_resisters", "jealousy", "owner_credibility", "owner_present",
    "budget_spent", "readiness", "skill", "cx_index", "results", "fatigue",
    "owner_left", "successor_arrived", "budget_cut", "resistance_detected", "committee_met",
)
assert set(_KERNEL_SERIES) == {*METRICS, *EVENTS} and len(_KERNEL_SERIES) == len(METRICS) + len(EVENTS)
_NO_ROWS = np.zeros((0, 0), dtype=np.float32)


def _is(a, shape: tuple, dtype=np.float64) -> bool:
    """Whether ``a`` is a plain ndarray of ``shape`` and ``dtype`` (what :func:`_record_kernel` takes)."""
    return type(a) is np.ndarray and a.shape == shape and a.dtype == dtype


def _column(x, R: int) -> np.ndarray:
    """``x`` (a number, or one per replication) as a writeable contiguous float64 ``(R,)`` array."""
    if type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (R,) and x.flags.c_contiguous \
            and x.flags.writeable:
        return x
    out = np.empty(R)
    out[...] = x  # np.full(R, x, dtype=np.float64), or x.astype(np.float64) for an array
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _record_kernel(buy_in, jealousy, covert, pressure, owner, adopters, readiness, skill, head, total,
                   credibility, spent, cx, results, fatigue, present, ev_left, ev_successor, ev_cut, met,
                   ev_detected, events, detections, adoption64, rows, per_agent, dept, exec_true, exec_expr):
    """Every metric of a tick in one pass: the arithmetic of :data:`METRICS` and :data:`EVENTS`, bit for bit.

    ``rows`` are the tick's series rows in the order of ``_KERNEL_SERIES`` (the events'
    only when ``events``); ``adoption64`` gets the float64 adoption. Sums over agents run
    ((0 + a[0]) + a[1]) + ... per replication, as :func:`~cxsim.engine.agent_sum`, into
    ``(R,)`` accumulators; every value is computed in float64 and rounded to float32 on
    store, as numpy's assignment does. A covert executive expresses
    ``np.maximum(buy_in, pressure)`` (NaN if either is, else the larger; ``pressure`` on
    a tie), as :func:`~cxsim.submodels.expressed_view`. ``pressure``, ``total``,
    ``credibility``, ... are float64 ``(R,)`` columns; ``head`` is ``(D, 1)`` or ``(D, R)``.
    """
    E, R = buy_in.shape
    D = adopters.shape[0]
    s_buy, s_expr, s_covert, s_jeal = np.zeros(R), np.zeros(R), np.zeros(R), np.zeros(R)
    for e in range(E):
        for r in range(R):
            b = buy_in[e, r]
            p = pressure[r]
            c = covert[e, r]
            x = (b if (b > p) | (b != b) else p) if c else b
            s_buy[r] += b
            s_expr[r] += x
            s_covert[r] += 1.0 if c else 0.0
            s_jeal[r] += jealousy[e, r]
            if per_agent:  # (loop-invariant: the compiler takes it out of the loop)
                exec_true[e, r] = np.float32(b)
                exec_expr[e, r] = np.float32(x)
    s_adopt, s_ready, s_skill, h_one = np.zeros(R), np.zeros(R), np.zeros(R), np.empty(R)
    for d in range(D):
        if head.shape[1] == R:
            h_d = head[d]
        else:
            h_one[:] = head[d, 0]
            h_d = h_one
        for r in range(R):
            a = adopters[d, r]
            h = h_d[r]
            s_adopt[r] += a
            s_ready[r] += readiness[d, r] * h
            s_skill[r] += skill[d, r] * h
            if per_agent:  # (loop-invariant: the compiler takes it out of the loop)
                dept[d, r] = np.float32(a / h)
    for r in range(R):  # (0 without departments)
        adoption64[r] = s_adopt[r] / total[r] if D else 0.0
    _store(adoption64, rows[0])
    _mean(s_buy, E, rows[1])
    _mean(s_expr, E, rows[2])
    _store(s_covert, rows[3])
    if E > 1:
        for r in range(R):
            rows[4][r] = np.float32((s_jeal[r] - jealousy[owner, r]) / (E - 1))
    else:
        rows[4][:] = 0.0
    _store(credibility, rows[5])
    _store_flag(present, rows[6])
    _store(spent, rows[7])
    _ratio(s_ready, total, D, rows[8])
    _ratio(s_skill, total, D, rows[9])
    _store(cx, rows[10])
    _store(results, rows[11])
    _store(fatigue, rows[12])
    if events:
        _store_flag(ev_left, rows[13])
        _store_flag(ev_successor, rows[14])
        _store_flag(ev_cut, rows[15])
        for r in range(R):
            n = np.float64(ev_detected[r])  # (int64 -> float64 -> float32, as astype(np.float64))
            rows[16][r] = np.float32(n)
            detections[r] += n
        _store_flag(met, rows[17])


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _store(src, row):
    for r in range(src.shape[0]):
        row[r] = np.float32(src[r])


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _store_flag(flag, row):
    for r in range(flag.shape[0]):
        row[r] = np.float32(1.0 if flag[r] else 0.0)


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _mean(s, n, row):
    """``s / n``, zeros when ``n`` is 0, rounded into ``row``."""
    for r in range(s.shape[0]):
        row[r] = np.float32(s[r] / n if n else 0.0)


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _ratio(s, total, D, row):
    """``s / total``, zeros without departments, rounded into ``row``."""
    for r in range(s.shape[0]):
        row[r] = np.float32(s[r] / total[r] if D else 0.0)


def first_week_at(series: np.ndarray, level: float) -> np.ndarray:
    """First tick at which ``series (T+1, R)`` reaches ``level``; NaN where it never does."""
    hit = series >= level
    first = np.argmax(hit, axis=0).astype(np.float64)
    first[~hit.any(axis=0)] = np.nan
    return first


def outcomes(rec: Recorder) -> dict[str, np.ndarray]:
    """Per-replication outcomes from a finished recording."""
    m, n = rec.m, rec.n
    a = rec.adoption64[:n]
    final = a[-1]
    return {
        "final_adoption": final,
        "weeks_to_50": first_week_at(a, 0.5),
        "weeks_to_80": first_week_at(a, 0.8),
        "success": final >= m.params["run.success_threshold"],
        "owner_departures": m.departures.copy(),
        "first_owner_tenure": m.first_tenure.copy(),
        "peak_adoption": a.max(axis=0),
        "final_cx_index": m.cx.copy(),
        "final_buy_in": buy_in(m),
        "detections": rec.detections.astype(np.int64),
    }
