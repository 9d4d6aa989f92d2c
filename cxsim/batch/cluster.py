"""Executors for ``cxsim batch --scheduler``: a running Dask cluster, or a ``LocalCluster`` started here.

Dask (``distributed``) is an optional extra, ``pip install 'cxsim[cluster]'``; it is
imported only when a scheduler is asked for. Any other
:class:`concurrent.futures.Executor` works from Python
(``run_experiment(exp, executor=...)``); see ``docs/cluster.md``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager, nullcontext
from typing import Iterator

from ..errors import CXSimError

__all__ = ["ClusterError", "SCHEDULER_HELP", "dask_executor", "parse_scheduler"]

SCHEDULER_HELP = ("tcp://HOST:PORT (a running `dask scheduler`) or local:N (a Dask LocalCluster of N worker "
                  "processes started here)")


class ClusterError(CXSimError):
    """A scheduler that cannot be used: Dask missing, a malformed address, no workers."""


def parse_scheduler(text: str) -> tuple[str, int | str]:
    """``("local", N)`` or ``("remote", address)`` for a ``--scheduler`` value; one-line :class:`ClusterError` else."""
    m = re.fullmatch(r"local:(\d{1,4})", text.strip())
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 256:
            raise ClusterError(f"--scheduler {text}: N must be 1 to 256")
        return "local", n
    if re.fullmatch(r"(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?", text.strip()):
        return "remote", text.strip()
    raise ClusterError(f"--scheduler {text!r}: expected {SCHEDULER_HELP}")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("--scheduler needs Dask: pip install 'cxsim[cluster]'") from None
    return distributed


_NO_MESSAGE_LOG = {"distributed.admin.low-level-log-length": 0}
"""Dask settings that keep no log of recent messages (nor of the scheduler's recent transitions).

Dask keeps the last 1,000 messages of each connection for debugging, and a task's message
holds its points' scenarios (about 100 KB for ten points): that log made the coordinator
grow with the design's size, by up to 100 MB (and the scheduler, per worker). Set in the
coordinator and in the ``local:N`` cluster's process.
"""

_LOCAL_SETTINGS = {**_NO_MESSAGE_LOG, "distributed.worker.profile.enabled": False}
"""The ``local:N`` cluster's settings: no message log, and no statistical profiler in its workers.

Dask's profiler samples each worker's stack every 10 ms (for the dashboard's profile
page); turned off, the Sobol study of ``benchmarks/bench_scale.py`` took about a tenth
less CPU on ``local:2``, about as much as on the local pool.
"""


@contextmanager
def dask_executor(scheduler: str, connect_timeout: float = 30) -> Iterator[tuple[object, int]]:
    """Yield ``(executor, workers)`` for a ``--scheduler`` value; closes what it opened on leaving.

    ``local:N`` starts a ``LocalCluster`` of N single-threaded worker processes (no
    dashboard) in a process of its own (:func:`_local_cluster`); ``tcp://HOST:PORT``
    connects to a running scheduler. Either way this waits up to ``connect_timeout``
    seconds for the workers (all N, or at least one of a running cluster's).
    """
    kind, where = parse_scheduler(scheduler)
    distributed = _distributed()
    import logging

    import dask

    logging.getLogger("distributed").setLevel(logging.ERROR)  # (its INFO lines would bury the progress bar)
    label = f"local:{where}" if kind == "local" else where
    with dask.config.set(_NO_MESSAGE_LOG), _local_cluster(where) if kind == "local" else nullcontext(where) as address:
        client = None
        try:
            try:
                client = distributed.Client(address, timeout=connect_timeout)
            except OSError as exc:
                why = str(exc).splitlines()[0][:200]
                raise ClusterError(f"--scheduler {label}: cannot connect ({why})") from None
            try:
                client.wait_for_workers(where if kind == "local" else 1, timeout=connect_timeout)
            except (TimeoutError, OSError):
                hint = "" if kind == "local" else f"; start some with `dask worker {address}`"
                raise ClusterError(f"--scheduler {label}: no worker joined within {connect_timeout:.0f} s"
                                   + hint) from None
            workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
            yield client.get_executor(pure=False), workers
        finally:
            if client is not None:
                client.close()


@contextmanager
def _local_cluster(n_workers: int, close_timeout: float = 60) -> Iterator[str]:
    """Yield the scheduler address of a ``LocalCluster`` of ``n_workers`` run by a child process (:func:`_serve`).

    A ``LocalCluster`` runs its scheduler in the process that starts it, and a scheduler's
    state grows with the tasks it has seen: started in the coordinator, it made the
    coordinator's memory grow with the design's size (466 MB for 5,632 points, 710 MB for
    22,528). In a process of its own it leaves the coordinator only a client. The child
    runs in a session of its own (Ctrl-C in the terminal reaches only the coordinator,
    which stops the run) and closes the cluster when its standard input closes: when this
    context is left, or when the coordinator dies, even by SIGKILL.
    """
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", f"from cxsim.batch.cluster import _serve; _serve({n_workers})"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        line = child.stdout.readline().decode(errors="replace").strip()
        if not line.startswith(_ADDRESS):
            why = line.removeprefix(_FAILED) if line else f"exit code {child.wait()}"  # (no line: the child ended)
            raise ClusterError(f"--scheduler local:{n_workers}: the cluster did not start ({why})")
        yield line.removeprefix(_ADDRESS)
    finally:
        child.stdin.close()  # (the child's cue to close the cluster)
        try:
            child.wait(timeout=close_timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()


_ADDRESS, _FAILED = "address ", "failed "  # what the child says first on stdout (see _serve)


def _serve(n_workers: int) -> None:
    """The ``local:N`` cluster's process: start a LocalCluster, say its address, close it when stdin closes.

    Says ``address <scheduler address>`` (or ``failed <why>``) as its first line on stdout.
    """
    import logging
    import sys

    distributed = _distributed()
    import dask

    logging.getLogger("distributed").setLevel(logging.ERROR)
    dask.config.set(_LOCAL_SETTINGS)  # (its workers get this process's settings)
    try:
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    except Exception as exc:  # (anything a cluster that cannot start raises: said in one line, then exit)
        print(_FAILED + (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200], flush=True)
        raise SystemExit(1) from None
    with cluster:
        print(_ADDRESS + cluster.scheduler_address, flush=True)
        sys.stdin.buffer.read()  # (returns when the coordinator closes the pipe, or dies)
