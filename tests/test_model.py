"""The Mesa face (CXModel, agents, levers, replay) and the direction of each mechanism.

Behavioural tests compare two settings with the same seed and replication indices (common
random numbers), so each replication is its own control: the test statistic is the mean of
the paired differences, and "significant" means more than 3 standard errors of that mean
(one-sided false alarm rate 0.13%; the draws are seeded, so a pass is reproducible).
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim import CXModel, Department, Executive
from cxsim.errors import ScenarioError
from cxsim.metrics import EVENTS, METRICS
from cxsim.model import LEVERS, Decision
from cxsim.simulate import run_batch

SHARE_ATTRS = {
    Executive: ("buy_in", "expressed_buy_in", "jealousy", "understanding", "trust", "influence"),
    Department: ("adoption", "readiness", "skill", "silo_strength"),
}


@pytest.fixture(scope="module")
def stepped():
    """The reference organization with an active sponsor, after 30 weeks."""
    model = CXModel("reference", seed=4, overrides={"sponsorship.level": "active", "committee.enabled": True})
    for _ in range(30):
        model.step()
    return model


# -- Mesa faces --------------------------------------------------------------------------------

def test_model_and_agents_are_mesa_objects(stepped):
    """CXModel is a mesa.Model whose executives and departments are mesa.Agents."""
    assert isinstance(stepped, mesa.Model)
    sc = stepped.scenario
    assert len(stepped.executives) == len(sc.executives)
    assert len(stepped.departments) == len(sc.departments)
    assert len(stepped.agents) == len(sc.executives) + len(sc.departments)
    assert all(isinstance(a, mesa.Agent) for a in stepped.agents)
    assert [a.exec_id for a in stepped.executives] == [e["id"] for e in sc.executives]
    assert [d.dept_id for d in stepped.departments] == [d["id"] for d in sc.departments]


def test_agents_select_the_mesa_way(stepped):
    """model.agents.select filters agents by type and attribute."""
    owners = stepped.agents.select(lambda a: isinstance(a, Executive) and a.is_owner)
    assert isinstance(owners, mesa.agent.AgentSet)
    assert [a.exec_id for a in owners] == ["cmo"]
    level = np.median([a.jealousy for a in stepped.executives])
    jealous = stepped.agents.select(lambda a: isinstance(a, Executive) and a.jealousy >= level)
    assert 0 < len(jealous) < len(stepped.executives)
    assert all(isinstance(a, Executive) and a.jealousy >= level for a in jealous)
    back = stepped.agents.select(lambda a: isinstance(a, Department) and a.office == "back")
    assert {d.dept_id for d in back} == {d["id"] for d in stepped.scenario.departments if d["office"] == "back"}
    covert = stepped.agents.select(lambda a: isinstance(a, Executive) and a.covert)
    assert all(a.expressed_buy_in >= a.buy_in for a in covert)


def test_agent_attributes_are_shares(stepped):
    """Every agent share attribute lies in [0, 1]; adopters are whole and within headcount."""
    for agent in stepped.agents:
        for attr in SHARE_ATTRS[type(agent)]:
            value = getattr(agent, attr)
            assert 0.0 <= value <= 1.0, (agent, attr, value)
    for d in stepped.departments:
        assert isinstance(d.adopters, int) and 0 <= d.adopters <= d.headcount
        assert d.adoption == pytest.approx(d.adopters / d.headcount)


def test_roles_owner_and_ceo(stepped):
    """Exactly one CEO and one owner (the scenario's owner.executive)."""
    assert [a.exec_id for a in stepped.executives if a.is_ceo] == ["ceo"]
    assert [a.exec_id for a in stepped.executives if a.is_owner] == ["cmo"]
    assert stepped.owner.exec_id == "cmo"


def test_departments_mirror_the_scenario(stepped):
    """Department agents carry the scenario's office, headcount, executive and journey stages."""
    sc = stepped.scenario
    for agent, spec in zip(stepped.departments, sc.departments):
        assert agent.office == spec["office"]
        assert agent.headcount == spec["headcount"]
        assert agent.executive == spec["executive"]
        assert agent.stages == [s["id"] for s in sc.stages if spec["id"] in s["departments"]]


def test_model_readouts_agree(stepped):
    """model.adoption, cx_index and history() agree with each other and with the agents."""
    hist = stepped.history()
    assert len(hist) == 31 and list(hist.tick) == list(range(31))
    for col in (*METRICS, *EVENTS):
        assert col in hist.columns
    assert stepped.week == 30
    assert hist["adoption"].iloc[-1] == pytest.approx(stepped.adoption, abs=1e-6)
    assert hist["cx_index"].iloc[-1] == pytest.approx(stepped.cx_index, abs=1e-6)
    total = sum(d.adopters for d in stepped.departments)
    assert stepped.adoption == pytest.approx(total / sum(d.headcount for d in stepped.departments))
    out = stepped.outcomes()
    assert out["final_adoption"] == stepped.adoption


def test_model_runs_past_the_scenario_horizon():
    """An interactive model keeps running after run.ticks (its record grows)."""
    model = CXModel("limits/bass", seed=0)
    for _ in range(model.scenario.ticks + 60):
        model.step()
    assert len(model.history()) == model.scenario.ticks + 61


def test_overrides_apply_by_name_and_scenario():
    """CXModel overrides apply to a shipped name and to a Scenario object alike."""
    a = CXModel("reference", overrides={"committee.enabled": True})
    b = CXModel(cxsim.load_scenario("reference"), overrides={"committee.enabled": True})
    assert a.scenario.params == b.scenario.params and a.scenario["committee.enabled"] is True


# -- levers and replay -------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,fragments", [
    ("owner.budgett", 10, ["owner.budgett", "not a lever", "sponsorship.level"]),
    ("sponsorship.level", "activ", ["sponsorship.level", "'activ'", "did you mean 'active'"]),
    ("committee.cadence_weeks", 0, ["committee.cadence_weeks", "= 0", "an integer in [1, 520]"]),
    ("owner.mandate", "budgte", ["owner.mandate", "'budgte'", "did you mean 'budget'"]),
    ("owner.executive", "nobody", ["owner.executive", "'nobody'", "no such executive"]),
    ("politics.jealousy_scale", 9.0, ["politics.jealousy_scale", "9.0", "a number in [0, 5]"]),
    ("committee.enabled", "yes", ["committee.enabled", "'yes'", "true or false"]),
])
def test_set_lever_rejects_bad_input(key, value, fragments):
    """set_lever raises a one-line ScenarioError naming the lever, value and what is allowed."""
    model = CXModel("reference", seed=0)
    with pytest.raises(ScenarioError) as info:
        model.set_lever(key, value)
    msg = str(info.value)
    assert "\n" not in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert model.decisions == []


def test_set_lever_records_decision():
    """A lever pulled at week w is recorded as Decision(w, key, value) and a decision event."""
    model = CXModel("reference", seed=0)
    for _ in range(3):
        model.step()
    model.set_lever("committee.enabled", True)
    assert model.decisions == [Decision(3, "committee.enabled", True)]
    assert model.events[-1]["kind"] == "decision" and model.events[-1]["week"] == 3
    assert set(LEVERS) >= {"owner.mandate", "sponsorship.level", "committee.enabled"}


def test_owner_lever_hands_over_ownership():
    """Handing ownership to another executive makes them the owner, with no jealousy."""
    model = CXModel("reference", seed=0)
    model.step()
    model.set_lever("owner.executive", "coo")
    coo = next(a for a in model.executives if a.exec_id == "coo")
    assert model.owner is coo and coo.jealousy == 0.0
    model.step()
    assert model.owner is coo and coo.jealousy == 0.0


def test_replay_without_decisions_equals_plain_run():
    """Replaying a seed with no decisions reproduces the plain run exactly."""
    plain = CXModel("reference", seed=8, replication=2)
    for _ in range(25):
        plain.step()
    replay = CXModel.replay("reference", seed=8, decisions=[], ticks=25, replication=2)
    pd.testing.assert_frame_equal(plain.history(), replay.history(), check_exact=True)


def test_replay_with_decision_diverges_only_after_it():
    """A decision at week 10 leaves weeks 0..10 untouched and changes what follows."""
    base = CXModel.replay("reference", seed=8, decisions=[], ticks=25)
    changed = CXModel.replay("reference", seed=8, decisions=[(10, "sponsorship.level", "active")], ticks=25)
    a, b = base.history(), changed.history()
    pd.testing.assert_frame_equal(a.iloc[:11], b.iloc[:11], check_exact=True)
    assert not a["buy_in"].iloc[11:].equals(b["buy_in"].iloc[11:])
    assert changed.decisions == [Decision(10, "sponsorship.level", "active")]


def test_replay_matches_interactive_session():
    """CXModel.replay reproduces a session in which the lever was pulled by hand at the same week."""
    live = CXModel("reference", seed=1)
    for week in range(20):
        if week == 6:
            live.set_lever("owner.mandate", "budget")
        live.step()
    replay = CXModel.replay("reference", seed=1, decisions=live.decisions, ticks=20)
    pd.testing.assert_frame_equal(live.history(), replay.history(), check_exact=True)


def test_jealousy_scale_lever_takes_effect():
    """Raising politics.jealousy_scale mid-run raises jealousy in the following weeks."""
    base = CXModel.replay("reference", seed=0, decisions=[], ticks=30)
    more = CXModel.replay("reference", seed=0, decisions=[(5, "politics.jealousy_scale", 4.0)], ticks=30)
    assert more.history()["jealousy"].iloc[-1] > base.history()["jealousy"].iloc[-1]


def test_budget_lever_takes_effect():
    """Raising owner.budget mid-run raises what a budget-holding owner spends."""
    plan = [(0, "owner.mandate", "budget")]
    base = CXModel.replay("reference", seed=0, decisions=plan, ticks=10)
    more = CXModel.replay("reference", seed=0, decisions=[*plan, (5, "owner.budget", 500.0)], ticks=10)
    assert more.history()["budget_spent"].iloc[-1] > base.history()["budget_spent"].iloc[-1]


def test_levers_at_week_zero_equal_loading_with_overrides():
    """Pulling levers before the first step gives the same run as loading the scenario with them."""
    levers = {"politics.jealousy_scale": 0.5, "owner.mandate": "budget", "owner.budget": 90.0,
              "committee.enabled": True, "sponsorship.level": "active"}
    replay = CXModel.replay("reference", seed=3, decisions=[(0, k, v) for k, v in levers.items()], ticks=30)
    loaded = CXModel("reference", seed=3, overrides=levers)
    for _ in range(30):
        loaded.step()
    # Tick 0 is recorded when the model is built, before any lever is pulled; from tick 1 on
    # the two runs must be bit-identical.
    pd.testing.assert_frame_equal(replay.history().iloc[1:], loaded.history().iloc[1:], check_exact=True)


def test_attrition_events_owner_leaves_and_successor_arrives():
    """With a high departure hazard the owner leaves, the post is vacant, then a successor arrives."""
    model = CXModel("reference", seed=2, overrides={"attrition.hazard": 0.3, "attrition.vacancy_weeks": 4,
                                                     "sponsorship.level": "none"})
    for _ in range(60):
        model.step()
    hist = model.history()
    left = hist.index[hist.owner_left == 1]
    assert len(left) > 0
    first = left[0]
    assert hist.owner_present[first] == 0.0 and hist.owner_present[first - 1] == 1.0
    arrived = hist.index[(hist.successor_arrived == 1) & (hist.index > first)]
    assert len(arrived) > 0
    assert (hist.owner_present[first:arrived[0]] == 0).all() and hist.owner_present[arrived[0]] == 1.0
    kinds = [e["kind"] for e in model.events]
    assert "owner_left" in kinds and "successor" in kinds
    assert model.outcomes()["owner_departures"] == len(left)
    assert model.outcomes()["first_owner_tenure"] == first


# -- direction of each mechanism (paired over replications) -----------------------------------

def paired(name, base, other, reps, ticks, measure, seed=7):
    """Paired differences measure(other) - measure(base) over the same replications."""
    out = []
    for ov in (base, other):
        batch = run_batch(cxsim.load_scenario(name, ov), np.arange(reps), seed, ticks, per_agent=False)
        out.append(np.asarray(measure(batch), dtype=np.float64))
    d = out[1] - out[0]
    return d.mean(), d.std(ddof=1) / np.sqrt(reps)


def final(key):
    return lambda b: b.outcomes[key]


def metric_at_end(key):
    return lambda b: b.recorder.series[key][-1]


def test_more_jealousy_lowers_adoption():
    """Scaling jealousy up (politics.jealousy_scale 0 -> 3) lowers adoption."""
    diff, se = paired("reference", {"politics.jealousy_scale": 0.0}, {"politics.jealousy_scale": 3.0},
                      60, 78, final("final_adoption"))
    assert diff < -3 * se  # paired difference below zero by more than 3 standard errors


def test_committee_detects_covert_resistance():
    """With an active sponsor resisters play along; a committee sees them, none does without one."""
    name = "governance/advisory-sponsor-nocommittee"
    jealous = {"politics.jealousy_scale": 2.0}  # enough jealousy for resistance whatever the calibration
    off = run_batch(cxsim.load_scenario(name, jealous), np.arange(60), 7, 104, per_agent=False)
    assert off.recorder.series["covert_resisters"].max() > 0  # there is covert resistance to find
    assert (off.outcomes["detections"] == 0).all()
    diff, se = paired(name, jealous, {**jealous, "committee.enabled": True}, 60, 104, final("detections"))
    assert diff > 3 * se
    on = run_batch(cxsim.load_scenario(name, {**jealous, "committee.enabled": True}), np.arange(20), 7, 104,
                   per_agent=False)
    s = on.recorder.series
    assert (s["resistance_detected"][s["committee_met"] == 0] == 0).all()  # only at meetings


def test_budget_mandate_raises_skill_and_adoption():
    """A budget-holding owner raises CX skill and adoption compared with an advisory one."""
    for measure in (metric_at_end("skill"), final("final_adoption")):
        diff, se = paired("reference", {"owner.mandate": "advisory"}, {"owner.mandate": "budget"}, 60, 52, measure)
        assert diff > 3 * se


def test_active_sponsor_lowers_owner_departures():
    """An active CEO sponsor means fewer owner departures than no sponsor."""
    # Departures are rare events (about 0.6 per replication over two years without a sponsor),
    # so this test uses 150 replications: z is then about 8.
    diff, se = paired("reference", {"sponsorship.level": "none"}, {"sponsorship.level": "active"},
                      150, 104, final("owner_departures"))
    assert diff < -3 * se


def test_change_management_lead_raises_adoption():
    """Starting change management 26 weeks ahead raises adoption."""
    diff, se = paired("reference", {}, {"readiness.change_management_lead_weeks": 26}, 60, 52,
                      final("final_adoption"))
    assert diff > 3 * se


def test_larger_organization_adopts_slower():
    """With change load on, five times the headcount means lower adoption at week 52."""
    diff, se = paired("reference", {}, {"organization.headcount_scale": 5.0}, 60, 52, final("final_adoption"))
    assert diff < -3 * se


def test_reversion_without_support_keeps_adoption_lower():
    """With reversion high and support low (no sponsor), adoption stays below the no-reversion run."""
    base = {"sponsorship.level": "none", "adoption.reversion": 0.0}
    diff, se = paired("reference", base, {**base, "adoption.reversion": 0.5}, 60, 78, final("final_adoption"))
    assert diff < -3 * se


def test_visible_results_feed_buy_in():
    """Results above the motivation threshold raise buy-in; results that never clear it erode it."""
    name = "governance/budget-sponsor-nocommittee"
    off = {"business_case.enabled": False}
    diff, se = paired(name, off, {"business_case.threshold": 0.0}, 60, 104, final("final_buy_in"))
    assert diff > 3 * se
    diff, se = paired(name, off, {"business_case.threshold": 1.0, "business_case.patience_weeks": 0}, 60, 104,
                      final("final_buy_in"))
    assert diff < -3 * se


def test_cx_index_punishes_weak_links_along_a_run():
    """With identical adoption paths, the index at exponent -2 never exceeds the plain mean (exponent 1)."""
    base = {"business_case.enabled": False}  # the index then feeds nothing back: paths coincide
    a = run_batch(cxsim.load_scenario("reference", {**base, "journey.weak_link_exponent": 1.0}), np.arange(10), 3, 52)
    b = run_batch(cxsim.load_scenario("reference", {**base, "journey.weak_link_exponent": -2.0}), np.arange(10), 3, 52)
    np.testing.assert_array_equal(a.recorder.dept, b.recorder.dept)
    assert (b.recorder.series["cx_index"] <= a.recorder.series["cx_index"]).all()
    assert (b.recorder.series["cx_index"][1:] < a.recorder.series["cx_index"][1:]).mean() > 0.9
