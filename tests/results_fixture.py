"""Build results directories in the results-store contract's format, for the compare/report tests.

Two kinds:

* :func:`simulated_results`: real ``cxsim.simulate`` runs of shipped scenarios (short horizon,
  few replications), written as one batch run with one design point per scenario;
* :func:`synthetic_results`: made-up outcomes with *known* success probabilities and mean final
  adoption per point, drawn with common random numbers (replication k uses the same uniform
  draw at every point), so effect estimates can be checked against the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

GOVERNANCE = [
    f"{m}-{s}-{c}"
    for m in ("advisory", "budget")
    for s in ("nosponsor", "sponsor")
    for c in ("nocommittee", "committee")
]


def write_results_dir(out: Path, points: pd.DataFrame, replications: pd.DataFrame,
                      timeseries: pd.DataFrame | None, seed: int, replications_n: int, ticks: int,
                      name: str = "test-experiment") -> Path:
    """Write manifest.json, points/replications/timeseries.parquet into ``out`` (created)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    points.to_parquet(out / "points.parquet", index=False)
    replications.to_parquet(out / "replications.parquet", index=False)
    if timeseries is not None:
        timeseries.to_parquet(out / "timeseries.parquet", index=False)
    P = len(points)
    manifest = {
        "kind": "cxsim batch",
        "experiment_name": name,
        "experiment": {"name": name, "design": {"type": "scenarios", "scenarios": list(points["scenario"])}},
        "experiment_file": f"experiments/{name}.toml",
        "design": "scenarios",
        "seed": seed,
        "replications": replications_n,
        "ticks": ticks,
        "points": P,
        "versions": {"cxsim": "0.1.0"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "command": f"cxsim batch experiments/{name}.toml --reps {replications_n} --seed {seed}",
        "started": "2025-01-01T00:00:00+00:00",
        "finished": "2025-01-01T00:01:00+00:00",
        "chunks": [{"id": 0, "points": list(range(P)), "replications": [0, replications_n], "status": "done"}],
        "complete": True,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def simulated_results(out: Path, scenarios=None, reps: int = 40, ticks: int = 78, seed: int = 3,
                      per_agent: bool = True) -> Path:
    """Simulate shipped scenarios (default: the 8 governance scenarios) and write one run directory."""
    import cxsim

    scenarios = [f"governance/{g}" for g in GOVERNANCE] if scenarios is None else scenarios
    pts, rps, tss = [], [], []
    for i, s in enumerate(scenarios):
        sc = cxsim.load_scenario(s)
        res = cxsim.simulate(sc, replications=reps, seed=seed, ticks=ticks, per_agent=per_agent)
        pts.append({"point": i, "name": sc.name, "scenario": sc.name, "description": sc.description,
                    "owner.mandate": sc.params["owner.mandate"],
                    "sponsorship.level": sc.params["sponsorship.level"],
                    "committee.enabled": bool(sc.params["committee.enabled"])})
        rp = res.replications.drop(columns=["scenario"])
        rp.insert(0, "point", i)
        rps.append(rp)
        ts = res.timeseries.drop(columns=["scenario"])
        ts.insert(0, "point", i)
        tss.append(ts)
    return write_results_dir(out, pd.DataFrame(pts), pd.concat(rps, ignore_index=True),
                             pd.concat(tss, ignore_index=True), seed, reps, ticks)


def synthetic_results(out: Path, success: dict[str, float], final_mean: dict[str, float] | None = None,
                      reps: int = 400, ticks: int = 30, seed: int = 11, per_agent: bool = False,
                      factor_columns: bool = True, descriptions: dict[str, str] | None = None) -> Path:
    """Write a run whose point ``name`` succeeds with probability ``success[name]``.

    Replication k draws one uniform ``u_k`` shared by all points (common random numbers):
    success = ``u_k < p``; final adoption = ``final_mean[name] + 0.1 * (z_k)`` clipped to [0, 1]
    (``z_k`` standard normal, also shared), so the true mean difference between two points
    is the difference of ``final_mean`` (clipping is negligible for means in [0.3, 0.7]).

    Governance names (``budget-sponsor-committee``, ...) get factor columns when ``factor_columns``.
    """
    rng = np.random.default_rng(seed)
    u = rng.random(reps)
    z = rng.standard_normal(reps)
    names = list(success)
    final_mean = final_mean or {n: 0.3 + 0.4 * p for n, p in success.items()}
    pts, rps, tss = [], [], []
    for i, name in enumerate(names):
        row = {"point": i, "name": name, "scenario": name,
               "description": (descriptions or {}).get(name, f"synthetic point {name}")}
        parts = name.split("-")
        if factor_columns and len(parts) == 3 and parts[0] in ("advisory", "budget"):
            row["owner.mandate"] = parts[0]
            row["sponsorship.level"] = "active" if parts[1] == "sponsor" else "none"
            row["committee.enabled"] = parts[2] == "committee"
        pts.append(row)
        final = np.clip(final_mean[name] + 0.1 * z, 0, 1)
        ok = u < success[name]
        # Time series: logistic curves ending at `final`; the speed depends on success.
        t = np.arange(ticks + 1)
        speed = np.where(ok, 0.35, 0.15)
        curve = final[:, None] / (1 + np.exp(-speed[:, None] * (t[None, :] - ticks / 2)))
        w80 = np.array([np.argmax(c >= 0.8) if (c >= 0.8).any() else np.nan for c in curve], dtype=float)
        w50 = np.array([np.argmax(c >= 0.5) if (c >= 0.5).any() else np.nan for c in curve], dtype=float)
        rps.append(pd.DataFrame({
            "point": i, "replication": np.arange(reps), "final_adoption": final, "weeks_to_50": w50,
            "weeks_to_80": w80, "success": ok, "owner_departures": 0, "first_owner_tenure": np.nan,
            "peak_adoption": curve.max(axis=1), "final_cx_index": final, "final_buy_in": final,
            "detections": 0,
        }))
        ts = pd.DataFrame({
            "point": i, "replication": np.repeat(np.arange(reps), ticks + 1),
            "tick": np.tile(t, reps), "adoption": curve.ravel().astype(np.float32),
            "cx_index": curve.ravel().astype(np.float32),
        })
        if per_agent:
            for j, d in enumerate(("front", "back")):
                ts[f"adoption:{d}"] = np.clip(curve.ravel() * (1.1 - 0.2 * j), 0, 1).astype(np.float32)
            for e, gap in (("ceo", 0.0), ("cfo", 0.2)):
                ts[f"buy_in:{e}"] = np.float32(0.5)
                ts[f"expressed:{e}"] = np.float32(0.5 + gap)
        tss.append(ts)
    return write_results_dir(out, pd.DataFrame(pts), pd.concat(rps, ignore_index=True),
                             pd.concat(tss, ignore_index=True), seed, reps, ticks, name="synthetic")
