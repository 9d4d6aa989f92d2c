"""Scenario discovery: PRIM recovers known boxes, CART agrees, robust choices, the discovery design end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim.batch.experiment import experiment_from_dict
from cxsim.discovery import describe_box, outcome_of, prim
from cxsim.discovery.core import _cart, _robust
from cxsim.errors import ResultsError


def _synthetic(n=6000, noise=0.1, seed=1):
    """Uniform inputs; the outcome is 1 inside a ∈ [0.2, 0.6], b >= 0.5, m != 'z' with prob. 0.9, else 0.1."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n),
                      "m": rng.choice(["x", "y", "z"], n)})
    inside = ((X.a >= 0.2) & (X.a <= 0.6) & (X.b >= 0.5) & (X.m != "z")).to_numpy()
    y = np.where(inside, rng.random(n) < 1 - noise, rng.random(n) < noise)
    return X, y, inside


def test_prim_recovers_a_known_box():
    """PRIM's knee box restricts a, b and m (not c), with limits within 0.08 of the true box."""
    X, y, inside = _synthetic()
    r = prim(X, y)
    b = r.box(r.default_box())
    assert sorted(b.restricted(r.full)) == ["a", "b", "m"]
    # Each peel removes 5% of the box; with n = 6000 and 10% label noise a limit lands within
    # a couple of peels (and pasting) of the truth: 0.08 in these unit-range inputs.
    assert abs(b.limits["a"][0] - 0.2) < 0.08 and abs(b.limits["a"][1] - 0.6) < 0.08
    assert abs(b.limits["b"][0] - 0.5) < 0.08 and b.limits["b"][1] > 0.95
    assert set(b.limits["m"]) == {"x", "y"}
    assert b.density > 0.8 and b.coverage > 0.5  # true box: density 0.9, coverage 0.58
    qp = r.quasi_p(b)
    assert max(qp.values()) < 1e-6  # every restriction matters
    assert "a between" in describe_box(b, r.full, ["m"]) and "m is" in describe_box(b, r.full, ["m"])


def test_prim_trajectory_is_monotone_and_respects_min_mass():
    """Boxes shrink step by step and never hold fewer than min_mass of the points."""
    X, y, _ = _synthetic(n=3000)
    r = prim(X, y, min_mass=0.1)
    n = [b.n for b in r.boxes]
    assert all(a > b for a, b in zip(n, n[1:])) and n[-1] >= 0.1 * 3000
    assert r.boxes[0].coverage == 1.0 and r.boxes[0].density == pytest.approx(y.mean())


def test_prim_on_pure_noise_finds_nothing_much():
    """With an outcome independent of the inputs, no box is much denser than the base rate."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.random(4000), "b": rng.random(4000)})
    y = rng.random(4000) < 0.3
    r = prim(X, y)
    b = r.box(r.default_box())
    # binomial noise: a box of >= 5% (200 points) has sd sqrt(.3*.7/200) = 0.032; PRIM picks the
    # luckiest of many, so allow 0.15 above the base rate
    assert b.density < 0.3 + 0.15


def test_cart_agrees_with_prim():
    """On a box a depth-3 tree can draw (a >= 0.5, b >= 0.5), CART's purest leaf and PRIM's box agree."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.random(4000), "b": rng.random(4000), "c": rng.random(4000)})
    y = np.where((X.a >= 0.5) & (X.b >= 0.5), rng.random(4000) < 0.9, rng.random(4000) < 0.1)
    rules, tree = _cart(X, y, [])
    top = rules.iloc[0]
    assert top["density"] > 0.8
    dense = rules[rules["density"] > 0.8]
    assert abs(dense["share of futures"].sum() - 0.25) < 0.05  # the dense leaves together are the box
    assert "a > 0.4" in top["rule"] or "a > 0.5" in top["rule"]
    assert "b > 0.4" in top["rule"] or "b > 0.5" in top["rule"]
    r = prim(X, y)
    assert sorted(r.box(r.default_box()).restricted(r.full)) == ["a", "b"]


def test_robustness_finds_the_known_best_choice():
    """A lever that helps in every future has regret 0; a lever that helps only on average does not."""
    rng = np.random.default_rng(5)
    rows = []
    for lever in ("safe", "bold", "weak"):
        for f in range(40):
            u = f / 39
            p = {"safe": 0.6, "bold": 0.9 if u > 0.5 else 0.2, "weak": 0.3}[lever]
            for rep in range(50):
                rows.append({"lever": lever, "u": u, "y": rng.random() < p})
    table = pd.DataFrame(rows)
    d = type("D", (), {})()
    _robust(d, table[["lever", "u"]], table["y"].to_numpy(), ["lever"], ["u"], 0.05, 0.05)
    r = d.robustness.set_index("lever")
    assert d.robust_choice["lever"] == "safe"  # smallest worst-case regret (bold loses 0.4 in bad futures)
    assert r.loc["bold", "mean"] == pytest.approx(0.55, abs=0.03)  # 40 x 50 draws: sd of the mean ~0.011
    assert r.loc["weak", "max_regret"] > 0.4


def test_outcome_conditions_are_parsed_not_evaluated():
    """--where takes '<column> <op> <number>' and nothing else; bad columns name the allowed ones."""
    reps = pd.DataFrame({"point": [0, 0, 1], "replication": [0, 1, 0], "final_adoption": [0.2, 0.7, 0.9],
                         "success": [False, True, True]})
    np.testing.assert_array_equal(outcome_of(reps, where="final_adoption >= 0.7"), [False, True, True])
    np.testing.assert_array_equal(outcome_of(reps), [False, True, True])
    with pytest.raises(ResultsError, match="expected '<column> <op> <number>'"):
        outcome_of(reps, where="__import__('os').system('true')")
    with pytest.raises(ResultsError, match="columns: final_adoption"):
        outcome_of(reps, where="nope > 1")
    with pytest.raises(ResultsError, match="not a yes/no column"):
        outcome_of(reps, outcome="final_adoption")


def test_discovery_design_crosses_levers_with_the_same_futures():
    """Every lever combination meets the same sampled futures, choices outer, futures inner."""
    exp = experiment_from_dict({
        "scenario": "reference", "replications": 2, "seed": 1,
        "design": {"type": "discovery", "samples": 3, "levers": {"owner.mandate": ["advisory", "budget"],
                                                                 "committee.enabled": [False, True]},
                   "uncertainties": {"politics.jealousy_scale": [0.5, 2.0]}}})
    assert len(exp.points) == 12
    futures = [[p.values["politics.jealousy_scale"] for p in exp.points[c * 3:(c + 1) * 3]] for c in range(4)]
    assert all(f == futures[0] for f in futures)
    assert [p.values["owner.mandate"] for p in exp.points[::3]] == ["advisory", "advisory", "budget", "budget"]
    with pytest.raises(cxsim.ExperimentError, match="design.levers"):
        experiment_from_dict({"design": {"type": "discovery", "samples": 3,
                                         "uncertainties": {"politics.jealousy_scale": [0.5, 2.0]}}})


@pytest.mark.slow
def test_discover_end_to_end(tmp_path, run_cli):
    """The shipped discovery experiment at a small size: batch, discover (CLI and Python), report."""
    import tomllib
    from pathlib import Path

    data = tomllib.loads(Path("experiments/discovery.toml").read_text())
    data["replications"], data["design"]["samples"] = 3, 6
    exp_file = tmp_path / "small.toml"
    lines = [f'{k} = {v!r}'.replace("'", '"') for k, v in data.items() if not isinstance(v, dict)]
    text = "\n".join(lines) + '\n[keep]\nmetrics = ["adoption"]\ntimeseries_every = 13\n[design]\n'
    text += 'type = "discovery"\nsamples = 6\nseed = 5\n[design.levers]\n'
    text += "".join(f'"{k}" = {str(v).lower() if isinstance(v[0], bool) else v}\n'.replace("'", '"')
                    for k, v in data["design"]["levers"].items())
    text += "[design.uncertainties]\n" + "".join(f'"{k}" = {v}\n' for k, v in data["design"]["uncertainties"].items())
    exp_file.write_text(text)
    run = tmp_path / "run"
    code, out, err = run_cli("batch", str(exp_file), "--out", str(run), "--quiet")
    assert code == 0, err
    code, out, err = run_cli("discover", str(run), "--resamples", "5")
    assert code == 0, err
    assert "PRIM peeling trajectory" in out and "Most robust:" in out
    for name in ("trajectory.csv", "box.csv", "cart.csv", "robustness.csv", "trajectory.png", "robustness.png"):
        assert (run / "discovery" / name).is_file()
    code, out, err = run_cli("discover", str(run))
    assert code == 2 and "--force" in err  # nothing overwritten silently
    d = cxsim.discover(run, resamples=0)
    assert len(d.robustness) == 24 and d.robustness["futures"].eq(6).all()
    assert set(d.levers) == set(data["design"]["levers"])
    code, out, err = run_cli("report", str(run), "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    html = (tmp_path / "r.html").read_text()
    assert "What it takes" in html and "Robust choices" in html and "Most robust choice" in html
