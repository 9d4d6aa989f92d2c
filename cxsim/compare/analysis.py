"""Select points from a run, compute the summary, effects and factorial: what figures and report show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ResultsError
from ..plotting import PALETTE
from .effects import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Factorial,
    detect_factorial,
    factorial_effects,
    paired_effects,
    paired_matrix,
    wilson_interval,
)
from .store import RunData, read_run

__all__ = ["Comparison", "compare_run", "resolve_point", "WORST_GOVERNANCE"]

WORST_GOVERNANCE = "advisory-nosponsor-nocommittee"
DEFAULT_SUCCESS_THRESHOLD = 0.6


@dataclass
class Comparison:
    """Everything ``cxsim compare`` and ``cxsim report`` show about a run.

    Attributes:
        run: the run directory's contents.
        points: selected points (rows of ``points.parquet``), in display order.
        baseline: the baseline point number.
        focus: the point shown in the per-department heatmap and buy-in figure.
        metric: the time-series metric of the curves figure.
        summary: one row per selected point (success probability with Wilson CI, adoption, weeks to 80%).
        effects: paired effects against the baseline (one row per other point).
        factorial: the governance factorial among the selected points, if any.
        factorial_table: its main effects and interactions on success probability.
        threshold: the success threshold (share of employees).
        colors: point -> colour.
        notes: plain-language caveats (incomplete run, missing columns, ...).
    """

    run: RunData
    points: pd.DataFrame
    baseline: int
    focus: int
    metric: str
    summary: pd.DataFrame
    effects: pd.DataFrame
    factorial: Factorial | None
    factorial_table: pd.DataFrame | None
    threshold: float
    colors: dict[int, str]
    resamples: int
    bootstrap_seed: int
    notes: list[str] = field(default_factory=list)

    @property
    def point_ids(self) -> list[int]:
        """Selected point numbers in display order."""
        return [int(p) for p in self.points["point"]]

    def name(self, p: int) -> str:
        """Name of point ``p``."""
        return str(self.points.set_index("point").at[p, "name"])

    def description(self, p: int) -> str:
        """Description of point ``p`` (may be empty)."""
        return str(self.points.set_index("point").at[p, "description"])

    @property
    def names(self) -> dict[int, str]:
        """Point -> name for the selected points."""
        return dict(zip(self.points["point"].astype(int), self.points["name"]))

    @property
    def replications(self) -> pd.DataFrame:
        """Replications of the selected points."""
        rp = self.run.replications
        return rp[rp["point"].isin(self.point_ids)]

    @property
    def ticks(self) -> int | None:
        """Horizon in weeks, from the manifest (None if not recorded)."""
        t = self.run.manifest.get("ticks")
        return int(t) if t is not None else None


def resolve_point(points: pd.DataFrame, spec, file: Path | str) -> int:
    """A point given by name or number -> its point number.

    Raises:
        ResultsError: no such point (the message lists what is allowed).
    """
    s = str(spec).strip()
    by_name = points.index[points["name"] == s]
    if len(by_name):
        return int(points.loc[by_name[0], "point"])
    if s.lstrip("-").isdigit() and int(s) in set(points["point"].astype(int)):
        return int(s)
    names = list(points["name"])
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    lo, hi = int(points["point"].min()), int(points["point"].max())
    raise ResultsError(f"{file}: point = {s!r} not found; give a point number {lo}..{hi} or a name: {shown}")


def _threshold(run: RunData, points: list[int]) -> float:
    """Success threshold: a points column, or what the outcomes imply, or the documented default."""
    pts = run.points
    if "run.success_threshold" in pts.columns:
        vals = pts.loc[pts["point"].isin(points), "run.success_threshold"].dropna().unique()
        if len(vals) == 1:
            return float(vals[0])
    rp = run.replications[run.replications["point"].isin(points)]
    wins = rp.loc[rp["success"], "final_adoption"]
    losses = rp.loc[~rp["success"], "final_adoption"]
    lo = float(losses.max()) if len(losses) else -np.inf
    hi = float(wins.min()) if len(wins) else np.inf
    if lo < DEFAULT_SUCCESS_THRESHOLD <= hi:
        return DEFAULT_SUCCESS_THRESHOLD
    if np.isfinite(hi):
        return round(hi, 3)
    return DEFAULT_SUCCESS_THRESHOLD


def _summary(cmp_points: pd.DataFrame, rp: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, pt in cmp_points.iterrows():
        r = rp[rp["point"] == pt["point"]]
        n = len(r)
        k = int(r["success"].sum())
        lo, hi = wilson_interval(k, max(n, 1))
        w80 = r["weeks_to_80"] if "weeks_to_80" in r else pd.Series(np.nan, index=r.index)
        reached = w80.dropna()
        rows.append({
            "point": int(pt["point"]), "name": pt["name"], "description": pt["description"],
            "replications": n, "successes": k,
            "success": k / n if n else np.nan, "success_lo": float(lo) if n else np.nan,
            "success_hi": float(hi) if n else np.nan,
            "mean_final_adoption": float(r["final_adoption"].mean()) if n else np.nan,
            "median_final_adoption": float(r["final_adoption"].median()) if n else np.nan,
            "median_weeks_to_80": float(reached.median()) if len(reached) else np.nan,
            "share_never_80": 1 - len(reached) / n if n else np.nan,
        })
    return pd.DataFrame(rows)


def compare_run(run_dir: str | Path, points=None, baseline=None, metric: str = "adoption", focus=None,
                resamples: int = BOOTSTRAP_RESAMPLES, bootstrap_seed: int = BOOTSTRAP_SEED) -> Comparison:
    """Read a run and compute what the comparison shows.

    Args:
        run_dir: the run directory.
        points: points to compare (names or numbers); default all.
        baseline: baseline point (name or number); default: for the governance factorial the
            worst combination (``advisory-nosponsor-nocommittee``) if present, else the first point.
        metric: time-series metric of the curves figure.
        focus: point of the per-department heatmap and buy-in figure (default: the baseline).
        resamples: bootstrap resamples for the effect intervals.
        bootstrap_seed: seed of the bootstrap.

    Returns:
        :class:`Comparison`.
    """
    run = read_run(run_dir)
    keys = ("point", "replication", "tick")
    if run.timeseries_columns and (metric not in run.timeseries_columns or metric in keys):
        have = ", ".join(k for k in run.timeseries_columns if k not in keys and ":" not in k)
        raise ResultsError(f"{run.timeseries_path}: no column {metric!r} for --metric; it holds {have}")
    file = run.path / "points.parquet"
    allp = run.points
    if points:
        ids = []
        for s in points:
            p = resolve_point(allp, s, file)
            if p not in ids:
                ids.append(p)
    else:
        ids = [int(p) for p in allp["point"]]
    notes: list[str] = []
    if baseline is not None:
        b = resolve_point(allp, baseline, file)
        if b not in ids:
            ids.insert(0, b)
    else:
        sel = allp[allp["point"].isin(ids)]
        fac = detect_factorial(sel)
        worst = sel.loc[sel["name"] == WORST_GOVERNANCE, "point"]
        if len(worst):
            b = int(worst.iloc[0])
        elif fac is not None:
            b = fac.all_low()
        else:
            b = ids[0]
    focus_id = resolve_point(allp, focus, file) if focus is not None else b
    chosen = allp.set_index("point").loc[ids].reset_index()
    chosen["name"] = [display_name(n, r) for n, (_, r) in zip(chosen["name"], chosen.iterrows())]
    rp = run.replications[run.replications["point"].isin(ids)]
    empty = [int(p) for p in ids if not (rp["point"] == p).any()]
    if empty:
        raise ResultsError(f"{run.path / 'replications.parquet'}: no replications for point "
                           f"{', '.join(str(allp.set_index('point').at[p, 'name']) for p in empty)}; "
                           "the run may be incomplete (see manifest.json chunks)")
    if not run.manifest.get("complete", True):
        notes.append("This run is incomplete (manifest.json says complete = false): results cover the "
                     "replications finished so far.")
    _, common = paired_matrix(rp, ids, "final_adoption")
    counts = rp.groupby("point").size()
    if len(common) < counts.max():
        notes.append(f"Paired comparisons use the {len(common)} replication numbers present at every point "
                     f"(points have {counts.min()} to {counts.max()} replications).")
    fac = detect_factorial(chosen)
    ftab = factorial_effects(rp, fac, "success", resamples, bootstrap_seed) if fac is not None else None
    effects = paired_effects(rp, ids, b, dict(zip(chosen["point"].astype(int), chosen["name"])),
                             resamples, bootstrap_seed)
    colors = _colors(ids, b)
    return Comparison(run, chosen, b, focus_id, metric, _summary(chosen, rp), effects, fac, ftab,
                      _threshold(run, ids), colors, resamples, bootstrap_seed, notes)


_WORDS = {
    ("owner.mandate", "budget"): "budget-holding owner", ("owner.mandate", "advisory"): "advisory owner",
    ("sponsorship.level", "none"): "no CEO sponsor", ("sponsorship.level", "passive"): "passive CEO sponsor",
    ("sponsorship.level", "active"): "active CEO sponsor",
    ("committee.enabled", "true"): "committee", ("committee.enabled", "false"): "no committee",
}


def display_name(name: str, row: pd.Series) -> str:
    """A design point's ``key=value`` name with the governance choices said in words.

    ``mandate=budget level=active enabled=true`` -> ``budget-holding owner, active CEO sponsor,
    committee``; other ``key=value`` parts are kept as they are, and a name that is not of
    that form (a scenario's name) is returned unchanged.
    """
    tokens = str(name).split(" ")
    if not tokens or not all("=" in t for t in tokens):
        return str(name)
    out, changed = [], False
    for t in tokens:
        k, v = t.split("=", 1)
        full = k if k in row.index else next((c for c in row.index if c.rsplit(".", 1)[-1] == k), k)
        word = _WORDS.get((full, v.lower()))
        if word == "committee" and "committee.cadence_weeks" in row.index:
            from .study import option_label

            word = option_label("advisory", "none", True, int(row["committee.cadence_weeks"])).rsplit(", ", 1)[1]
        out.append(word or t)
        changed |= word is not None
    return ", ".join(out) if changed else str(name)


def _colors(ids: list[int], baseline: int) -> dict[int, str]:
    """Baseline in black, the others through the Okabe-Ito palette.

    Yellow, the weakest on white, comes fifth so that the last (often the strongest) option of a
    list does not get it; figures outline it.
    """
    # Two more (Tol's wine and teal) so the eight options of a study each get their own colour.
    order = [PALETTE[i] for i in (0, 1, 2, 5, 6, 3, 4)] + ["#882255", "#44AA99"]
    out, k = {}, 0
    for p in ids:
        if p == baseline:
            out[p] = PALETTE[7]
        else:
            out[p] = order[k % len(order)]
            k += 1
    return out
