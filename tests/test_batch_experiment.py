"""Experiment files and designs: every design type, and one-line errors for bad experiment files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cxsim.batch.designs import DESIGNS, Factor
from cxsim.batch.experiment import load_experiment
from cxsim.errors import ExperimentError

BASE = """
name = "t"
scenario = "reference"
replications = 4
ticks = 5
"""


# ---------------------------------------------------------------------------- designs
def test_factorial_crosses_every_level_last_factor_fastest(write_toml):
    """A factorial design has one point per combination, named by its values, in row-major order."""
    exp = load_experiment(write_toml("f.toml", BASE + """
        [design]
        type = "factorial"
        [design.factors]
        committee.enabled = [false, true]
        "committee.cadence_weeks" = [2, 4, 8]
    """))
    assert len(exp.points) == 6
    combos = [(p.scenario["committee.enabled"], p.scenario["committee.cadence_weeks"]) for p in exp.points]
    assert combos == [(False, 2), (False, 4), (False, 8), (True, 2), (True, 4), (True, 8)]
    assert exp.points[4].name == "enabled=true cadence_weeks=4"
    assert len({p.name for p in exp.points}) == 6


def test_scenario_list_is_crossed_and_differences_become_columns():
    """The shipped governance factorial gives 8 points named after the scenarios, with the 3 levers as columns."""
    from cxsim.batch.experiment import point_values

    exp = load_experiment("governance_factorial")
    assert exp.replications == 1000 and len(exp.points) == 8
    assert exp.points[-1].name == "budget-sponsor-committee"
    values = point_values(exp)
    assert list(values) == ["owner.mandate", "sponsorship.level", "committee.enabled"]
    combos = set(zip(*values.values()))
    assert len(combos) == 8


def test_lhs_is_stratified_in_every_dimension():
    """Each of n equal strata of every range holds exactly one LHS point; integers stay integers in range."""
    fs = [Factor("a", float, 0.0, 2.0), Factor("b", float, -1.0, 1.0), Factor("c", int, 1, 13)]
    s = DESIGNS["lhs"](fs, {"samples": 50}, 3)
    assert s.raw.shape == (50, 3)
    for j, f in enumerate(fs):
        strata = np.floor((s.raw[:, j] - f.lo) / (f.hi - f.lo) * 50).astype(int)
        assert sorted(strata) == list(range(50))
    c = [r["c"] for r in s.rows]
    assert all(isinstance(v, int) and 1 <= v <= 13 for v in c)
    again = DESIGNS["lhs"](fs, {"samples": 50}, 3)
    other = DESIGNS["lhs"](fs, {"samples": 50}, 4)
    assert np.array_equal(s.raw, again.raw) and not np.array_equal(s.raw, other.raw)


def test_sobol_has_saltelli_size_and_rounds_integers(write_toml):
    """A sobol design has N (k + 2) points (N (2k + 2) with second order); integer parameters are whole and in range."""
    text = BASE + """
        [design]
        type = "sobol"
        base_samples = 16
        [design.ranges]
        "committee.cadence_weeks" = [1, 13]
        "politics.jealousy_scale" = [0.5, 2.0]
        "adoption.q" = [0.05, 0.15]
    """
    exp = load_experiment(write_toml("s.toml", text))
    assert len(exp.points) == 16 * (3 + 2)
    cad = [p.scenario["committee.cadence_weeks"] for p in exp.points]
    assert all(isinstance(v, int) and 1 <= v <= 13 for v in cad)
    assert set(cad) == set(range(1, 14))  # 80 low-discrepancy points reach all 13 integers
    js = np.array([p.scenario["politics.jealousy_scale"] for p in exp.points])
    assert js.min() >= 0.5 and js.max() <= 2.0
    text2 = text.replace("base_samples = 16", "base_samples = 16\nsecond_order = true")
    exp2 = load_experiment(write_toml("s2.toml", text2))
    assert len(exp2.points) == 16 * (2 * 3 + 2)


def test_morris_trajectories_change_one_factor_per_step(write_toml):
    """A morris design has r (k + 1) points and each step of a trajectory moves exactly one parameter."""
    exp = load_experiment(write_toml("m.toml", BASE + """
        [design]
        type = "morris"
        trajectories = 5
        levels = 4
        [design.ranges]
        "politics.jealousy_scale" = [0.5, 2.0]
        "adoption.q" = [0.05, 0.15]
        "owner.budget" = [10.0, 100.0]
    """))
    k = 3
    assert len(exp.points) == 5 * (k + 1)
    raw = exp.sample.raw.reshape(5, k + 1, k)
    moved = (np.abs(np.diff(raw, axis=1)) > 1e-12).sum(axis=2)
    assert (moved == 1).all()


def test_points_design_applies_values_and_names(write_toml):
    """A points design runs the listed points, named as given (or point<i>), on top of [fixed]."""
    exp = load_experiment(write_toml("p.toml", BASE + """
        [fixed]
        "owner.mandate" = "budget"
        [design]
        type = "points"
        [[design.points]]
        name = "weekly"
        committee.enabled = true
        committee.cadence_weeks = 1
        [[design.points]]
        "executives.cfo.jealousy" = 0.9
    """))
    assert [p.name for p in exp.points] == ["weekly", "point1"]
    assert exp.points[0].scenario["committee.cadence_weeks"] == 1
    assert all(p.scenario["owner.mandate"] == "budget" for p in exp.points)
    cfo = next(e for e in exp.points[1].scenario.executives if e["id"] == "cfo")
    assert cfo["jealousy"] == 0.9


def test_shipped_experiments_load():
    """Every shipped experiment file loads and validates; the Sobol one varies at least 8 parameters."""
    from cxsim.batch.experiment import EXPERIMENT_DIR

    files = sorted(EXPERIMENT_DIR.glob("*.toml"))
    assert {"governance_factorial", "lhs_budget_levers", "sobol_reference"} <= {f.stem for f in files}
    loaded = {f.stem: load_experiment(f) for f in files}
    assert all(exp.points for exp in loaded.values())
    sob = loaded["sobol_reference"]
    assert sob.design_type == "sobol" and len(sob.factors) >= 8

def test_rows_are_made_on_demand_as_the_listed_rows_were(write_toml):
    """A design's rows (made when asked for) are the rows it used to list: same keys, order, values and types."""
    import itertools

    from cxsim.batch.designs import Lazy

    fs = [Factor("a", float, 0.0, 2.0), Factor("c", int, 1, 13), Factor("b", float, -1.0, 1.0)]
    s = DESIGNS["sobol"](fs, {"base_samples": 8}, 3)
    assert isinstance(s.rows, Lazy) and len(s.rows) == 8 * 5
    for row, raw in zip(s.rows, s.raw):
        assert list(row) == ["a", "c", "b"] and type(row["a"]) is float and type(row["c"]) is int
        assert (row["a"], row["b"]) == (raw[0], raw[2]) and 1 <= row["c"] <= 13
    levels = [Factor("x", bool, values=(False, True)), Factor("y", int, values=(2, 4, 8)),
              Factor("z", str, values=("advisory", "budget"))]
    f = DESIGNS["factorial"](levels, {}, 0)
    assert list(f.rows) == [dict(zip("xyz", c)) for c in itertools.product(*(x.values for x in levels))]
    assert list(DESIGNS["factorial"]([], {}, 0).rows) == [{}]
    assert f.rows[-1] == f.rows[len(f.rows) - 1] and f.rows[1:6:2] == [f.rows[1], f.rows[3], f.rows[5]]
    with pytest.raises(IndexError):
        f.rows[len(f.rows)]
    lever = Factor("x", bool, values=(False, True), role="lever")
    d = DESIGNS["discovery"]([lever, Factor("u", float, 0.0, 1.0, role="uncertainty")], {"samples": 3}, 1)
    futures = DESIGNS["lhs"]([Factor("u", float, 0.0, 1.0, role="uncertainty")], {"samples": 3}, 1).rows
    assert list(d.rows) == [{"x": x, **u} for x in (False, True) for u in futures]


def test_plan_hash_is_the_digest_of_the_whole_plan_text(write_toml, monkeypatch):
    """The plan hash, fed a block of points at a time, is the SHA-256 of the plan's whole JSON text (as it always was).

    Runs started before keep resuming only if it never changes.
    """
    import hashlib
    import json

    from cxsim.batch import experiment

    def whole(exp):  # the plan hash as it was first computed: one JSON text of everything
        text = json.dumps({"experiment": exp.to_dict(), "scenarios": [s.fingerprint() for s in exp.scenarios],
                           "points": [[p.name, p.base, p.values] for p in exp.points]}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    designs = {
        "sobol": '[design]\ntype = "sobol"\nbase_samples = 16\n[design.ranges]\n"adoption.q" = [0.05, 0.15]\n'
                 '"committee.cadence_weeks" = [1, 13]\n"executives.cfo.jealousy" = [0.1, 0.9]',
        "factorial": '[design]\ntype = "factorial"\n[design.factors]\n"committee.enabled" = [false, true]\n'
                     '"owner.mandate" = ["advisory", "budget"]',
        "points": '[design]\ntype = "points"\n[[design.points]]\nname = "w"\n"committee.cadence_weeks" = 1\n'
                  '[[design.points]]\n"owner.budget" = 55.5',
    }
    for name, design in designs.items():
        text = BASE.replace('scenario = "reference"', 'scenarios = ["reference", "governance/budget-sponsor-committee"]'
                            if name == "points" else 'scenario = "reference"') + design
        exp = load_experiment(write_toml(f"{name}.toml", text))
        for block in (experiment._HASH_BLOCK, 3, 1):  # (blocks that split the points anywhere)
            monkeypatch.setattr(experiment, "_HASH_BLOCK", block)
            assert exp.plan_hash() == whole(exp), (name, block)


# ---------------------------------------------------------------------------- bad files
BAD = [
    # (what, experiment text after BASE or whole, expected key path, expected fragment)
    ("unknown top key", 'replicatons = 3\n[design]\ntype = "factorial"', "replicatons", "did you mean 'replications'"),
    ("unknown parameter", '[design]\ntype = "factorial"\n[design.factors]\n"committee.cadence_weekz" = [2]',
     "design.factors.committee.cadence_weekz", "did you mean 'committee.cadence_weeks'"),
    ("value out of range", '[design]\ntype = "factorial"\n[design.factors]\n"committee.cadence_weeks" = [2, 0]',
     "design.factors.committee.cadence_weeks[1] = 0", "expected an integer in [1, 520]"),
    ("range beyond allowed",
     '[design]\ntype = "lhs"\nsamples = 4\n[design.ranges]\n"politics.jealousy_scale" = [0.5, 9]',
     "design.ranges.politics.jealousy_scale[1] = 9", "expected a number in [0, 5]"),
    ("empty range", '[design]\ntype = "lhs"\nsamples = 4\n[design.ranges]\n"adoption.q" = [0.2, 0.1]',
     "design.ranges.adoption.q = [0.2, 0.1]", "expected lo < hi"),
    ("choice in a sampled design",
     '[design]\ntype = "lhs"\nsamples = 4\n[design.ranges]\n"owner.mandate" = [0, 1]',
     "design.ranges.owner.mandate", "samples numbers only"),
    ("unknown design type", '[design]\ntype = "sobel"', "design.type = 'sobel'", "did you mean 'sobol'"),
    ("sobol size not a power of 2", '[design]\ntype = "sobol"\nbase_samples = 48\n[design.ranges]\n'
     '"adoption.p" = [0.001, 0.005]\n"adoption.q" = [0.05, 0.1]', "design.base_samples = 48", "power of 2"),
    ("unknown metric", '[keep]\nmetrics = ["adoption", "adopshun"]\n[design]\ntype = "factorial"',
     "keep.metrics[1] = 'adopshun'", "did you mean 'adoption'"),
    ("duplicate point name",
     '[design]\ntype = "points"\n[[design.points]]\nname = "a"\n[[design.points]]\nname = "a"',
     "design.points[1].name = 'a'", "duplicate point name"),
    ("unknown executive", '[design]\ntype = "factorial"\n[design.factors]\n"executives.cxo.jealousy" = [0.1]',
     "design.factors.executives.cxo.jealousy", "no executive with id 'cxo'"),
    ("bad replications", 'replications = 0\n[design]\ntype = "factorial"', "replications = 0",
     "expected an integer in"),
    ("missing design", "", "design", "missing; add a [design] table"),
]


@pytest.mark.parametrize("what,text,key,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_experiment_gives_one_line_and_exit_2(write_toml, run_cli, what, text, key, fragment):
    """A bad experiment file gets one line naming the file, key path, value and what is allowed; exit code 2."""
    body = BASE.replace("replications = 4\n", "") if "replications" in text else BASE
    path = write_toml("bad.toml", body + text)
    code, out, err = run_cli("batch", path, "--out", path.parent / "never")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "bad.toml: " + key in lines[0], lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in err and not (path.parent / "never").exists()


def test_missing_scenario_suggests_shipped_name(write_toml, run_cli):
    """A misspelt scenario name gets a did-you-mean among the shipped scenarios."""
    path = write_toml("e.toml", 'scenario = "referense"\n[design]\ntype = "factorial"\n')
    code, _, err = run_cli("batch", path)
    assert code == 2 and "scenario = 'referense'" in err and "did you mean 'reference'" in err


def test_invalid_toml_and_missing_file(write_toml, run_cli):
    """Unparseable TOML and a missing experiment file are one-line errors too."""
    path = write_toml("broken.toml", "name = \n")
    code, _, err = run_cli("batch", path)
    assert code == 2 and "broken.toml: not valid TOML" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("batch", path.parent / "nope.toml")
    assert code == 2 and "nope.toml: file not found" in err


def test_bad_experiment_from_the_console_script(write_toml):
    """The installed `cxsim` command prints one line, no traceback, and exits 2 on a bad experiment."""
    path = write_toml("bad.toml", BASE + '[design]\ntype = "factorial"\n[design.factors]\n"adoption.q" = [2.0]\n')
    exe = [sys.executable, "-m", "cxsim"]
    proc = subprocess.run([*exe, "batch", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "design.factors.adoption.q[0] = 2.0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_experiment_error_is_a_scenario_error_shape():
    """ExperimentError carries file, key, problem and value like ScenarioError."""
    exc = ExperimentError("e.toml", "design.type", "expected one of 'lhs'", "x")
    assert str(exc) == "e.toml: design.type = 'x': expected one of 'lhs'"
