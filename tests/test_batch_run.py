"""Batch runs: identical results for any worker count and chunk size, resume after a kill, the store, progress."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cxsim.batch import load_experiment, load_results
from cxsim.batch.runner import plan_chunks, progress_bar, resume_run, run_experiment
from cxsim.batch.store import assemble, wilson_interval, write_chunk
from cxsim.errors import ResultsError

TINY = """
name = "tiny"
scenario = "reference"
replications = 6
seed = 5
ticks = 8
chunk_size = {chunk}

[keep]
metrics = ["adoption", "buy_in", "committee_met"]
timeseries_every = {every}

[design]
type = "factorial"
[design.factors]
"organization.readiness_shift" = [-0.2, 0.2]
"committee.enabled" = [false, true]
"""


@pytest.fixture
def tiny(write_toml):
    """Write the tiny 4-point experiment with a given chunk size; return its loaded Experiment."""

    def make(chunk: int = 2, every: int = 1, name: str = "tiny.toml"):
        return load_experiment(write_toml(name, TINY.format(chunk=chunk, every=every)))

    return make


def _tables(run_dir: Path) -> dict[str, bytes]:
    return {t: (run_dir / f"{t}.parquet").read_bytes() for t in ("points", "replications", "timeseries")}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The tiny experiment run uninterrupted in one process with chunks of 2 replications."""
    import textwrap

    d = tmp_path_factory.mktemp("ref")
    (d / "tiny.toml").write_text(textwrap.dedent(TINY.format(chunk=2, every=1)))
    return run_experiment(load_experiment(d / "tiny.toml"), d / "run", workers=1)


def test_plan_chunks_cover_every_point_and_replication_once():
    """Chunks split big points by replication range and group small points, covering everything exactly once."""
    for P, R, C in [(3, 10, 4), (5, 3, 7), (1, 1, 1), (4, 8, 8)]:
        cells = [(p, r) for c in plan_chunks(P, R, C) for p in c.points for r in range(c.lo, c.hi)]
        assert cells == [(p, r) for p in range(P) for r in range(R)]
        assert all(c.size <= max(C, R) for c in plan_chunks(P, R, C))


def test_identical_results_for_any_workers_and_chunk_size(tiny, tmp_path, reference_run):
    """Two workers with chunks of 4, or one process with whole points per chunk, give byte-identical tables."""
    two = run_experiment(tiny(chunk=4, name="t4.toml"), tmp_path / "w2", workers=2)
    grouped = run_experiment(tiny(chunk=100, name="t100.toml"), tmp_path / "g", workers=1)
    ref = _tables(reference_run)
    assert _tables(two) == ref
    assert _tables(grouped) == ref
    a, b = load_results(reference_run), load_results(two)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    assert pq.ParquetFile(two / "timeseries.parquet").metadata.num_rows == 4 * 6 * 9


def test_points_match_simulate_and_share_random_numbers(tiny, reference_run):
    """Point i's replications equal cxsim.simulate of its scenario; a parameter that does nothing leaves them equal."""
    from cxsim.simulate import simulate

    exp = tiny()
    res = load_results(reference_run)
    for p in (0, 3):
        direct = simulate(exp.points[p].scenario, replications=6, seed=5, ticks=8, per_agent=False).replications
        got = res.replications[res.replications["point"] == p].reset_index(drop=True)
        pd.testing.assert_frame_equal(got.drop(columns="point"), direct.drop(columns="scenario"), check_exact=True)
    # committee.cadence_weeks has no effect while the committee is disabled: with common random
    # numbers the two points must then be identical replication by replication.
    from cxsim.batch.runner import chunk_tables

    base = exp.scenarios[0]
    items = [(0, base.with_overrides({"committee.cadence_weeks": 2})),
             (1, base.with_overrides({"committee.cadence_weeks": 9}))]
    t = chunk_tables(items, 0, 6, 5, 8, exp.keep).__getitem__("replications").to_pandas()
    a, b = (t[t.point == i].drop(columns="point").reset_index(drop=True) for i in (0, 1))
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("workers", [1, None])  # (None: the default, threads in this process for a run this small)
def test_resume_after_interrupt_is_bit_identical(tiny, tmp_path, reference_run, workers):
    """A run stopped after 3 chunks keeps them, reports itself incomplete, and resumes to identical tables."""
    exp = tiny()
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(exp, out, workers=workers, stop_after=3)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert [c["status"] for c in manifest["chunks"]].count("done") == 3
    with pytest.raises(ResultsError, match="incomplete"):
        load_results(out)
    # A chunk file half-written when the process died must be ignored and cleaned up.
    (out / "chunks" / ".000005.replications.parquet.tmp-999").write_bytes(b"garbage")
    resume_run(out, workers=1)
    assert _tables(out) == _tables(reference_run)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True and len(manifest["sessions"]) == 2
    assert not (out / "chunks").exists()
    # (the chunk list, made afresh from the plan when the manifest is written, lists every chunk's checksums)
    assert manifest["chunks"] == json.loads((reference_run / "manifest.json").read_text())["chunks"]


def test_resume_of_a_sampled_design_with_fixed_overrides(write_toml, tmp_path):
    """An interrupted LHS run with [fixed] overrides rebuilds the same design from its manifest and resumes."""
    text = """
        scenario = "reference"
        replications = 2
        ticks = 3
        chunk_size = 2
        [fixed]
        "owner.mandate" = "budget"
        [design]
        type = "lhs"
        samples = 4
        [design.ranges]
        "owner.budget" = [10.0, 100.0]
        "committee.cadence_weeks" = [1, 8]
    """
    exp = load_experiment(write_toml("l.toml", text))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(exp, tmp_path / "cut", workers=1, stop_after=1)
    resume_run(tmp_path / "cut", workers=1)
    whole = run_experiment(load_experiment(write_toml("l2.toml", text)), tmp_path / "whole", workers=1)
    assert _tables(tmp_path / "cut") == _tables(whole)
    pts = load_results(whole).points
    assert list(pts.columns[4:]) == ["owner.budget", "committee.cadence_weeks"]
    assert (tmp_path / "cut" / "design.parquet").read_bytes() == (whole / "design.parquet").read_bytes()


def test_resume_after_sigkill_of_the_cli(tmp_path, reference_run, run_cli):
    """`cxsim batch` killed with SIGKILL mid-run resumes (`--resume`) to tables identical to an uninterrupted run."""
    import textwrap

    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(textwrap.dedent(TINY.format(chunk=1, every=1)))
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "cxsim", "batch", str(exp_file), "--out", str(out), "-w", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if len(list((out / "chunks").glob("*.replications.parquet"))) >= 2 if (out / "chunks").is_dir() else False:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (out / "replications.parquet").exists()
    code, stdout, err = run_cli("batch", "--resume", out, "-w", "1", "-q")
    assert code == 0, err
    assert "wrote" in stdout
    assert _tables(out) == _tables(reference_run)


def test_results_are_never_overwritten(tiny, tmp_path, run_cli, write_toml):
    """A second run into a directory with results is refused with one line and exit code 2."""
    path = write_toml("tiny.toml", TINY.format(chunk=6, every=1))
    out = tmp_path / "once"
    code, stdout, _ = run_cli("batch", path, "--out", out, "-w", "1")
    assert code == 0 and "wrote" in stdout
    before = _tables(out)
    code, _, err = run_cli("batch", path, "--out", out, "-w", "1")
    assert code == 2 and "already holds files" in err and len(err.strip().splitlines()) == 1
    assert _tables(out) == before


def test_resume_refuses_a_changed_experiment(tiny, tmp_path, run_cli, write_toml):
    """Resuming with an experiment file that differs from the run's is refused (results would mix)."""
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny(chunk=2), tmp_path / "r", workers=1, stop_after=1)
    other = write_toml("other.toml", TINY.format(chunk=2, every=1).replace("seed = 5", "seed = 6"))
    code, _, err = run_cli("batch", other, "--resume", tmp_path / "r")
    assert code == 2 and "differs from the experiment" in err


def test_store_layout_and_summary(reference_run):
    """The store follows the contract: manifest fields, table columns, and a summary matching the replications."""
    res = load_results(reference_run)
    m = res.manifest
    for key in ("kind", "experiment_name", "experiment", "experiment_file", "design", "seed", "replications",
                "ticks", "points", "versions", "git_commit", "command", "started", "finished", "chunks", "complete"):
        assert key in m
    assert m["kind"] == "cxsim batch" and m["points"] == 4 and m["complete"] is True
    assert {c["status"] for c in m["chunks"]} == {"done"}
    assert list(res.points.columns) == ["point", "name", "scenario", "description",
                                        "organization.readiness_shift", "committee.enabled"]
    assert list(res.replications.columns[:3]) == ["point", "replication", "final_adoption"]
    assert list(res.timeseries.columns) == ["point", "replication", "tick", "adoption", "buy_in", "committee_met"]
    sel = res.read_timeseries(columns=["adoption"], points=[2])
    assert set(sel["point"]) == {2} and list(sel.columns) == ["point", "replication", "tick", "adoption"]
    g = res.replications.groupby("point")
    s = res.summary
    np.testing.assert_allclose(s["final_adoption_mean"], g["final_adoption"].mean(), rtol=1e-12)
    np.testing.assert_allclose(s["final_adoption_sd"], g["final_adoption"].std(ddof=1), rtol=1e-9)
    np.testing.assert_allclose(s["success_rate"], g["success"].mean(), rtol=1e-12)
    assert (s["replications"] == 6).all()


def test_wilson_interval_matches_scipy():
    """The Wilson interval equals scipy's binomtest(...).proportion_ci(method='wilson')."""
    from scipy.stats import binomtest

    for k, n in [(0, 10), (3, 10), (10, 10), (412, 1000)]:
        lo, hi = wilson_interval(k, n)
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_assembly_streams_fixed_row_groups(tmp_path):
    """Assembly writes row groups of a fixed size whatever the chunks, keeping rows in chunk order."""
    import pyarrow as pa

    (tmp_path / "chunks").mkdir()
    sizes = [5, 1, 9, 3]
    start = 0
    for cid, n in enumerate(sizes):
        t = pa.table({"x": np.arange(start, start + n, dtype=np.int64)})
        write_chunk(tmp_path, cid, {"replications": t, "timeseries": t})
        start += n
    assemble(tmp_path, range(len(sizes)), "replications", rows_per_group=4)
    f = pq.ParquetFile(tmp_path / "replications.parquet")
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [4, 4, 4, 4, 2]
    assert f.read().column("x").to_pylist() == list(range(18))


def test_progress_bar_only_on_a_terminal(tiny, tmp_path, run_cli, write_toml):
    """The bar draws on a terminal, stays silent on a pipe or with --quiet; the CLI prints none when piped."""

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = FakeTTY(), io.StringIO()
    for stream, quiet in ((tty, False), (pipe, False)):
        with progress_bar(10, "x", quiet=quiet, stream=stream) as bar:
            bar.update(10)
    assert "reps" in tty.getvalue() and pipe.getvalue() == ""
    quiet_tty = FakeTTY()
    with progress_bar(10, "x", quiet=True, stream=quiet_tty) as bar:
        bar.update(10)
    assert quiet_tty.getvalue() == ""
    # A real run on a fake terminal reports replications and points as it goes.
    run_experiment(tiny(chunk=3, name="p.toml"), tmp_path / "bar", workers=1, quiet=False, stream=tty)
    assert "24/24 reps" in tty.getvalue() and "points 4/4" in tty.getvalue()
    path = write_toml("piped.toml", TINY.format(chunk=6, every=1))
    code, _, err = run_cli("batch", path, "--out", tmp_path / "piped", "-w", "1")
    assert code == 0 and err == ""


def test_timeseries_every_keeps_multiples_and_last_tick(tiny, tmp_path):
    """keep.timeseries_every = 3 keeps ticks 0, 3, 6 and the horizon 8."""
    out = run_experiment(tiny(chunk=6, every=3, name="e.toml"), tmp_path / "e", workers=1)
    ts = load_results(out).timeseries
    assert sorted(ts["tick"].unique()) == [0, 3, 6, 8]


def test_load_results_errors(tmp_path):
    """load_results names a missing or non-results directory in one line."""
    with pytest.raises(ResultsError, match="no such results directory"):
        load_results(tmp_path / "nope")
    with pytest.raises(ResultsError, match="no manifest.json"):
        load_results(tmp_path)


def test_plan_tasks_groups_chunks_of_one_range_within_budget():
    """Tasks hold chunks of one replication range, at most `budget` replications (or one chunk), each chunk once."""
    from cxsim.batch.runner import plan_tasks

    for P, R, C, budget in [(5, 10, 4, 8), (9, 3, 7, 20), (3, 6, 6, 1), (768, 50, 500, 4000)]:
        chunks = plan_chunks(P, R, C)
        tasks = plan_tasks(chunks, budget)
        assert sorted(c.id for t in tasks for c in t) == [c.id for c in chunks]
        for t in tasks:
            assert len({(c.lo, c.hi) for c in t}) == 1
            assert len(t) == 1 or sum(c.size for c in t) <= budget
            assert [c.id for c in t] == sorted(c.id for c in t)


def test_stacked_task_tables_equal_simulate_per_point(write_toml):
    """A task's points run stacked, yet each point's rows equal cxsim.simulate of its scenario, every column exactly."""
    from cxsim.batch.runner import task_tables
    from cxsim.simulate import simulate

    exp = load_experiment(write_toml("s.toml", TINY.format(chunk=2, every=1).replace(
        "timeseries_every = 1", "timeseries_every = 1\nper_agent = true")))
    items = [[(p.index, p.scenario)] for p in exp.points]  # one chunk per point, all in one task
    tables = task_tables(items, 2, 5, exp.seed, exp.ticks, exp.keep)
    for (point, sc), t in zip((i[0] for i in items), tables):
        direct = simulate(sc, replications=3, first_replication=2, seed=exp.seed, ticks=exp.ticks)
        rp = t["replications"].to_pandas()
        assert (rp["point"] == point).all()
        pd.testing.assert_frame_equal(rp.drop(columns="point"), direct.replications.drop(columns="scenario"),
                                      check_exact=True)
        ts = t["timeseries"].to_pandas().drop(columns="point")
        pd.testing.assert_frame_equal(ts, direct.timeseries[ts.columns], check_exact=True)
        assert not any(":" in c for c in ts.columns)
        ag = t["agents"].to_pandas().drop(columns="point")  # per-agent columns: their own table, same rows
        assert any(":" in c for c in ag.columns)
        pd.testing.assert_frame_equal(ag, direct.timeseries[ag.columns], check_exact=True)


def test_resume_verifies_kept_chunks_and_recomputes_damaged_ones(tiny, tmp_path, reference_run, write_toml):
    """Truncated, swapped and foreign (other seed) chunks are each named and recomputed; the tables stay identical."""
    exp = tiny()
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(exp, out, workers=1, stop_after=4)
    other = load_experiment(write_toml("seed6.toml", TINY.format(chunk=2, every=1).replace("seed = 5", "seed = 6")))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(other, tmp_path / "other", workers=1, stop_after=4)
    chunks = out / "chunks"
    manifest = json.loads((out / "manifest.json").read_text())
    done = [c for c in manifest["chunks"] if c["status"] == "done"]
    assert len(done) == 4 and all(len(c["sha256"]) == 2 and c["rows"]["replications"] == 2 for c in done)
    a, b, c, d = (f"{c['id']:06d}" for c in done)
    (chunks / f"{a}.timeseries.parquet").write_bytes(b"")  # truncated to nothing
    (chunks / f"{b}.replications.parquet").write_bytes((chunks / f"{c}.replications.parquet").read_bytes())
    for f in (tmp_path / "other" / "chunks").glob(f"{d}.*"):  # the same chunk of a run with another seed
        (chunks / f.name).write_bytes(f.read_bytes())
    err = io.StringIO()
    resume_run(out, workers=1, stream=err)
    lines = err.getvalue().splitlines()
    said = [line for line in lines if "recomputing it" in line]
    assert len(said) == 3, lines
    assert f"chunk {int(a)} " in said[0] and "unreadable" in said[0]
    assert f"chunk {int(b)} " in said[1] and "checksum" in said[1]
    assert f"chunk {int(d)} " in said[2] and "another run" in said[2]
    assert _tables(out) == _tables(reference_run)


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="NOTICE: needs /proc to find the workers")
def test_workers_die_with_their_parent(tmp_path):
    """After kill -9 of a 2-worker `cxsim batch` in mid-task, its workers stop at once and write no chunks."""
    import os
    import textwrap

    exp_file = tmp_path / "tiny.toml"
    exp_file.write_text(textwrap.dedent(TINY.format(chunk=1, every=1)))
    out = tmp_path / "orphan"
    # Each worker task first sleeps 600 s (testing hook), so a worker that outlives its parent is still there.
    env = {**os.environ, "CXSIM_BATCH_TASK_PAUSE": "600"}
    proc = subprocess.Popen([sys.executable, "-m", "cxsim", "batch", str(exp_file), "--out", str(out), "-w", "2",
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and proc.poll() is None:
        workers = {p for p in _children(proc.pid) if b"spawn" in Path(f"/proc/{p}/cmdline").read_bytes()}
        if len(workers) == 2 and all((out / f".paused-{p}").exists() for p in workers):
            break  # both workers are in a task
        time.sleep(0.05)
    assert proc.poll() is None and len(workers) == 2, "the batch ended before its workers could be seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.time() + 60  # a worker that is not killed sleeps for 600 s
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    try:
        assert not any(_alive(p) for p in workers), "workers outlived their parent"
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    assert not list((out / "chunks").glob("*.chunk.json"))


def test_lean_store_splits_agents_and_reads_old_stores(tmp_path, write_toml):
    """Per-agent columns go to agents.parquet (read only when named); an old one-file store reads the same."""
    text = TINY.format(chunk=4, every=1).replace("timeseries_every = 1", "timeseries_every = 1\nper_agent = true")
    run = run_experiment(load_experiment(write_toml("a.toml", text)), tmp_path / "a", workers=1)
    res = load_results(run)
    assert "agents.parquet" in res.manifest["files"] and (run / "agents.parquet").is_file()
    assert not any(":" in c for c in pq.read_schema(run / "timeseries.parquet").names)
    assert not any(":" in c for c in res.timeseries.columns)
    agents = [c for c in res.timeseries_columns if ":" in c]
    assert agents and agents[0].startswith("adoption:")
    sel = res.read_timeseries(columns=["adoption", agents[0], "buy_in"], points=[1, 3])
    assert list(sel.columns) == ["point", "replication", "tick", "adoption", agents[0], "buy_in"]
    assert set(sel["point"]) == {1, 3}
    # The same run as a store written before agents.parquet existed: one timeseries file with every column.
    old = tmp_path / "old"
    old.mkdir()
    for f in run.iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    joined = pq.read_table(run / "timeseries.parquet")
    ag = pq.read_table(run / "agents.parquet")
    for c in agents:
        joined = joined.append_column(c, ag.column(c))
    pq.write_table(joined, old / "timeseries.parquet", compression="zstd")
    (old / "agents.parquet").unlink()
    old_res = load_results(old)
    assert old_res.timeseries_columns == list(joined.schema.names)
    pd.testing.assert_frame_equal(old_res.read_timeseries(columns=["adoption", agents[0], "buy_in"], points=[1, 3]),
                                  sel, check_exact=True)
    from cxsim.compare.store import read_run

    for d in (run, old):
        rd = read_run(d)
        assert agents[0] in rd.timeseries_columns
        pd.testing.assert_frame_equal(rd.timeseries([agents[0]], [2]), res.read_timeseries([agents[0]], [2]),
                                      check_exact=True)


def test_lean_store_encodings(reference_run):
    """Keys, flags and adoption shares are dictionary-encoded; continuous floats byte-stream-split, zstd throughout."""
    md = pq.ParquetFile(reference_run / "timeseries.parquet").metadata
    enc = {md.row_group(0).column(j).path_in_schema: md.row_group(0).column(j).encodings
           for j in range(md.num_columns)}
    assert "RLE_DICTIONARY" in enc["tick"] and "RLE_DICTIONARY" in enc["committee_met"]
    assert "BYTE_STREAM_SPLIT" in enc["buy_in"] and "RLE_DICTIONARY" not in enc["buy_in"]
    assert md.row_group(0).column(0).compression == "ZSTD"


def test_resume_recomputes_a_chunk_whose_agents_file_is_damaged(tmp_path, write_toml):
    """With per-agent columns kept, a damaged chunk agents file is named and recomputed; tables stay identical."""
    text = TINY.format(chunk=2, every=1).replace("timeseries_every = 1", "timeseries_every = 1\nper_agent = true")
    whole = run_experiment(load_experiment(write_toml("w.toml", text)), tmp_path / "whole", workers=1)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(load_experiment(write_toml("c.toml", text)), out, workers=1, stop_after=2)
    cid = [c["id"] for c in json.loads((out / "manifest.json").read_text())["chunks"] if c["status"] == "done"][-1]
    (out / "chunks" / f"{cid:06d}.agents.parquet").write_bytes(b"PAR1")
    err = io.StringIO()
    resume_run(out, workers=1, stream=err)
    assert f"chunk {cid} " in err.getvalue() and "agents.parquet" in err.getvalue()
    for t in ("points", "replications", "timeseries", "agents"):
        assert (out / f"{t}.parquet").read_bytes() == (whole / f"{t}.parquet").read_bytes()


def test_per_agent_summary_matches_the_full_rows_for_any_chunking(tmp_path, write_toml):
    """keep.per_agent = "summary": per point and tick, mean and quantiles of the full rows; bytes chunk-independent."""
    full_text = TINY.format(chunk=2, every=1).replace("timeseries_every = 1", "timeseries_every = 1\nper_agent = true")
    full = load_results(run_experiment(load_experiment(write_toml("f.toml", full_text)), tmp_path / "f", workers=1))
    runs = []
    for chunk, workers in ((2, 1), (100, 1), (4, 2)):
        text = TINY.format(chunk=chunk, every=1).replace("timeseries_every = 1",
                                                         'timeseries_every = 1\nper_agent = "summary"')
        runs.append(run_experiment(load_experiment(write_toml(f"s{chunk}.toml", text)), tmp_path / f"s{chunk}",
                                   workers=workers))
    assert len({(r / "agents_summary.parquet").read_bytes() for r in runs}) == 1
    assert not (runs[0] / "agents.parquet").exists()
    res = load_results(runs[0])
    assert "agents_summary.parquet" in res.manifest["files"]
    cols = res.agent_summary_columns
    agent_cols = [c for c in full.timeseries_columns if ":" in c]
    assert cols == agent_cols
    st = res.agent_summary()
    rows = full.read_timeseries(agent_cols)
    for (point, col), g in st.groupby(["point", "column"]):
        sub = rows[rows["point"] == point]
        x = sub[col].astype(np.float64).groupby(sub["tick"])
        # medians and quantiles exactly; the mean (math.fsum: correctly rounded) to float64 rounding
        np.testing.assert_array_equal(g["median"].to_numpy(), x.median().to_numpy())
        np.testing.assert_allclose(g["mean"].to_numpy(), x.mean().to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(g["q95"].to_numpy(), x.quantile(0.95).to_numpy())
        assert (g["replications"] == 6).all()
    sel = res.agent_summary([agent_cols[0]], [1])
    assert set(sel["point"]) == {1} and set(sel["column"]) == {agent_cols[0]}


def test_per_agent_accepts_true_false_or_summary(write_toml):
    """keep.per_agent other than true, false or "summary" is one line naming the key."""
    from cxsim.errors import ExperimentError

    text = TINY.format(chunk=2, every=1).replace("timeseries_every = 1", 'timeseries_every = 1\nper_agent = "all"')
    with pytest.raises(ExperimentError, match='keep.per_agent.*"summary"'):
        load_experiment(write_toml("bad.toml", text))


def test_compare_draws_department_and_buy_in_figures_from_a_summary_store(tmp_path, write_toml, capsys):
    """`cxsim compare` on a per_agent = "summary" run draws the department heatmap and the buy-in panels."""
    from cxsim.cli import main

    text = TINY.format(chunk=6, every=1).replace("timeseries_every = 1", 'timeseries_every = 1\nper_agent = "summary"')
    run = run_experiment(load_experiment(write_toml("s.toml", text)), tmp_path / "s", workers=1)
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(run), "--out", str(out), "--resamples", "200"])
    assert exc.value.code == 0, capsys.readouterr().err
    assert (out / "departments.png").is_file() and (out / "buy_in.png").is_file()
    assert "per-department" not in capsys.readouterr().out


def test_per_agent_summary_of_a_point_too_big_to_hold_is_the_same(tmp_path, write_toml):
    """A point summarized a few columns at a time (max_values small) gives the same agents_summary.parquet."""
    from cxsim.batch.store import summarize_agents

    text = TINY.format(chunk=2, every=1).replace("timeseries_every = 1", 'timeseries_every = 1\nper_agent = "summary"')
    exp = load_experiment(write_toml("big.toml", text))
    with pytest.raises(KeyboardInterrupt):  # keep the chunks: stop right after the last one
        run_experiment(exp, tmp_path / "r", workers=1, stop_after=len(plan_chunks(4, 6, 2)))
    chunks = [(c.id, c.points) for c in plan_chunks(4, 6, 2)]
    whole = summarize_agents(tmp_path / "r", chunks, 4).read_bytes()
    assert summarize_agents(tmp_path / "r", chunks, 4, max_values=200).read_bytes() == whole


def test_a_chunk_encoded_by_a_worker_is_written_as_the_coordinator_would(tmp_path):
    """write_chunk gives the same files and record whether it gets tables or a worker's encoded bytes."""
    import pyarrow as pa

    from cxsim.batch.store import chunk_path, encode_table, read_chunk_record

    t = pa.table({"point": np.zeros(5, dtype=np.int64), "x": np.linspace(0.0, 1.0, 5).astype(np.float32)})
    for name, tables in (("a", {"replications": t, "timeseries": t}),
                         ("b", {"replications": encode_table(t), "timeseries": encode_table(t)})):
        (tmp_path / name / "chunks").mkdir(parents=True)
        write_chunk(tmp_path / name, 0, tables, (0,), (0, 5), "plan")
    for table in ("replications", "timeseries"):
        assert chunk_path(tmp_path / "a", 0, table).read_bytes() == chunk_path(tmp_path / "b", 0, table).read_bytes()
        assert pq.read_table(chunk_path(tmp_path / "b", 0, table)).equals(t)
    assert read_chunk_record(tmp_path / "a", 0) == read_chunk_record(tmp_path / "b", 0)


def test_a_small_run_stays_in_this_process_unless_workers_are_asked_for(tiny, tmp_path, reference_run):
    """Without --workers a small run runs here, a thread per core, with a one-thread run's tables; a big one not."""
    import os

    from cxsim.batch.runner import SMALL_RUN_AGENT_WEEKS, default_workers

    exp = tiny()
    chunks = plan_chunks(len(exp.points), exp.replications, exp.chunk_size)
    assert default_workers(exp, chunks) == 1
    agents = len(exp.points[0].scenario.executives) + len(exp.points[0].scenario.departments)
    reps = SMALL_RUN_AGENT_WEEKS // (len(exp.points) * exp.ticks * agents) + 1  # just over the threshold
    assert default_workers(exp, plan_chunks(len(exp.points), reps, exp.chunk_size)) == (os.cpu_count() or 1)
    run = run_experiment(exp, tmp_path / "run")
    session = json.loads((run / "manifest.json").read_text())["sessions"][-1]
    threads = min(os.cpu_count() or 1, len(chunks))
    assert (session["workers"], session["threads"]) == ((threads, True) if threads > 1 else (1, False))
    assert _tables(run) == _tables(reference_run)


def test_workers_and_the_cli_fix_glibc_thresholds_once(monkeypatch):
    """cxsim._alloc.tune (each task, and the CLI) sets glibc's mmap and trim thresholds, once per process."""
    import ctypes

    from cxsim import _alloc

    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append((option, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(_alloc.sys, "platform", "linux")
    monkeypatch.setattr(_alloc, "_tuned", False)
    assert _alloc.tune() and _alloc.tune()  # (the second call does nothing)
    assert calls == [(-3, 32 << 20), (-1, 256 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    monkeypatch.setattr(_alloc, "_tuned", False)
    monkeypatch.setattr(_alloc.sys, "platform", "darwin")
    assert not _alloc.tune() and calls == [(-3, 32 << 20), (-1, 256 << 20)]  # (elsewhere: nothing)


def test_a_large_design_keeps_no_scenario_per_point_and_gives_the_same_tables(tiny, tmp_path, reference_run,
                                                                              monkeypatch):
    """Above HELD_POINTS each point's scenario is rebuilt where needed (memory flat in the points): same tables."""
    from cxsim.batch import experiment

    held = tiny()
    monkeypatch.setattr(experiment, "HELD_POINTS", 0)
    exp = tiny()
    assert all(p.held is None for p in exp.points) and all(p.held is not None for p in held.points)
    for a, b in zip(exp.points, held.points):
        assert a.scenario.params == b.scenario.params and a.scenario.executives == b.scenario.executives
    assert exp.plan_hash() == held.plan_hash()
    run = run_experiment(exp, tmp_path / "run", workers=2)
    assert _tables(run) == _tables(reference_run)
