"""The engine: the state of a batch of replications as arrays, advanced one week at a time.

One engine advances one interactive model (R = 1) or a batch of 10,000
replications with the same rule code. Arrays are laid out agents-first,
replications-last: executives ``(E, R)``, departments ``(D, R)``, organization
``(R,)``. Rules are elementwise over replications; sums over agents are taken in
a fixed order (:func:`agent_sum`) so that a replication's numbers never depend on
how many other replications share its batch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import submodels
from .rng import Streams, replication_keys
from .scenario import Scenario

__all__ = ["Structure", "Engine", "SCHEDULE", "agent_sum", "agent_dot"]


def agent_sum(a: np.ndarray) -> np.ndarray:
    """Sum over the first (agent) axis in a fixed order; shape ``(n, R) -> (R,)``.

    The order is ``((0 + a[0]) + a[1]) + ...`` for every replication. With two or
    more replications numpy's ``add.reduce`` over axis 0 of a C-contiguous array
    runs in exactly this order (row by row, elementwise over R); with one
    replication it would switch to pairwise summation, so a single column is
    summed in an explicit loop. tests/test_engine.py compares the two paths
    bitwise (a column alone against the same column inside a batch).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] >= 2:
        return np.add.reduce(np.ascontiguousarray(a), axis=0, initial=0.0)
    if a.ndim == 2 and a.shape[1] == 1:  # one replication (interactive): Python floats, same additions
        total = 0.0
        for x in a[:, 0].tolist():
            total += x
        return np.array([total])
    out = np.zeros(a.shape[1:], dtype=np.float64)
    for row in a:
        out += row
    return out


@functools.lru_cache(maxsize=32)
def _dot_plan(shape: tuple[int, int], data: bytes):
    """How :func:`agent_dot` walks a weight matrix: by columns, or by each row's nonzero terms."""
    w = np.frombuffer(data, dtype=np.float64).reshape(shape)
    cols = [k for k in range(shape[1]) if w[:, k].any()]
    nnz = [np.flatnonzero(w[i]) for i in range(shape[0])]
    slots = max((len(c) for c in nnz), default=0)
    if shape[0] and 3 * slots < 2 * len(cols):
        # Slot j holds the j-th nonzero term of every row (in column order); rows with
        # fewer terms get weight 0, which adds an exact +0.
        index = np.zeros((slots, shape[0]), dtype=np.int64)
        weight = np.zeros((slots, shape[0], 1))
        for i, c in enumerate(nnz):
            index[:len(c), i] = c
            weight[:len(c), i, 0] = w[i, c]
        return "rows", list(zip(index, weight))
    return "cols", [(k, w[:, k, None].copy()) for k in cols]


def agent_dot(weights: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``weights @ a`` for ``weights (m, n)`` and finite ``a (n, R)``, summed in a fixed order.

    Each output is ``((0 + w[i, k1] a[k1]) + w[i, k2] a[k2]) + ...`` over the
    nonzero weights in column order. Terms with a zero weight are skipped: they
    are +-0, and a sum that starts at +0 is never -0, so adding them changes
    nothing (bit for bit).
    """
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    out = np.zeros((weights.shape[0],) + a.shape[1:], dtype=np.float64)
    how, plan = _dot_plan(weights.shape, weights.tobytes())
    t = np.empty_like(out)
    if how == "rows":
        for index, weight in plan:
            np.multiply(weight, a.take(index, axis=0), out=t)
            out += t
    else:
        for k, col in plan:
            np.multiply(col, a[k][None, :], out=t)
            out += t
    return out


@dataclass
class Structure:
    """What does not change during a run: who is who, headcounts, the network, the journey."""

    exec_ids: list[str]
    exec_titles: list[str]
    dept_ids: list[str]
    dept_names: list[str]
    stage_ids: list[str]
    headcount: np.ndarray  # (D,) float, whole numbers
    dept_exec: np.ndarray  # (D,) int index of the owning executive
    front: np.ndarray  # (D,) bool
    stage_weights: np.ndarray  # (S, D): headcount shares of serving departments
    influence_matrix: np.ndarray  # (E, E) row-normalized, W[i, j] = weight i gives j
    exec_influence: np.ndarray  # (E,) formal power
    ceo: int
    total_headcount: float
    load: float  # amount-of-change factor (>= 0; 1 is the reference)

    @property
    def self_weights(self) -> np.ndarray:
        """(E,) the weight each executive gives their own true view."""
        return np.diagonal(self.influence_matrix)

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "Structure":
        ex, de, st = sc.executives, sc.departments, sc.stages
        eidx = {e["id"]: i for i, e in enumerate(ex)}
        didx = {d["id"]: i for i, d in enumerate(de)}
        scale = sc["organization.headcount_scale"]
        head = np.array([max(1.0, float(round(d["headcount"] * scale))) for d in de], dtype=np.float64)
        sw = np.zeros((len(st), len(de)))
        for s_i, s in enumerate(st):
            for ref in s["departments"]:
                sw[s_i, didx[ref]] = head[didx[ref]]
            sw[s_i] /= sw[s_i].sum()
        E = len(ex)
        W = np.zeros((E, E))
        W[np.arange(E), np.arange(E)] = sc["social_influence.self_weight"]
        for edge in sc.influence:
            W[eidx[edge["listener"]], eidx[edge["speaker"]]] += edge["weight"]
        if E:
            W /= W.sum(axis=1, keepdims=True)
        total = float(head.sum())
        load = 1.0
        if sc["change_load.enabled"] and len(de):
            load = (total / sc["change_load.reference_headcount"]) ** sc["change_load.headcount_elasticity"] * (
                len(de) / sc["change_load.reference_departments"]
            ) ** sc["change_load.department_elasticity"]
        return cls(
            exec_ids=[e["id"] for e in ex],
            exec_titles=[e["title"] or e["id"] for e in ex],
            dept_ids=[d["id"] for d in de],
            dept_names=[d["name"] or d["id"] for d in de],
            stage_ids=[s["id"] for s in st],
            headcount=head,
            dept_exec=np.array([eidx[d["executive"]] for d in de], dtype=np.int64),
            front=np.array([d["office"] == "front" for d in de], dtype=bool),
            stage_weights=sw,
            influence_matrix=W,
            exec_influence=np.array([e["influence"] for e in ex], dtype=np.float64),
            ceo=next((i for i, e in enumerate(ex) if e["ceo"]), 0),
            total_headcount=total,
            load=float(load),
        )


# The weekly schedule, in the order of docs/ODD.md section 3 ("Process overview").
SCHEDULE = (
    submodels.sponsorship,
    submodels.committee,
    submodels.politics,
    submodels.social_influence,
    submodels.persuasion,
    submodels.business_case,
    submodels.attrition,
    submodels.mandate,
    submodels.readiness,
    submodels.employee_adoption,
    submodels.skill,
    submodels.journey,
)


class Engine:
    """State and rules for a batch of replications of one scenario.

    Args:
        scenario: a validated :class:`~cxsim.scenario.Scenario`.
        replications: the replication indices (their random streams), e.g.
            ``np.arange(1000)``; replication k is the same whatever else runs with it.
        seed: the run's seed.

    The engine's ``params`` dict may be changed between steps (levers); the next
    step uses the new values.
    """

    def __init__(self, scenario: Scenario, replications, seed: int = 0):
        self.scenario = scenario
        self.params = dict(scenario.params)
        self.replications = np.asarray(replications, dtype=np.int64).ravel()
        self.seed = int(seed)
        self.rng = Streams(replication_keys(self.seed, self.replications))
        self.st = Structure.from_scenario(scenario)
        self.R = self.replications.size
        self.E = len(self.st.exec_ids)
        self.D = len(self.st.dept_ids)
        self.week = 0
        self.owner = self.st.exec_ids.index(self.params["owner.executive"]) if self.E else 0
        submodels.initialize(self)

    # -- the schedule ---------------------------------------------------------------
    def step(self) -> None:
        """Advance every replication by one week, running the submodels in ODD order."""
        self.begin_week()
        for rule in SCHEDULE:
            rule(self)
        self.week += 1

    def begin_week(self) -> None:
        """Clear the per-week event counters before the submodels run."""
        R = self.R
        self.ev_owner_left = np.zeros(R, dtype=bool)
        self.ev_successor = np.zeros(R, dtype=bool)
        self.ev_budget_cut = np.zeros(R, dtype=bool)
        self.ev_detected = np.zeros(R, dtype=np.int64)
        self.committee_met = False

    def set_owner(self, exec_id: str) -> None:
        """Hand CX ownership to another executive (a lever): a new owner starts fresh."""
        self.params["owner.executive"] = exec_id
        self.owner = self.st.exec_ids.index(exec_id)
        self.credibility[:] = np.where(self.owner_present, self.params["owner.initial_credibility"], self.credibility)
        self.jealousy[self.owner] = 0.0
