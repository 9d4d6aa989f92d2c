"""The engine: structure, fixed-order sums, and bit-identity across batch sizes and faces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim.engine import SCHEDULE, Engine, Structure, agent_dot, agent_sum, functions_and_interfaces
from cxsim.metrics import EVENTS, METRICS, OUTCOMES
from cxsim.simulate import run_batch

TICKS = 30  # long enough for owner departures, committee meetings and adoption to move


@pytest.fixture(scope="module")
def reference():
    """The reference scenario with an active sponsor and a committee, so every stream is used."""
    return cxsim.load_scenario("reference", {"committee.enabled": True, "sponsorship.level": "active",
                                             "owner.mandate": "budget", "attrition.hazard": 0.2,
                                             "committee.cadence_weeks": 4, "committee.start_week": 0})


def test_agent_sum_and_dot_match_numpy():
    """Fixed-order sums agree with numpy up to rounding."""
    rng = np.random.default_rng(0)
    a = rng.random((7, 13))
    w = rng.random((4, 7))
    w[:, 2] = 0.0  # zero columns are skipped
    np.testing.assert_allclose(agent_sum(a), a.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(agent_dot(w, a), w @ a, rtol=1e-14)


def test_agent_sum_column_independent_of_batch():
    """A column's fixed-order sum is bit-identical alone or inside a batch."""
    rng = np.random.default_rng(1)
    a = rng.random((9, 50)) * 1e3
    full = agent_sum(a)
    for r in (0, 17, 49):
        assert full[r] == agent_sum(a[:, [r]])[0]
    w = rng.random((3, 9))
    np.testing.assert_array_equal(agent_dot(w, a)[:, 17], agent_dot(w, a[:, [17]])[:, 0])


def test_structure_of_reference():
    """Structure: influence rows sum to 1 with self weights; stage weights are headcount shares."""
    sc = cxsim.load_scenario("reference")
    st = Structure.from_scenario(sc)
    E, D = len(sc.executives), len(sc.departments)
    W = st.influence_matrix
    assert W.shape == (E, E)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-12)
    assert (np.diag(W) > 0).all() and (W >= 0).all()
    # Each row: the self weight plus the file's edges, divided by their total.
    raw = np.eye(E) * sc["social_influence.self_weight"]
    for edge in sc.influence:
        raw[st.exec_ids.index(edge["listener"]), st.exec_ids.index(edge["speaker"])] += edge["weight"]
    np.testing.assert_allclose(W, raw / raw.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(st.stage_weights.sum(axis=1), 1.0, rtol=1e-12)
    head = {d["id"]: d["headcount"] for d in sc.departments}
    pay = st.stage_ids.index("pay")
    assert st.stage_weights[pay, st.dept_ids.index("billing")] == pytest.approx(
        head["billing"] / (head["billing"] + head["finance"]))
    assert st.total_headcount == sum(head.values())
    assert st.headcount.shape == (D,) and (st.headcount == np.round(st.headcount)).all()
    assert st.exec_ids[st.ceo] == "ceo"
    assert list(st.front) == [d["office"] == "front" for d in sc.departments]


def test_structure_load_follows_amount_of_change():
    """Change load is (headcount/ref)^a (functions/ref)^b (interfaces/ref)^c when on, exactly 1 when off."""
    sc = cxsim.load_scenario("reference", {"organization.headcount_scale": 2.0})
    st = Structure.from_scenario(sc)
    functions, interfaces = functions_and_interfaces(sc)
    assert (functions, interfaces) == (7, 9)  # the CEO has no department; 9 pairs of functions share a stage
    expected = (st.total_headcount / sc["change_load.reference_headcount"]) ** sc["change_load.headcount_elasticity"] \
        * (functions / sc["change_load.reference_functions"]) ** sc["change_load.function_elasticity"] \
        * (interfaces / sc["change_load.reference_interfaces"]) ** sc["change_load.interface_elasticity"]
    assert st.load == pytest.approx(expected, rel=1e-12)
    off = Structure.from_scenario(sc.with_overrides({"change_load.enabled": False}))
    assert off.load == 1.0
    base = Structure.from_scenario(cxsim.load_scenario("reference"))
    np.testing.assert_array_equal(st.headcount, np.round(base.headcount * 2.0))


def test_schedule_follows_the_odd_order():
    """The weekly schedule runs the submodels in the documented order."""
    assert [f.__name__ for f in SCHEDULE] == [
        "sponsorship", "committee", "politics", "social_influence", "persuasion", "business_case",
        "attrition", "mandate", "readiness", "employee_adoption", "skill", "journey"]


def test_engine_params_can_change_between_steps(reference):
    """Changing engine.params between steps changes what the next step does."""
    a, b = Engine(reference, [0, 1], 1), Engine(reference, [0, 1], 1)
    for _ in range(2):
        a.step()
        b.step()
    b.params["committee.enabled"] = False
    for _ in range(3):  # weeks 2, 3 and 4; the committee (cadence 4) meets in week 4
        a.step()
        b.step()
    assert a.committee_met and not b.committee_met
    assert not np.array_equal(a.buy_in, b.buy_in)


# -- bit-identity ------------------------------------------------------------------------------

def _rows(ts: pd.DataFrame, reps) -> pd.DataFrame:
    out = ts[ts["replication"].isin(reps)].sort_values(["replication", "tick"])
    return out.reset_index(drop=True)


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


def test_replication_alone_equals_inside_batches(reference):
    """Replication k alone is bit-identical to k inside batches of 3 and 50, in every column."""
    k = 2
    alone = cxsim.simulate(reference, replications=1, seed=11, ticks=TICKS, first_replication=k)
    for size in (3, 50):
        batch = cxsim.simulate(reference, replications=size, seed=11, ticks=TICKS)
        _assert_same(_rows(batch.timeseries, [k]), alone.timeseries)
        _assert_same(batch.replications[batch.replications.replication == k], alone.replications)


def test_batch_size_and_first_replication_splits(reference):
    """Any split by batch_size or first_replication gives the same tables as one batch."""
    whole = cxsim.simulate(reference, replications=12, seed=5, ticks=TICKS)
    for batch_size in (1, 5, 7):
        split = cxsim.simulate(reference, replications=12, seed=5, ticks=TICKS, batch_size=batch_size)
        _assert_same(split.timeseries, whole.timeseries)
        _assert_same(split.replications, whole.replications)
    parts = [cxsim.simulate(reference, replications=n, seed=5, ticks=TICKS, first_replication=f)
             for f, n in ((0, 4), (4, 1), (5, 7))]
    _assert_same(pd.concat([p.timeseries for p in parts]), whole.timeseries)
    _assert_same(pd.concat([p.replications for p in parts]), whole.replications)


def test_run_batch_outcomes_bit_identical_in_any_order(reference):
    """run_batch on a shuffled set of indices gives each replication the same outcomes."""
    a = run_batch(reference, np.arange(8), 3, TICKS)
    order = np.array([5, 0, 7, 2])
    b = run_batch(reference, order, 3, TICKS)
    for key in OUTCOMES:
        np.testing.assert_array_equal(a.outcomes[key][order], b.outcomes[key])
    np.testing.assert_array_equal(a.recorder.m.adopters[:, order], b.recorder.m.adopters)


def test_model_equals_batch_replication(reference):
    """CXModel(seed, replication=k) reproduces replication k of a batch exactly."""
    k, seed = 3, 9
    batch = cxsim.simulate(reference, replications=5, seed=seed, ticks=TICKS)
    model = cxsim.CXModel(reference, seed=seed, replication=k)
    for _ in range(TICKS):
        model.step()
    hist = model.history()
    rows = _rows(batch.timeseries, [k])
    for col in hist.columns:
        np.testing.assert_array_equal(hist[col].to_numpy(), rows[col].to_numpy().astype(np.float64), err_msg=col)
    outcomes = model.outcomes()
    row = batch.replications[batch.replications.replication == k].iloc[0]
    for key in OUTCOMES:
        a, b = outcomes[key], row[key]
        assert (a == b) or (np.isnan(a) and np.isnan(b)), key


def test_seed_changes_results(reference):
    """Different seeds give different runs; the same seed gives the same run."""
    a = cxsim.simulate(reference, replications=3, seed=1, ticks=10, per_agent=False)
    b = cxsim.simulate(reference, replications=3, seed=1, ticks=10, per_agent=False)
    c = cxsim.simulate(reference, replications=3, seed=2, ticks=10, per_agent=False)
    _assert_same(a.timeseries, b.timeseries)
    assert not np.array_equal(a.timeseries["adoption"], c.timeseries["adoption"])


def test_common_random_numbers_across_scenarios():
    """The same replication at two design points reuses its random numbers (paired comparisons)."""
    sc = cxsim.load_scenario("limits/bass")
    reps = np.arange(50)
    a = run_batch(sc, reps, 4, 1).recorder.m.adopters[0]
    b = run_batch(sc.with_overrides({"adoption.p": 0.031}), reps, 4, 1).recorder.m.adopters[0]
    c = run_batch(sc.with_overrides({"adoption.p": 0.031}), reps + 50, 4, 1).recorder.m.adopters[0]
    # First-week adopters ~ Binomial(10000, p): sd about 17. With shared uniforms the paired
    # difference is the 10-person shift in the mean plus rounding (sd well below 2); with
    # independent streams (replications k + 50) the difference has sd about 24.
    assert np.std(b - a) < 2.0 and abs(np.mean(b - a) - 10.0) < 2.0
    assert np.std(c - a) > 10.0


def test_timeseries_and_replications_columns(reference):
    """cxsim.simulate returns the documented columns, one row per replication and tick."""
    res = cxsim.simulate(reference, replications=2, seed=0, ticks=5)
    ts, rp = res.timeseries, res.replications
    assert list(ts.columns[:3]) == ["scenario", "replication", "tick"]
    for col in (*METRICS, *EVENTS):
        assert col in ts.columns
    for d in reference.departments:
        assert ts[f"adoption:{d['id']}"].dtype == np.float32
    for e in reference.executives:
        assert f"buy_in:{e['id']}" in ts.columns and f"expressed:{e['id']}" in ts.columns
    assert len(ts) == 2 * 6 and sorted(ts.tick.unique()) == list(range(6))
    assert list(rp.columns) == ["scenario", "replication", *OUTCOMES]
    assert rp["success"].dtype == bool
    no_agents = cxsim.simulate(reference, replications=2, seed=0, ticks=5, per_agent=False)
    assert not any(":" in c for c in no_agents.timeseries.columns)
    _assert_same(no_agents.timeseries, ts[no_agents.timeseries.columns])


def test_simulate_rejects_bad_arguments():
    """cxsim.simulate raises a CXSimError for zero replications or negative ticks."""
    with pytest.raises(cxsim.CXSimError):
        cxsim.simulate("limits/bass", replications=0)
    with pytest.raises(cxsim.CXSimError):
        cxsim.simulate("limits/bass", replications=1, ticks=-1)


def test_zero_ticks_records_initial_state():
    """With ticks = 0 only the initial state (tick 0) is recorded, with no events."""
    res = cxsim.simulate("reference", replications=2, seed=0, ticks=0)
    assert list(res.timeseries.tick) == [0, 0]
    assert (res.timeseries[list(EVENTS)] == 0).all().all()


# -- stacked design points ------------------------------------------------------------------

def _bits(a) -> bytes:
    a = np.ascontiguousarray(a)
    return a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()


STACK_POINTS = {
    "reference": {},
    "budget-active-committee": {"owner.mandate": "budget", "sponsorship.level": "active", "committee.enabled": True,
                                "committee.cadence_weeks": 2, "politics.covert_threshold": 0.2},
    "politics-off-late-sponsor": {"politics.enabled": False, "sponsorship.level": "active",
                                  "sponsorship.start_week": 12},
    "bigger-plain-mean": {"organization.headcount_scale": 2.0, "journey.weak_link_exponent": 1.0,
                          "attrition.vacancy_weeks": 1, "attrition.hazard": 0.2},
    "no-reversion-no-noise": {"adoption.reversion": 0.0, "social_influence.noise": 0.0,
                              "executives.cfo.jealousy": 0.7, "readiness.enabled": False},
}


def test_stacked_points_bit_identical_to_their_own_engines():
    """Mixed design points in one engine (columns shuffled, each k at every point) equal their own engines bit for bit."""
    from cxsim.simulate import run_stacked

    base = cxsim.load_scenario("reference")
    points = [base.with_overrides(o) for o in STACK_POINTS.values()]
    reps = np.arange(5)
    point_of = np.repeat(np.arange(len(points)), reps.size)
    perm = np.random.default_rng(0).permutation(point_of.size)
    parts = run_stacked(points, np.tile(reps, len(points))[perm], point_of[perm], seed=3, ticks=TICKS)
    for name, sc, part in zip(STACK_POINTS, points, parts):
        alone = run_batch(sc, part.replications, 3, TICKS)
        a, b = part.recorder, alone.recorder
        for key in a.series:
            assert _bits(a.series[key]) == _bits(b.series[key]), (name, key)
        for key in ("dept", "exec_true", "exec_expr", "adoption64", "detections"):
            assert _bits(getattr(a, key)) == _bits(getattr(b, key)), (name, key)
        for key in OUTCOMES:
            assert _bits(part.outcomes[key]) == _bits(alone.outcomes[key]), (name, key)
        for key in ("buy_in", "jealousy", "trust", "adopters", "readiness", "skill", "silo", "budget", "credibility"):
            assert _bits(getattr(a.m, key)) == _bits(getattr(b.m, key)), (name, key)


def test_stacked_params_are_scalars_unless_they_differ():
    """A stacked engine keeps shared parameters as Python scalars and gives differing ones one value per replication."""
    base = cxsim.load_scenario("reference")
    other = base.with_overrides({"owner.mandate": "budget", "committee.cadence_weeks": 2})
    eng = Engine.stacked([(base, [0, 1]), (other, [0])], seed=1)
    assert eng.params["adoption.p"] == base["adoption.p"] and isinstance(eng.params["adoption.p"], float)
    assert list(eng.params["owner.mandate"]) == [base["owner.mandate"], base["owner.mandate"], "budget"]
    assert eng.params["committee.cadence_weeks"].dtype == np.int64
    assert list(eng.replications) == [0, 1, 0] and list(eng.point_of) == [0, 0, 1]


def test_stacking_needs_the_same_organization():
    """Scenarios with different executives or owners cannot share an engine; run_points groups them apart."""
    from cxsim.simulate import run_points

    ref, bass = cxsim.load_scenario("reference"), cxsim.load_scenario("limits/bass")
    with pytest.raises(ValueError, match="cannot share an engine"):
        Engine([ref, bass], [0, 0], 1, point_of=[0, 1])
    coo = ref.with_overrides({"owner.executive": "coo"})
    with pytest.raises(ValueError):
        Engine([ref, coo], [0, 0], 1, point_of=[0, 1])
    parts = run_points([bass, ref, coo], np.arange(3), 2, ticks=4)
    for sc, part in zip([bass, ref, coo], parts):
        alone = run_batch(sc, np.arange(3), 2, 4)
        assert part.scenario is sc
        for key in OUTCOMES:
            assert _bits(part.outcomes[key]) == _bits(alone.outcomes[key]), key
        _assert_same(part.timeseries(), alone.timeseries())
