"""The figures of issue 12 ("beyond one machine, and fast on one"), each measured next to its peer.

Run from the repository root; on a machine shared with other jobs every timing is
the best of several repeats, and the load average is printed with the results::

    python benchmarks/bench_scale.py                    # every part, Sobol at N = 128
    python benchmarks/bench_scale.py mesa main compile  # some parts
    python benchmarks/bench_scale.py sobol --sobol-n 1024   # the issue's full Sobol study
    python benchmarks/bench_scale.py sobol --sobol-n 1024 --sobol-repeats 3   # ... 3 runs through each executor

Parts:

- ``mesa``: the cost of one replication of the reference (156 weeks) in a batch of
  4,000, against one replication (156 steps) of an idiomatic Mesa model with 20 agents
  doing a trivial random update (``shuffle_do("step")``), and the same model recording
  its data each step with a ``DataCollector`` (as idiomatic Mesa models do, and as cxsim
  records its metrics), interleaved, best of 5 each; target: cxsim at least 50x cheaper.
  cxsim runs in a process set up as its CLI and batch workers set theirs up (glibc's
  allocator keeps freed memory for the next batch, ``cxsim/_alloc.py``); the same
  measurement with glibc's default settings is printed beside it;
- ``main``: the README's main job end to end after the kernels are compiled, as a user
  runs it: ``cxsim batch experiments/governance_factorial.toml`` then ``cxsim report``,
  best of 2; target: under 8 s together;
- ``compile``: the first run after installing: a fresh process compiles every kernel
  into an empty cache (``NUMBA_CACHE_DIR``), with a second process compiling part of
  them as a first run does on two cores or more; target: under 10 s, or the compile
  happens where the user expects waiting, with a message;
- ``sobol``: a 20-parameter Sobol study (second_order = false: N x 22 points, 50
  replications each, the adoption curve kept every 4th week) through ``--scheduler
  local:2`` and through the local pool of 2 workers: throughput (target: Dask within 10%
  of the pool) and the coordinator's own peak memory at N/4 and N points (target: flat).
  Each size runs through both executors back to back; ``--sobol-repeats K`` runs the
  full size K times through each, alternating which goes first, and gives the ratio of
  the medians with each pair's ratio.

The issue's figures "today" (measured when it was filed) are printed next to each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CXSIM = [sys.executable, "-m", "cxsim"]

_MESA_PROBE = """
import json, sys, time
import numpy as np
import mesa
import cxsim
from cxsim.simulate import run_batch


class Walker(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.x = 0.0

    def step(self):
        self.x += self.random.random() - 0.5


class Trivial(mesa.Model):
    def __init__(self, n=20, seed=None, collect=False):
        super().__init__(seed=seed)
        Walker.create_agents(self, n)
        self.datacollector = mesa.DataCollector(model_reporters={"mean_x": mean_x},
                                                agent_reporters={"x": "x"}) if collect else None

    def step(self):
        self.agents.shuffle_do("step")
        if self.datacollector is not None:
            self.datacollector.collect(self)


def mean_x(model):
    return sum(a.x for a in model.agents) / len(model.agents)


def mesa_rep(seed, collect=False):
    m = Trivial(seed=seed, collect=collect)
    for _ in range(156):
        m.step()


reps, mesa_reps, repeats, tuned = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
if tuned:  # as cxsim's CLI and batch workers run (cxsim/_alloc.py)
    from cxsim._alloc import tune
    tune()
sc = cxsim.load_scenario("reference")
run_batch(sc, np.arange(2), 1, ticks=3)
mesa_rep(0)
best_c = best_m = best_d = float("inf")
for i in range(repeats):
    t = time.perf_counter()
    run_batch(sc, np.arange(reps), 1, per_agent=True)
    best_c = min(best_c, (time.perf_counter() - t) / reps)
    if mesa_reps == 0:
        continue
    t = time.perf_counter()
    for s in range(mesa_reps):
        mesa_rep(s + i * mesa_reps)
    best_m = min(best_m, (time.perf_counter() - t) / mesa_reps)
    t = time.perf_counter()
    for s in range(mesa_reps):
        mesa_rep(s + i * mesa_reps, collect=True)
    best_d = min(best_d, (time.perf_counter() - t) / mesa_reps)
print(json.dumps({"cxsim_ms": best_c * 1e3, "mesa_ms": best_m * 1e3, "mesa_dc_ms": best_d * 1e3,
                  "mesa": mesa.__version__}))
"""

_COMPILE_PROBE = """
import time
t = time.perf_counter()
import cxsim
from cxsim._jitcache import warm_up
warm_up(cxsim.load_scenario("reference"))
print(time.perf_counter() - t)
"""

_SOBOL = """
name = "sobol20"
scenario = "reference"
replications = 50
seed = 7
chunk_size = 500
[fixed]
"owner.mandate" = "budget"
"sponsorship.level" = "active"
"committee.enabled" = true
[keep]
metrics = ["adoption"]
timeseries_every = 4
[design]
type = "sobol"
base_samples = {n}
second_order = false
[design.ranges]
"politics.jealousy_scale" = [0.5, 2.5]
"organization.readiness_shift" = [-0.3, 0.2]
"organization.skill_shift" = [-0.3, 0.2]
"organization.initial_spread" = [0.0, 0.15]
"owner.budget" = [10.0, 200.0]
"committee.cadence_weeks" = [1, 13]
"committee.convergence" = [0.1, 0.4]
"committee.familiarity" = [0.0, 0.1]
"committee.trust_gain" = [0.0, 0.1]
"sponsorship.start_week" = [0, 104]
"sponsorship.coownership_rate" = [0.005, 0.03]
"sponsorship.owner_protection" = [0.2, 0.6]
"sponsorship.resistance_cost" = [0.3, 0.8]
"organization.headcount_scale" = [0.5, 3.0]
"mandate.training_rate" = [0.003, 0.012]
"mandate.staff_rate" = [0.001, 0.004]
"mandate.targets_rate" = [0.001, 0.006]
"adoption.p" = [0.001, 0.006]
"adoption.q" = [0.03, 0.15]
"attrition.hazard" = [0.005, 0.04]
"""

# Runs `cxsim batch` in this process (so its peak RSS is the coordinator's own: the workers
# are child processes, which RUSAGE_SELF leaves out).
_COORDINATOR_PROBE = """
import json, resource, sys, time
from cxsim.batch.cli import batch
t = time.perf_counter()
try:
    batch.main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps({"seconds": time.perf_counter() - t,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(cmd: list[str], env: dict | None = None) -> str:
    # (as a user's machine runs it: Python keeps its compiled bytecode, which a sandbox's PYTHONDONTWRITEBYTECODE
    # would have recompiled at every start for each module changed since it was last written)
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{proc.stderr[-3000:]}")
    return proc.stdout


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    _run(cmd)
    return time.perf_counter() - t


def bench_mesa(_tmp: Path, reps: int = 4000, mesa_reps: int = 40, repeats: int = 5) -> list[dict]:
    """Rows: ms per replication, cxsim against the trivial Mesa model, and the ratio."""
    def probe(mesa: int, tuned: bool) -> dict:
        out = _run([sys.executable, "-c", _MESA_PROBE, str(reps), str(mesa), str(repeats), "1" if tuned else "0"])
        return json.loads(out.strip().splitlines()[-1])

    r = probe(mesa_reps, True)
    plain = probe(0, False)["cxsim_ms"]
    ratio = r["mesa_ms"] / r["cxsim_ms"]
    return [{"figure": "one replication of the reference, 156 weeks (batch of 4,000, tables recorded), in a "
             "process set up as cxsim's CLI and batch workers are (glibc keeps freed memory for the next batch: "
             "cxsim/_alloc.py)", "measured": f"{r['cxsim_ms']:.3f} ms (with glibc's default settings: "
             f"{plain:.3f} ms)", "peer": f"Mesa {r['mesa']} trivial 20-agent model: "
             f"{r['mesa_ms']:.2f} ms; with a DataCollector (one model and one agent reporter): "
             f"{r['mesa_dc_ms']:.2f} ms", "today (issue 12)": "0.26 ms vs 5.6 ms"},
            {"figure": "cxsim's lead per replication", "measured": f"{ratio:.1f}x (against the model with a "
             f"DataCollector: {r['mesa_dc_ms'] / r['cxsim_ms']:.1f}x)", "target": ">= 50x",
             "today (issue 12)": "21.5x"}]


def bench_main(tmp: Path, repeats: int = 2) -> list[dict]:
    """Rows: the main job's batch, its report, and both together (kernels compiled)."""
    best = {"batch": float("inf"), "report": float("inf"), "total": float("inf")}
    size = 0
    for i in range(repeats):
        out = tmp / f"main-{i}"
        b = _timed([*CXSIM, "batch", "experiments/governance_factorial.toml", "--out", str(out), "-q"])
        r = _timed([*CXSIM, "report", str(out), "--out", str(out / "report.html")])
        best = {"batch": min(best["batch"], b), "report": min(best["report"], r), "total": min(best["total"], b + r)}
        size = sum(f.stat().st_size for f in out.iterdir() if f.is_file() and f.name != "report.html")
    return [{"figure": "main job: cxsim batch (default: a run this small runs on a thread per core)",
             "measured": f"{best['batch']:.1f} s",
             "today (issue 12)": "13 s"},
            {"figure": "main job: cxsim report", "measured": f"{best['report']:.1f} s", "today (issue 12)": "9 s"},
            {"figure": "main job end to end (batch + report)", "measured": f"{best['total']:.1f} s",
             "target": "< 8 s", "today (issue 12)": "22 s"},
            {"figure": "main job's store", "measured": f"{size / 1e6:.1f} MB", "target": "< 40 MB",
             "today (issue 12)": "172 MB"}]


def bench_compile(tmp: Path) -> list[dict]:
    """Row: a cold compile of every kernel in a fresh process (an empty numba cache)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-cache")}
    secs = float(_run([sys.executable, "-c", _COMPILE_PROBE], env=env).strip().splitlines()[-1])
    warm = float(_run([sys.executable, "-c", _COMPILE_PROBE], env=env).strip().splitlines()[-1])
    return [{"figure": "first run after install: compile every kernel", "measured": f"{secs:.1f} s",
             "peer": f"later runs (cache warm): {warm:.1f} s", "target": "< 10 s, or once with a message",
             "today (issue 12)": "17-75 s"}]


def bench_sobol(tmp: Path, n: int, repeats: int = 1) -> list[dict]:
    """Rows: the 20-parameter Sobol study through the local pool and through local:2; coordinator memory.

    The full size runs ``repeats`` times through each executor, alternating which goes
    first (pool, Dask, Dask, pool, ...): on a shared machine whose speed drifts by a tenth
    over minutes, one pair's ratio is as much the drift as the executors.
    """
    executors = (("local pool, 2 workers", ["-w", "2"]), ("--scheduler local:2", ["--scheduler", "local:2"]))
    small = max(n // 4, 8)
    got: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    points = {}
    for size in (small, n):
        exp = tmp / f"sobol-{size}.toml"
        exp.write_text(_SOBOL.format(n=size))
        for i in range(repeats if size == n else 1):
            for label, flags in executors if i % 2 == 0 else executors[::-1]:
                out = tmp / f"sobol-{size}-{flags[-1].replace(':', '')}-{i}"
                r = json.loads(_run([sys.executable, "-c", _COORDINATOR_PROBE, str(exp), "--out", str(out), "-q",
                                     *flags]).strip().splitlines()[-1])
                m = json.loads((out / "manifest.json").read_text())
                points[size] = m["points"]
                reps = m["points"] * m["replications"]
                got.setdefault((label, size), []).append((reps / r["seconds"], r["seconds"], r["maxrss_mb"]))
                shutil.rmtree(out)

    def median(xs: list[float]) -> float:
        return statistics.median(xs)

    rows = []
    for size in (small, n):
        for label, _ in executors:
            runs = got[(label, size)]
            rate = median([x[0] for x in runs])
            each = "; runs: " + ", ".join(f"{x[0]:,.0f} ({x[1]:.0f} s)" for x in runs) if len(runs) > 1 else ""
            rows.append({"figure": f"Sobol, 20 parameters, N = {size} ({points[size]:,} points x 50 reps), {label}",
                         "measured": f"{rate:,.0f} reps/s" + (f" ({runs[0][1]:.0f} s)" if not each else each),
                         "peer": f"coordinator peak RSS {max(x[2] for x in runs):.0f} MB"})
    pool, dask = (median([x[0] for x in got[(label, n)]]) for label, _ in executors)
    pairs = [d[0] / p[0] for p, d in zip(got[(executors[0][0], n)], got[(executors[1][0], n)])]
    rows.append({"figure": f"Sobol N = {n}: Dask local:2 throughput / local pool", "measured": f"{dask / pool:.2f}"
                 + (f" (medians; each pair: {', '.join(f'{r:.2f}' for r in pairs)})" if repeats > 1 else ""),
                 "target": ">= 0.90"})
    for label, _ in executors:
        lo, hi = got[(label, small)][0][2], max(x[2] for x in got[(label, n)])
        rows.append({"figure": f"coordinator peak RSS, 4x the points ({label})", "measured": f"{hi / lo:.2f}x",
                     "target": "flat (about 1x)"})
    return rows


def main() -> None:
    """Run the parts named on the command line and print one Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parts = ("mesa", "main", "compile", "sobol")
    ap.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(parts)} [default: all]")
    ap.add_argument("--sobol-n", type=int, default=128, help="Sobol base sample N (the issue's study: 1024)")
    ap.add_argument("--sobol-repeats", type=int, default=1, metavar="K",
                    help="runs of the full-size study through each executor, alternating which goes first "
                         "(the ratio is of the medians) [default: 1]")
    ap.add_argument("--json", type=Path, help="also save the figures here")
    args = ap.parse_args()
    unknown = [p for p in args.parts if p not in parts]
    if unknown:
        ap.error(f"unknown part {unknown[0]!r}: choose from {', '.join(parts)}")
    rows: list[dict] = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as d:
        tmp = Path(d)
        for part in args.parts or parts:
            rows += bench_sobol(tmp, args.sobol_n, args.sobol_repeats) if part == "sobol" else globals()[f"bench_{part}"](tmp)
    keys = ["figure", "measured", "peer", "target", "today (issue 12)"]
    print(f"issue 12 figures ({os.cpu_count()} cores; load average at start {load[0]:.2f}, at end "
          f"{os.getloadavg()[0]:.2f}; timings best of several)\n")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
