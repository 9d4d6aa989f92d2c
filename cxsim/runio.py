"""Write one run's results (``cxsim run``): manifest, Parquet tables, adoption figure.

Everything is written into a temporary sibling directory that is renamed into
place only when complete, so an interrupted run never leaves a directory that
looks finished.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .errors import ResultsError
from .plotting import adoption_figure
from .provenance import command_line, git_commit, now_iso, package_versions
from .simulate import SimulationResult

__all__ = ["write_run", "check_output_dir"]


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing, non-empty results directory unless ``force``."""
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()) and not force:
        raise ResultsError(f"{out}: already holds results; choose another --out or pass --force to replace them")


def write_run(result: SimulationResult, out: str | Path, replications: int, ticks: int, started: str,
              force: bool = False) -> Path:
    """Write ``manifest.json``, ``timeseries.parquet``, ``replications.parquet``, ``adoption.png``."""
    out = Path(out)
    check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        result.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
        result.replications.to_parquet(tmp / "replications.parquet", index=False)
        sc = result.scenario
        adoption_figure(result.timeseries, result.replications,
                        f"{sc.name}: {sc.description}" if sc.description else sc.name,
                        tmp / "adoption.png", sc["run.success_threshold"])
        rp = result.replications
        manifest = {
            "kind": "cxsim run",
            "scenario_name": sc.name,
            "scenario_file": sc.path,
            "overrides": sc.overrides,
            "scenario": sc.to_dict(),
            "seed": result.seed,
            "replications": replications,
            "ticks": ticks,
            "summary": {
                "success_rate": float(rp["success"].mean()),
                "mean_final_adoption": float(rp["final_adoption"].mean()),
                "median_weeks_to_50": _nanmedian(rp["weeks_to_50"]),
                "share_owner_left": float((rp["owner_departures"] > 0).mean()),
            },
            "versions": package_versions(),
            "git_commit": git_commit(),
            "command": command_line(),
            "started": started,
            "finished": now_iso(),
            "files": ["manifest.json", "timeseries.parquet", "replications.parquet", "adoption.png"],
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default))
        tmp.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _nanmedian(s: pd.Series):
    s = s.dropna()
    return float(s.median()) if len(s) else None


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serializable: {type(o)}")
