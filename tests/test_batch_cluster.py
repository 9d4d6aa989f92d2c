"""Batches on other executors: a Dask LocalCluster, a `dask scheduler` with `dask worker`s, resume across them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cxsim.batch import load_experiment
from cxsim.batch.runner import resume_run, run_experiment
from cxsim.errors import ResultsError

distributed = pytest.importorskip(
    "distributed", reason="NOTICE: Dask distributed is not installed (pip install -e '.[cluster]'); "
                          "the cluster tests are skipped")

TINY = """
name = "tiny"
scenario = "reference"
replications = 6
seed = 5
ticks = 8
chunk_size = {chunk}

[keep]
metrics = ["adoption", "buy_in", "committee_met"]
per_agent = true

[design]
type = "factorial"
[design.factors]
"organization.readiness_shift" = [-0.2, 0.2]
"committee.enabled" = [false, true]
"""

FILES = ("points", "replications", "timeseries", "agents")


def _tables(run_dir: Path) -> dict[str, bytes]:
    return {t: (run_dir / f"{t}.parquet").read_bytes() for t in FILES}


def _experiment(d: Path, chunk: int = 2, name: str = "tiny.toml"):
    (d / name).write_text(textwrap.dedent(TINY.format(chunk=chunk)))
    return load_experiment(d / name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny experiment (per-agent columns kept) run uninterrupted in this process, chunks of 2."""
    d = tmp_path_factory.mktemp("cluster-ref")
    return run_experiment(_experiment(d), d / "run", workers=1)


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes, shared by this module's tests."""
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as c:
        yield c


def test_local_cluster_gives_the_process_pool_tables(client, reference, tmp_path):
    """A LocalCluster (chunks of 4) and the local process pool (chunks of 3) write byte-identical tables."""
    dask_run = run_experiment(_experiment(tmp_path, 4), tmp_path / "dask", executor=client.get_executor(), workers=2)
    pool_run = run_experiment(_experiment(tmp_path, 3, "p.toml"), tmp_path / "pool", workers=2)
    assert _tables(dask_run) == _tables(reference)
    assert _tables(pool_run) == _tables(reference)


def test_resume_across_executors(client, reference, tmp_path):
    """Started in this process and resumed on Dask, or started on Dask and resumed on the pool: the same tables."""
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_experiment(tmp_path), tmp_path / "a", workers=1, stop_after=3)
    resume_run(tmp_path / "a", executor=client.get_executor(), workers=2)
    assert _tables(tmp_path / "a") == _tables(reference)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_experiment(tmp_path), tmp_path / "b", executor=client.get_executor(), workers=2,
                       stop_after=2)
    resume_run(tmp_path / "b", workers=2)
    assert _tables(tmp_path / "b") == _tables(reference)


def test_workers_with_other_code_are_refused(client, tmp_path, monkeypatch):
    """A coordinator whose code fingerprint differs from the workers' is refused in one line naming the difference."""
    import cxsim.batch.runner as runner

    real = runner.code_fingerprint()
    monkeypatch.setattr(runner, "code_fingerprint", lambda: {**real, "code": "0123456789ab"})
    with pytest.raises(ResultsError) as err:
        run_experiment(_experiment(tmp_path), tmp_path / "v", executor=client.get_executor(), workers=2)
    line = str(err.value)
    assert "\n" not in line and "0123456789ab" in line and real["code"] in line and "same commit" in line
    assert type(err.value).__name__ == "WorkerVersionError"


def test_scheduler_cli_local_and_errors(tmp_path, run_cli, reference, monkeypatch):
    """`--scheduler local:2` gives the reference tables; a malformed address or missing Dask is one line, exit 2."""
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(TINY.format(chunk=2)))
    code, out, err = run_cli("batch", path, "--out", tmp_path / "cli", "--scheduler", "local:2", "-q")
    assert code == 0, err
    assert _tables(tmp_path / "cli") == _tables(reference)
    code, _, err = run_cli("batch", path, "--out", tmp_path / "x", "--scheduler", "localhost:8786")
    assert code == 2 and "tcp://HOST:PORT" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were not installed
    code, _, err = run_cli("batch", path, "--out", tmp_path / "y", "--scheduler", "local:2")
    assert code == 2 and "pip install 'cxsim[cluster]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("dask", path=str(Path(sys.executable).parent)) is None,
                    reason="NOTICE: the `dask` command is not installed next to this Python")
def test_remote_cluster_with_a_worker_killed_mid_run(reference, tmp_path):
    """`dask scheduler` + two `dask worker`s on 127.0.0.1; one is killed in mid-task; the tables equal a local run."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"], env=env, **quiet)]
    out = tmp_path / "remote"
    try:
        # The doomed worker sleeps in every task (testing hook), so it is surely killed mid-task.
        doomed = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"],
                                  env={**env, "CXSIM_BATCH_TASK_PAUSE": "600"}, **quiet)
        procs.append(doomed)
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                                       "--host", "127.0.0.1"], env=env, **quiet))
        exp_file = tmp_path / "tiny.toml"
        exp_file.write_text(textwrap.dedent(TINY.format(chunk=1)))
        run = subprocess.Popen([sys.executable, "-m", "cxsim", "batch", str(exp_file), "--out", str(out),
                                "--scheduler", address, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(run)
        deadline = time.time() + 180
        while time.time() < deadline and run.poll() is None and not (out / f".paused-{doomed.pid}").exists():
            time.sleep(0.05)
        assert run.poll() is None, f"the run ended before a worker could be killed: {run.stderr.read()!r}"
        assert (out / f".paused-{doomed.pid}").exists(), "the doomed worker never got a task"
        doomed.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert b"wrote" in stdout
        assert _tables(out) == _tables(reference)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)


def _ends(pid: int, seconds: float = 60) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``seconds``."""
    import psutil

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_local_scheduler_runs_in_its_own_process_and_ends_with_the_coordinator():
    """`local:N`'s scheduler (its state grows with the tasks) is not in the coordinator, and ends with it.

    Its process ends when the executor is closed, and when the coordinator is killed with SIGKILL.
    """
    from cxsim.batch.cluster import dask_executor

    with dask_executor("local:1") as (executor, workers):
        scheduler = executor._client.run_on_scheduler(os.getpid)
        assert workers == 1 and scheduler != os.getpid()
        assert executor.submit(pow, 2, 5).result() == 32
        # (Dask's log of recent messages, which held every task's scenarios, is off; so is the workers' profiler;
        # the housekeeping that took CPU from the simulations runs less often, in the workers and the scheduler)
        assert len(executor._client.scheduler_comm.recent_message_log) == 0
        import dask

        from cxsim.batch.cluster import _LOCAL_SETTINGS

        for key in ("distributed.worker.profile.enabled", "distributed.admin.tick.interval",
                    "distributed.worker.memory.monitor-interval"):
            assert set(executor._client.run(dask.config.get, key).values()) == {_LOCAL_SETTINGS[key]}
            assert executor._client.run_on_scheduler(dask.config.get, key) == _LOCAL_SETTINGS[key]
    assert _ends(scheduler)
    code = ("import os, time\nfrom cxsim.batch.cluster import dask_executor\n"
            "with dask_executor('local:1') as (executor, _):\n"
            "    print(executor._client.run_on_scheduler(os.getpid), flush=True)\n    time.sleep(600)\n")
    coordinator = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        scheduler = int(coordinator.stdout.readline())
    finally:
        coordinator.kill()
        coordinator.wait(timeout=30)
        coordinator.stdout.close()
    assert _ends(scheduler), "the local cluster outlived its coordinator"


def test_a_cluster_started_ahead_is_stopped_when_the_experiment_fails(tmp_path, run_cli):
    """`--scheduler local:N` starts its cluster while the experiment loads; an experiment error stops it at once.

    The error is one line (exit 2), and no process of the cluster outlives the command.
    """
    import psutil

    from cxsim.batch.cluster import starting_cluster

    def cluster_processes() -> list:
        mine = psutil.Process().children(recursive=True)
        return [p for p in mine if "_serve" in " ".join(p.cmdline())]

    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent(TINY.format(chunk=2)).replace("replications = 6", "replications = 0"))
    code, _, err = run_cli("batch", bad, "--out", tmp_path / "o", "--scheduler", "local:2")
    assert code == 2 and "replications" in err and len(err.strip().splitlines()) == 1, err
    assert not cluster_processes()
    assert not (tmp_path / "o").exists()
    with starting_cluster("local:1") as process:  # (left before anyone asked for its address: killed, group and all)
        assert cluster_processes()
    assert process.child.returncode is not None and not cluster_processes()
    with starting_cluster(None) as nothing, starting_cluster("tcp://127.0.0.1:1") as remote:
        assert nothing is None and remote is None  # (only a local cluster is started ahead)


def test_a_local_cluster_that_cannot_start_is_one_line(tmp_path, monkeypatch):
    """`local:N` whose cluster process fails to start says why in one ClusterError line."""
    from cxsim.batch.cluster import ClusterError, dask_executor

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "distributed.py").write_text("class LocalCluster:\n    def __init__(self, **kw):\n"
                                         "        raise RuntimeError('no cluster here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(fake), os.environ.get("PYTHONPATH")) if p))
    with pytest.raises(ClusterError) as err, dask_executor("local:1"):
        pass
    assert str(err.value) == "--scheduler local:1: the cluster did not start (no cluster here)"
