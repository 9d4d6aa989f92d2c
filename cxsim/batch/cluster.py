"""Executors for ``cxsim batch --scheduler``: a running Dask cluster, or a ``LocalCluster`` started here.

Dask (``distributed``) is an optional extra, ``pip install 'cxsim[cluster]'``; it is
imported only when a scheduler is asked for. Any other
:class:`concurrent.futures.Executor` works from Python
(``run_experiment(exp, executor=...)``); see ``docs/cluster.md``.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
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


@contextmanager
def dask_executor(scheduler: str, connect_timeout: float = 30) -> Iterator[tuple[object, int]]:
    """Yield ``(executor, workers)`` for a ``--scheduler`` value; closes what it opened on leaving.

    ``local:N`` starts a ``LocalCluster`` of N single-threaded worker processes (no
    dashboard); ``tcp://HOST:PORT`` connects to a running scheduler and waits up to
    ``connect_timeout`` seconds for at least one worker.
    """
    kind, where = parse_scheduler(scheduler)
    distributed = _distributed()
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)  # (its INFO lines would bury the progress bar)
    cluster = client = None
    try:
        if kind == "local":
            cluster = distributed.LocalCluster(n_workers=where, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.CRITICAL)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(where, timeout=connect_timeout)
            except OSError as exc:
                raise ClusterError(f"--scheduler {where}: cannot connect ({str(exc).splitlines()[0][:200]})") from None
            try:
                client.wait_for_workers(1, timeout=connect_timeout)
            except (TimeoutError, OSError):
                raise ClusterError(f"--scheduler {where}: no worker joined within {connect_timeout:.0f} s; start "
                                   f"some with `dask worker {where}`") from None
        workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
        yield client.get_executor(pure=False), workers
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
