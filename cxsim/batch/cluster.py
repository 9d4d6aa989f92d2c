"""Executors for ``cxsim batch --scheduler``: a running Dask cluster, or a ``LocalCluster`` started here.

Dask (``distributed``) is an optional extra, ``pip install 'cxsim[cluster]'``; it is
imported only when a scheduler is asked for. Any other
:class:`concurrent.futures.Executor` works from Python
(``run_experiment(exp, executor=...)``); see ``docs/cluster.md``.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager, nullcontext
from typing import Iterator

from ..errors import CXSimError

__all__ = ["ClusterError", "SCHEDULER_HELP", "dask_executor", "parse_scheduler", "starting_cluster"]

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
    _check_installed()
    try:
        import distributed
    except ImportError as exc:  # (installed, but a dependency of it is missing or broken)
        raise ClusterError(f"--scheduler: Dask cannot be imported ({exc}); pip install 'cxsim[cluster]'") from None
    return distributed


def _check_installed() -> None:
    """One-line :class:`ClusterError` if Dask's ``distributed`` is not installed (without importing it)."""
    from importlib.util import find_spec

    if find_spec("distributed") is None:
        raise ClusterError("--scheduler needs Dask: pip install 'cxsim[cluster]'")


_NO_MESSAGE_LOG = {"distributed.admin.low-level-log-length": 0}
"""Dask settings that keep no log of recent messages (nor of the scheduler's recent transitions).

Dask keeps the last 1,000 messages of each connection for debugging, and a task's message
holds its points (their scenarios, about 100 KB for 80 points of a design that holds them,
30 KB for the values of a larger one's): that log made the coordinator
grow with the design's size, by up to 100 MB (and the scheduler, per worker). Set in the
coordinator and in the ``local:N`` cluster's process.
"""

_LOCAL_SETTINGS = {**_NO_MESSAGE_LOG, "distributed.worker.profile.enabled": False,
                   "distributed.admin.tick.interval": "500ms", "distributed.worker.memory.monitor-interval": "1s",
                   "distributed.admin.system-monitor.interval": "2s"}
"""The ``local:N`` cluster's settings: quieter housekeeping, on a machine whose cores the workers need.

- No message log (:data:`_NO_MESSAGE_LOG`).
- No statistical profiler in the workers: Dask's samples each worker's stack every
  10 ms (for the dashboard's profile page); turned off, the Sobol study of
  ``benchmarks/bench_scale.py`` took about a tenth less CPU on ``local:2``.
- Each server (scheduler, nannies, workers) measures its event loop's delay every
  500 ms instead of every 20 ms; nannies and workers check a worker's memory every
  second instead of every 100 ms; the system monitor (the dashboard's CPU and memory
  plots) samples every 2 s instead of every 500 ms. An idle ``local:2`` cluster used
  3.0 CPU-seconds in 30 s with Dask's defaults (1.7 in the scheduler's process, 0.65 in
  each worker), 0.5 with these: CPU the workers' simulations get back, since the
  cluster shares the machine's cores with them. A worker over its memory limit is still
  paused and restarted, within a second.
"""


@contextmanager
def dask_executor(scheduler: str, connect_timeout: float = 30,
                  started: _ClusterProcess | None = None) -> Iterator[tuple[object, int]]:
    """Yield ``(executor, workers)`` for a ``--scheduler`` value; closes what it opened on leaving.

    ``local:N`` starts a ``LocalCluster`` of N single-threaded worker processes (no
    dashboard) in a process of its own (:class:`_ClusterProcess`), or uses ``started``,
    the one :func:`starting_cluster` started ahead; ``tcp://HOST:PORT`` connects to a
    running scheduler. Either way this waits up to ``connect_timeout`` seconds for the
    workers (all N, or at least one of a running cluster's).
    """
    kind, where = parse_scheduler(scheduler)
    _check_installed()
    import logging

    import dask

    label = f"local:{where}" if kind == "local" else where
    ahead = nullcontext(started) if started is not None or kind != "local" else _local_cluster(where)
    with dask.config.set(_NO_MESSAGE_LOG), ahead as process:
        distributed = _distributed()  # (imported here while a local cluster's process starts: each takes about 2 s)
        logging.getLogger("distributed").setLevel(logging.ERROR)  # (its INFO lines would bury the progress bar)
        address = process.address() if process is not None else where
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
def starting_cluster(scheduler: str | None) -> Iterator[_ClusterProcess | None]:
    """Start a ``local:N`` cluster's process now, for :func:`dask_executor` to use later (else yield None).

    ``cxsim batch`` starts it before it loads the experiment, which takes as long as the
    cluster's start (about 2 s) or longer for a large design (5 s for the 22,528 points of
    ``benchmarks/bench_scale.py``'s Sobol study): the two overlap. A malformed
    ``--scheduler`` or a missing Dask is a :class:`ClusterError` here, before any work. A
    cluster no client connected to (the experiment had an error, or the run had nothing
    left to do) is stopped at once on leaving, rather than waited for.
    """
    if scheduler is None:
        yield None
        return
    kind, where = parse_scheduler(scheduler)
    _check_installed()
    if kind != "local":
        yield None
        return
    with _local_cluster(where) as process:
        yield process


@contextmanager
def _local_cluster(n_workers: int, close_timeout: float = 60) -> Iterator[_ClusterProcess]:
    """A :class:`_ClusterProcess` of ``n_workers``, closed on leaving."""
    process = _ClusterProcess(n_workers)
    try:
        yield process
    finally:
        process.close(close_timeout)


class _ClusterProcess:
    """A ``LocalCluster`` of ``n_workers`` run by a child process (:func:`_serve`), started at once.

    A ``LocalCluster`` runs its scheduler in the process that starts it, and a scheduler's
    state grows with the tasks it has seen: started in the coordinator, it made the
    coordinator's memory grow with the design's size (466 MB for 5,632 points, 710 MB for
    22,528). In a process of its own it leaves the coordinator only a client. The child
    runs in a session of its own (Ctrl-C in the terminal reaches only the coordinator,
    which stops the run) and closes the cluster when its standard input closes: on
    :meth:`close`, or when the coordinator dies, even by SIGKILL.
    """

    def __init__(self, n_workers: int):
        import subprocess
        import sys

        self.n_workers, self.said = n_workers, None
        self.child = subprocess.Popen(
            [sys.executable, "-c", f"from cxsim.batch.cluster import _serve; _serve({n_workers})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)

    def address(self) -> str:
        """The scheduler's address, once the cluster is up (waits for it); a one-line ClusterError if it failed."""
        if self.said is None:
            child = self.child
            line = child.stdout.readline().decode(errors="replace").strip()
            if not line.startswith(_ADDRESS):
                why = line.removeprefix(_FAILED) if line else f"exit code {child.wait()}"  # (no line: the child ended)
                raise ClusterError(f"--scheduler local:{self.n_workers}: the cluster did not start ({why})")
            self.said = line.removeprefix(_ADDRESS)
        return self.said

    def close(self, timeout: float = 60) -> None:
        """Close the cluster and wait for its process (at most ``timeout`` seconds, then kill it).

        A cluster never asked for its address (nobody used it) is killed at once with its
        workers (its process group): it may still be starting, and would only read its
        cue to close once up.
        """
        import signal
        import subprocess

        child = self.child
        if self.said is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):  # (it has ended already)
                pass
        child.stdin.close()  # (the child's cue to close the cluster)
        try:
            child.wait(timeout=timeout)
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
