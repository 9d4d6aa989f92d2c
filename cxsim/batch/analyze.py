"""Sensitivity analysis of a batch run: which uncertain parameters drive an outcome.

The outcome at a design point is the mean over its replications of a column of
``replications.parquet`` (``success`` gives the success probability). Then, by design:

- ``sobol``: first-order (S1) and total (ST) Sobol' indices with bootstrap confidence
  intervals, by ``SALib.analyze.sobol`` (Saltelli 2002; Saltelli et al. 2010);
- ``morris``: mu* (mean absolute elementary effect), mu and sigma with a bootstrap
  interval for mu*, by ``SALib.analyze.morris`` (Morris 1991; Campolongo et al. 2007);
- ``lhs``: partial rank correlation coefficients (PRCC; Marino et al. 2008, "A
  methodology for performing global uncertainty and sensitivity analysis in systems
  biology", J. Theor. Biol. 254) computed from ``scipy.stats.rankdata`` and least
  squares, with Fisher-z 95% intervals, which rank monotone effects with their sign;
  alongside, RBD-FAST first-order indices (``SALib.analyze.rbd_fast``; Tarantola et
  al. 2006, Plischke 2010), which also catch non-monotone effects.

Outputs: ``sensitivity_<outcome>.csv`` and ``sensitivity_<outcome>.png`` (bar chart
with the intervals). The functions :func:`sensitivity` and :func:`point_outcome`
are the whole path from a run's files to the indices; the Ishigami test runs the
same path on a function with published indices.

Unlike the simulation's tables, the indices are not promised bit-identical across
machines: PRCC solves least squares with LAPACK, and SALib sums with numpy and BLAS,
whose rounding depends on the processor (differences are in the last digits, far
below the bootstrap intervals). On one machine, the same run and seed give the same
indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ..errors import ResultsError
from ..safeio import atomic_write, check_new_files
from .store import read_manifest, read_parquet, require_keys

__all__ = ["Analysis", "analyze_run", "sensitivity", "point_outcome", "prcc", "sensitivity_chart"]

METHODS = {
    "sobol": "Sobol' indices S1 and ST (SALib.analyze.sobol, Saltelli 2002)",
    "morris": "Morris elementary effects mu*, sigma (SALib.analyze.morris, Campolongo et al. 2007)",
    "lhs": "partial rank correlation (PRCC, Marino et al. 2008) and RBD-FAST S1 (SALib.analyze.rbd_fast)",
}


@dataclass
class Analysis:
    """A finished sensitivity analysis."""

    table: pd.DataFrame
    method: str
    outcome: str
    csv: Path | None = None
    png: Path | None = None
    note: str = ""  # why there is no chart, when drawing it failed


def point_outcome(run_dir: Path, outcome: str, n_points: int) -> np.ndarray:
    """Per-point mean of ``outcome`` over replications (NaN replications skipped), read by row group."""
    path = Path(run_dir) / "replications.parquet"
    try:
        pf = pq.ParquetFile(path)
    except OSError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ResultsError(f"{path}: damaged or truncated Parquet file ({first})") from None
    names = [c for c in pf.schema_arrow.names if c not in ("point", "replication")]
    if outcome not in names:
        from ..scenario import did_you_mean

        raise ResultsError(f"--outcome {outcome!r}: not a column of replications.parquet"
                           + did_you_mean(outcome, names) + "; choose one of " + ", ".join(names))
    total = np.zeros(n_points)
    count = np.zeros(n_points)
    for i in range(pf.num_row_groups):
        rg = pf.read_row_group(i, columns=["point", outcome])
        pt = rg.column("point").to_numpy().astype(np.int64)
        y = rg.column(outcome).to_numpy(zero_copy_only=False).astype(np.float64)
        ok = ~np.isnan(y)
        total += np.bincount(pt[ok], weights=y[ok], minlength=n_points)
        count += np.bincount(pt[ok], minlength=n_points)
    missing = int((count == 0).sum())
    if missing:
        raise ResultsError(f"--outcome {outcome!r}: undefined (never reached) at every replication of {missing} "
                           "points; choose another outcome, e.g. final_adoption or success")
    return total / count


def prcc(X: np.ndarray, Y: np.ndarray, conf_level: float = 0.95) -> pd.DataFrame:
    """Partial rank correlation of each column of ``X`` with ``Y``, controlling for the other columns.

    Ranks come from ``scipy.stats.rankdata``; the partial correlation is the Pearson
    correlation of the residuals of rank(X_j) and rank(Y) on the other ranks (with an
    intercept). Interval: Fisher's z with ``n - 3 - (k - 1)`` degrees of freedom; p-value:
    Student's t with ``n - 2 - (k - 1)``.
    """
    from scipy.stats import norm, rankdata, t

    X = np.asarray(X, dtype=np.float64)
    n, k = X.shape
    if n <= k + 3:
        raise ResultsError(f"PRCC needs more design points ({n}) than parameters + 3 ({k + 3})")
    RX = np.column_stack([rankdata(X[:, j]) for j in range(k)])
    RY = rankdata(Y)
    r = np.empty(k)
    for j in range(k):
        A = np.column_stack([np.ones(n), np.delete(RX, j, axis=1)])
        ex = RX[:, j] - A @ np.linalg.lstsq(A, RX[:, j], rcond=None)[0]
        ey = RY - A @ np.linalg.lstsq(A, RY, rcond=None)[0]
        denom = np.sqrt((ex @ ex) * (ey @ ey))
        r[j] = (ex @ ey) / denom if denom > 0 else 0.0
    r = np.clip(r, -0.999999, 0.999999)
    z = np.arctanh(r)
    se = 1 / np.sqrt(max(n - 3 - (k - 1), 1))
    q = norm.ppf(0.5 + conf_level / 2)
    dof = max(n - 2 - (k - 1), 1)
    tstat = r * np.sqrt(dof / (1 - r**2))
    return pd.DataFrame({"PRCC": r, "PRCC_lo": np.tanh(z - q * se), "PRCC_hi": np.tanh(z + q * se),
                         "PRCC_p": 2 * t.sf(np.abs(tstat), dof)})


def sensitivity(method: str, problem: Mapping[str, Any], X: np.ndarray | None, Y: np.ndarray,
                options: Mapping[str, Any] | None = None, num_resamples: int = 1000, conf_level: float = 0.95,
                seed: int = 0) -> pd.DataFrame:
    """Sensitivity indices of ``Y`` (one value per design point, in design order).

    Args:
        method: ``sobol``, ``morris`` or ``lhs`` (the design that produced the points).
        problem: SALib problem (``names``, ``bounds``).
        X: the design's unrounded matrix (needed for morris and lhs).
        Y: outcome per design point.
        options: the design's options (``second_order`` for sobol, ``levels`` for morris).
        num_resamples: bootstrap resamples for the intervals.
        conf_level: confidence level of the intervals.
        seed: seed of the bootstrap.

    Returns:
        One row per parameter, most influential first, with a ``rank`` column.
    """
    options = options or {}
    Y = np.asarray(Y, dtype=np.float64)
    names = list(problem["names"])
    prob = {"num_vars": len(names), "names": names, "bounds": [list(map(float, b)) for b in problem["bounds"]]}
    if not np.all(np.isfinite(Y)):
        raise ResultsError("the outcome is not finite at every design point")
    if np.ptp(Y) == 0:
        raise ResultsError(f"the outcome is the same ({Y[0]:g}) at every design point: nothing to attribute; "
                           "choose another --outcome or widen the ranges")
    if method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(prob, Y, calc_second_order=bool(options.get("second_order", False)),
                           num_resamples=num_resamples, conf_level=conf_level, seed=seed)
        df = pd.DataFrame({"parameter": names, "S1": si["S1"], "S1_conf": si["S1_conf"],
                           "ST": si["ST"], "ST_conf": si["ST_conf"]})
        key = "ST"
    elif method == "morris":
        from SALib.analyze import morris

        si = morris.analyze(prob, np.asarray(X, dtype=np.float64), Y, num_resamples=num_resamples,
                            conf_level=conf_level, num_levels=int(options.get("levels", 4)), seed=seed)
        df = pd.DataFrame({"parameter": names, "mu_star": np.asarray(si["mu_star"], dtype=float),
                           "mu_star_conf": np.asarray(si["mu_star_conf"], dtype=float),
                           "mu": np.asarray(si["mu"], dtype=float), "sigma": np.asarray(si["sigma"], dtype=float)})
        key = "mu_star"
    elif method == "lhs":
        X = np.asarray(X, dtype=np.float64)
        df = pd.concat([pd.DataFrame({"parameter": names}), prcc(X, Y, conf_level)], axis=1)
        M = 10
        if len(Y) > 2 * M * 2:
            from SALib.analyze import rbd_fast

            si = rbd_fast.analyze(prob, X, Y, M=M, num_resamples=num_resamples, conf_level=conf_level, seed=seed)
            df["rbd_fast_S1"], df["rbd_fast_S1_conf"] = si["S1"], si["S1_conf"]
        df["abs_PRCC"] = df["PRCC"].abs()
        key = "abs_PRCC"
    else:
        raise ResultsError(f"sensitivity analysis needs a sobol, morris or lhs run; this run's design is {method!r} "
                           "(compare its points with `cxsim compare` or its summary.csv)")
    df = df.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
    if "abs_PRCC" in df:
        df = df.drop(columns="abs_PRCC")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def sensitivity_chart(df: pd.DataFrame, method: str, title: str, path: Path) -> Path:
    """Horizontal bar chart of the indices with their intervals (most influential on top); written atomically."""
    from ..plotting import LITERAL_TEXT, plt

    with plt.rc_context(LITERAL_TEXT):
        return _sensitivity_chart(df, method, title, path)


def _sensitivity_chart(df: pd.DataFrame, method: str, title: str, path: Path) -> Path:
    from ..plotting import PALETTE, literal_text, plt
    from ..safeio import atomic_write

    d = df.iloc[::-1]
    y = np.arange(len(d))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(d) + 2.0), dpi=150)
    if method == "sobol":
        h = 0.38
        ax.barh(y + h / 2, d["ST"], h, xerr=d["ST_conf"], color=PALETTE[0], label="total (ST)", capsize=2)
        ax.barh(y - h / 2, d["S1"], h, xerr=d["S1_conf"], color=PALETTE[1], label="first order (S1)", capsize=2)
        ax.set_xlabel("Sobol' index (bars: 95% bootstrap interval)")
    elif method == "morris":
        h = 0.38
        ax.barh(y + h / 2, d["mu_star"], h, xerr=d["mu_star_conf"], color=PALETTE[0], label="mu* (mean |effect|)",
                capsize=2)
        ax.barh(y - h / 2, d["sigma"], h, color=PALETTE[1], label="sigma (interactions, non-linearity)")
        ax.set_xlabel("elementary effect (outcome units per parameter range)")
    else:
        err = np.vstack([d["PRCC"] - d["PRCC_lo"], d["PRCC_hi"] - d["PRCC"]])
        colors = [PALETTE[0] if v >= 0 else PALETTE[5] for v in d["PRCC"]]
        ax.barh(y, d["PRCC"], 0.6, xerr=err, color=colors, capsize=2)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("partial rank correlation coefficient (bars: 95% interval)")
    ax.set_yticks(y, d["parameter"])
    ax.set_title(title, loc="left", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    if method != "lhs":
        ax.legend(loc="lower right", frameon=False, fontsize=8.5)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    literal_text(fig)
    try:
        fig.tight_layout()
        with atomic_write(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def analyze_run(run_dir: str | Path, outcome: str = "success", out: str | Path | None = None,
                num_resamples: int = 1000, conf_level: float = 0.95, seed: int = 0, plot: bool = True,
                force: bool = False) -> Analysis:
    """Sensitivity indices of ``outcome`` for a finished sobol, morris or lhs run.

    Args:
        run_dir: the results directory.
        outcome: a column of ``replications.parquet`` (``success``: success probability).
        out: where to write the CSV and chart [default: ``RUN_DIR/analysis``].
        num_resamples: bootstrap resamples for the intervals.
        conf_level: confidence level of the intervals.
        seed: seed of the bootstrap.
        plot: also draw the bar chart (if drawing fails, the table is kept and ``note`` says why).
        force: replace the files of an earlier analysis of the same outcome in ``out``.
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("kind") != "cxsim batch":
        raise ResultsError(f"{run_dir}: not a `cxsim batch` run; sensitivity analysis needs a sobol, morris or lhs "
                           "batch")
    method = manifest.get("design")
    if method not in METHODS:
        raise ResultsError(f"{run_dir}: this run's design is {method!r}; sensitivity analysis needs a sobol, morris "
                           "or lhs run (compare the points of a factorial with summary.csv or `cxsim compare`)")
    if not manifest.get("complete"):
        raise ResultsError(f"{run_dir}: run is incomplete; finish it with `cxsim batch --resume {run_dir}`")
    out = Path(out) if out is not None else run_dir / "analysis"
    check_new_files(out, [f"sensitivity_{outcome}.csv", f"sensitivity_{outcome}.png"], force)
    require_keys(manifest, run_dir, ["design_problem", "points"])
    problem = manifest["design_problem"]
    n_points = int(manifest["points"])
    X = None
    if (run_dir / "design.parquet").is_file():
        X = read_parquet(run_dir / "design.parquet").sort_values("point")[problem["names"]].to_numpy()
    Y = point_outcome(run_dir, outcome, n_points)
    options = manifest.get("experiment", {}).get("design", {})
    df = sensitivity(method, problem, X, Y, options, num_resamples, conf_level, seed)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"sensitivity_{outcome}.csv"
    with atomic_write(csv) as tmp:  # the table first: a chart that fails must not cost it
        df.to_csv(tmp, index=False)
    png, note = None, ""
    if plot:
        name = manifest.get("experiment_name", run_dir.name)
        reps = manifest.get("replications")
        title = (f"{name}: sensitivity of {outcome}\n(mean over {reps} replications per point, {n_points} points)"
                 f"\n{METHODS[method]}")
        try:
            png = sensitivity_chart(df, method, title, out / f"sensitivity_{outcome}.png")
        except OSError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()
            note = f"the chart could not be drawn ({type(exc).__name__}: {first[0][:160] if first else ''})"
    return Analysis(df, method, outcome, csv, png, note)
