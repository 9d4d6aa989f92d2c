"""The results store of a batch run: chunk files written atomically, tables assembled by streaming.

Layout of ``results/<experiment>/<run-id>/``:

- ``manifest.json``: the experiment as resolved, the base scenarios, seeds, package
  versions, git commit, start and end times, each chunk's status, ``complete``;
- ``points.parquet``: one row per design point (``point``, ``name``, ``scenario``,
  ``description``, one column per varied parameter by dotted key);
- ``design.parquet`` (sampled designs only): the sampler's unrounded matrix, for analyses;
- ``replications.parquet``: ``point``, ``replication`` and the outcomes;
- ``timeseries.parquet``: ``point``, ``replication``, ``tick`` and the kept metrics;
- ``agents.parquet`` (with ``keep.per_agent`` only): the same rows, in the same order,
  with the per-department and per-executive columns (``adoption:<dept>``,
  ``buy_in:<exec>``, ``expressed:<exec>``); :meth:`Results.read_timeseries` reads it
  only when such a column is asked for (stores written before it existed hold these
  columns in ``timeseries.parquet``, and are read the same way);
- ``agents_summary.parquet`` (with ``keep.per_agent = "summary"`` instead): one row per
  point, tick and per-agent column (``column``), with ``replications``, ``mean``,
  ``median``, ``q05``, ``q25``, ``q75``, ``q95`` over the replications: what the report's
  department and buy-in figures need, in a few hundred kilobytes;
- ``summary.csv``: per point, mean, sd and 95% CI of key outcomes, success rate with a
  Wilson interval;
- ``chunks/`` while the run is incomplete: the Parquet files of each finished chunk.

The files are as compact as their content allows (measured in
``benchmarks/bench_batch.py store``): columns with few distinct values (keys, events,
flags, adoption shares, which are whole employees over a headcount) are
dictionary-encoded; continuous ``float32`` columns skip the dictionary (it never fits
and only costs time) and are stored byte-stream-split, which lets zstd find the
repetition in their exponents; everything is zstd-compressed (level 1: higher levels
saved 4% and took twice as long). The temporary chunk files are written for speed
instead (:data:`CHUNK_OPTIONS`).

Only the coordinating process writes the store (workers, local or on a cluster,
return their tables, already encoded as a chunk file's bytes). A chunk is written to
a temporary name and renamed into place (``os.replace`` is atomic), timeseries (and
the per-agent rows, or their summary when the chunk holds all of its points'
replications) first, replications next, and last its record ``NNNNNN.chunk.json``:
its points, replication range, row counts and the SHA-256 of each file, with the
run's plan hash. A chunk counts as done exactly when its record exists; ``--resume``
checks every kept chunk against its record and the manifest (:func:`verify_chunk`)
and recomputes, saying so, any chunk that fails. The final tables are assembled in chunk order
(= point, replication, tick order) with a streaming ``ParquetWriter`` in row groups
of a fixed size, so their bytes depend neither on the chunk size nor on the number
of workers, and memory stays bounded by one row group.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ResultsError
from ..safeio import naming
from ..stats import wilson_interval

__all__ = [
    "Results", "load_results", "wilson_interval", "write_chunk", "done_chunks", "assemble", "summarize",
    "write_json", "read_manifest", "CHUNK_DIR", "ROW_GROUP_ROWS", "SUMMARY_OUTCOMES", "verify_chunk",
    "read_chunk_record", "chunk_path", "remove_chunk", "require_keys", "read_parquet", "AGENTS", "KEYS",
    "is_agent_column", "parquet_options", "AGENTS_SUMMARY", "AGENT_STATS", "summarize_agents", "Encoded",
    "summarize_matrix",
    "encode_table", "CHUNK_OPTIONS", "give_back_memory",
]

CHUNK_DIR = "chunks"
ROW_GROUP_ROWS = 1 << 17
_COMPRESSION = "zstd"
TABLES = ("replications", "timeseries")
AGENTS = "agents"
"""The optional table of per-agent columns (``keep.per_agent``)."""
AGENTS_SUMMARY = "agents_summary"
"""The per-point, per-tick summary of the per-agent columns (``keep.per_agent = "summary"``)."""
AGENT_STATS = ("mean", "median", "q05", "q25", "q75", "q95")
KEYS = ("point", "replication", "tick")
# Columns whose values are few (whole counts, flags, shares of a headcount): dictionary-encoded.
_DISCRETE = {"point", "replication", "tick", "adoption", "covert_resisters", "owner_present", "budget_spent",
             "owner_left", "successor_arrived", "budget_cut", "resistance_detected", "committee_met", "success",
             "owner_departures", "detections", "weeks_to_50", "weeks_to_80", "first_owner_tenure"}


def is_agent_column(name: str) -> bool:
    """Whether ``name`` is a per-department or per-executive column (``adoption:<dept>``, ...)."""
    return ":" in name


def parquet_options(schema: pa.Schema) -> dict:
    """``pq.write_table`` / ``ParquetWriter`` options for a table of ``schema`` (see the module docstring)."""
    dictionary = [f.name for f in schema if f.name in _DISCRETE or f.name.startswith("adoption:")
                  or not pa.types.is_floating(f.type)]
    split = [f.name for f in schema if f.name not in dictionary and pa.types.is_floating(f.type)]
    return {"compression": _COMPRESSION, "compression_level": 1, "use_dictionary": dictionary,
            "use_byte_stream_split": split or False}
SUMMARY_OUTCOMES = ("final_adoption", "peak_adoption", "weeks_to_50", "final_cx_index", "final_buy_in",
                    "owner_departures")


# ---------------------------------------------------------------------------- small files
def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o)}")


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temporary file, then rename; the temporary file is removed on failure)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# Keys every batch manifest has, and their JSON types (checked on reading, so a damaged
# manifest is one line, not a KeyError deep inside a command).
_BATCH_KEYS = {"experiment_name": str, "experiment": dict, "scenarios": list, "plan_hash": str, "chunks": list,
               "seed": int, "replications": int, "ticks": int, "points": int, "design": str,
               "design_problem": dict}
_RESUME_KEYS = [k for k in _BATCH_KEYS if k != "design_problem"]


def read_manifest(run_dir: Path) -> dict:
    """A run's manifest, or a one-line :class:`ResultsError` (missing, not JSON, not an object, keys missing)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultsError(f"{run_dir}: no such results directory")
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a results directory (no manifest.json)")
    if path.stat().st_size > 256 * 2**20:
        raise ResultsError(f"{path}: unreadable manifest (larger than 256 MiB)")
    try:
        manifest = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}: damaged manifest: expected a JSON object, found {type(manifest).__name__}")
    kind = manifest.get("kind")
    if kind not in ("cxsim batch", "cxsim run"):
        raise ResultsError(f"{path}: damaged manifest: kind = {kind!r}, expected 'cxsim batch' or 'cxsim run'")
    return manifest


def require_keys(manifest: dict, run_dir: Path, keys=None) -> None:
    """Check a batch manifest has ``keys`` (default: all a resume needs) with their JSON types; one line if not."""
    path = Path(run_dir) / "manifest.json"
    for key in keys or _RESUME_KEYS:
        typ = _BATCH_KEYS.get(key, object)
        if not isinstance(manifest.get(key), typ) or isinstance(manifest.get(key), bool):
            found = "missing" if key not in manifest else f"a {type(manifest[key]).__name__}"
            expected = {dict: "a JSON object", list: "a JSON array", int: "an integer"}.get(typ, "a string")
            raise ResultsError(f"{path}: damaged manifest: {key!r} is {found}, expected {expected}")
    for i, c in enumerate(manifest.get("chunks") or []):
        if (not isinstance(c, dict) or not isinstance(c.get("id"), int) or not isinstance(c.get("points"), list)
                or not isinstance(c.get("replications"), list) or len(c["replications"]) != 2):
            raise ResultsError(f"{path}: damaged manifest: chunks[{i}] lacks id, points or replications")


# ---------------------------------------------------------------------------- chunks
def chunk_path(run_dir: Path, chunk_id: int, table: str) -> Path:
    """Where chunk ``chunk_id``'s ``table`` lives."""
    return Path(run_dir) / CHUNK_DIR / f"{chunk_id:06d}.{table}.parquet"


def record_path(run_dir: Path, chunk_id: int) -> Path:
    """Where chunk ``chunk_id``'s record lives."""
    return Path(run_dir) / CHUNK_DIR / f"{chunk_id:06d}.chunk.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Chunk files are temporary (assembled into the final tables, then deleted), so they are
# written for speed: LZ4 without dictionaries encodes in about half the time of the final
# tables' options and decodes faster, for files about 40% larger. The final tables'
# bytes do not depend on it (they are encoded afresh from the values).
CHUNK_OPTIONS = {"compression": "lz4", "use_dictionary": False}


@dataclass(frozen=True)
class Encoded:
    """One chunk table already encoded as Parquet bytes (by a worker, in parallel), and its row count."""

    data: bytes
    rows: int


def encode_table(table: pa.Table) -> Encoded:
    """``table`` as the bytes of a chunk file (:data:`CHUNK_OPTIONS`)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **CHUNK_OPTIONS)
    return Encoded(sink.getvalue().to_pybytes(), int(table.num_rows))


def write_chunk(run_dir: Path, chunk_id: int, tables: dict[str, pa.Table | Encoded], points: Sequence[int] = (),
                replications: Sequence[int] = (0, 0), plan_hash: str = "") -> dict:
    """Write one chunk's tables atomically, then its record (which marks it done); returns the record.

    ``tables`` may hold Arrow tables or their :func:`encode_table` bytes (workers encode,
    this process only writes). The record holds the chunk's points, replication range
    ``[lo, hi)``, the row count and SHA-256 of each file, and the run's plan hash, so a
    resumed run can tell a kept chunk from a damaged, truncated or foreign one.
    """
    record: dict[str, Any] = {"id": int(chunk_id), "points": [int(p) for p in points],
                              "replications": [int(r) for r in replications], "plan_hash": plan_hash,
                              "rows": {}, "sha256": {}}
    for name in (*(t for t in (AGENTS, AGENTS_SUMMARY) if t in tables), "timeseries", "replications"):
        final = chunk_path(run_dir, chunk_id, name)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        enc = tables[name] if isinstance(tables[name], Encoded) else encode_table(tables[name])
        try:
            with naming(final):
                with open(tmp, "wb") as fh:
                    fh.write(enc.data)
            record["sha256"][name] = hashlib.sha256(enc.data).hexdigest()
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        record["rows"][name] = enc.rows
    write_json(record_path(run_dir, chunk_id), record)
    return record


def read_chunk_record(run_dir: Path, chunk_id: int) -> dict | None:
    """A chunk's record, or ``None`` when it is missing or unreadable."""
    path = record_path(run_dir, chunk_id)
    try:
        rec = json.loads(path.read_bytes()) if path.stat().st_size < 1 << 20 else None
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def done_chunks(run_dir: Path) -> set[int]:
    """Ids of the chunks whose files and record exist (not yet verified: see :func:`verify_chunk`)."""
    d = Path(run_dir) / CHUNK_DIR
    if not d.is_dir():
        return set()
    have = {n.name for n in d.iterdir()}
    out = set()
    for name in have:
        if name.endswith(".chunk.json") and not name.startswith("."):
            cid = name.split(".")[0]
            if cid.isdigit() and all(f"{cid}.{t}.parquet" in have for t in TABLES):
                out.add(int(cid))
    return out


def verify_chunk(run_dir: Path, chunk_id: int, points: Sequence[int], lo: int, hi: int, plan_hash: str,
                 timeseries_rows: int, manifest_entry: dict | None = None,
                 agents: tuple[str, int] | None = None) -> str | None:
    """Check a kept chunk against what the plan expects; ``None`` if it is sound, else what is wrong.

    Checks the record (same chunk, plan hash, points and replication range; the same as
    the manifest's copy, when the manifest has one), the row counts the plan implies, and
    each file's row count (from its Parquet footer) and SHA-256 against the record;
    with ``agents`` (a table name, ``agents`` or ``agents_summary``, and its row count),
    the chunk's per-agent table too.
    """
    rec = read_chunk_record(run_dir, chunk_id)
    if rec is None:
        return "its record (chunk.json) is missing or unreadable"
    if rec.get("plan_hash") != plan_hash:
        return "it was written by another run (plan hash differs)"
    if rec.get("id") != chunk_id or rec.get("points") != list(points) or rec.get("replications") != [lo, hi]:
        return (f"its record is for chunk {rec.get('id')!r}, points {rec.get('points')!r}, replications "
                f"{rec.get('replications')!r}; expected points {list(points)!r}, replications [{lo}, {hi}]")
    if manifest_entry is not None and manifest_entry.get("sha256") not in (None, rec.get("sha256")):
        return "its checksums differ from the ones in manifest.json"
    expected = {"replications": len(points) * (hi - lo), "timeseries": timeseries_rows}
    if agents is not None:
        expected[agents[0]] = agents[1]
    rows, sums = rec.get("rows") or {}, rec.get("sha256") or {}
    for name in expected:
        path = chunk_path(run_dir, chunk_id, name)
        if rows.get(name) != expected[name]:
            return f"its record says {name} has {rows.get(name)!r} rows; the plan gives {expected[name]}"
        try:
            n = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            return f"{path.name} is unreadable ({_first_line(exc)})"
        if n != expected[name]:
            return f"{path.name} has {n} rows, expected {expected[name]}"
        if _sha256(path) != sums.get(name):
            return f"{path.name}'s checksum differs from its record"
    return None


def remove_chunk(run_dir: Path, chunk_id: int) -> None:
    """Delete a chunk's record first (so it stops counting as done), then its files."""
    record_path(run_dir, chunk_id).unlink(missing_ok=True)
    for name in (*TABLES, AGENTS, AGENTS_SUMMARY):
        chunk_path(run_dir, chunk_id, name).unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def clean_partial(run_dir: Path) -> int:
    """Remove temporary files a killed run left behind; returns how many."""
    d = Path(run_dir) / CHUNK_DIR
    n = 0
    if d.is_dir():
        for f in d.iterdir():
            if f.name.startswith(".") and ".tmp-" in f.name:
                f.unlink(missing_ok=True)
                n += 1
    for f in Path(run_dir).glob(".*.tmp-*"):
        f.unlink(missing_ok=True)
        n += 1
    return n


def give_back_memory() -> None:
    """Return freed memory to the system: Arrow's pool's and (glibc) malloc's free pages.

    Allocators keep freed memory for reuse, but Arrow's pool and malloc do not reuse each
    other's, nor does either give it back at once: left alone, what one step (or one row
    group) freed adds to the next one's peak. (A full run of Python's cyclic garbage
    collector first, as this did at first, freed nothing that mattered: the coordinator's
    peak was the same without it, 338 against 333 MB and 361 against 360 MB for the Sobol
    studies of 1,408 and 5,632 points, and its four runs took 0.28 s of the main job.)
    """
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):  # (not glibc)
            pass


def assemble(run_dir: Path, chunk_ids: Sequence[int], table: str, rows_per_group: int = ROW_GROUP_ROWS) -> Path:
    """Concatenate chunk files (in the given order) into ``<table>.parquet``, streaming.

    Row groups have a fixed size whatever the chunking, so the file's bytes depend
    only on its rows.
    """
    with naming(Path(run_dir) / f"{table}.parquet"):
        return _assemble(run_dir, chunk_ids, table, rows_per_group)


def _assemble(run_dir: Path, chunk_ids: Sequence[int], table: str, rows_per_group: int) -> Path:
    run_dir = Path(run_dir)
    final = run_dir / f"{table}.parquet"
    tmp = run_dir / f".{table}.parquet.tmp-{os.getpid()}"
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    pending: list[list[pa.Array]] = []  # per column, the pieces read and not yet written
    n_pending = 0
    try:
        for cid in chunk_ids:
            t = pq.ParquetFile(chunk_path(run_dir, cid, table)).read(use_threads=False)  # (small: no thread pool)
            if writer is None:
                schema = t.schema
                writer = pq.ParquetWriter(tmp, schema, **parquet_options(schema))
                pending = [[] for _ in schema]
            for pieces, column in zip(pending, t.columns):
                pieces.extend(column.chunks)
            n_pending += t.num_rows
            del t
            while n_pending >= rows_per_group:
                block = _combine(pending, schema)
                writer.write_table(block.slice(0, rows_per_group), row_group_size=rows_per_group)
                rest = block.slice(rows_per_group)
                pending, n_pending = [list(column.chunks) for column in rest.columns], rest.num_rows
                del block
                give_back_memory()
        if writer is None:
            raise ResultsError(f"{run_dir}: no chunks to assemble")
        if n_pending:
            writer.write_table(_combine(pending, schema), row_group_size=rows_per_group)
        writer.close()
        writer = None
        os.replace(tmp, final)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    return final


def _combine(pending: list[list[pa.Array]], schema: pa.Schema) -> pa.Table:
    """A table of each column's pieces made contiguous (``combine_chunks``), emptying ``pending`` column by column.

    Each column's pieces are let go as soon as they are copied, so memory holds about one
    row group, not the pieces and their copy side by side.
    """
    columns = []
    for j, pieces in enumerate(pending):
        columns.append(pa.concat_arrays(pieces))
        pending[j] = []
    return pa.Table.from_arrays(columns, schema=schema)


def remove_chunks(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / CHUNK_DIR, ignore_errors=True)


def summarize_agents(run_dir: Path, chunks: Sequence[tuple[int, Sequence[int]]], n_points: int,
                     max_values: int = 1 << 25) -> Path:
    """Write ``agents_summary.parquet`` from the chunks' per-agent tables; returns its path.

    ``chunks`` are ``(chunk id, points)`` in chunk order (so each point's replications
    come in order). Per point and per-agent column, every tick's mean and quantiles
    (linear interpolation between order statistics) over all the point's replications.
    The mean adds the replications one after another in replication order (not in an
    order a library picks), so its bits do not depend on the chunking. Chunk files are
    read once each, one point held at a time; a point with more than ``max_values``
    values is summarized a few columns at a time. A chunk that holds all of its points'
    replications was summarized by its worker (``agents_summary`` chunk files, the same
    rows): those are copied.
    """
    run_dir = Path(run_dir)
    final = run_dir / f"{AGENTS_SUMMARY}.parquet"
    by_point: dict[int, list[int]] = {}
    for cid, points in chunks:
        for p in points:
            by_point.setdefault(int(p), []).append(cid)
    if not by_point:
        raise ResultsError(f"{run_dir}: no chunks to summarize")
    summarized = {cid for cid, _ in chunks if chunk_path(run_dir, cid, AGENTS_SUMMARY).is_file()}
    rows_from = next((cid for cid, _ in chunks if cid not in summarized), None)
    names = [] if rows_from is None else [
        c for c in pq.read_schema(chunk_path(run_dir, rows_from, AGENTS)).names if c not in KEYS]
    parts: list[pa.Table] = []
    held: dict[int, list[pa.Table]] = {}
    for cid, points in chunks:
        if cid in summarized:
            parts.append(pq.read_table(chunk_path(run_dir, cid, AGENTS_SUMMARY)))
            continue
        path = chunk_path(run_dir, cid, AGENTS)
        if all(_point_values(run_dir, by_point[int(p)], len(names)) > max_values for p in points):
            table = None  # (every point here is too big to hold: summarized column group by column group)
        else:
            table = pq.read_table(path)
        point_col = None if table is None else table.column("point").to_numpy()
        for p in points:
            p = int(p)
            if table is not None:
                rows = np.flatnonzero(point_col == p)
                held.setdefault(p, []).append(table.slice(int(rows[0]), rows.size) if rows.size else table.slice(0, 0))
            if by_point[p][-1] != cid:
                continue
            if p in held:
                parts += _summarize_point(p, pa.concat_tables(held.pop(p)), names)
            else:
                files = [chunk_path(run_dir, c, AGENTS) for c in by_point[p]]
                rows_total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
                group = max(1, max_values // max(rows_total, 1))
                pieces: list[pa.Table] = []
                for start in range(0, len(names), group):
                    cols = names[start:start + group]
                    t = pa.concat_tables([pq.read_table(f, columns=["point", "tick", *cols],
                                                        filters=[("point", "=", p)]) for f in files])
                    pieces += _summarize_point(p, t, cols)
                parts += pieces
    table = pa.concat_tables(parts).combine_chunks()  # (rows: point, then column, then tick)
    tmp = run_dir / f".{final.name}.tmp-{os.getpid()}"
    try:
        with naming(final):
            pq.write_table(table, tmp, compression=_COMPRESSION, row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _point_values(run_dir: Path, chunk_ids: Sequence[int], n_columns: int) -> int:
    """How many per-agent values a point has (rows across its chunks x columns), from the files' footers."""
    # (only a point spread over several chunks can be large: a chunk holds at most MAX_CHUNK_ROWS rows)
    if len(chunk_ids) == 1:
        return 0
    return sum(pq.ParquetFile(chunk_path(run_dir, c, AGENTS)).metadata.num_rows for c in chunk_ids) * n_columns


_QUANTILES = (0.5, 0.05, 0.25, 0.75, 0.95)


def _summarize_point(point: int, t: pa.Table, names: Sequence[str]) -> list[pa.Table]:
    """Per column of ``names``: one row per tick with the replications, mean and quantiles of ``point``'s rows."""
    ticks = np.unique(t.column("tick").to_numpy())
    R = t.num_rows // max(ticks.size, 1)
    # (R, T * C): a replication's ticks, each with every column; rows in replication order
    x = np.stack([t.column(c).to_numpy() for c in names], axis=1).reshape(R, ticks.size * len(names))
    return summarize_matrix(point, ticks, names, x)


def summarize_matrix(point: int, ticks: np.ndarray, names: Sequence[str], x: np.ndarray) -> list[pa.Table]:
    """:func:`_summarize_point` of the values ``x[r, t * C + c]`` (replication r, tick ``ticks[t]``, column c).

    A worker that holds all of a point's replications summarizes them here, straight
    from its recorder; the rows are those :func:`summarize_agents` computes from the
    per-agent rows, bit for bit.
    """
    T, C = len(ticks), len(names)
    R = x.shape[0]
    total = np.zeros(T * C)
    for r in range(R):  # one replication after another: the sum's order is ours, not a library's
        total += x[r]
    mean = (total / R).reshape(T, C)
    # Quantiles as numpy's default ("linear") method computes them, from rows sorted once.
    ranked = np.sort(np.ascontiguousarray(x.T), axis=1)
    q = np.empty((len(_QUANTILES), T * C))
    for i, level in enumerate(_QUANTILES):
        pos = level * (R - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, R - 1)
        g = pos - lo
        a, b = ranked[:, lo].astype(np.float64), ranked[:, hi].astype(np.float64)
        diff = b - a
        q[i] = b - diff * (1.0 - g) if g >= 0.5 else a + diff * g  # (numpy's _lerp)
    q = q.reshape(len(_QUANTILES), T, C)
    out = []
    for j, c in enumerate(names):
        out.append(pa.table({
            "point": np.full(T, point, dtype=np.int64), "tick": ticks.astype(np.int64),
            "column": pa.array([c] * T).dictionary_encode(), "replications": np.full(T, R, dtype=np.int64),
            "mean": mean[:, j], "median": q[0, :, j], "q05": q[1, :, j], "q25": q[2, :, j], "q75": q[3, :, j],
            "q95": q[4, :, j]}))
    return out


# ---------------------------------------------------------------------------- summary
class _Moments:
    """Per-point count, mean and sum of squared deviations, merged batch by batch (Chan et al. 1979)."""

    def __init__(self, n_points: int):
        self.n = np.zeros(n_points)
        self.mean = np.zeros(n_points)
        self.m2 = np.zeros(n_points)

    def add(self, point: np.ndarray, x: np.ndarray) -> None:
        ok = ~np.isnan(x)
        point, x = point[ok], x[ok]
        P = self.n.size
        nb = np.bincount(point, minlength=P).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mb = np.where(nb > 0, np.bincount(point, weights=x, minlength=P) / nb, 0.0)
        m2b = np.bincount(point, weights=(x - mb[point]) ** 2, minlength=P)
        n = self.n + nb
        delta = mb - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(n > 0, nb / n, 0.0)
            self.m2 = self.m2 + m2b + np.where(n > 0, delta**2 * self.n * nb / n, 0.0)
        self.mean = self.mean + delta * frac
        self.n = n

    def table(self, prefix: str, conf: float = 0.95, rows: slice = slice(None)) -> dict[str, np.ndarray]:
        """Mean, sd and a ``conf`` t-interval's bounds of the points in ``rows`` (elementwise: any block of points)."""
        from scipy.special import stdtrit  # (= scipy.stats.t.ppf, bit for bit, without importing scipy.stats)

        n, m2 = self.n[rows], self.m2[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(n > 1, np.sqrt(m2 / (n - 1)), np.nan)
            half = stdtrit(np.maximum(n - 1, 1), 0.5 + conf / 2) * sd / np.sqrt(n)
        mean = np.where(n > 0, self.mean[rows], np.nan)
        return {f"{prefix}_mean": mean, f"{prefix}_sd": sd, f"{prefix}_lo": mean - half, f"{prefix}_hi": mean + half}


_CSV_BLOCK = 1024  # points per block of summary.csv's rows made and written at a time


def summarize(run_dir: Path, names: Iterable[str], n_points: int, conf: float = 0.95) -> Path:
    """Per-point summary of ``replications.parquet`` into ``summary.csv``; returns its path.

    ``names`` are the ``n_points`` points' names in order (an iterator will do: they are
    taken a block at a time). ``replications.parquet`` is read one column of one row group
    at a time, and the rows are made and written a block of points at a time, so memory
    holds a few numbers per point, not a table of every point; each row's text depends on
    its values alone, so the file's bytes are those of one ``DataFrame.to_csv`` of every row.
    """
    run_dir = Path(run_dir)
    P = n_points
    names = iter(names)
    pf = pq.ParquetFile(run_dir / "replications.parquet")
    present = set(pf.schema_arrow.names)
    outcomes = [o for o in SUMMARY_OUTCOMES if o in present]
    moments = {o: _Moments(P) for o in outcomes}
    n = np.zeros(P)
    wins = np.zeros(P)
    reached = np.zeros(P)
    for i in range(pf.num_row_groups):
        def column(name: str) -> np.ndarray:  # (one column at a time: a third of the memory of the row group)
            return pf.read_row_group(i, columns=[name]).column(0).to_numpy()

        pt = column("point").astype(np.int64)
        n += np.bincount(pt, minlength=P)
        wins += np.bincount(pt, weights=column("success").astype(np.float64), minlength=P)
        for o in outcomes:
            x = column(o).astype(np.float64)
            if o == "weeks_to_50":
                reached += np.bincount(pt, weights=(~np.isnan(x)).astype(np.float64), minlength=P)
            moments[o].add(pt, x)
        give_back_memory()
    final = run_dir / "summary.csv"
    tmp = run_dir / f".summary.csv.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:  # (as DataFrame.to_csv opens a path)
            for start in range(0, P, _CSV_BLOCK):
                rows = slice(start, min(start + _CSV_BLOCK, P))
                count = n[rows]
                lo, hi = wilson_interval(wins[rows], count, conf)
                cols: dict[str, Any] = {
                    "point": np.arange(rows.start, rows.stop, dtype=np.int64),
                    "name": list(itertools.islice(names, rows.stop - rows.start)),
                    "replications": count.astype(np.int64), "success_rate": wins[rows] / np.maximum(count, 1),
                    "success_lo": lo, "success_hi": hi,
                }
                for o in outcomes:
                    if o == "weeks_to_50":
                        cols["reached_50"] = reached[rows] / np.maximum(count, 1)
                    cols.update(moments[o].table(o, conf, rows))
                pd.DataFrame(cols).to_csv(fh, index=False, header=start == 0)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


# ---------------------------------------------------------------------------- reading back
@dataclass
class Results:
    """A finished run read back into pandas.

    Attributes:
        run_dir: the results directory.
        manifest: ``manifest.json`` as a dict.
        points: one row per design point (``point``, ``name``, ``scenario``, ``description``,
            varied parameters by dotted key).
        replications: one row per point and replication: the outcomes.
        timeseries: one row per point, replication and tick (read on first access; use
            :meth:`read_timeseries` to read only some columns or points).
        summary: ``summary.csv`` (``None`` if absent).
    """

    run_dir: Path
    manifest: dict
    points: pd.DataFrame
    replications: pd.DataFrame
    summary: pd.DataFrame | None = None
    _timeseries: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def timeseries(self) -> pd.DataFrame:
        """The time series' metrics (read on first access; per-agent columns: :meth:`read_timeseries`)."""
        if self._timeseries is None:
            self._timeseries = self.read_timeseries()
        return self._timeseries

    def read_timeseries(self, columns: Iterable[str] | None = None, points: Iterable[int] | None = None
                        ) -> pd.DataFrame:
        """Read the timeseries table, optionally only some metric columns and some points.

        Per-agent columns (``adoption:<dept>``, ``buy_in:<exec>``, ``expressed:<exec>``) live
        in ``agents.parquet`` (in stores written before it existed, in ``timeseries.parquet``)
        and are read only when asked for by name.

        Args:
            columns: metrics to read (``point``, ``replication`` and ``tick`` always come along)
                [default: every metric, no per-agent column].
            points: point indices to keep.
        """
        path = self.run_dir / "timeseries.parquet"
        single = self.manifest.get("kind") == "cxsim run"  # one point; the file has no point column
        keys = ["replication", "tick"] if single else ["point", "replication", "tick"]
        agents_path = self.run_dir / f"{AGENTS}.parquet"
        split = not single and agents_path.is_file()
        filters = None if points is None or single else [("point", "in", [int(p) for p in points])]
        if columns is None:  # (a store without agents.parquet: every column, as it always was)
            columns = [c for c in _schema_names(path) if not is_agent_column(c)] if split else None
        wanted = [] if columns is None else [c for c in dict.fromkeys(columns) if c not in keys and c != "point"]
        in_agents = [c for c in wanted if split and is_agent_column(c)]
        main = None if columns is None else [*keys, *(c for c in wanted if c not in in_agents)]
        df = _read_columns(path, main, filters)
        if in_agents:
            # Same rows in the same order as timeseries.parquet: the columns line up without a join.
            extra = _read_columns(agents_path, in_agents, filters, ["point"] if filters else [])
            if len(extra) != len(df):
                raise ResultsError(f"{agents_path}: {len(extra)} rows where timeseries.parquet has {len(df)}")
            for c in in_agents:
                df[c] = extra[c].to_numpy()
            df = df[[*keys, *(c for c in wanted if c in df.columns)]]
        if single:
            df = _as_batch_table(df)
            if points is not None and 0 not in {int(p) for p in points}:
                df = df.iloc[0:0]
        return df

    @property
    def name(self) -> str:
        """The experiment's name (the scenario's for a ``cxsim run`` directory)."""
        return self.manifest.get("experiment_name") or self.manifest.get("scenario_name") or self.run_dir.name


    @property
    def timeseries_columns(self) -> list[str]:
        """Every column the time series holds, per-agent ones included (from the files' schemas)."""
        names = _schema_names(self.run_dir / "timeseries.parquet")
        agents = self.run_dir / f"{AGENTS}.parquet"
        if self.manifest.get("kind") == "cxsim batch" and agents.is_file():
            names += [c for c in _schema_names(agents) if c not in names]
        return names


    def agent_summary(self, columns: Iterable[str] | None = None, points: Iterable[int] | None = None
                      ) -> pd.DataFrame | None:
        """``agents_summary.parquet`` (``keep.per_agent = "summary"``), some columns and points; ``None`` without it.

        One row per point, tick and per-agent column (``column``): ``replications``,
        ``mean``, ``median``, ``q05``, ``q25``, ``q75``, ``q95``.
        """
        path = self.run_dir / f"{AGENTS_SUMMARY}.parquet"
        if not path.is_file():
            return None
        filters = []
        if points is not None:
            filters.append(("point", "in", [int(p) for p in points]))
        if columns is not None:
            filters.append(("column", "in", [str(c) for c in columns]))
        df = read_parquet(path, filters=filters or None)
        df["column"] = df["column"].astype(str)
        return df

    @property
    def agent_summary_columns(self) -> list[str]:
        """The per-agent columns ``agents_summary.parquet`` summarizes (empty without one)."""
        path = self.run_dir / f"{AGENTS_SUMMARY}.parquet"
        if not path.is_file():
            return []
        col = read_parquet(path, columns=["column"])["column"].astype(str)
        return list(dict.fromkeys(col))


def _schema_names(path: Path) -> list[str]:
    try:
        return list(pq.ParquetFile(path).schema_arrow.names)
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing") from None
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise ResultsError(f"{path}: cannot read ({_first_line(exc)})") from None


def _read_columns(path: Path, columns: list[str] | None, filters, filter_columns: Sequence[str] = ()
                  ) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path, columns=None if columns is None else [*filter_columns, *columns], filters=filters)
    except (pa.ArrowInvalid, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResultsError(f"{path}: cannot read the requested columns ({first})") from None
    return df


def _as_batch_table(df: pd.DataFrame) -> pd.DataFrame:
    if "scenario" in df.columns:
        df = df.drop(columns="scenario")
    if "point" not in df.columns:
        df.insert(0, "point", np.zeros(len(df), dtype=np.int64))
    return df


def read_parquet(path: Path, **kw) -> pd.DataFrame:
    """``pd.read_parquet``, with a missing, truncated or damaged file as one :class:`ResultsError` line."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: missing")
    try:
        return pd.read_parquet(path, **kw)
    except OSError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise ResultsError(f"{path}: damaged or truncated Parquet file ({_first_line(exc)})") from None


def load_results(run_dir: str | Path) -> Results:
    """Read a finished ``cxsim batch`` run (or a ``cxsim run`` directory, as a one-point run).

    Raises:
        ResultsError: the directory is missing, not a results directory, or incomplete.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    kind = manifest.get("kind")
    if kind == "cxsim run":
        points = pd.DataFrame({"point": [0], "name": [manifest.get("scenario_name", run_dir.name)],
                               "scenario": [manifest.get("scenario_name", "")],
                               "description": [manifest.get("scenario", {}).get("meta", {}).get("description", "")]})
        reps = _as_batch_table(read_parquet(run_dir / "replications.parquet"))
        return Results(run_dir, manifest, points, reps)
    if kind != "cxsim batch":
        raise ResultsError(f"{run_dir}: manifest kind is {kind!r}, expected 'cxsim batch' or 'cxsim run'")
    if not manifest.get("complete"):
        chunks = manifest.get("chunks", [])
        done = len(done_chunks(run_dir))
        raise ResultsError(f"{run_dir}: run is incomplete ({done} of {len(chunks)} chunks done); "
                           f"finish it with `cxsim batch --resume {run_dir}`")
    for name in ("points.parquet", "replications.parquet", "timeseries.parquet"):
        if not (run_dir / name).is_file():
            raise ResultsError(f"{run_dir}: {name} is missing although the manifest says the run is complete")
    summary = None
    if (run_dir / "summary.csv").is_file():
        try:
            summary = pd.read_csv(run_dir / "summary.csv")
        except (ValueError, pd.errors.ParserError) as exc:
            raise ResultsError(f"{run_dir / 'summary.csv'}: damaged ({_first_line(exc)})") from None
    return Results(run_dir, manifest, read_parquet(run_dir / "points.parquet"),
                   read_parquet(run_dir / "replications.parquet"), summary)
