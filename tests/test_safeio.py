"""Issue 10's classes across commands: no silent overwrite, user text drawn literally, figures never cost tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest

SCENARIO = """
extends = "{ref}"
[meta]
name = "costly"
description = 'Budget $50k\\month, then $5 more: \\x'
"""


@pytest.fixture(scope="module")
def dollar_run(tmp_path_factory):
    """A `cxsim run` whose name and description hold mathtext ($...$ with a bad escape)."""
    from cxsim.cli import main
    from cxsim.scenario import SCENARIO_DIR

    d = tmp_path_factory.mktemp("dollar")
    (d / "s.toml").write_text(SCENARIO.format(ref=SCENARIO_DIR / "reference.toml"))
    with pytest.raises(SystemExit) as info:
        main(["run", str(d / "s.toml"), "--reps", "4", "--ticks", "6", "--out", str(d / "run"), "--quiet"])
    assert info.value.code == 0
    return d / "run"


def test_user_text_is_drawn_literally(dollar_run, tmp_path, run_cli):
    """A description with dollars and a bad escape is drawn as written by run, compare and report (no mathtext)."""
    assert (dollar_run / "adoption.png").is_file()
    assert "figure_error" not in json.loads((dollar_run / "manifest.json").read_text())
    code, out, err = run_cli("compare", dollar_run, "--out", tmp_path / "cmp", "--resamples", "200")
    assert code == 0, err
    assert "could not be drawn" not in out + err
    assert (tmp_path / "cmp" / "success.png").is_file()
    code, out, err = run_cli("report", dollar_run, "--out", tmp_path / "r.html", "--resamples", "200")
    assert code == 0, err
    assert "Budget $50k\\month" in (tmp_path / "r.html").read_text()


def test_a_failing_figure_never_costs_the_tables(tmp_path, run_cli, monkeypatch):
    """When drawing fails, run keeps its tables (with a warning) and compare writes its tables (with a note)."""
    import cxsim.compare.figures as figures
    import cxsim.runio as runio

    def broken(*args, **kw):
        raise ValueError("drawing failed")

    monkeypatch.setattr(runio, "adoption_figure", broken)
    code, out, err = run_cli("run", "reference", "--reps", "3", "--ticks", "4", "--out", tmp_path / "run", "-q")
    assert code == 0, err
    assert "warning: adoption.png could not be drawn (ValueError: drawing failed)" in err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "manifest.json", "replications.parquet", "timeseries.parquet"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["figure_error"] == "ValueError: drawing failed" and "adoption.png" not in manifest["files"]
    monkeypatch.setattr(figures, "success_figure", broken)
    code, out, err = run_cli("compare", tmp_path / "run", "--out", tmp_path / "cmp", "--resamples", "200")
    assert code == 0, err
    assert "no success figure: it could not be drawn (ValueError: drawing failed)" in out
    assert not (tmp_path / "cmp" / "success.png").exists()
    assert len(pd.read_csv(tmp_path / "cmp" / "summary.csv")) == 1


def test_nothing_is_overwritten_without_force(dollar_run, tmp_path, run_cli):
    """run, compare, report and analyze refuse an existing output in one line (exit 2) and replace it with --force.

    A results directory is never a compare target, and --force never replaces a folder of other files.
    """
    def refused(*args, what):
        code, out, err = run_cli(*args)
        assert code == 2, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and what in lines[0], lines
        return lines[0]

    before = (dollar_run / "replications.parquet").read_bytes()
    refused("compare", dollar_run, "--out", dollar_run, what="is a results directory")
    refused("compare", dollar_run, "--out", dollar_run, "--force", what="is a results directory")
    assert (dollar_run / "replications.parquet").read_bytes() == before and not (dollar_run / "summary.csv").exists()

    out = tmp_path / "cmp"
    assert run_cli("compare", dollar_run, "--out", out, "--resamples", "200")[0] == 0
    (out / "summary.csv").write_text("mine\n")
    assert "--force" in refused("compare", dollar_run, "--out", out, what="already exists")
    assert (out / "summary.csv").read_text() == "mine\n"
    assert run_cli("compare", dollar_run, "--out", out, "--resamples", "200", "--force")[0] == 0
    assert (out / "summary.csv").read_text() != "mine\n"

    page = tmp_path / "notes.html"
    page.write_text("my notes")
    assert "--force" in refused("report", dollar_run, "--out", page, what="already exists")
    assert page.read_text() == "my notes"
    assert run_cli("report", dollar_run, "--out", page, "--resamples", "200", "--force")[0] == 0
    assert "<html" in page.read_text()

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    for force in ((), ("--force",)):
        refused("run", "reference", "--reps", "2", "--ticks", "2", "--out", folder, "-q", *force,
                what="not the results of a `cxsim run`")
    assert (folder / "thesis.tex").read_text() == "years of work"
    refused("run", "reference", "--reps", "2", "--ticks", "2", "--out", ".", "-q", "--force",
            what="is the working directory")


def test_analyze_refuses_to_overwrite_without_force(tmp_path, run_cli):
    """`cxsim analyze` refuses an earlier analysis of the same outcome without --force, and replaces it with it."""
    import numpy as np
    from test_batch_analyze import _synthetic_run

    from cxsim.batch.designs import Factor

    run = _synthetic_run(tmp_path / "run", "lhs", [Factor("a", float, 0, 1), Factor("b", float, 0, 1)],
                         {"samples": 50}, lambda X: X[:, 0] + 0.1 * X[:, 1])
    args = ("analyze", run, "--outcome", "y", "--resamples", "20")
    assert run_cli(*args)[0] == 0
    csv = run / "analysis" / "sensitivity_y.csv"
    csv.write_text("mine\n")
    code, _, err = run_cli(*args)
    assert code == 2 and "already exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert csv.read_text() == "mine\n"
    assert run_cli(*args, "--force")[0] == 0
    assert list(pd.read_csv(csv)["parameter"]) == ["a", "b"] and np.isfinite(pd.read_csv(csv)["PRCC"]).all()
