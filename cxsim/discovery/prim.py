"""PRIM, the patient rule induction method (Friedman and Fisher 1999), for scenario discovery.

Given inputs ``X`` (numeric and categorical columns) and a binary outcome ``y`` (a
future of interest: the programme succeeded, or failed), PRIM looks for a box -- a
range for each numeric input, a set of values for each categorical one -- inside
which the outcome is much more common than outside (*density*), while still holding
a good share of all the cases of interest (*coverage*).

* **Peeling.** From the box holding everything, each step removes the slice that
  raises density most per point removed (EMA Workbench's "lenient" objective, which
  keeps a categorical peel that drops half the box for a small gain from winning):
  the lowest or highest ``alpha`` share of a numeric input, or one value of a
  categorical input; it stops when the box would hold fewer than
  ``min_mass`` of all points. The boxes passed on the way are the *peeling
  trajectory*, from high coverage and low density to the reverse.
* **Pasting.** A chosen box is then grown back where that raises density: by an
  ``alpha`` share of the box's points across one numeric limit, or by one
  categorical value, as long as density increases.
* **Quasi-p-values.** For each input a box restricts, a one-sided binomial test of
  the box's successes against the density of the same box without that restriction
  (Bryant and Lempert 2010): small values mean the restriction matters.
* **Resampling.** PRIM is run again on bootstrap resamples; how often each input is
  restricted in the resample's box of similar coverage says which restrictions are
  stable.

Plain numpy, deterministic (no random choices but the seeded resamples), written
for cxsim because the standalone ``prim`` package is GPL-3 and EMA Workbench 3
needs Python 3.12.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Box", "PrimResult", "prim", "box_mask"]


@dataclass
class Box:
    """Limits on each input: ``(lo, hi)`` (inclusive) for numeric inputs, a tuple of allowed values otherwise."""

    limits: dict[str, Any]
    coverage: float = 0.0
    density: float = 0.0
    mass: float = 0.0
    n: int = 0

    def restricted(self, full: "Box") -> list[str]:
        """The inputs on which this box is narrower than ``full`` (the box holding everything)."""
        return [k for k, v in self.limits.items() if v != full.limits[k]]


@dataclass
class PrimResult:
    """A peeling trajectory over ``X``, ``y`` and the box holding everything (``full``)."""

    X: pd.DataFrame
    y: np.ndarray
    boxes: list[Box]
    full: Box
    categorical: list[str]
    alpha: float
    min_mass: float
    pasted: dict[int, Box] = field(default_factory=dict)

    def trajectory(self) -> pd.DataFrame:
        """One row per box of the peeling trajectory: ``box, coverage, density, mass, n, restricted``."""
        return pd.DataFrame({
            "box": np.arange(len(self.boxes)),
            "coverage": [b.coverage for b in self.boxes],
            "density": [b.density for b in self.boxes],
            "mass": [b.mass for b in self.boxes],
            "n": [b.n for b in self.boxes],
            "restricted": [len(b.restricted(self.full)) for b in self.boxes],
        })

    def default_box(self, max_restrictions: int = 3) -> int:
        """The box that best trades coverage against density: the largest coverage x lift.

        Lift is how far the box's density has come from the base rate towards 1,
        ``(density - base) / (1 - base)``; the product is 0 for the box holding everything
        and for a box holding no case of interest, and largest at the trajectory's knee.
        Only boxes restricting at most ``max_restrictions`` inputs are considered, so the
        rule stays one a person can read.
        """
        base = self.full.density
        if base >= 1.0:
            return 0
        score = [b.coverage * (b.density - base) / (1.0 - base) if len(b.restricted(self.full)) <= max_restrictions
                 else -1.0 for b in self.boxes]
        return int(np.argmax(score))

    def box(self, i: int, paste: bool = True) -> Box:
        """Box ``i`` of the trajectory, pasted (grown back where that raises density) unless ``paste=False``."""
        if not paste:
            return self.boxes[i]
        if i not in self.pasted:
            self.pasted[i] = _paste(self, self.boxes[i])
        return self.pasted[i]

    def quasi_p(self, box: Box) -> dict[str, float]:
        """One-sided binomial quasi-p-value of each restriction of ``box`` (Bryant and Lempert 2010)."""
        from scipy.stats import binom

        inside = box_mask(self.X, box, self.categorical)
        k, n = int(self.y[inside].sum()), int(inside.sum())
        out = {}
        for key in box.restricted(self.full):
            loose = Box({**box.limits, key: self.full.limits[key]})
            wider = box_mask(self.X, loose, self.categorical)
            p0 = float(self.y[wider].mean()) if wider.any() else 0.0
            out[key] = float(binom.sf(k - 1, n, p0)) if n else 1.0
        return out


def _arrays(X: pd.DataFrame, categorical: list[str]) -> dict[str, np.ndarray]:
    return {c: (X[c].to_numpy(dtype=object) if c in categorical else X[c].to_numpy(dtype=np.float64))
            for c in X.columns}


def box_mask(X: pd.DataFrame, box: Box, categorical: list[str]) -> np.ndarray:
    """Which rows of ``X`` lie inside ``box``."""
    inside = np.ones(len(X), dtype=bool)
    for key, lim in box.limits.items():
        col = X[key].to_numpy(dtype=object) if key in categorical else X[key].to_numpy(dtype=np.float64)
        if key in categorical:
            inside &= np.isin(col, np.array(lim, dtype=object))
        else:
            inside &= (col >= lim[0]) & (col <= lim[1])
    return inside


def _stats(box: Box, inside: np.ndarray, y: np.ndarray, total: float) -> Box:
    n = int(inside.sum())
    hits = float(y[inside].sum())
    box.n = n
    box.mass = n / y.size
    box.density = hits / n if n else 0.0
    box.coverage = hits / total if total else 0.0
    return box


def _full_box(cols: dict[str, np.ndarray], categorical: list[str]) -> Box:
    limits: dict[str, Any] = {}
    for key, col in cols.items():
        if key in categorical:
            limits[key] = tuple(dict.fromkeys(col.tolist()))
        else:
            limits[key] = (float(col.min()), float(col.max()))
    return Box(limits)


def prim(X: pd.DataFrame, y, alpha: float = 0.05, min_mass: float = 0.05,
         categorical: list[str] | None = None) -> PrimResult:
    """The peeling trajectory of PRIM over inputs ``X`` and binary outcome ``y``.

    Args:
        X: one row per case, one column per input; columns that are not numeric (or
            are boolean) are treated as categorical unless ``categorical`` says otherwise.
        y: 1 (or True) for a case of interest.
        alpha: share of the box's points removed by one peel.
        min_mass: smallest share of all points a box may hold.
        categorical: the categorical columns (default: inferred from the dtypes).

    Returns:
        :class:`PrimResult`: ``boxes[0]`` holds everything, each next box is one peel narrower.
    """
    X = X.reset_index(drop=True)
    y = np.asarray(y, dtype=np.float64)
    if categorical is None:
        categorical = [c for c in X.columns
                       if X[c].dtype == bool or not pd.api.types.is_numeric_dtype(X[c])]
    cols = _arrays(X, categorical)
    total = float(y.sum())
    full = _stats(_full_box(cols, categorical), np.ones(y.size, dtype=bool), y, total)
    boxes = [full]
    inside = np.ones(y.size, dtype=bool)
    limits = dict(full.limits)
    floor = max(1, int(np.ceil(min_mass * y.size)))
    while True:
        best = None  # (gain per point removed, n, key, new limit, new mask)
        n_in = int(inside.sum())
        now = boxes[-1].density
        for key, col in cols.items():
            vals = col[inside]
            if key in categorical:
                present = [v for v in limits[key] if np.any(vals == v)]
                if len(present) < 2:
                    continue
                for v in present:
                    cand = inside & (col != v)
                    best = _better(best, cand, y, floor, key, tuple(x for x in limits[key] if x != v), now, n_in)
                continue
            srt = np.sort(vals)
            k = max(1, int(np.floor(alpha * n_in)))
            if srt[0] == srt[-1] or k >= n_in:
                continue
            low_cut = srt[k - 1]  # remove everything up to the k-th smallest (ties go together)
            if low_cut < srt[-1]:
                new_lo = float(srt[np.searchsorted(srt, low_cut, side="right")])
                cand = inside & (col >= new_lo)
                best = _better(best, cand, y, floor, key, (new_lo, limits[key][1]), now, n_in)
            high_cut = srt[n_in - k]
            if high_cut > srt[0]:
                new_hi = float(srt[np.searchsorted(srt, high_cut, side="left") - 1])
                cand = inside & (col <= new_hi)
                best = _better(best, cand, y, floor, key, (limits[key][0], new_hi), now, n_in)
        if best is None:
            break
        _, _, key, new_limit, mask = best
        limits = {**limits, key: new_limit}
        inside = mask
        boxes.append(_stats(Box(dict(limits)), inside, y, total))
    return PrimResult(X, y, boxes, full, categorical, alpha, min_mass)


def _better(best, cand: np.ndarray, y: np.ndarray, floor: int, key: str, limit, density: float, n_in: int):
    """Keep the candidate peel with the larger density gain per point removed (then the larger box)."""
    n = int(cand.sum())
    if n < floor or n >= n_in:
        return best
    gain = (float(y[cand].sum()) / n - density) / (n_in - n)
    if best is None or (gain, n) > (best[0], best[1]):
        return (gain, n, key, limit, cand)
    return best


def _paste(res: PrimResult, box: Box) -> Box:
    """Grow ``box`` back where that raises density (Friedman and Fisher's pasting)."""
    cols = _arrays(res.X, res.categorical)
    total = float(res.y.sum())
    limits = dict(box.limits)
    inside = box_mask(res.X, box, res.categorical)
    density = box.density
    while True:
        best = None
        n_in = int(inside.sum())
        k = max(1, int(np.floor(res.alpha * n_in)))
        for key, col in cols.items():
            others = box_mask(res.X, Box({kk: v for kk, v in limits.items() if kk != key}), res.categorical)
            if key in res.categorical:
                for v in res.full.limits[key]:
                    if v in limits[key]:
                        continue
                    cand = inside | (others & (col == v))
                    best = _grow(best, cand, res.y, density, key, tuple(limits[key]) + (v,))
                continue
            lo, hi = limits[key]
            below = np.sort(col[others & (col < lo)])
            if below.size:
                new_lo = float(below[max(below.size - k, 0)])
                best = _grow(best, inside | (others & (col >= new_lo) & (col < lo)), res.y, density, key,
                             (new_lo, hi))
            above = np.sort(col[others & (col > hi)])
            if above.size:
                new_hi = float(above[min(k, above.size) - 1])
                best = _grow(best, inside | (others & (col <= new_hi) & (col > hi)), res.y, density, key,
                             (lo, new_hi))
        if best is None:
            break
        density, _, key, new_limit, inside = best
        limits[key] = new_limit
    return _stats(Box(limits), inside, res.y, total)


def _grow(best, cand: np.ndarray, y: np.ndarray, density: float, key: str, limit):
    n = int(cand.sum())
    d = float(y[cand].sum()) / n if n else 0.0
    if d <= density:
        return best
    if best is None or (d, n) > (best[0], best[1]):
        return (d, n, key, limit, cand)
    return best
