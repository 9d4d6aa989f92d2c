"""The core command line: run, scenarios, validate, params, and how user errors are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxsim.metrics import OUTCOMES
from cxsim.params import PARAMS
from cxsim.scenario import load_scenario, shipped_scenarios

CXSIM = Path(sys.executable).with_name("cxsim")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished `cxsim run reference --reps 20 --ticks 20` output directory."""
    from cxsim.cli import main

    out = tmp_path_factory.mktemp("runs") / "ref"
    with pytest.raises(SystemExit) as info:
        main(["run", "reference", "--reps", "20", "--ticks", "20", "--seed", "3", "--out", str(out), "--quiet"])
    assert info.value.code == 0
    return out


def test_run_writes_all_files(run_dir):
    """`cxsim run` writes manifest.json, both Parquet tables and adoption.png, nothing half-done."""
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["adoption.png", "manifest.json", "replications.parquet", "timeseries.parquet"]
    assert (run_dir / "adoption.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in run_dir.parent.iterdir() if "partial" in p.name]


def test_run_timeseries_table(run_dir):
    """timeseries.parquet has scenario, replication, tick and the metrics, one row per rep and tick."""
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    for col in ("scenario", "replication", "tick", "adoption", "buy_in", "expressed_buy_in", "cx_index",
                "owner_present", "owner_left"):
        assert col in ts.columns
    assert len(ts) == 20 * 21
    assert sorted(ts.replication.unique()) == list(range(20)) and ts.tick.max() == 20
    assert (ts.scenario == "reference").all()


def test_run_replications_table(run_dir):
    """replications.parquet has one row per replication with every outcome."""
    rp = pd.read_parquet(run_dir / "replications.parquet")
    assert len(rp) == 20
    for col in ("final_adoption", "weeks_to_50", "weeks_to_80", "success", "owner_departures", *OUTCOMES):
        assert col in rp.columns
    assert rp["success"].dtype == bool


def test_run_manifest(run_dir):
    """manifest.json records the resolved scenario, seed, size, versions and summary."""
    man = json.loads((run_dir / "manifest.json").read_text())
    assert man["seed"] == 3 and man["replications"] == 20 and man["ticks"] == 20
    assert man["scenario_name"] == "reference"
    assert man["scenario"]["owner"]["mandate"] == "advisory"
    assert {"started", "finished", "versions", "command", "summary"} <= set(man)
    rp = pd.read_parquet(run_dir / "replications.parquet")
    assert man["summary"]["mean_final_adoption"] == pytest.approx(rp["final_adoption"].mean())


def test_run_refuses_to_overwrite_without_force(run_dir, run_cli):
    """A second run into the same directory exits 2 with one line; --force replaces it."""
    before = (run_dir / "manifest.json").read_text()
    code, out, err = run_cli("run", "reference", "--reps", "2", "--ticks", "2", "--out", run_dir, "--quiet")
    assert code == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(run_dir) in lines[0] and "--force" in lines[0]
    assert (run_dir / "manifest.json").read_text() == before
    code, out, err = run_cli("run", "reference", "--reps", "2", "--ticks", "2", "--out", run_dir, "--quiet",
                             "--force")
    assert code == 0
    assert json.loads((run_dir / "manifest.json").read_text())["replications"] == 2


def test_run_with_overrides_and_summary(tmp_path, run_cli):
    """`--set` overrides reach the manifest and the printed summary names the scenario."""
    out_dir = tmp_path / "o"
    code, out, _ = run_cli("run", "governance/budget-sponsor-committee", "--reps", "3", "--ticks", "5",
                           "--set", "executives.cfo.jealousy=0.6", "--set", "committee.cadence_weeks=2",
                           "--out", out_dir, "--quiet")
    assert code == 0 and "budget-sponsor-committee" in out and "wrote" in out
    man = json.loads((out_dir / "manifest.json").read_text())
    assert man["overrides"] == {"executives.cfo.jealousy": 0.6, "committee.cadence_weeks": 2}
    cfo = next(e for e in man["scenario"]["executives"] if e["id"] == "cfo")
    assert cfo["jealousy"] == 0.6 and man["scenario"]["committee"]["cadence_weeks"] == 2


def test_bad_option_values_exit_2(run_cli, tmp_path):
    """Out-of-range CLI options (--reps 0) are usage errors with exit code 2."""
    code, out, err = run_cli("run", "reference", "--reps", "0", "--out", tmp_path / "x")
    assert code == 2 and "Traceback" not in out + err and "--reps" in err
    assert not (tmp_path / "x").exists()


def test_scenarios_lists_every_shipped_file(run_cli):
    """`cxsim scenarios` prints one line per shipped scenario file with its description."""
    code, out, _ = run_cli("scenarios")
    assert code == 0
    listed = [line.split()[0] for line in out.strip().splitlines()]
    scen_dir = Path(__file__).resolve().parent.parent / "scenarios"
    on_disk = sorted(str(p.relative_to(scen_dir).with_suffix("")) for p in scen_dir.rglob("*.toml"))
    assert listed == on_disk == shipped_scenarios()


def test_validate_reports_ok(run_cli):
    """`cxsim validate` accepts several shipped scenarios and says ok for each."""
    code, out, _ = run_cli("validate", "reference", "limits/bass", "governance/advisory-nosponsor-nocommittee")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all("ok" in line for line in lines)
    ref = load_scenario("reference")
    assert f"{len(ref.departments)} departments" in lines[0] and f"{len(ref.executives)} executives" in lines[0]


def test_params_lists_every_parameter(run_cli):
    """`cxsim params` lists every declared parameter with its allowed values."""
    code, out, _ = run_cli("params")
    assert code == 0
    for key, p in PARAMS.items():
        section, name = key.split(".", 1)
        assert f"[{section}]" in out and f"  {name} " in out, key
        assert p.allowed() in out
    code, out, _ = run_cli("params", "committee")
    assert code == 0 and "cadence_weeks" in out and "[owner]" not in out


def test_params_unknown_section_exit_2(run_cli):
    """`cxsim params nosuch` is a one-line error with exit code 2."""
    code, out, err = run_cli("params", "comittee")
    assert code == 2 and "comittee" in err and "Traceback" not in out + err


def test_help_texts(run_cli):
    """--help works for the group, and every command's help has examples of that command (as the README says)."""
    code, out, _ = run_cli("--help")
    assert code == 0 and "run" in out and "scenarios" in out and "validate" in out and "params" in out
    code, out, _ = run_cli("run", "--help")
    assert code == 0 and "Examples" in out and "--set" in out
    from cxsim.cli import cli

    for name in cli.commands:
        code, out, _ = run_cli(name, "--help")
        assert code == 0 and "Examples:" in out and f"cxsim {name}" in out.split("Examples:", 1)[1], name


def test_python_dash_m_help():
    """`python -m cxsim --help` works in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-m", "cxsim", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Usage" in proc.stdout


def test_console_script_error_has_no_traceback(tmp_path):
    """The installed `cxsim` script prints one error line and exits 2 on a bad scenario."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[owner]\nmandate = "budgte"\n')
    exe = [str(CXSIM)] if CXSIM.exists() else [sys.executable, "-m", "cxsim"]
    proc = subprocess.run([*exe, "validate", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.toml" in lines[0] and "did you mean 'budget'" in lines[0]
