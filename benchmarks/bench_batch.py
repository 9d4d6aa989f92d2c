"""Benchmarks of `cxsim batch`: end-to-end wall time, throughput and peak memory.

Run from the repository root (takes several minutes; run nothing else meanwhile)::

    /work/venv/bin/python benchmarks/bench_batch.py                 # everything
    /work/venv/bin/python benchmarks/bench_batch.py governance      # one part
    /work/venv/bin/python benchmarks/bench_batch.py memory --memory-ticks 52

Parts:

- ``governance``: ``experiments/governance_factorial.toml`` (8 variants x 1,000
  replications x 156 weeks) end to end with 1 and 2 workers, and a check that both
  give byte-identical tables;
- ``sobol``: ``experiments/sobol_reference.toml`` end to end with 2 workers, then
  ``cxsim analyze`` (target: under 5 minutes on a 2-core machine);
- ``store``: the governance factorial's store in three layouts side by side: before the
  lean store (every column in ``timeseries.parquet``, pyarrow's defaults with zstd), lean
  with every replication's per-agent columns (``per_agent = true``: ``agents.parquet``
  apart, dictionary only where values are few, byte-stream-split zstd-1 floats), and as
  shipped (``per_agent = "summary"``); bytes, seconds to write (the first two: the same
  tables rewritten), batch wall time, seconds to read the time series' metrics (as
  ``load_results(...).timeseries``) and the department data of one point, best of 3;
- ``memory``: peak resident memory of a one-process run of 10,000 and of 100,000
  replications of the reference scenario (streaming: the ratio should stay under
  about 1.5).

Every run goes through the ``cxsim`` command in a fresh process, as a user would
run it, into a temporary directory. Results are printed as a Markdown table and,
with ``--json PATH``, saved.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CXSIM = [sys.executable, "-m", "cxsim"]

# Runs an experiment in this one process and reports its peak RSS (kB on Linux).
_MEMORY_PROBE = """
import json, resource, sys, time
from cxsim.batch import load_experiment, run_experiment
t = time.perf_counter()
run_experiment(load_experiment(sys.argv[1]), sys.argv[2], workers=1)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_MEMORY_EXPERIMENT = """
name = "memory_check"
scenario = "reference"
replications = {reps}
seed = 0
ticks = {ticks}
chunk_size = 1000
[keep]
per_agent = false
[design]
type = "factorial"
"""


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - t


def bench_governance(tmp: Path) -> list[dict]:
    """Result rows: the governance factorial end to end with 1 and 2 workers, and whether both agree byte for byte."""
    rows, outs = [], {}
    for workers in (1, 2):
        out = tmp / f"governance-w{workers}"
        secs = _timed([*CXSIM, "batch", "experiments/governance_factorial.toml", "--out", str(out),
                       "-w", str(workers), "-q"])
        outs[workers] = out
        m = json.loads((out / "manifest.json").read_text())
        reps = m["points"] * m["replications"]
        rows.append({"benchmark": f"governance factorial, {workers} worker{'s' * (workers > 1)}",
                     "replications": reps, "weeks": m["ticks"], "wall_s": round(secs, 1),
                     "reps_per_s": round(reps / secs, 1)})
    same = all((outs[1] / f).read_bytes() == (outs[2] / f).read_bytes()
               for f in ("replications.parquet", "timeseries.parquet", "summary.csv"))
    rows.append({"benchmark": "governance factorial: 1 vs 2 workers byte-identical", "result": same})
    return rows


def bench_sobol(tmp: Path) -> list[dict]:
    """Result row: the Sobol experiment end to end with 2 workers, then the time of ``cxsim analyze`` on it."""
    out = tmp / "sobol"
    secs = _timed([*CXSIM, "batch", "experiments/sobol_reference.toml", "--out", str(out), "-w", "2", "-q"])
    m = json.loads((out / "manifest.json").read_text())
    a_secs = _timed([*CXSIM, "analyze", str(out), "--outcome", "final_adoption"])
    reps = m["points"] * m["replications"]
    return [{"benchmark": f"sobol experiment ({m['points']} points x {m['replications']} reps), 2 workers",
             "replications": reps, "weeks": m["ticks"], "wall_s": round(secs, 1), "reps_per_s": round(reps / secs, 1),
             "target": "< 300 s", "analyze_s": round(a_secs, 1)}]


def bench_store(tmp: Path, repeats: int = 3) -> list[dict]:
    """Result rows: the main job's store in the layout before the lean store and in today's, side by side."""
    import pyarrow.parquet as pq

    from cxsim.batch import load_results
    from cxsim.batch.store import AGENTS, parquet_options

    # The main job as shipped (per-agent summaries), and with every replication's per-agent columns.
    shipped = (ROOT / "experiments/governance_factorial.toml").read_text()
    full_file = tmp / "governance_full.toml"
    full_file.write_text(shipped.replace('per_agent = "summary"', "per_agent = true"))
    runs = {}
    for label, exp in (("summary", "experiments/governance_factorial.toml"), ("full", str(full_file))):
        runs[label] = tmp / f"store-{label}"
        secs = _timed([*CXSIM, "batch", exp, "--out", str(runs[label]), "-q"])
        runs[label + "_s"] = secs
    out = runs["full"]
    ts, ag = pq.read_table(out / "timeseries.parquet"), pq.read_table(out / f"{AGENTS}.parquet")
    rp = pq.read_table(out / "replications.parquet")
    wide = ts
    for c in ag.column_names[3:]:
        wide = wide.append_column(c, ag.column(c))
    layouts = {"before: one timeseries file, pyarrow defaults, zstd (per_agent = true)": {
                   "timeseries": (wide, {"compression": "zstd"}), "replications": (rp, {"compression": "zstd"})},
               "lean, per_agent = true (agents.parquet apart, per-column encodings, zstd-1)": {
                   "timeseries": (ts, parquet_options(ts.schema)), AGENTS: (ag, parquet_options(ag.schema)),
                   "replications": (rp, parquet_options(rp.schema))}}
    rows = []
    for label, files in layouts.items():
        d = tmp / f"store-{len(rows)}"
        d.mkdir()
        for f in ("manifest.json", "points.parquet", "summary.csv"):
            (d / f).write_bytes((out / f).read_bytes())
        write = min(_seconds(lambda: [pq.write_table(t, d / f"{n}.parquet", row_group_size=1 << 17, **kw)
                                      for n, (t, kw) in files.items()]) for _ in range(repeats))
        rows.append(_store_row(label, d, load_results, repeats, write_s=round(write, 2)))
    rows.append(_store_row('lean, as shipped: per_agent = "summary" (agents_summary.parquet)', runs["summary"],
                           load_results, repeats, batch_wall_s=round(runs["summary_s"], 1)))
    rows[1]["batch_wall_s"] = round(runs["full_s"], 1)
    rows.append({"benchmark": "target (issue 12): the main job's store", "store_mb": "< 40"})
    return rows


def _store_row(label: str, d: Path, load_results, repeats: int, **extra) -> dict:
    size = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    res = load_results(d)
    read = min(_seconds(lambda: res.read_timeseries()) for _ in range(repeats))
    dept = [c for c in res.timeseries_columns if c.startswith("adoption:")]
    if dept:
        read_dept = min(_seconds(lambda: res.read_timeseries(dept, [0])) for _ in range(repeats))
    else:
        read_dept = min(_seconds(lambda: res.agent_summary(None, [0])) for _ in range(repeats))
    return {"benchmark": f"main job's store, {label}", "store_mb": round(size / 1e6, 1), **extra,
            "read_metrics_s": round(read, 2), "read_dept_one_point_s": round(read_dept, 3)}


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_memory(tmp: Path, ticks: int, sizes=(10_000, 100_000)) -> list[dict]:
    """Result rows: peak memory of one process at each of the two ``sizes``, and the ratio of the two peaks."""
    rows, peaks = [], {}
    for reps in sizes:
        exp = tmp / f"memory-{reps}.toml"
        exp.write_text(_MEMORY_EXPERIMENT.format(reps=reps, ticks=ticks))
        proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(exp), str(tmp / f"memory-{reps}")],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        peaks[reps] = r["maxrss_mb"]
        rows.append({"benchmark": f"peak memory, {reps:,} replications x {ticks} weeks, 1 process",
                     "replications": reps, "weeks": ticks, "wall_s": round(r["seconds"], 1),
                     "reps_per_s": round(reps / r["seconds"], 1), "peak_rss_mb": round(r["maxrss_mb"], 1)})
    lo, hi = sizes
    rows.append({"benchmark": f"peak memory ratio {hi:,} / {lo:,}", "result": round(peaks[hi] / peaks[lo], 3),
                 "target": "<= 1.5"})
    return rows


def main() -> None:
    """Run the parts named on the command line and print the results as a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parts = ("governance", "store", "sobol", "memory")
    # (no `choices=`: Python 3.11's argparse checks an nargs="*" default list against them and fails)
    ap.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(parts)} [default: all]")
    ap.add_argument("--memory-ticks", type=int, default=156, help="weeks per replication in the memory runs")
    ap.add_argument("--memory-sizes", default="10000,100000",
                    help="the two replication counts compared in the memory runs")
    ap.add_argument("--json", type=Path, help="also save the figures here")
    args = ap.parse_args()
    unknown = [p for p in args.parts if p not in parts]
    if unknown:
        ap.error(f"unknown part {unknown[0]!r}: choose from {', '.join(parts)}")
    args.parts = args.parts or list(parts)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as d:
        tmp = Path(d)
        for part in args.parts:
            if part == "governance":
                rows += bench_governance(tmp)
            elif part == "sobol":
                rows += bench_sobol(tmp)
            elif part == "store":
                rows += bench_store(tmp)
            else:
                rows += bench_memory(tmp, args.memory_ticks, tuple(int(x) for x in args.memory_sizes.split(",")))
    env = {"python": platform.python_version(), "machine": platform.machine(), "cores": os.cpu_count()}
    keys = list(dict.fromkeys(k for r in rows for k in r))
    print(f"cxsim batch benchmarks ({env['cores']} cores, Python {env['python']})\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
