"""What a run measures: per-week metrics and per-replication outcomes, as pure functions of state.

Per week (``METRICS``): each a top-level function of the engine returning one
value per replication. Per department and per executive: ``adoption:<dept>``,
``buy_in:<exec>`` and ``expressed:<exec>``. Events per week: ``EVENTS``.
Per replication (``outcomes``): ``final_adoption``, ``weeks_to_50``,
``weeks_to_80``, ``success``, ``owner_departures`` and more.
"""

from __future__ import annotations

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
        self.n = t + 1


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
