"""The local process pool survives a worker that dies mid-task: it reruns only what was lost, bit for bit."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from cxsim.batch import load_experiment
from cxsim.batch.runner import WorkerVersionError, resume_run, run_experiment
from cxsim.errors import ResultsError

# 4 points x 6 replications in chunks of 1 replication: 24 chunks, 6 tasks of 4 chunks on 2 workers.
TINY = """
name = "tiny"
scenario = "reference"
replications = 6
seed = 5
ticks = 8
chunk_size = 1

[keep]
metrics = ["adoption", "buy_in", "committee_met"]

[design]
type = "factorial"
[design.factors]
"organization.readiness_shift" = [-0.2, 0.2]
"committee.enabled" = [false, true]
"""


def _experiment(d: Path):
    path = d / "tiny.toml"
    path.write_text(textwrap.dedent(TINY))
    return path


def _tables(run_dir: Path) -> dict[str, bytes]:
    return {t: (run_dir / f"{t}.parquet").read_bytes() for t in ("points", "replications", "timeseries")}


def _done(run_dir: Path) -> list[int]:
    return [c["id"] for c in json.loads((run_dir / "manifest.json").read_text())["chunks"] if c["status"] == "done"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny experiment run undisturbed in this process."""
    d = tmp_path_factory.mktemp("recover-ref")
    return run_experiment(load_experiment(_experiment(d)), d / "run", workers=1)


def test_a_worker_killed_mid_task_costs_only_its_task(tmp_path, reference):
    """A worker killed (-9) mid-task: one line says so, the lost tasks rerun, the tables equal an undisturbed run."""
    out = tmp_path / "run"
    # Each task first sleeps (testing hook) and touches .paused-<pid>, so a worker is surely killed mid-task.
    env = {**os.environ, "CXSIM_BATCH_TASK_PAUSE": "0.5"}
    run = subprocess.Popen([sys.executable, "-m", "cxsim", "batch", str(_experiment(tmp_path)), "--out", str(out),
                            "-w", "2", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 120
        paused: list[Path] = []
        while time.time() < deadline and run.poll() is None and not paused:
            paused = list(out.glob(".paused-*"))
            time.sleep(0.01)
        assert paused and run.poll() is None, f"no worker started a task: {run.stderr.read()!r}"
        victim = int(paused[0].name.split("-")[1])
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    err = stderr.decode()
    assert run.returncode == 0, err
    died = [line for line in err.splitlines() if "died" in line]
    assert len(died) == 1, err
    assert died[0].startswith(f"worker process {victim} died (killed by signal 9, SIGKILL); rerunning ")
    assert "unfinished task" in died[0] and "chunk" in died[0]
    assert b"wrote" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True and len(_done(out)) == 24
    assert _tables(out) == _tables(reference)
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), pd.read_csv(reference / "summary.csv"))


def test_a_task_that_keeps_killing_its_worker_stops_the_run(tmp_path, reference, monkeypatch):
    """A task whose worker always dies stops the run after 3 deaths, in one line; the finished chunks are kept.

    Chunk 5's worker kills itself (testing hook); the run then resumes to the undisturbed tables.
    """
    monkeypatch.setenv("CXSIM_BATCH_TASK_DIE", "5")  # (the spawned workers inherit it)
    out, said = tmp_path / "run", io.StringIO()
    with pytest.raises(ResultsError) as err:
        run_experiment(load_experiment(_experiment(tmp_path)), out, workers=2, stream=said)
    line = str(err.value)
    # chunk 5 is replication 5 of point 0; its task holds replication 5 of every point
    assert line.startswith("chunks 5, 11, 17, 23: the worker process running them died 3 times (last: worker process ")
    assert "SIGKILL" in line and "-w 1" in line and f"--resume {out}" in line and "\n" not in line
    warnings = [w for w in said.getvalue().splitlines() if "died" in w]
    assert len(warnings) == 2 and all("SIGKILL); rerunning" in w for w in warnings), said.getvalue()
    done = _done(out)
    assert done and not {5, 11, 17, 23} & set(done)
    assert sorted(int(p.name.split(".")[0]) for p in (out / "chunks").glob("*.chunk.json")) == done
    monkeypatch.delenv("CXSIM_BATCH_TASK_DIE")
    resume_run(out, workers=2)
    assert _tables(out) == _tables(reference)


def test_an_error_inside_a_task_still_ends_the_run(tmp_path, monkeypatch):
    """A task that raises (here: workers with other code) is no worker death: the run stops, nothing is rerun."""
    import cxsim.batch.runner as runner

    real = runner.code_fingerprint()
    monkeypatch.setattr(runner, "code_fingerprint", lambda: {**real, "code": "0123456789ab"})
    said = io.StringIO()
    with pytest.raises(WorkerVersionError):
        run_experiment(load_experiment(_experiment(tmp_path)), tmp_path / "v", workers=2, stream=said)
    assert "died" not in said.getvalue()
    assert json.loads((tmp_path / "v" / "manifest.json").read_text())["complete"] is False
