"""Invariants that hold in every run, and neutral switches that really remove their mechanism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim.engine import Engine
from cxsim.metrics import EVENTS, METRICS
from cxsim.params import PARAMS
from cxsim.scenario import shipped_scenarios

SHARES = ("adoption", "buy_in", "expressed_buy_in", "jealousy", "owner_credibility", "owner_present",
          "readiness", "skill", "cx_index")
FLAGS = ("owner_left", "successor_arrived", "budget_cut", "committee_met")


def check_tables(res: cxsim.SimulationResult) -> None:
    """Assert every invariant of a simulation's tables."""
    ts, rp, sc = res.timeseries, res.replications, res.scenario
    metric_cols = [c for c in ts.columns if c not in ("scenario", "replication", "tick")]
    assert not ts[metric_cols].isna().any().any(), "NaN in a metric"
    assert np.isfinite(ts[metric_cols].to_numpy(dtype=np.float64)).all()
    per_agent = [c for c in ts.columns if ":" in c]
    for col in (*SHARES, *per_agent):
        assert ts[col].between(0.0, 1.0).all(), col
    for col in FLAGS:
        assert ts[col].isin([0.0, 1.0]).all(), col
    assert ts["owner_present"].isin([0.0, 1.0]).all()
    for col in ("resistance_detected", "covert_resisters"):
        v = ts[col]
        assert (v >= 0).all() and (v == np.round(v)).all() and (v <= len(sc.executives)).all(), col
    assert (ts["fatigue"] >= 0).all() and (ts["budget_spent"] >= 0).all()
    assert (ts.loc[ts.tick == 0, list(EVENTS)] == 0).all().all()  # no events before the first week
    # Outcomes.
    assert rp["final_adoption"].between(0, 1).all() and rp["final_cx_index"].between(0, 1).all()
    assert rp["final_buy_in"].between(0, 1).all()
    assert (rp["peak_adoption"] >= rp["final_adoption"]).all()
    assert (rp["success"] == (rp["final_adoption"] >= sc["run.success_threshold"])).all()
    for col in ("owner_departures", "detections"):
        assert (rp[col] >= 0).all() and (rp[col] == np.round(rp[col])).all()
    for col in ("weeks_to_50", "weeks_to_80"):
        hit = rp[col].dropna()
        assert (hit == np.round(hit)).all() and hit.between(0, ts.tick.max()).all()
    both = rp.dropna(subset=["weeks_to_50", "weeks_to_80"])
    assert (both["weeks_to_80"] >= both["weeks_to_50"]).all()
    assert (rp["weeks_to_80"].isna() | rp["weeks_to_50"].notna()).all()
    assert (rp["first_owner_tenure"].isna() == (rp["owner_departures"] == 0)).all()
    for col in ("final_adoption", "final_cx_index", "final_buy_in", "peak_adoption", "success",
                "owner_departures", "detections"):
        assert rp[col].notna().all(), col
    # Outcomes agree with the recorded series.
    last = ts[ts.tick == ts.tick.max()].set_index("replication")["adoption"]
    np.testing.assert_allclose(rp.set_index("replication")["final_adoption"], last, atol=1e-6)
    departures = ts.groupby("replication")["owner_left"].sum()
    np.testing.assert_array_equal(rp.set_index("replication")["owner_departures"], departures)


@pytest.mark.parametrize("name", shipped_scenarios())
def test_invariants_of_shipped_scenarios(name):
    """Shares stay in [0, 1], counts are whole and no metric is NaN in every shipped scenario."""
    sc = cxsim.load_scenario(name)
    res = cxsim.simulate(sc, replications=12, seed=1, ticks=min(sc.ticks, 60))
    check_tables(res)


def test_headcount_is_conserved_every_week():
    """Adopters stay whole numbers in [0, headcount] every week, even with heavy reversion."""
    sc = cxsim.load_scenario("reference", {"adoption.reversion": 0.8, "adoption.p": 0.05, "adoption.q": 0.5,
                                           "attrition.hazard": 0.2, "organization.headcount_scale": 0.3})
    eng = Engine(sc, np.arange(30), seed=2)
    head = eng.st.headcount[:, None]
    assert (head == np.round(head)).all() and (head >= 1).all()
    for _ in range(60):
        eng.step()
        a = eng.adopters
        assert (a == np.round(a)).all()
        assert (a >= 0).all() and (a <= head).all()
    assert (eng.adopters > 0).any() and (eng.adopters < head).any()  # the test saw both bounds matter


def _random_overrides(rng: np.random.Generator) -> dict:
    """Draw every declared parameter (except meta/run/owner identity) uniformly within its range."""
    out = {}
    for key, p in PARAMS.items():
        if key.split(".")[0] in ("meta", "run") or key == "owner.executive":
            continue
        if p.choices:
            out[key] = str(rng.choice(p.choices))
        elif p.kind is bool:
            out[key] = bool(rng.random() < 0.5)
        elif p.kind is int:
            hi = min(p.hi if p.hi is not None else 60, 60)  # weeks beyond the horizon add nothing
            out[key] = int(rng.integers(int(p.lo or 0), hi + 1))
        elif p.kind is float:
            lo, hi = p.lo, p.hi
            if hi is None or hi - lo > 100:  # wide ranges: draw on a log scale
                hi = hi if hi is not None else lo + 1e4
                out[key] = float(np.exp(rng.uniform(np.log(max(lo, 1e-3)), np.log(hi))))
            else:
                out[key] = float(rng.uniform(lo, hi))
    if out.get("social_influence.self_weight", 1) == 0:
        out["social_influence.self_weight"] = 1.0
    return out


@pytest.mark.parametrize("draw", range(8))
def test_invariants_under_random_parameters(draw):
    """Invariants hold for parameters drawn anywhere in their allowed ranges."""
    overrides = _random_overrides(np.random.default_rng(1000 + draw))
    sc = cxsim.load_scenario("reference", overrides)
    res = cxsim.simulate(sc, replications=8, seed=draw, ticks=40)
    check_tables(res)


def test_extreme_corners():
    """Invariants hold at the corners: everything at its maximum, and everything at its minimum."""
    for pick in (max, min):
        overrides = {}
        for key, p in PARAMS.items():
            if p.kind is float and p.lo is not None and p.hi is not None and p.hi - p.lo <= 100:
                if key.startswith(("run.", "meta.")):
                    continue
                overrides[key] = pick(p.lo, p.hi)
        overrides["journey.weak_link_exponent"] = pick(-20.0, 1.0)
        overrides["committee.enabled"] = True
        overrides["owner.mandate"] = "budget"
        sc = cxsim.load_scenario("reference", overrides)
        check_tables(cxsim.simulate(sc, replications=6, seed=0, ticks=30))


# -- neutral switches --------------------------------------------------------------------------

# A base with every mechanism busy: budget owner, active sponsor, monthly committee, fragile owner.
BUSY = {"owner.mandate": "budget", "sponsorship.level": "active", "committee.enabled": True,
        "attrition.hazard": 0.1, "business_case.patience_weeks": 10, "politics.jealousy_scale": 2.0,
        "adoption.reversion": 0.3}

# For each section: a knob that only that mechanism reads, and two values of it.
KNOBS = {
    "sponsorship": ("sponsorship.coownership_rate", 0.0, 0.2),
    "committee": ("committee.detection", 0.0, 1.0),
    "politics": ("politics.jealousy_growth", 0.0, 0.5),
    "social_influence": ("social_influence.rate", 0.0, 0.5),
    "persuasion": ("persuasion.rate", 0.0, 0.5),
    "business_case": ("business_case.erosion", 0.0, 0.05),
    "attrition": ("attrition.hazard", 0.0, 0.5),
    "mandate": ("mandate.training_rate", 0.0, 0.5),
    "readiness": ("readiness.alignment_rate", 0.0, 0.3),
    "skill": ("skill.learning_rate", 0.0, 0.3),
    "change_load": ("change_load.headcount_elasticity", 0.0, 2.0),
    "adoption": ("adoption.q", 0.0, 0.5),
    "journey": ("journey.weak_link_exponent", 1.0, -10.0),
}


def _run(overrides, reps=6, ticks=40):
    sc = cxsim.load_scenario("reference", {**BUSY, **overrides})
    return cxsim.simulate(sc, replications=reps, seed=3, ticks=ticks).timeseries


@pytest.mark.parametrize("section", sorted(KNOBS))
def test_disabled_section_ignores_its_parameters(section):
    """With `enabled = false` a section's parameters change nothing; enabled, they matter."""
    key, a, b = KNOBS[section]
    switch = "committee.enabled" if section == "committee" else f"{section}.enabled"
    off_a, off_b = _run({switch: False, key: a}), _run({switch: False, key: b})
    pd.testing.assert_frame_equal(off_a, off_b, check_exact=True)
    on_a, on_b = _run({switch: True, key: a}), _run({switch: True, key: b})
    metrics = list(METRICS)
    assert not on_a[metrics].equals(on_b[metrics]), f"{key} has no effect even when {section} is on"


def test_politics_off_means_no_jealousy_or_covert_resistance():
    """With politics off there is no jealousy and nobody plays along, even under an active sponsor."""
    ts = _run({"politics.enabled": False})
    assert (ts["jealousy"] == 0).all() and (ts["covert_resisters"] == 0).all()
    on = _run({})
    assert (on["covert_resisters"] > 0).any()  # the busy base does produce covert resisters


def test_politics_off_expressed_equals_true_buy_in():
    """With politics off every executive's recorded expressed buy-in equals the true buy-in."""
    ts = _run({"politics.enabled": False})
    np.testing.assert_array_equal(ts["expressed_buy_in"], ts["buy_in"])
    for e in cxsim.load_scenario("reference").executives:
        np.testing.assert_array_equal(ts[f"expressed:{e['id']}"], ts[f"buy_in:{e['id']}"])


def test_attrition_off_means_no_departures_or_cuts():
    """With attrition off the owner never leaves and no budget is ever cut."""
    ts = _run({"attrition.enabled": False, "attrition.hazard": 1.0, "attrition.budget_cut_hazard": 1.0})
    assert (ts["owner_present"] == 1).all()
    assert (ts[["owner_left", "successor_arrived", "budget_cut"]] == 0).all().all()
    budget = cxsim.load_scenario("reference")["owner.budget"]
    assert (ts.loc[ts.tick > 0, "budget_spent"] == budget).all()


def test_mandate_off_budget_has_no_effect():
    """With the mandate mechanism off the budget's size changes nothing but the money spent."""
    small, large = (_run({"mandate.enabled": False, "owner.budget": b}) for b in (10.0, 1000.0))
    rest = [c for c in small.columns if c != "budget_spent"]
    pd.testing.assert_frame_equal(small[rest], large[rest], check_exact=True)
    on_small, on_large = (_run({"owner.budget": b}) for b in (10.0, 1000.0))
    assert (on_large["skill"] >= on_small["skill"]).all() and (on_large["skill"] > on_small["skill"]).any()


def test_sponsorship_disabled_equals_no_sponsor():
    """sponsorship.enabled = false with an active level is the same run as level none."""
    off = _run({"sponsorship.enabled": False, "sponsorship.level": "active"})
    none = _run({"sponsorship.level": "none"})
    pd.testing.assert_frame_equal(off, none, check_exact=True)


def test_committee_off_never_meets():
    """Without a committee there are no meetings and no detections."""
    ts = _run({"committee.enabled": False})
    assert (ts["committee_met"] == 0).all() and (ts["resistance_detected"] == 0).all()


def test_adoption_off_freezes_adoption():
    """With employee adoption off the adoption share stays at its initial value."""
    ts = _run({"adoption.enabled": False})
    assert (ts["adoption"] == 0).all()
