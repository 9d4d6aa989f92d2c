"""The Recorder's compiled fast path: every recorded number bit-identical to the metric functions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import cxsim
from cxsim import metrics
from cxsim.metrics import EVENTS, METRICS, Recorder
from cxsim.simulate import run_batch, run_points
from cxsim.submodels import adoption_share, expressed_view

TICKS = 30


def _bits(a) -> bytes:
    a = np.ascontiguousarray(a)
    return str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()


def _f32(x, R: int) -> np.ndarray:
    """A metric's value as the series stores it (numpy's float64 -> float32 assignment)."""
    out = np.zeros(R, dtype=np.float32)
    out[:] = x
    return out


def _check_tick(rec: Recorder, seen: dict) -> None:
    """Row ``rec.n - 1`` of everything the Recorder keeps equals the metric functions, bit for bit."""
    m, t = rec.m, rec.n - 1
    assert _bits(rec.adoption64[t]) == _bits(adoption_share(m))
    for k, f in METRICS.items():
        assert _bits(rec.series[k][t]) == _bits(_f32(f(m), m.R)), (k, t)
    if t > 0:
        for k, f in EVENTS.items():
            assert _bits(rec.series[k][t]) == _bits(_f32(f(m), m.R)), (k, t)
    if rec.per_agent:
        dept = np.zeros((m.D, m.R), dtype=np.float32)
        if m.D:
            np.divide(m.adopters, m.st.head, out=dept)
        assert _bits(rec.dept[t]) == _bits(dept)
        assert _bits(rec.exec_true[t]) == _bits(m.buy_in.astype(np.float32))
        assert _bits(rec.exec_expr[t]) == _bits(expressed_view(m).astype(np.float32))
    seen["ticks"] += 1
    seen["E"].add(m.E)
    seen["D"].add(m.D)
    seen["R"].add(m.R)
    seen["head_per_rep"] |= m.st.head.shape[1] > 1
    seen["pressure_array"] |= isinstance(m.pressure, np.ndarray)
    seen["committee_mask"] |= isinstance(m.committee_met, np.ndarray)
    seen["covert"] |= bool(np.any(m.covert))


@pytest.fixture
def checked(monkeypatch):
    """Check every tick any Recorder records; count the ticks that fell back to the numpy path."""
    seen = {"ticks": 0, "fallback": 0, "E": set(), "D": set(), "R": set(), "head_per_rep": False,
            "pressure_array": False, "committee_mask": False, "covert": False}
    record, numpy_path = Recorder.record, Recorder._record_numpy

    def record_and_check(self):
        record(self)
        _check_tick(self, seen)

    def counted(self, m, t):
        seen["fallback"] += 1
        numpy_path(self, m, t)

    monkeypatch.setattr(Recorder, "record", record_and_check)
    monkeypatch.setattr(Recorder, "_record_numpy", counted)
    return seen


@pytest.fixture(scope="module")
def reference():
    """The reference scenario with a sponsor, a committee and departures, so every metric moves."""
    return cxsim.load_scenario("reference", {"committee.enabled": True, "sponsorship.level": "active",
                                             "owner.mandate": "budget", "attrition.hazard": 0.2,
                                             "committee.cadence_weeks": 4, "committee.start_week": 0})


def test_reference_rows_match_metric_functions(checked, reference):
    run_batch(reference, np.arange(40), 11, ticks=TICKS)
    assert checked["ticks"] == TICKS + 1 and checked["fallback"] == 0
    assert checked["covert"]


def test_stacked_rows_match_metric_functions(checked):
    """Stacked points with different headcounts (head (D, R)), sponsors (pressure (R,)) and committees (a mask)."""
    points = [
        cxsim.load_scenario("governance/budget-sponsor-committee", {"organization.headcount_scale": 0.5}),
        cxsim.load_scenario("governance/advisory-nosponsor-nocommittee", {"organization.headcount_scale": 2.0}),
        cxsim.load_scenario("governance/budget-nosponsor-committee", {"committee.cadence_weeks": 3}),
    ]
    for per_agent in (True, False):
        run_points(points, np.arange(25), 5, ticks=TICKS, per_agent=per_agent)
    assert checked["ticks"] == 2 * (TICKS + 1) and checked["fallback"] == 0
    assert checked["R"] == {75}
    assert checked["head_per_rep"] and checked["pressure_array"] and checked["committee_mask"]


def test_single_replication_rows_match_metric_functions(checked, reference):
    run_batch(reference, np.array([7]), 3, ticks=TICKS)
    model = cxsim.CXModel("reference", seed=4)
    for _ in range(10):
        model.step()
    assert checked["R"] == {1} and checked["fallback"] == 0


def test_small_organizations_rows_match_metric_functions(checked, make_scenario):
    """One executive and one department (bass), no departments (degroot), three executives (tiny)."""
    for name in ("limits/bass", "limits/degroot"):
        run_batch(cxsim.load_scenario(name), np.arange(6), 2, ticks=TICKS)
    run_batch(make_scenario({"committee.enabled": True, "committee.start_week": 0}), np.arange(6), 2, ticks=TICKS)
    assert {1, 3, 4} <= checked["E"] and {0, 1, 2} <= checked["D"]
    assert checked["fallback"] == 0


def _state(E: int, D: int, R: int, rng, per_rep_head: bool, pressure, committee):
    """An engine-like state with awkward values: NaNs, signed zeros, ties with the pressure, huge counts."""
    buy_in = rng.random((E, R))
    if E and R > 3:
        buy_in[0, :4] = [np.nan, -0.0, 0.0, 0.7]
    head = rng.integers(1, 500, (D, R if per_rep_head else 1)).astype(np.float64)
    detected = rng.integers(0, 2**62, R)
    detected[0] = 2**61 + 2**37 + 1  # rounds differently to float32 directly and through float64
    st = SimpleNamespace(head=head, total_headcount=(head.sum(axis=0) if per_rep_head else float(head.sum())))
    return SimpleNamespace(
        R=R, E=E, D=D, owner=min(1, max(E - 1, 0)), st=st, buy_in=buy_in, jealousy=rng.random((E, R)),
        covert=rng.random((E, R)) < 0.5, pressure=pressure, adopters=np.floor(rng.random((D, R)) * head),
        readiness=rng.random((D, R)), skill=rng.random((D, R)), credibility=rng.random(R),
        owner_present=rng.random(R) < 0.8, spent=rng.random(R) * 60, cx=rng.random(R), results=rng.random(R),
        fatigue=rng.random(R), ev_owner_left=rng.random(R) < 0.3, ev_successor=rng.random(R) < 0.3,
        ev_budget_cut=rng.random(R) < 0.3, ev_detected=detected, committee_met=committee)


@pytest.mark.parametrize("E, D", [(0, 3), (1, 0), (2, 1), (4, 4), (8, 13), (0, 0)])
@pytest.mark.parametrize("R", [1, 6, 2000])
def test_synthetic_states_match_metric_functions(checked, E, D, R):
    rng = np.random.default_rng(E * 100 + D * 10 + R)
    pressures = (0.7, np.full(R, 0.0), np.where(np.arange(R) % 2 == 0, 0.7, np.nan))
    committees = (True, np.arange(R) % 3 == 0, False)
    for per_rep_head in (False, True):
        for pressure, committee in zip(pressures, committees):
            rec = Recorder(_state(E, D, R, rng, per_rep_head, pressure, committee), 3)
            for _ in range(3):
                rec.m = _state(E, D, R, rng, per_rep_head, pressure, committee)
                rec.record()
            assert rec.n == 4
    assert checked["fallback"] == 0


def test_fast_path_equals_numpy_path_over_whole_runs(monkeypatch, reference):
    """Whole recordings (series, per-agent arrays, detections, outcomes) are the same on either path."""
    points = [reference.with_overrides({"organization.headcount_scale": s}) for s in (0.5, 1.0)]

    def digest():
        out = []
        for b in run_points(points, np.arange(30), 9, ticks=TICKS):
            rec = b.recorder
            out += [_bits(v[:rec.n]) for v in rec.series.values()]
            out += [_bits(a[:rec.n]) for a in (rec.adoption64, rec.dept, rec.exec_true, rec.exec_expr)]
            out += [_bits(rec.detections)] + [_bits(np.asarray(v)) for v in b.outcomes.values()]
        return out

    fast = digest()
    monkeypatch.setattr(Recorder, "_record_fast", lambda self, m, t: False)
    assert digest() == fast


def test_kernel_series_cover_metrics_and_events():
    assert set(metrics._KERNEL_SERIES) == {*METRICS, *EVENTS}
