"""`cxsim batch --set/--reps/--seed/--ticks`: applied to the run, recorded in the manifest, bad ones refused."""

from __future__ import annotations

import json

EXP = """
name = "settings"
scenario = "reference"
replications = 4
seed = 5
ticks = 6
chunk_size = 50

[keep]
metrics = ["adoption"]

[design]
type = "factorial"
[design.factors]
"committee.enabled" = [false, true]
"""


def test_batch_settings_are_applied_and_recorded(write_toml, run_cli, tmp_path):
    """The command-line settings replace the file's and are recorded under command_line_settings."""
    exp = write_toml("settings.toml", EXP)
    out = tmp_path / "run"
    code, _, err = run_cli("batch", exp, "--workers", "1", "--quiet", "--out", out, "--reps", "3", "--seed", "9",
                           "--ticks", "4", "--set", "committee.cadence_weeks=2", "--set", "executives.cfo.jealousy=0.6")
    assert code == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert (m["replications"], m["seed"], m["ticks"]) == (3, 9, 4)
    assert m["command_line_settings"] == {"set": {"committee.cadence_weeks": 2, "executives.cfo.jealousy": 0.6},
                                          "replications": 3, "seed": 9, "ticks": 4}
    assert m["experiment"]["fixed"] == {"committee.cadence_weeks": 2, "executives.cfo.jealousy": 0.6}
    cfo = next(e for e in m["scenarios"][0]["data"]["executives"] if e["id"] == "cfo")
    assert cfo["jealousy"] == 0.6


def test_batch_set_of_a_design_factor_is_refused(write_toml, run_cli):
    """--set of a key the design varies: one line naming --set and the key, exit 2."""
    code, _, err = run_cli("batch", write_toml("settings.toml", EXP), "--set", "committee.enabled=true")
    assert code == 2 and err.count("\n") == 1
    assert "--set: committee.enabled" in err and "varied by the experiment's design" in err


def test_batch_set_of_what_the_scenarios_differ_in_is_refused(run_cli):
    """--set of the key the shipped governance scenarios differ in: one line, exit 2."""
    code, _, err = run_cli("batch", "governance_factorial", "--set", "owner.mandate=budget")
    assert code == 2 and "--set: owner.mandate" in err and "differs between the experiment's scenarios" in err


def test_batch_settings_with_resume_are_a_usage_error(run_cli, tmp_path):
    """--resume fixes everything from the manifest: --reps with it is refused."""
    code, _, err = run_cli("batch", "--resume", tmp_path, "--reps", "3")
    assert code == 2 and "cannot change a run being resumed" in err
