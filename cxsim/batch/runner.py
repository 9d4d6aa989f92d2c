"""Run an experiment: chunks of (points, replications) on workers (local or a cluster), into the results store.

A chunk is one design point and a range of replications, or (when a point has
fewer replications than ``chunk_size``) several whole points. Replication ``k``
of every point uses random stream ``k``, so the numbers do not depend on the
chunking or the number of workers, and the same ``k`` at two points shares its
random numbers (common random numbers: differences between points are paired).

A task is one or more chunks with the same replication range: their points run
together in stacked engines (:func:`cxsim.simulate.run_points`, up to
``STACK_REPLICATIONS`` replications each), which spreads the engine's fixed
per-week cost over many points; the results are bit-identical to one
:func:`cxsim.simulate.run_batch` per point. Each of the task's chunks is then
written on its own (atomically), so the store and resuming work chunk by chunk.

Tasks run on any :class:`concurrent.futures.Executor`: by default a pool of
``spawn``-started local processes that ignore Ctrl-C and die with their parent
(:func:`die_with_parent`); or a Dask cluster's (``cxsim batch --scheduler``, see
``docs/cluster.md``), ``mpi4py.futures``, ... Workers return their chunks' tables and
this (coordinating) process is the only writer of the store: it writes each chunk
as its task finishes, keeps at most two tasks per worker in flight (so the results
waiting to be written stay bounded however many points there are), and on Ctrl-C stops the pool and records which chunks
are done. A worker that dies mid-task (``kill -9``, the OOM killer) costs only the tasks
not yet returned: Dask reruns its task; the local pool, which a dead worker breaks, is
replaced by a fresh one that runs them again, saying so in one line, and a task that has
killed its worker three times stops the run (:func:`_run_tasks`). Either way the tables
are bit-identical to an undisturbed run's. Every task carries the coordinator's :func:`code_fingerprint`; a worker
running other code refuses it (:class:`WorkerVersionError`).
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .._alloc import tune as tune_allocator
from .._jitcache import warm_up
from ..errors import ResultsError
from ..metrics import OUTCOMES
from ..provenance import command_line, git_commit, now_iso, package_versions
from ..safeio import check_parents, naming
from ..scenario import Scenario
from ..simulate import STACK_REPLICATIONS
from .designs import Lazy
from .experiment import (
    MAX_CHUNK_ROWS,
    Experiment,
    Keep,
    experiment_from_dict,
    point_scenario,
    point_values,
    scenario_from_record,
    scenario_record,
)
from .store import (
    AGENTS,
    AGENTS_SUMMARY,
    CHUNK_DIR,
    assemble,
    clean_partial,
    done_chunks,
    encode_table,
    give_back_memory,
    read_chunk_record,
    read_manifest,
    remove_chunk,
    remove_chunks,
    require_keys,
    summarize,
    summarize_agents,
    summarize_matrix,
    verify_chunk,
    write_chunk,
    write_json,
)

__all__ = ["Chunk", "plan_chunks", "plan_tasks", "run_experiment", "resume_run", "progress_bar",
           "default_run_dir", "default_workers"]


@dataclass(frozen=True)
class Chunk:
    """Points ``points`` x replications ``lo .. hi - 1``."""

    id: int
    points: tuple[int, ...]
    lo: int
    hi: int

    @property
    def size(self) -> int:
        """Replications in the chunk (points x range)."""
        return len(self.points) * (self.hi - self.lo)


def plan_chunks(n_points: int, replications: int, chunk_size: int) -> list[Chunk]:
    """Split points x replications into chunks of about ``chunk_size`` replications, in (point, replication) order."""
    out: list[Chunk] = []
    if replications >= chunk_size:
        for p in range(n_points):
            for lo in range(0, replications, chunk_size):
                out.append(Chunk(len(out), (p,), lo, min(lo + chunk_size, replications)))
    else:
        group = max(1, chunk_size // replications)
        for start in range(0, n_points, group):
            out.append(Chunk(len(out), tuple(range(start, min(start + group, n_points))), 0, replications))
    return out


def plan_tasks(chunks: Sequence[Chunk], budget: int) -> list[list[Chunk]]:
    """Group chunks with the same replication range into tasks of at most ``budget`` replications (or one chunk).

    Chunks keep their order within a task; tasks come in the order of their first chunk.
    """
    by_range: dict[tuple[int, int], list[list[Chunk]]] = {}
    order: list[list[Chunk]] = []
    for c in chunks:
        tasks = by_range.setdefault((c.lo, c.hi), [])
        if tasks and sum(x.size for x in tasks[-1]) + c.size <= budget:
            tasks[-1].append(c)
        else:
            tasks.append([c])
            order.append(tasks[-1])
    return order


# ---------------------------------------------------------------------------- the work of one task
def _point_tables(point: int, batch, ticks: int, keep: Keep, whole: bool = False) -> dict[str, pa.Table]:
    """One point's replications, (kept) timeseries rows and, with ``keep.per_agent``, per-agent rows.

    Built straight from the recorder's ``(ticks + 1, R)`` arrays (no DataFrame in between):
    rows in (replication, tick) order, the values the recorder holds, bit for bit. With
    ``keep.per_agent = "summary"`` and ``whole`` (these are all the point's replications),
    the per-agent columns go straight into their summary (``agents_summary``, the rows
    :func:`~cxsim.batch.store.summarize_agents` would compute from the per-agent rows).
    """
    rec, reps = batch.recorder, batch.replications
    n, R = rec.n, reps.size
    every_tick = np.arange(n, dtype=np.int64)
    kept = every_tick[(every_tick % keep.timeseries_every == 0) | (every_tick == ticks)]
    k = kept.size
    point_col = pa.array(np.full(R, point, dtype=np.int64))
    rp_cols = {"point": point_col, "replication": pa.array(reps.astype(np.int64, copy=False))}
    rp_cols.update({o: pa.array(np.ascontiguousarray(batch.outcomes[o])) for o in OUTCOMES})

    def keyed() -> dict[str, pa.Array]:
        return {"point": pa.array(np.full(k * R, point, dtype=np.int64)),
                "replication": pa.array(np.repeat(reps.astype(np.int64, copy=False), k)),
                "tick": pa.array(np.tile(kept, R))}

    def long(a: np.ndarray) -> pa.Array:  # (n, R) -> the kept ticks of each replication in turn
        return pa.array(a[kept].T.ravel())

    ts_cols = keyed()
    ts_cols.update({m: long(rec.series[m][:n]) for m in keep.metrics if m in rec.series})
    out = {"replications": pa.table(rp_cols), "timeseries": pa.table(ts_cols)}
    if keep.per_agent:
        st = rec.m.st
        columns = [*(f"adoption:{d}" for d in st.dept_ids), *(f"buy_in:{e}" for e in st.exec_ids),
                   *(f"expressed:{e}" for e in st.exec_ids)]
        x = np.concatenate([rec.dept[kept], rec.exec_true[kept], rec.exec_expr[kept]], axis=1)  # (k, columns, R)
        if keep.per_agent == "summary" and whole:
            # (R, kept ticks, columns): the layout summarize_agents builds from the per-agent rows
            out[AGENTS_SUMMARY] = pa.concat_tables(summarize_matrix(
                point, kept, columns, np.ascontiguousarray(x.transpose(2, 0, 1)).reshape(R, -1)))
        else:  # each column: the kept ticks of each replication in turn
            out[AGENTS] = pa.table({**keyed(), **{c: pa.array(x[:, j, :].T.ravel()) for j, c in enumerate(columns)}})
    return out


def task_tables(chunk_items: Sequence[Sequence[tuple[int, Any]]], lo: int, hi: int, seed: int, ticks: int, keep: Keep,
                progress: Callable[[int], None] | None = None,
                replications: int | None = None) -> list[dict[str, pa.Table]]:
    """Simulate replications ``lo .. hi - 1`` of every ``(point, scenario)`` of several chunks; each chunk's tables.

    Each chunk gets ``replications`` and ``timeseries``, and with ``keep.per_agent``
    ``agents``, or ``agents_summary`` when ``keep.per_agent = "summary"`` and the range
    holds all of a point's ``replications``.

    All points run together (stacked where their organizations match); ``progress``
    is called once per simulated week of each engine with its replication count.
    """
    from ..simulate import run_points

    flat = [item for items in chunk_items for item in items]
    batches = run_points([sc for _, sc in flat], np.arange(lo, hi, dtype=np.int64), seed, ticks,
                         per_agent=bool(keep.per_agent), progress=progress)
    out, i = [], 0
    for items in chunk_items:
        parts: dict[str, list[pa.Table]] = {}
        for point, _ in items:
            for name, t in _point_tables(point, batches[i], ticks, keep, lo == 0 and hi == replications).items():
                parts.setdefault(name, []).append(t)
            batches[i] = None  # (free each point's arrays once its tables exist)
            i += 1
        out.append({name: pa.concat_tables(ts) if len(ts) > 1 else ts[0] for name, ts in parts.items()})
    return out


def chunk_tables(items: Sequence[tuple[int, Any]], lo: int, hi: int, seed: int, ticks: int, keep: Keep,
                 progress: Callable[[int], None] | None = None) -> dict[str, pa.Table]:
    """Simulate replications ``lo .. hi - 1`` of each ``(point, scenario)``; the chunk's tables."""
    return task_tables([items], lo, hi, seed, ticks, keep, progress)[0]


def task_points(exp: Experiment, chunks: Sequence[Chunk]) -> dict[str, Any]:
    """A task's points, compactly: ``{"bases": {b: base scenario}, "items": [[(point, spec), ...] per chunk]}``.

    A point's ``spec`` is its scenario where the experiment holds it (designs of at most
    :data:`~cxsim.batch.experiment.HELD_POINTS` points), else ``(b, values)``: its base
    scenario's index and the design's values, from which :func:`task_scenarios` rebuilds it
    where the task runs (about 0.1 ms a point). A task of a large design thus carries its
    base scenario once and a few numbers a point (about 30 KB for 80 points of the Sobol
    study of ``benchmarks/bench_scale.py``, against 110 KB with a scenario a point): less
    for the coordinator to build and send, and for a Dask scheduler to pass on.
    """
    bases: dict[int, Scenario] = {}
    items = []
    for c in chunks:
        row = []
        for p in c.points:
            point = exp.points[p]
            if point.held is not None:
                row.append((p, point.held))
            else:
                bases.setdefault(point.base, point.base_scenario)
                row.append((p, (point.base, point.values)))
        items.append(row)
    return {"bases": bases, "items": items}


def task_scenarios(task: dict) -> list[list[tuple[int, Scenario]]]:
    """Each chunk's ``(point, scenario)`` pairs of a task made by :func:`task_points`."""
    bases = task["bases"]

    def scenario(spec) -> Scenario:
        return spec if isinstance(spec, Scenario) else point_scenario(bases[spec[0]], spec[1])

    return [[(p, scenario(spec)) for p, spec in items] for items in task["items"]]


def run_task(task: dict) -> list[tuple[int, dict[str, pa.Table]]]:
    """Worker entry point (top level, so ``spawn`` and Dask can pickle it): simulate a task; each chunk's tables.

    Returns ``(chunk id, tables)`` per chunk, each table encoded as a chunk file's bytes
    (:func:`~cxsim.batch.store.encode_table`); the coordinating process writes them, so a
    worker needs no access to the store. A worker whose code differs from the
    coordinator's (:func:`code_fingerprint`) refuses the task with
    :class:`WorkerVersionError`, since bit-identical tables need the same code everywhere.
    """
    tune_allocator()  # (a worker simulates task after task: cxsim/_alloc.py)
    mine = code_fingerprint()
    if task.get("fingerprint") not in (None, mine):
        raise WorkerVersionError(_mismatch(task["fingerprint"], mine))
    pause = os.environ.get(_PAUSE_ENV)
    if pause:  # testing hook: a task that takes long (so a test can kill the parent mid-task), saying so
        try:
            (Path(task["run_dir"]) / f".paused-{os.getpid()}").touch()
        except OSError:
            pass
        time.sleep(float(pause))
    tables = task_tables(task_scenarios(task), task["lo"], task["hi"], task["seed"], task["ticks"], task["keep"],
                         replications=task.get("replications"))
    # (encoded here, in parallel on the workers: the coordinator only writes the bytes)
    return [(cid, {name: encode_table(t) for name, t in chunk.items()}) for cid, chunk in zip(task["ids"], tables)]


class WorkerVersionError(ResultsError):
    """A worker runs other cxsim code (or numpy, numba) than the coordinator."""


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> dict[str, str]:
    """What must match between coordinator and workers for bit-identical tables.

    The versions of cxsim, numpy and numba, and a SHA-256 of cxsim's Python sources
    (so two checkouts at different commits with the same version number differ too).
    """
    import numba

    from .. import __version__

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        if "dashboard" in f.relative_to(root).parts:  # (the workshop app never runs in a batch)
            continue
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return {"cxsim": __version__, "code": h.hexdigest()[:12], "numpy": np.__version__, "numba": numba.__version__}


def _mismatch(coordinator: dict, worker: dict) -> str:
    import socket

    diff = ", ".join(f"{k} {worker.get(k)} (coordinator: {coordinator.get(k)})"
                     for k in coordinator if worker.get(k) != coordinator.get(k))
    return (f"worker on {socket.gethostname()} runs {diff}; install the coordinator's cxsim (same commit), numpy "
            "and numba on every node (bit-identical tables need the same code everywhere)")


_PAUSE_ENV = "CXSIM_BATCH_TASK_PAUSE"  # testing hook: seconds each worker task sleeps before simulating
# testing hook: a local-pool worker that starts a task holding this chunk id kills itself with SIGKILL
_DIE_ENV = "CXSIM_BATCH_TASK_DIE"

_started = None  # in a local-pool worker: where it says which task it starts (see _LocalPool)


def _worker_init(parent: int | None = None, started=None) -> None:
    # The parent decides what Ctrl-C means; a worker dying mid-write would only leave a temp file anyway.
    global _started
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _started = started
    if parent is not None:
        die_with_parent(parent)


def die_with_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """Make this (worker) process end when process ``parent`` does, even after ``kill -9`` of the parent.

    On Linux the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere, or if that call fails, a daemon thread polls the parent's pid. Either way an
    orphaned worker stops instead of going on writing chunks into a run nobody owns.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
                if os.getppid() != parent:  # the parent died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="cxsim-parent-watch", daemon=True).start()


# ---------------------------------------------------------------------------- progress
def progress_bar(total: int, desc: str, quiet: bool = False, stream=None, initial: int = 0):
    """A tqdm bar over replications (rate in reps/s, ETA); disabled with ``quiet`` or when ``stream`` is no terminal."""
    from tqdm import tqdm

    stream = sys.stderr if stream is None else stream
    disable = quiet or not (hasattr(stream, "isatty") and stream.isatty())
    return tqdm(total=total, initial=initial, desc=desc, unit="rep", file=stream, disable=disable,
                dynamic_ncols=True, smoothing=0.05, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} reps{postfix} "
                           "[{elapsed}<{remaining}, {rate_fmt}]")


class _TickProgress:
    """Turns per-week callbacks (replications advanced a week) into whole replications for the bar (single process)."""

    def __init__(self, bar, reps_per_tick: float):
        self.bar, self.rate, self.acc, self.sent = bar, reps_per_tick, 0.0, 0

    def __call__(self, n: int) -> None:
        self.acc += n * self.rate
        k = int(self.acc) - self.sent
        if k > 0:
            self.bar.update(k)
            self.sent += k


# ---------------------------------------------------------------------------- run directories
def default_run_dir(exp: Experiment, root: Path | str = "results") -> Path:
    """``results/<experiment>/<YYYYmmdd-HHMMSS>-<6 hex>``: unique, sortable by start time."""
    while True:
        salt = f"{exp.plan_hash()}{time.time_ns()}{os.getpid()}".encode()
        path = Path(root) / exp.name / f"{time.strftime('%Y%m%d-%H%M%S')}-{hashlib.sha256(salt).hexdigest()[:6]}"
        if not path.exists():
            return path


def _prepare_dir(out: Path) -> None:
    check_parents(out)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()):
        hint = " or --resume it" if (out / "manifest.json").is_file() else ""
        raise ResultsError(f"{out}: already holds files; choose another --out{hint} (results are never overwritten)")
    (out / CHUNK_DIR).mkdir(parents=True, exist_ok=True)


def _points_frame(exp: Experiment) -> pd.DataFrame:
    df = pd.DataFrame({
        "point": np.arange(len(exp.points), dtype=np.int64),
        "name": [p.name for p in exp.points],
        "scenario": [exp.scenarios[p.base].name for p in exp.points],  # (a point keeps its base's name)
        "description": [exp.scenarios[p.base].description for p in exp.points],
    })
    for key, values in point_values(exp).items():
        df[key] = values
    return df


def _start(exp: Experiment, out: Path, chunks: list[Chunk]) -> dict:
    _prepare_dir(out)
    points = _points_frame(exp)
    with naming(out / "points.parquet"):
        points.to_parquet(out / "points.parquet", index=False)
    if exp.sample.raw is not None:
        design = pd.DataFrame(exp.sample.raw, columns=exp.sample.keys)
        design.insert(0, "point", np.arange(len(design), dtype=np.int64))
        with naming(out / "design.parquet"):
            design.to_parquet(out / "design.parquet", index=False)
    manifest = {
        "kind": "cxsim batch",
        "experiment_name": exp.name,
        "description": exp.description,
        "experiment_file": exp.file,
        "experiment_path": str(exp.path) if exp.path else None,
        "experiment": exp.to_dict(),
        "design": exp.design_type,
        "design_problem": exp.problem(),
        "seed": exp.seed,
        "replications": exp.replications,
        "ticks": exp.ticks,
        "points": len(exp.points),
        "scenarios": [scenario_record(s) for s in exp.scenarios],
        "plan_hash": exp.plan_hash(),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "command": command_line(),
        # --set, --reps, --seed, --ticks given on the command line (already part of "experiment")
        "command_line_settings": dict(exp.command_line_settings),
        # where the organization lies outside the calibrated range (cxsim.extrapolation); the report shows them
        "calibration_warnings": list(exp.calibration_warnings),
        "organization": exp.organization,
        "started": now_iso(),
        "finished": None,
        "sessions": [],
        "elapsed_seconds": 0.0,
        "chunk_size": exp.chunk_size,
        "chunks": None,  # (made from the plan whenever the manifest is written: see _record)
        "complete": False,
        "files": ["manifest.json", "points.parquet", "replications.parquet", "timeseries.parquet", "summary.csv"]
                 + ([f"{AGENTS_SUMMARY}.parquet"] if exp.keep.per_agent == "summary"
                    else [f"{AGENTS}.parquet"] if exp.keep.per_agent else [])
                 + (["design.parquet"] if exp.sample.raw is not None else []),
    }
    write_json(out / "manifest.json", {**manifest, "chunks": _chunk_entries(chunks, set(), {})})
    return manifest


def run_experiment(exp: Experiment, out: str | Path | None = None, workers: int | None = None, quiet: bool = True,
                   stream=None, stop_after: int | None = None, executor: Executor | None = None) -> Path:
    """Run every chunk of ``exp`` into a new results directory and assemble the tables.

    Args:
        exp: a loaded experiment (:func:`~cxsim.batch.load_experiment`).
        out: the results directory (must not hold files) [default: :func:`default_run_dir`].
        workers: worker processes [default: all cores, or, for a run too small to repay
            starting them (:func:`default_workers`), one thread per core in this process];
            1 runs in this process alone. With ``executor``: how many tasks it runs at once (sizes the tasks;
            default: all cores).
        quiet: no progress bar (it is also off when ``stream`` is not a terminal).
        stream: where the progress bar goes [default: stderr].
        stop_after: testing hook: behave as if Ctrl-C were pressed after this many chunks.
        executor: any :class:`concurrent.futures.Executor` to run the tasks on (a Dask
            ``Client.get_executor()``, ``mpi4py.futures.MPIPoolExecutor``, ...) [default: a
            pool of ``workers`` local processes]. Its workers need the same cxsim, numpy and
            numba (checked); they return tables, and only this process writes the store.

    Returns:
        The results directory; its tables are bit-identical whatever the executor.

    Raises:
        ResultsError: ``out`` already holds files.
        WorkerVersionError: a worker runs other code than this process.
        KeyboardInterrupt: on Ctrl-C, after recording the finished chunks in the manifest.
    """
    out = Path(out) if out is not None else default_run_dir(exp)
    chunks = plan_chunks(len(exp.points), exp.replications, exp.chunk_size)
    manifest = _start(exp, out, chunks)
    give_back_memory()  # (what writing the points table took)
    return _execute(exp, out, manifest, chunks, workers, quiet, stream, stop_after, executor)


def load_for_resume(run_dir: str | Path, experiment: Experiment | None = None) -> tuple[Experiment, dict]:
    """The experiment a run started with, rebuilt from its manifest and checked against it."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("kind") != "cxsim batch":
        raise ResultsError(f"{run_dir}: not a `cxsim batch` run (manifest kind {manifest.get('kind')!r})")
    require_keys(manifest, run_dir)
    scenarios = [scenario_from_record(r) for r in manifest["scenarios"]]
    exp = experiment_from_dict(manifest["experiment"], file=manifest.get("experiment_file") or "<manifest>",
                               scenarios=scenarios, default_name=manifest["experiment_name"])
    if exp.plan_hash() != manifest.get("plan_hash"):
        raise ResultsError(f"{run_dir}: the design rebuilt from the manifest differs from the one the run started "
                           "with (changed cxsim, SALib or scipy version?); start a new run instead")
    if experiment is not None and experiment.plan_hash() != manifest["plan_hash"]:
        raise ResultsError(f"{experiment.file}: differs from the experiment {run_dir} was started with "
                           "(settings, scenarios or design); resume without it or start a new run")
    return exp, manifest


def resume_run(run_dir: str | Path, experiment: Experiment | None = None, workers: int | None = None,
               quiet: bool = True, stream=None, stop_after: int | None = None,
               executor: Executor | None = None) -> Path:
    """Run the missing chunks of an interrupted run and assemble its tables.

    The finished chunks are kept as they are; the final tables are bit-identical to
    those of an uninterrupted run, whichever executor ran the first part or this one.
    """
    run_dir = Path(run_dir)
    exp, manifest = load_for_resume(run_dir, experiment)
    if manifest.get("complete"):
        return run_dir
    chunks = plan_chunks(len(exp.points), exp.replications, exp.chunk_size)
    listed = [(c.get("id"), list(c.get("points", [])), list(c.get("replications", []))) for c in manifest["chunks"]]
    if listed != [(c.id, list(c.points), [c.lo, c.hi]) for c in chunks]:
        raise ResultsError(f"{run_dir / 'manifest.json'}: damaged manifest: its chunk list differs from the "
                           "experiment's plan; start a new run instead")
    (run_dir / CHUNK_DIR).mkdir(exist_ok=True)
    return _execute(exp, run_dir, manifest, chunks, workers, quiet, stream, stop_after, executor)


def kept_ticks(ticks: int, every: int) -> int:
    """How many ticks (0 .. ticks) a timeseries keeps: every ``every``-th and the last."""
    return ticks // every + 1 + (1 if ticks % every else 0)


def _chunk_entries(chunks: Sequence[Chunk], done: set[int], records: dict[int, tuple[dict, dict]]) -> list[dict]:
    """The manifest's chunk list: each chunk's points, replications, status and (done) its files' rows and checksums."""
    out = []
    for c in chunks:
        entry = {"id": c.id, "points": list(c.points), "replications": [c.lo, c.hi],
                 "status": "done" if c.id in done else "pending"}
        if c.id in records:
            entry["rows"], entry["sha256"] = records[c.id]
        out.append(entry)
    return out


def _record(out: Path, manifest: dict, chunks: list[Chunk], done: set[int], t0: float, started: str,
            complete: bool, records: dict[int, tuple[dict, dict]], workers: int | None = None,
            threads: bool = False) -> None:
    """Add this session to ``manifest`` and write it, with the chunk list made afresh from the plan."""
    now = now_iso()
    manifest["sessions"].append({"started": started, "stopped": now, "chunks_done": len(done), "workers": workers,
                                 "threads": threads})
    manifest["elapsed_seconds"] = round(manifest.get("elapsed_seconds", 0.0) + time.perf_counter() - t0, 3)
    manifest["complete"] = complete
    if complete:
        manifest["finished"] = now
        total = sum(c.size for c in chunks)
        manifest["replications_per_second"] = round(total / max(manifest["elapsed_seconds"], 1e-9), 1)
    write_json(out / "manifest.json", {**manifest, "chunks": _chunk_entries(chunks, done, records)})


def _execute(exp: Experiment, out: Path, manifest: dict, chunks: list[Chunk], workers: int | None, quiet: bool,
             stream, stop_after: int | None, executor: Executor | None = None) -> Path:
    t0, started = time.perf_counter(), now_iso()
    # Compile the kernels here, once, rather than silently in every worker.
    warm_up(exp.points[0].scenario, None if quiet else lambda line: print(line, file=stream or sys.stderr, flush=True))
    clean_partial(out)

    def say(line: str) -> None:  # warnings are shown even with quiet
        print(line, file=stream or sys.stderr, flush=True)

    # The manifest's chunk list is made afresh from the plan whenever it is written (_record), not held meanwhile
    # (a resumed run's manifest comes with the list it was written with; a new run's has none).
    entries, manifest["chunks"] = manifest["chunks"] or [], None
    done, records = _verified_chunks(exp, out, entries, manifest["plan_hash"], chunks, say)
    del entries
    pending = [c for c in chunks if c.id not in done]
    R = exp.replications
    per_point = np.zeros(len(exp.points), dtype=np.int64)
    for c in chunks:
        if c.id in done:
            per_point[list(c.points)] += c.hi - c.lo
    total = sum(c.size for c in chunks)
    bar = progress_bar(total, exp.name, quiet, stream, initial=sum(c.size for c in chunks if c.id in done))
    bar.set_postfix_str(f"points {int((per_point == R).sum())}/{len(exp.points)}", refresh=False)
    n_workers = max(1, min(workers or (os.cpu_count() or 1 if executor else default_workers(exp, pending)),
                           len(pending)))
    # A small run left to this process by default still uses every core: its tasks run on threads
    # (the kernels and the Parquet encoder release the GIL), without the start-up of worker processes.
    threads = min(os.cpu_count() or 1, len(pending)) if executor is None and workers is None and n_workers == 1 else 1
    parallel = threads if threads > 1 else n_workers
    in_process = executor is None and parallel == 1
    # Stack up to STACK_REPLICATIONS replications per task, but leave each worker a few tasks.
    pending_size = sum(c.size for c in pending)
    budget = STACK_REPLICATIONS if in_process else min(
        STACK_REPLICATIONS, max(-(-pending_size // (3 * parallel)), max((c.size for c in pending), default=1)))
    budget = min(budget, max(1, MAX_CHUNK_ROWS // (exp.ticks + 1)))  # a task's tables stay within memory
    tasks = plan_tasks(pending, budget)

    plan_hash = manifest["plan_hash"]
    fingerprint = code_fingerprint()

    def task(cs: list[Chunk]) -> dict:
        return {"run_dir": str(out), "ids": [c.id for c in cs], "fingerprint": fingerprint,
                **task_points(exp, cs), "lo": cs[0].lo, "hi": cs[0].hi, "seed": exp.seed, "ticks": exp.ticks,
                "keep": exp.keep, "replications": exp.replications}

    by_id = {c.id: c for c in chunks}
    finished_now = 0

    def finished(cid: int, tables: dict[str, pa.Table], counted: bool) -> None:
        nonlocal finished_now
        c = by_id[cid]
        record = write_chunk(out, cid, tables, c.points, (c.lo, c.hi), plan_hash)
        records[cid] = record["rows"], record["sha256"]
        done.add(cid)
        if not counted:
            bar.update(c.size)
        per_point[list(c.points)] += c.hi - c.lo
        bar.set_postfix_str(f"points {int((per_point == R).sum())}/{len(exp.points)}", refresh=False)
        finished_now += 1
        if stop_after is not None and finished_now >= stop_after:
            raise KeyboardInterrupt  # testing hook: a Ctrl-C right after this chunk

    try:
        if in_process:
            for cs in tasks:
                size = sum(c.size for c in cs)
                tick = _TickProgress(bar, 1.0 / max(exp.ticks, 1))
                t = task(cs)
                tables = task_tables(task_scenarios(t), t["lo"], t["hi"], exp.seed, exp.ticks, exp.keep, tick,
                                     exp.replications)
                bar.update(size - tick.sent)
                for c in cs:
                    finished(c.id, tables.pop(0), counted=True)
                del tables
        elif tasks:
            own = executor is None
            if executor is not None:
                pool = executor
            elif threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                pool = ThreadPoolExecutor(threads, thread_name_prefix="cxsim-task")
            else:
                pool = _local_pool(n_workers, stream or sys.stderr)
            try:
                # (each task's dict is made when it is sent: the coordinator never holds them all at once)
                for cid, tables in _run_tasks(pool, Lazy(len(tasks), lambda i: task(tasks[i])), 2 * parallel):
                    finished(cid, tables, counted=False)
            except BaseException:
                if own:
                    _stop_pool(pool)
                raise
            if own:
                pool.shutdown(wait=True)
    except BaseException:
        bar.close()
        _record(out, manifest, chunks, done, t0, started, complete=False, records=records, workers=parallel,
                threads=threads > 1)
        raise
    bar.refresh()  # draw the final count even if the last update fell inside tqdm's refresh interval
    bar.close()

    # Each step reads and writes tables of many megabytes: what one frees is given back before the next (so their
    # peaks do not stack on one another's leftovers).
    order = [c.id for c in chunks]
    assemble(out, order, "replications")
    give_back_memory()
    assemble(out, order, "timeseries")
    give_back_memory()
    if exp.keep.per_agent == "summary":
        summarize_agents(out, [(c.id, c.points) for c in chunks], len(exp.points))
    elif exp.keep.per_agent:
        assemble(out, order, AGENTS)
    give_back_memory()
    summarize(out, (p.name for p in exp.points), len(exp.points))
    _record(out, manifest, chunks, done, t0, started, complete=True, records=records, workers=parallel,
            threads=threads > 1)
    remove_chunks(out)
    return out


# A run with less work than this (replications x weeks x agents) is faster in this process (on a thread per
# core) than on a pool of worker processes: each worker process first spends about two seconds starting
# (imports, loading the compiled kernels), and the coordinator's share (writing, assembling, summaries) does
# not shrink. Measured on the README's main job (8 points x 1,000 replications x 156 weeks x 21 agents = 26
# million agent-weeks) on 2 cores: 2.5 s on 2 threads, 3.1 s on one, 5.9 s on 2 worker processes.
SMALL_RUN_AGENT_WEEKS = 60_000_000


def default_workers(exp: Experiment, pending: Sequence[Chunk]) -> int:
    """Workers when none are asked for: all cores, or 1 (this process) for a run under :data:`SMALL_RUN_AGENT_WEEKS`."""
    sc = exp.scenarios[exp.points[0].base] if exp.points else None
    agents = max(1, len(sc.executives) + len(sc.departments)) if sc is not None else 1
    work = sum(c.size for c in pending) * max(exp.ticks, 1) * agents
    return 1 if work < SMALL_RUN_AGENT_WEEKS else os.cpu_count() or 1


def _local_pool(n_workers: int, stream=None) -> Executor:
    """The default pool: ``spawn``-started processes that ignore Ctrl-C, die with this one, are replaced if one dies.

    ``stream`` is where a worker's death is told [default: stderr].
    """
    return _LocalPool(n_workers, stream)


class _LocalPool(Executor):
    """A ``spawn`` :class:`~concurrent.futures.ProcessPoolExecutor` that :func:`_run_tasks` renews when a worker dies.

    A process pool one of whose workers dies (``kill -9``, the OOM killer, a crash in native
    code) is broken for good: every task not yet returned fails with ``BrokenProcessPool``.
    Its workers say on a queue which task they start (:meth:`run`), so :meth:`casualties`
    can tell which workers died, how, and what they held; :meth:`renew` swaps the broken
    pool for a fresh one.
    """

    def __init__(self, n_workers: int, stream=None):
        self.n_workers, self.stream = n_workers, stream
        self.pool = None
        self.renew()

    def renew(self) -> None:
        """Stop the current pool (if any) and start a fresh one."""
        from concurrent.futures import ProcessPoolExecutor

        if self.pool is not None:
            _stop_pool(self.pool)
            self.started.close()
        ctx = multiprocessing.get_context("spawn")
        self.started = ctx.SimpleQueue()  # (task key, pid) from each worker as it starts a task
        self.pool = ProcessPoolExecutor(self.n_workers, mp_context=ctx, initializer=_worker_init,
                                        initargs=(os.getpid(), self.started))
        self.workers: dict[int, Any] = {}  # pid -> Process, every worker of this pool
        self.holders: dict[Any, int] = {}  # task key -> pid of the worker that started it

    def submit(self, fn, /, *args, **kwargs):
        return self.run(None, fn, *args, **kwargs)

    def run(self, key, fn, /, *args, **kwargs):
        """Submit ``fn(*args, **kwargs)``; the worker that starts it is recorded under ``key``."""
        # Drained at every submit, the queue's pipe never fills: only tasks in flight can have said something since.
        self._drain()
        fut = self.pool.submit(_run_tracked, key, fn, args, kwargs)
        self.workers.update(getattr(self.pool, "_processes", None) or {})  # (workers start on submit)
        return fut

    def _drain(self) -> None:
        while not self.started.empty():
            key, pid = self.started.get()
            self.holders[key] = pid

    def casualties(self) -> tuple[dict[int, int], dict[Any, int]]:
        """After a break: ``{pid: exit code}`` of the workers that died, ``{task key: pid}`` of who started what.

        A broken pool terminates (SIGTERM) its remaining workers; those are not counted as dead.
        """
        self._drain()
        # The broken pool's own thread joins (reaps) every worker; waiting for it first, rather than joining them
        # here too, keeps two threads from racing for one exit status (the loser would read None).
        manager = getattr(self.pool, "_executor_manager_thread", None)  # (private, as _processes)
        if manager is not None:
            manager.join(timeout=30)
        dead = {}
        for pid, proc in self.workers.items():
            proc.join(timeout=5)
            if proc.exitcode is not None and proc.exitcode != -signal.SIGTERM:
                dead[pid] = proc.exitcode
        return dead, dict(self.holders)

    def say(self, line: str) -> None:
        from tqdm import tqdm

        stream = self.stream or sys.stderr
        tqdm.write(line, file=stream)  # (above a progress bar on that stream, which is redrawn below)
        if hasattr(stream, "flush"):
            stream.flush()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        self.started.close()


def _run_tracked(key, fn, args: tuple, kwargs: dict):
    """A task on the local pool: say that this worker starts task ``key`` (see :class:`_LocalPool`), then run it."""
    if _started is not None:
        _started.put((key, os.getpid()))
    die = os.environ.get(_DIE_ENV)
    if die and args and isinstance(args[0], dict) and int(die) in args[0].get("ids", ()):  # testing hook
        os.kill(os.getpid(), signal.SIGKILL)
    return fn(*args, **kwargs)


def _stop_pool(pool) -> None:
    """Stop a local pool at once (Ctrl-C, an error): cancel what waits, terminate what runs."""
    if isinstance(pool, _LocalPool):
        pool = pool.pool
    processes = dict(getattr(pool, "_processes", None) or {})  # (private, but there since Python 3.2)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes.values():
        if proc.is_alive():
            proc.terminate()
    for proc in processes.values():
        proc.join(timeout=10)


_MAX_DEATHS = 3  # worker deaths one task may cause on the local pool before the run stops


def _run_tasks(executor: Executor, tasks: Sequence[dict], in_flight: int):
    """Yield ``(chunk id, tables)`` as tasks finish on ``executor``, with at most ``in_flight`` submitted at once.

    Bounding the tasks in flight keeps the results held by the coordinator bounded in the
    number of points (they arrive as fast as they are written). An error a task raises ends the
    run. A task whose worker died is the executor's to rerun (Dask does); on the local pool
    (:class:`_LocalPool`), which a dead worker breaks as a whole, this function does it: one
    line on the pool's stream, a fresh pool, and every task whose result has not arrived is
    submitted again (the chunks already returned stay written). A task whose worker died
    ``_MAX_DEATHS`` times stops the run with a :class:`ResultsError`.
    """
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    recover = isinstance(executor, _LocalPool)
    todo = deque(range(len(tasks)))  # task indices not yet submitted (or to submit again)
    running: dict = {}  # future -> task index
    lost: list[int] = []  # tasks whose worker (or pool) died under them
    deaths: dict[int, int] = {}  # task index -> worker deaths blamed on it

    def refill() -> bool:  # submit up to in_flight; False if the pool turns out broken
        while todo and len(running) < in_flight:
            i = todo.popleft()
            try:
                running[executor.run(i, run_task, tasks[i]) if recover else executor.submit(run_task, tasks[i])] = i
            except BrokenProcessPool:
                if not recover:
                    raise
                todo.appendleft(i)
                return False
        return True

    def take(fut) -> list:  # a finished task's results; none if its pool broke (the task is then lost)
        i = running.pop(fut)
        if recover and isinstance(fut.exception(), BrokenProcessPool):
            lost.append(i)
            return []
        return fut.result()

    try:
        while todo or running:
            broken = not refill()
            if running and not broken:
                for fut in wait(running, return_when=FIRST_COMPLETED).done:
                    results = take(fut)
                    broken = broken or bool(lost) or not refill()  # (a worker is free: give it work first)
                    yield from results
            if broken or lost:  # a worker died: every other task in flight fails too, or has returned
                done, _ = wait(running, timeout=60)
                for fut in done:
                    yield from take(fut)
                lost.extend(running.pop(fut) for fut in list(running))
                _recover(executor, tasks, sorted(lost), deaths)
                todo.extendleft(sorted(lost, reverse=True))
                lost.clear()
    finally:
        for fut in running:
            fut.cancel()


def _recover(pool: _LocalPool, tasks: Sequence[dict], lost: list[int], deaths: dict[int, int]) -> None:
    """After a worker death broke ``pool``: blame the task(s) it held; stop if one has died too often, else renew."""
    dead, holders = pool.casualties()
    # The task a dead worker had started is blamed; a death pinned on no task counts against every lost one.
    pinned = [i for i in lost if holders.get(i) in dead]
    blamed = pinned or lost
    for i in blamed:
        deaths[i] = deaths.get(i, 0) + 1
    how = "; ".join(f"worker process {pid} died ({_exit_status(code)})" for pid, code in dead.items()) \
        or "a worker process died"
    doomed = [cid for i in blamed if deaths[i] >= _MAX_DEATHS for cid in tasks[i]["ids"]]
    if doomed:
        raise ResultsError(
            f"{_plural(doomed, 'chunk')}: "
            + (f"the worker process running {'it' if len(doomed) == 1 else 'them'} died" if pinned else
               "worker processes died, before or while running them,")
            + f" {_MAX_DEATHS} times (last: {how}); stopped. "
            "Short of memory (the OOM killer sends SIGKILL; see `dmesg`)? Try fewer workers (-w N); -w 1 runs the "
            "chunks in this process and shows any error. The finished chunks are kept: "
            f"cxsim batch --resume {tasks[blamed[0]]['run_dir']}")
    ids = sorted(cid for i in lost for cid in tasks[i]["ids"])
    pool.say(f"{how}; rerunning {len(lost)} unfinished task{'' if len(lost) == 1 else 's'} ({_plural(ids, 'chunk')})"
             if lost else f"{how}; starting new workers")
    pool.renew()


def _exit_status(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {-code}, {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _plural(ids: Sequence[int], noun: str, at_most: int = 12) -> str:
    """``chunk 3`` or ``chunks 3-6, 9`` (runs of consecutive ids joined; at most ``at_most`` runs shown)."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:at_most])
    more = f", ... ({len(ids)} in all)" if len(runs) > at_most else ""
    return f"{noun}{'' if len(ids) == 1 else 's'} {text}{more}"


def _verified_chunks(exp: Experiment, out: Path, listed: list[dict], plan_hash: str, chunks: list[Chunk],
                     say: Callable[[str], None]) -> tuple[set[int], dict[int, tuple[dict, dict]]]:
    """The kept chunks that pass :func:`~cxsim.batch.store.verify_chunk`, and their files' rows and checksums.

    ``listed`` is the manifest's chunk list. A chunk that fails is deleted (so it is
    recomputed) with one line saying why.
    """
    kept = done_chunks(out)
    entries = {c["id"]: c for c in listed}
    per_rep = kept_ticks(exp.ticks, exp.keep.timeseries_every)
    done: set[int] = set()
    records: dict[int, tuple[dict, dict]] = {}
    for c in chunks:
        if c.id not in kept:
            if entries.get(c.id, {}).get("status") == "done":
                say(f"{out}: chunk {c.id} is marked done in manifest.json but its files are missing; recomputing it")
            continue
        problem = verify_chunk(out, c.id, c.points, c.lo, c.hi, plan_hash, c.size * per_rep,
                               entries.get(c.id), agents=_agent_table(exp, c, per_rep))
        if problem is None:
            done.add(c.id)
            record = read_chunk_record(out, c.id)
            records[c.id] = record["rows"], record["sha256"]
        else:
            say(f"{out}: chunk {c.id} (points {_span(c.points)}, replications {c.lo}-{c.hi - 1}): {problem}; "
                "recomputing it")
            remove_chunk(out, c.id)
    return done, records


def _agent_table(exp: Experiment, c: Chunk, per_rep: int) -> tuple[str, int] | None:
    """The per-agent table chunk ``c`` holds, and its rows: per-agent rows, their summary (whole points), or none."""
    if not exp.keep.per_agent:
        return None
    if exp.keep.per_agent == "summary" and c.lo == 0 and c.hi == exp.replications:
        sc = exp.scenarios[exp.points[c.points[0]].base]  # (a design changes values, not who is who)
        return AGENTS_SUMMARY, len(c.points) * per_rep * (len(sc.departments) + 2 * len(sc.executives))
    return AGENTS, c.size * per_rep


def _span(points: Sequence[int]) -> str:
    return f"{points[0]}" if len(points) == 1 else f"{points[0]}-{points[-1]}"
