"""Write one run's results (``cxsim run``): manifest, Parquet tables, adoption figure.

Everything is written into a temporary sibling directory that is renamed into
place only when complete, so an interrupted run never leaves a directory that
looks finished.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .errors import ResultsError
from .plotting import adoption_figure
from .provenance import command_line, git_commit, now_iso, package_versions
from .safeio import check_parents, is_inside, naming
from .simulate import SimulationResult

__all__ = ["write_run", "check_output_dir"]


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing, non-empty directory unless ``force``; never replace what is not a run.

    ``--force`` replaces only a ``cxsim run`` results directory, never the working
    directory or one above it, and never a directory of other files.
    """
    out = Path(out)
    check_parents(out)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is not a directory; choose another --out")
    if is_inside(out, Path.cwd()):
        raise ResultsError(f"{out}: is the working directory or above it; choose a new directory for --out")
    if out.exists() and any(out.iterdir()):
        if not _is_run_dir(out):
            raise ResultsError(f"{out}: already holds files that are not the results of a `cxsim run`; "
                               "choose another --out (--force replaces only earlier results)")
        if not force:
            raise ResultsError(f"{out}: already holds results; choose another --out or pass --force to replace them")


def _is_run_dir(path: Path) -> bool:
    try:
        return json.loads((path / "manifest.json").read_bytes()).get("kind") == "cxsim run"
    except (OSError, ValueError, AttributeError):
        return False


def write_run(result: SimulationResult, out: str | Path, replications: int, ticks: int, started: str,
              force: bool = False, warn=None) -> Path:
    """Write ``manifest.json``, ``timeseries.parquet``, ``replications.parquet``, ``adoption.png``.

    The tables come first; if the figure cannot be drawn, the run is kept without it,
    the manifest says why, and ``warn`` (a callable taking one line) is told.
    """
    out = Path(out)
    check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name, table in (("timeseries", result.timeseries), ("replications", result.replications)):
            with naming(out / f"{name}.parquet"):
                table.to_parquet(tmp / f"{name}.parquet", index=False)
        sc = result.scenario
        files = ["manifest.json", "timeseries.parquet", "replications.parquet", "adoption.png"]
        figure_error = None
        try:
            adoption_figure(result.timeseries, result.replications,
                            f"{sc.name}: {sc.description}" if sc.description else sc.name,
                            tmp / "adoption.png", sc["run.success_threshold"])
        except OSError:
            raise  # a full disk or an unwritable folder fails the command (nothing is left behind)
        except Exception as exc:  # the figure's own failure must not cost the computed tables
            (tmp / "adoption.png").unlink(missing_ok=True)
            files.remove("adoption.png")
            first = str(exc).strip().splitlines()
            figure_error = f"{type(exc).__name__}: {first[0][:160] if first else ''}"
            if warn is not None:
                warn(f"adoption.png could not be drawn ({figure_error}); the tables are complete")
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
            "summary": {  # (means by math.fsum: exactly rounded, so the same bits whatever sums pandas picks)
                "success_rate": _mean(rp["success"]),
                "mean_final_adoption": _mean(rp["final_adoption"]),
                "median_weeks_to_50": _nanmedian(rp["weeks_to_50"]),
                "share_owner_left": float((rp["owner_departures"] > 0).mean()),
            },
            "versions": package_versions(),
            "git_commit": git_commit(),
            "command": command_line(),
            "started": started,
            "finished": now_iso(),
            "files": files,
        }
        if figure_error:
            manifest["figure_error"] = figure_error
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_json_default))
        tmp.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _mean(s: pd.Series) -> float:
    x = s.to_numpy(dtype=float)
    return math.fsum(x.tolist()) / len(x) if len(x) else float("nan")


def _nanmedian(s: pd.Series):
    s = s.dropna()
    return float(s.median()) if len(s) else None


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"not JSON serializable: {type(o)}")
