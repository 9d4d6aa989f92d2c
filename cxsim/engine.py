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
from .params import PARAMS
from .rng import Streams, replication_keys
from .scenario import Scenario

__all__ = ["Structure", "Engine", "SCHEDULE", "agent_sum", "agent_dot", "stack_key", "RepWeights"]


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


class RepWeights:
    """A weight matrix that differs between replications, ``(m, n, R)``, prepared for :func:`agent_dot`.

    Stacked design points may differ in headcounts (stage weights) or influence
    weights; their zero pattern may differ too. Column k's weights are kept as a
    contiguous ``(m, R)`` block, for every column that is nonzero somewhere.
    """

    def __init__(self, w: np.ndarray):
        w = np.asarray(w, dtype=np.float64)
        self.shape = w.shape
        self.w = np.ascontiguousarray(w)
        self.cols = [(k, np.ascontiguousarray(w[:, k, :])) for k in range(w.shape[1]) if w[:, k, :].any()]
        self.diagonal = np.ascontiguousarray(np.diagonal(w, axis1=0, axis2=1).T) if w.shape[0] == w.shape[1] else None


def agent_dot(weights, a: np.ndarray) -> np.ndarray:
    """``weights @ a`` for ``weights (m, n)`` and finite ``a (n, R)``, summed in a fixed order.

    Each output is ``((0 + w[i, k1] a[k1]) + w[i, k2] a[k2]) + ...`` over the
    nonzero weights in column order. Terms with a zero weight are skipped: they
    are +-0, and a sum that starts at +0 is never -0, so adding them changes
    nothing (bit for bit). ``weights`` may also be a :class:`RepWeights` (one
    matrix per replication): the same sums, term by term, for each replication.
    """
    if isinstance(weights, RepWeights):
        a = np.asarray(a, dtype=np.float64)
        out = np.zeros((weights.shape[0],) + a.shape[1:], dtype=np.float64)
        t = np.empty_like(out)
        for k, col in weights.cols:
            np.multiply(col, a[k][None, :], out=t)
            out += t
        return out
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

    # In a stacked engine (several design points), the numeric fields that differ
    # between points hold one value per replication: headcount (D, R), stage_weights
    # and influence_matrix as RepWeights, exec_influence (E, R), total_headcount,
    # influence_total and load (R,). The rules use the views below, which broadcast
    # against (E, R) and (D, R) state either way.

    def __post_init__(self):
        h = np.asarray(self.headcount)
        self.head = h[:, None] if h.ndim == 1 else h  # (D, 1) or (D, R)
        w = self.exec_influence
        self.influence_col = w[:, None] if w.ndim == 1 else w  # (E, 1) or (E, R)
        if isinstance(self.influence_matrix, RepWeights):
            self.self_col = self.influence_matrix.diagonal  # (E, R)
        else:
            self.self_col = np.diagonal(self.influence_matrix)[:, None]  # (E, 1)
        if w.ndim == 1:
            # the committee's weighted mean divides by this (1 when nobody has formal power)
            self.influence_total = float(w.sum()) or 1.0

    @property
    def self_weights(self) -> np.ndarray:
        """(E,) the weight each executive gives their own true view."""
        return np.diagonal(self.influence_matrix)

    # fields that may differ between stacked design points, with their per-point shape's trailing axis
    PER_REPLICATION = ("headcount", "stage_weights", "influence_matrix", "exec_influence", "total_headcount",
                       "influence_total", "load")

    @classmethod
    def stack(cls, structures: list["Structure"], point_of: np.ndarray) -> "Structure":
        """One structure for replications of several design points (``point_of[r]`` indexes ``structures``).

        Requires the same layout (:func:`stack_key`); numeric fields that differ get
        one value per replication, each exactly the value of its point's own structure.
        """
        first = structures[0]
        if len(structures) == 1 or all(_same_structure(first, s) for s in structures[1:]):
            return first
        fields = {}
        for name in cls.__dataclass_fields__:
            fields[name] = getattr(first, name)
        for name in cls.PER_REPLICATION:
            values = [getattr(s, name) for s in structures]
            if all(_same_bits(values[0], v) for v in values[1:]):
                continue
            per = np.stack([np.asarray(v, dtype=np.float64) for v in values], axis=-1)[..., point_of]
            per = np.ascontiguousarray(per)
            fields[name] = RepWeights(per) if name in ("stage_weights", "influence_matrix") else per
        fields.pop("influence_total", None)  # (not a constructor argument; set below)
        out = cls(**fields)
        if isinstance(fields["exec_influence"], np.ndarray) and fields["exec_influence"].ndim == 2:
            out.influence_total = np.ascontiguousarray(
                np.array([s.influence_total for s in structures], dtype=np.float64)[point_of])
        return out

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "Structure":
        """The structure of one scenario (headcounts scaled, influence rows normalized, change load)."""
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
        load = change_load(sc, total) if sc["change_load.enabled"] and len(de) else 1.0
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


def functions_and_interfaces(sc: Scenario) -> tuple[int, int]:
    """The organization's structure as change load reads it: functions involved, and journey interfaces.

    A function is an executive with at least one department. An interface is a
    pair of functions that serve a common journey stage (the customer is handed
    from one to the other). Neither depends on how finely a function's
    departments are listed.
    """
    owner_of = {d["id"]: d["executive"] for d in sc.departments}
    functions = len(set(owner_of.values()))
    pairs = set()
    for stage in sc.stages:
        serving = sorted({owner_of[ref] for ref in stage["departments"]})
        pairs.update((a, b) for i, a in enumerate(serving) for b in serving[i + 1:])
    return functions, len(pairs)


def change_load(sc: Scenario, headcount: float) -> float:
    """Amount of change *L*: grows with headcount, functions and journey interfaces (1 at the references)."""
    functions, interfaces = functions_and_interfaces(sc)
    return ((headcount / sc["change_load.reference_headcount"]) ** sc["change_load.headcount_elasticity"]
            * (functions / sc["change_load.reference_functions"]) ** sc["change_load.function_elasticity"]
            * (max(interfaces, 1) / sc["change_load.reference_interfaces"]) ** sc["change_load.interface_elasticity"])


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _same_structure(a: Structure, b: Structure) -> bool:
    return all(_same_bits(getattr(a, n), getattr(b, n)) for n in Structure.PER_REPLICATION)


def stack_key(sc: Scenario) -> tuple:
    """What scenarios must share to run in one engine: the organization's layout and the CX owner.

    Who the executives and departments are, who reports to whom, which departments
    serve which journey stages, and the owner. Everything else (parameters,
    headcounts, influence weights, initial values) may differ between stacked
    design points.
    """
    return (
        tuple((e["id"], e["title"], e["ceo"]) for e in sc.executives),
        tuple((d["id"], d["name"], d["office"], d["executive"]) for d in sc.departments),
        tuple((s["id"], tuple(s["departments"])) for s in sc.stages),
        sc.params["owner.executive"],
    )


def _same_value(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and np.signbit(a) == np.signbit(b)
    return a == b


def stack_params(params: list[dict], point_of: np.ndarray) -> dict:
    """Merge the parameter dicts of several design points.

    A value equal at every point stays a Python scalar (the rules' fast path, as
    for one scenario); one that differs becomes an array with one value per
    replication: float64, int64, bool, or str for choices.
    """
    out = {}
    dtypes = {float: np.float64, int: np.int64, bool: np.bool_}
    for key, v0 in params[0].items():
        values = [p[key] for p in params]
        if all(_same_value(v0, v) for v in values[1:]):
            out[key] = v0
        else:
            kind = PARAMS[key].kind if key in PARAMS else type(v0)
            dtype = dtypes.get(kind, np.str_)
            out[key] = np.ascontiguousarray(np.array(values, dtype=dtype)[point_of])
    return out


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
    """State and rules for a batch of replications of one scenario, or of several stacked design points.

    Args:
        scenario: a validated :class:`~cxsim.scenario.Scenario`, or a list of
            scenarios with the same :func:`stack_key` (design points).
        replications: the replication indices (their random streams), e.g.
            ``np.arange(1000)``; replication k is the same whatever else runs with it.
        seed: the run's seed.
        point_of: with a list of scenarios, which scenario each replication
            belongs to (indices into the list, one per replication).

    The engine's ``params`` dict may be changed between steps (levers); the next
    step uses the new values. In a stacked engine a parameter that differs between
    the points is an array with one value per replication (see :func:`stack_params`);
    replication k of a point gives exactly the numbers it gives in its own engine.
    """

    def __init__(self, scenario, replications, seed: int = 0, point_of=None):
        scenarios = list(scenario) if isinstance(scenario, (list, tuple)) else [scenario]
        self.replications = np.asarray(replications, dtype=np.int64).ravel()
        self.R = self.replications.size
        if point_of is None:
            if len(scenarios) != 1:
                raise ValueError("point_of is required with several scenarios")
            point_of = np.zeros(self.R, dtype=np.int64)
        self.point_of = np.asarray(point_of, dtype=np.int64).ravel()
        if self.point_of.size != self.R:
            raise ValueError("point_of needs one entry per replication")
        key = stack_key(scenarios[0])
        for sc in scenarios[1:]:
            if stack_key(sc) != key:
                raise ValueError(f"scenario {sc.name!r} cannot share an engine with {scenarios[0].name!r}: "
                                 "different executives, departments, stages or owner")
        self.scenarios = scenarios
        self.scenario = scenarios[0]
        self.seed = int(seed)
        self.rng = Streams(replication_keys(self.seed, self.replications))
        if len(scenarios) == 1:
            self.params = dict(scenarios[0].params)
            self.st = Structure.from_scenario(scenarios[0])
        else:
            self.params = stack_params([sc.params for sc in scenarios], self.point_of)
            self.st = Structure.stack([Structure.from_scenario(sc) for sc in scenarios], self.point_of)
        self.E = len(self.st.exec_ids)
        self.D = len(self.st.dept_ids)
        self.week = 0
        self.owner = self.st.exec_ids.index(self.params["owner.executive"]) if self.E else 0
        submodels.initialize(self)

    @classmethod
    def stacked(cls, parts, seed: int = 0) -> "Engine":
        """One engine for ``[(scenario, replication_indices), ...]``, the parts' replications in order."""
        parts = list(parts)
        reps = [np.asarray(r, dtype=np.int64).ravel() for _, r in parts]
        point_of = np.repeat(np.arange(len(parts)), [r.size for r in reps])
        return cls([sc for sc, _ in parts], np.concatenate(reps) if reps else np.zeros(0, np.int64), seed, point_of)

    def agent_values(self, table: str, field: str) -> np.ndarray:
        """A field of the scenario's ``executives`` or ``departments``: ``(n, 1)``, or ``(n, R)`` when points differ."""
        cols = np.array([[row[field] for row in getattr(sc, table)] for sc in self.scenarios], dtype=np.float64).T
        if cols.shape[1] == 1 or (cols.view(np.int64) == cols[:, :1].view(np.int64)).all():
            return np.ascontiguousarray(cols[:, :1])
        return np.ascontiguousarray(cols[:, self.point_of])

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
