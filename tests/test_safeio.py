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


# ---------------------------------------------------------------------------- one line, exit 2, nothing complete
def _one_line(result, *fragments):
    code, out, err = result
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for f in fragments:
        assert str(f) in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture
def small_mount(tmp_path):
    """Mount a tmpfs (root only): ``small_mount(options)`` returns its folder; unmounted afterwards."""
    import os
    import subprocess

    mounted = []

    def mount(options: str):
        if os.geteuid() != 0:
            pytest.skip("NOTICE: needs root to mount a small tmpfs (full disk / read-only tests skipped)")
        d = tmp_path / f"mnt{len(mounted)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"NOTICE: cannot mount a tmpfs here ({r.stderr.strip()}); full disk / read-only test skipped")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_full_disk_is_one_line_and_leaves_nothing_complete(small_mount, run_cli, write_toml):
    """On a full disk (1 MiB tmpfs), run and batch fail in one line naming the path; no temp or complete files stay."""
    disk = small_mount("size=1m")
    _one_line(run_cli("run", "reference", "--reps", "300", "--ticks", "156", "--out", disk / "run", "-q"),
              "No space left on device")
    assert list(disk.iterdir()) == []
    exp = write_toml("big.toml", 'scenario = "reference"\nreplications = 300\nchunk_size = 100\n'
                                 '[design]\ntype = "factorial"\n[design.factors]\n"adoption.p" = [0.001, 0.002]\n')
    _one_line(run_cli("batch", exp, "--out", disk / "b", "-w", "1", "-q"), "No space left on device", disk / "b")
    left = [p.name for p in (disk / "b").rglob("*")]
    assert not [n for n in left if ".tmp-" in n], left
    assert "replications.parquet" not in left and "summary.csv" not in left


def test_unwritable_places_are_one_line(small_mount, tmp_path, run_cli):
    """A read-only folder, a path below a file and a name too long: one line naming the path, exit 2."""
    ro = small_mount("ro,size=64k")
    _one_line(run_cli("run", "reference", "--reps", "2", "--ticks", "2", "--out", ro / "r", "-q"),
              ro, "Read-only file system")
    (tmp_path / "file").write_text("x")
    _one_line(run_cli("run", "reference", "--reps", "2", "--ticks", "2", "--out", tmp_path / "file" / "r", "-q"),
              tmp_path / "file", "is a file")
    _one_line(run_cli("run", "reference", "--reps", "2", "--ticks", "2", "--out", tmp_path / ("n" * 300), "-q"),
              "File name too long")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mnt0"]


def test_hostile_scenario_files_are_one_line(tmp_path, run_cli):
    """Binary, UTF-16, a FIFO, /dev/zero, symlink loops, a 1,500-file extends chain, ids as lists: one line each."""
    import os

    cases = {}
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    cases["bin.toml"] = "not UTF-8"
    (tmp_path / "u16.toml").write_text('[meta]\nname = "x"\n', encoding="utf-16")
    cases["u16.toml"] = "UTF-16"
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "fifo.toml").write_text('extends = "pipe"\n')
    cases["fifo.toml"] = "not a regular file"
    (tmp_path / "zero.toml").write_text('extends = "/dev/zero"\n')
    cases["zero.toml"] = "not a regular file"
    os.symlink("loop-b.toml", tmp_path / "loop-a.toml")
    os.symlink("loop-a.toml", tmp_path / "loop-b.toml")
    (tmp_path / "loops.toml").write_text('extends = "loop-a.toml"\n')
    cases["loops.toml"] = "symlink loop"
    for i in range(1500):
        (tmp_path / f"c{i}.toml").write_text(f'extends = "c{i + 1}.toml"\n' if i < 1499 else "")
    cases["c0.toml"] = "longer than 64 files"
    (tmp_path / "idlist.toml").write_text('extends = "c1499.toml"\n[[executives]]\nid = ["ceo"]\nceo = true\n')
    cases["idlist.toml"] = "expected a string id"
    (tmp_path / "idtable.toml").write_text('[[departments]]\nid = {a = 1}\nexecutive = "ceo"\n')
    cases["idtable.toml"] = "expected a string id"
    for name, what in cases.items():
        _one_line(run_cli("validate", tmp_path / name), what)
    _one_line(run_cli("validate", tmp_path / "loop-a.toml"), "symlink loop")
    exp = tmp_path / "e.toml"
    exp.write_bytes(b"\xff\xfe" + 'name = "x"'.encode("utf-16-le"))
    _one_line(run_cli("batch", exp), "UTF-16")


def test_damaged_results_are_one_line(tmp_path, run_cli, write_toml):
    """A truncated replications.parquet, a manifest that is [] or lacks keys: one line each for compare, resume."""
    from test_batch_run import TINY

    from cxsim.batch.runner import run_experiment

    exp = write_toml("tiny.toml", TINY.format(chunk=2, every=1))
    assert run_cli("batch", exp, "--out", tmp_path / "run", "-w", "1", "-q")[0] == 0
    data = (tmp_path / "run" / "replications.parquet").read_bytes()
    (tmp_path / "run" / "replications.parquet").write_bytes(data[: len(data) // 2])
    _one_line(run_cli("compare", tmp_path / "run", "--out", tmp_path / "c"), "replications.parquet", "truncated")
    assert not (tmp_path / "c").exists()

    from cxsim.batch import load_experiment

    with pytest.raises(KeyboardInterrupt):
        run_experiment(load_experiment(exp), tmp_path / "cut", workers=1, stop_after=1)
    manifest = tmp_path / "cut" / "manifest.json"
    good = json.loads(manifest.read_text())
    manifest.write_text("[]")
    _one_line(run_cli("batch", "--resume", tmp_path / "cut"), manifest, "expected a JSON object")
    manifest.write_text(json.dumps({k: v for k, v in good.items() if k != "plan_hash"}))
    _one_line(run_cli("batch", "--resume", tmp_path / "cut"), manifest, "'plan_hash' is missing")
    manifest.write_text(json.dumps({**good, "chunks": [{"id": 0}]}))
    _one_line(run_cli("batch", "--resume", tmp_path / "cut"), manifest, "chunks[0]")


def test_sizes_are_checked_before_anything_is_built(write_toml, run_cli):
    """A huge factorial, a billion chunks, a huge chunk and huge --ticks/--reps/--workers are refused up front."""
    factors = "\n".join(f'"executives.ceo.{f}" = [{", ".join(str(i / 20) for i in range(12))}]'
                        for f in ("buy_in", "jealousy", "understanding", "trust", "influence"))
    factors += "\n" + "\n".join(f'"{k}" = [{", ".join(str(i / 20) for i in range(12))}]'
                                for k in ("organization.readiness_shift", "committee.convergence",
                                          "owner.initial_credibility"))
    huge = write_toml("huge.toml", f'[design]\ntype = "factorial"\n[design.factors]\n{factors}\n')
    _one_line(run_cli("batch", huge), "huge.toml", "design", "429,981,696 points", "at most 1,000,000")
    billion = write_toml("billion.toml", 'replications = 1000000000\nchunk_size = 1\n'
                                         '[design]\ntype = "points"\n[[design.points]]\nname = "a"\n')
    _one_line(run_cli("batch", billion), "billion.toml", "chunk_size", "at most 100,000")
    fat = write_toml("fat.toml", 'chunk_size = 10000000\n[design]\ntype = "points"\n[[design.points]]\nname = "a"\n')
    _one_line(run_cli("batch", fat), "fat.toml", "chunk_size", "at most 10,000,000")
    _one_line(run_cli("run", "reference", "--reps", "100000", "--ticks", "5200", "-q"), "--reps 100000", "cxsim batch")
    for args in (("run", "reference", "--ticks", "1000000000"), ("batch", huge, "--workers", "100000")):
        code, _, err = run_cli(*args)
        assert code == 2 and "Traceback" not in err and "range" in err, err
