"""Effect estimates with uncertainty: Wilson intervals, paired bootstrap, the governance factorial.

Every design point of a batch runs the same replication indices, and replication
k draws the same random numbers at every point (common random numbers). So the
k-th replication of two points is a matched pair: the same "future" under two
governance choices. The bootstrap here resamples replication *indices* and keeps
all points of a resampled index together, which keeps that pairing and gives
much narrower intervals for differences than treating points as independent.

The bootstrap is a percentile bootstrap with :data:`BOOTSTRAP_RESAMPLES`
resamples from a generator seeded with :data:`BOOTSTRAP_SEED`, so the same
results always give the same intervals, bit for bit, on any machine: every sum
here runs in a fixed order (:func:`fixed_order_dot`), never through BLAS (``@``,
``np.dot``), whose kernels and so whose rounding depend on the processor.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..stats import Z95, wilson_interval

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "Z95",
    "wilson_interval",
    "bootstrap_means",
    "paired_effects",
    "Factor",
    "Factorial",
    "detect_factorial",
    "factorial_effects",
    "factorial_cell_means",
    "markdown_table",
    "fixed_order_dot",
]

BOOTSTRAP_RESAMPLES = 4000
"""Default number of bootstrap resamples: Monte Carlo error of a 95% percentile bound ~0.3% of its width."""

BOOTSTRAP_SEED = 20150926
"""Seed of the bootstrap generator (fixed, so intervals are reproducible)."""


def bootstrap_means(values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                    chunk: int | None = None) -> np.ndarray:
    """Bootstrap distribution of column means, resampling rows (replications) jointly.

    Args:
        values: ``(n, P)`` array: row = replication index, column = design point.
            Resampling a row keeps its points together (paired by replication).
        resamples: number of bootstrap resamples ``B``.
        seed: seed of the resampling generator.
        chunk: resamples summed at a time (memory only; the result does not depend on it);
            default: as many as fit in about 32 MB of counts.

    Returns:
        ``(B, P)`` array of resampled means. The same values, resamples and seed give the
        same array without being computed again (the report's figures and tables ask for
        the factorial's bootstrap several times).
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    key = (x.shape, hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(), int(resamples), int(seed))
    hit = _BOOT_CACHE.get(key)
    if hit is not None:
        return hit.copy()
    n = x.shape[0]
    chunk = max(1, 4_000_000 // max(n, 1)) if chunk is None else chunk
    out = np.empty((x.shape[1], resamples))
    for lo, counts in _resample_counts(n, int(resamples), int(seed), int(chunk)):
        b = counts.shape[1]
        # Sum count x value over the replications in index order, each step an elementwise multiply
        # and add (not BLAS): the same terms in the same order as fixed_order_dot, laid out so that
        # each step reads whole rows.
        acc = np.zeros((x.shape[1], b))
        for k in range(n):
            acc += x[k][:, None] * counts[k]
        out[:, lo:lo + b] = acc
    out = out.T / n
    if len(_BOOT_CACHE) >= 8:
        _BOOT_CACHE.pop(next(iter(_BOOT_CACHE)))
    _BOOT_CACHE[key] = out
    return out.copy()


_BOOT_CACHE: dict[tuple, np.ndarray] = {}
_COUNTS_CACHE: dict[tuple, list] = {}


def _resample_counts(n: int, resamples: int, seed: int, chunk: int) -> list[tuple[int, np.ndarray]]:
    """The bootstrap's resamples as counts, by chunk: ``(first resample, counts[k, r])``, counts as floats.

    ``counts[k, r]`` is how often replication ``k`` is drawn in resample ``lo + r``; the draws are
    ``default_rng(seed).integers(0, n, size=(resamples, n))``, row ``r`` being resample ``r``. The
    last request is kept when it is one chunk (at most 32 MB): the report's three bootstraps share it.
    """
    key = (n, resamples, seed, chunk)
    if key in _COUNTS_CACHE:
        return _COUNTS_CACHE[key]
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    out = []
    for lo in range(0, resamples, chunk):
        block = idx[lo:lo + chunk]
        b = block.shape[0]
        counts = np.bincount((block * b + np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(n, b)
        out.append((lo, counts.astype(np.float64)))
    _COUNTS_CACHE.clear()
    if len(out) == 1:
        _COUNTS_CACHE[key] = out
    return out


def fixed_order_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` summed term by term in index order (``a``: ``(..., n)``, ``b``: ``(n,)`` or ``(n, P)``).

    Each step is an elementwise IEEE multiply and add, so the result is the same bit for
    bit on every processor, unlike BLAS (``@``, ``np.dot``), whose blocking and SIMD
    kernels (and so whose rounding) differ between machines.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = a.shape[-1]
    if b.shape[0] != n:
        raise ValueError(f"fixed_order_dot: shapes {a.shape} and {b.shape} do not align")
    out = np.zeros(a.shape[:-1] + b.shape[1:])
    if b.ndim == 1:
        for k in range(n):
            out += a[..., k] * b[k]
    else:
        for k in range(n):
            out += a[..., k, None] * b[k]
    return out


def _ci(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [0.025, 0.975])
    return float(lo), float(hi)


def paired_matrix(replications: pd.DataFrame, points: list[int], column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(n, P)`` matrix of ``column`` for replications present at every one of ``points``.

    Returns:
        ``(matrix, replication_indices)``.
    """
    wide = replications[replications["point"].isin(points)].pivot(index="replication", columns="point",
                                                                   values=column)
    wide = wide.reindex(columns=points).dropna()
    return wide.to_numpy(dtype=float), wide.index.to_numpy()


def paired_effects(replications: pd.DataFrame, points: list[int], baseline: int, names: dict[int, str],
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """Each point against the baseline: difference in success probability and mean final adoption.

    Pairs replications by index (only indices present at every point are used) and
    resamples them jointly (see the module docstring).

    Args:
        replications: ``point, replication, success, final_adoption, ...``.
        points: the points to compare (the baseline among them).
        baseline: the baseline point.
        names: point -> name.
        resamples: bootstrap resamples.
        seed: bootstrap seed.

    Returns:
        One row per non-baseline point: ``point, name, baseline, n_pairs``, the two levels,
        the difference and its 95% CI for ``success`` (as probabilities) and ``final_adoption``,
        plus ``resamples`` and ``bootstrap_seed``.
    """
    rows = []
    mats = {}
    for col in ("success", "final_adoption"):
        mats[col], reps = paired_matrix(replications, points, col)
    n = len(reps)
    boots = {c: bootstrap_means(m, resamples, seed) if n else None for c, m in mats.items()}
    b = points.index(baseline)
    for j, p in enumerate(points):
        if p == baseline:
            continue
        row = {"point": p, "name": names[p], "baseline": names[baseline], "n_pairs": n}
        for col, short in (("success", "success"), ("final_adoption", "final_adoption")):
            m = mats[col]
            if n == 0:
                row.update({f"{short}_baseline": np.nan, short: np.nan, f"diff_{short}": np.nan,
                            f"diff_{short}_lo": np.nan, f"diff_{short}_hi": np.nan})
                continue
            lo, hi = _ci(boots[col][:, j] - boots[col][:, b])
            row.update({f"{short}_baseline": m[:, b].mean(), short: m[:, j].mean(),
                        f"diff_{short}": m[:, j].mean() - m[:, b].mean(),
                        f"diff_{short}_lo": lo, f"diff_{short}_hi": hi})
        row.update({"resamples": resamples, "bootstrap_seed": seed})
        rows.append(row)
    cols = ["point", "name", "baseline", "n_pairs", "success_baseline", "success", "diff_success",
            "diff_success_lo", "diff_success_hi", "final_adoption_baseline", "final_adoption",
            "diff_final_adoption", "diff_final_adoption_lo", "diff_final_adoption_hi", "resamples",
            "bootstrap_seed"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------ the governance factorial

@dataclass(frozen=True)
class Factor:
    """One two-level governance factor.

    Attributes:
        key: dotted parameter key (``owner.mandate``).
        label: short label for tables and plots ("Owner's mandate").
        low, high: the two levels, as shown ("advisory", "budget").
        change: plain-language phrase for switching low -> high ("giving the CX owner a budget").
    """

    key: str
    label: str
    low: str
    high: str
    change: str


@dataclass
class Factorial:
    """A full two-level factorial found among the design points.

    Attributes:
        factors: the varied factors (1 to 3).
        cells: point -> tuple of 0/1 levels, one per factor (every combination exactly once).
    """

    factors: list[Factor]
    cells: dict[int, tuple[int, ...]]

    @property
    def points(self) -> list[int]:
        """The factorial's points, in the order of ``cells``."""
        return list(self.cells)

    def all_low(self) -> int:
        """The point where every factor is at its low level (the natural baseline)."""
        return next(p for p, c in self.cells.items() if not any(c))


_SPONSOR_ORDER = {"none": 0, "passive": 1, "active": 2}
_NAME_RE = re.compile(r"^(advisory|budget)-(nosponsor|sponsor)-(nocommittee|committee)$")


def _level_value(key: str, v) -> tuple[int, str]:
    """Sort rank and display text of a factor level."""
    if key == "owner.mandate":
        s = str(v)
        return (0 if s == "advisory" else 1), s
    if key == "sponsorship.level":
        s = str(v)
        return _SPONSOR_ORDER.get(s, 3), s
    if isinstance(v, str):
        b = v.strip().lower() in ("true", "1", "yes", "on")
    else:
        b = bool(v)
    return int(b), ("yes" if b else "no")


def _factor_meta(key: str, low: str, high: str) -> Factor:
    if key == "owner.mandate":
        return Factor(key, "Owner's mandate", low, high,
                      "a budget-holding CX owner (instead of an advisory one)" if (low, high) == ("advisory", "budget")
                      else f"owner mandate {high!r} (instead of {low!r})")
    if key == "sponsorship.level":
        words = {"none": "no CEO sponsorship", "passive": "passive CEO sponsorship", "active": "active CEO sponsorship"}
        return Factor(key, "CEO sponsorship", low, high,
                      f"{words.get(high, high)} (instead of {words.get(low, low)})")
    return Factor(key, "CX committee", "no", "yes", "a CX committee (instead of none)")


FACTOR_KEYS = ("owner.mandate", "sponsorship.level", "committee.enabled")


def detect_factorial(points: pd.DataFrame) -> Factorial | None:
    """Find the governance factorial among the design points.

    Uses the columns ``owner.mandate``, ``sponsorship.level``, ``committee.enabled``
    when present, otherwise parses names of the form
    ``{advisory,budget}-{nosponsor,sponsor}-{nocommittee,committee}``. A factor's two
    levels are its lowest and highest (a passive sponsor between none and active lies
    outside the factorial); points outside the pattern are ignored.

    Returns:
        A :class:`Factorial` when every combination of the varied factors occurs
        exactly once, otherwise ``None``.
    """
    table = pd.DataFrame({"point": points["point"].astype(int)})
    have_cols = [k for k in FACTOR_KEYS if k in points.columns]
    if have_cols:
        for k in have_cols:
            table[k] = points[k].to_numpy()
        for k in FACTOR_KEYS:
            if k not in table:
                table[k] = None
    else:
        parsed = points["name"].astype(str).str.extract(_NAME_RE)
        keep = parsed.notna().all(axis=1).to_numpy()
        if not keep.any():
            return None
        table = table[keep].copy()
        parsed = parsed[keep]
        table["owner.mandate"] = parsed[0].to_numpy()
        table["sponsorship.level"] = np.where(parsed[1] == "sponsor", "active", "none")
        table["committee.enabled"] = (parsed[2] == "committee").to_numpy()
    factors: list[Factor] = []
    codes: list[np.ndarray] = []
    for k in FACTOR_KEYS:
        col = table[k]
        if col.isna().all():
            continue
        vals = {}
        for v in col.dropna():
            rank, text = _level_value(k, v)
            vals[text] = rank
        if len(vals) < 2:
            continue
        # With more than two levels (a study adds the organization's own passive sponsor to the
        # none/active factorial), the factorial is the lowest and highest level; the others lie outside it.
        ordered = sorted(vals, key=vals.get)
        low, high = ordered[0], ordered[-1]
        factors.append(_factor_meta(k, low, high))
        codes.append(np.array([-1 if v is None or v != v else
                               {high: 1, low: 0}.get(_level_value(k, v)[1], -1) for v in col], dtype=int))
    if not factors:
        return None
    combos = list(zip(*codes))
    cells: dict[int, tuple[int, ...]] = {}
    seen: set[tuple[int, ...]] = set()
    for p, c in zip(table["point"], combos):
        if -1 in c:
            continue
        c = tuple(int(x) for x in c)
        if c in seen:
            return None  # two points share a cell: not a clean factorial
        seen.add(c)
        cells[int(p)] = c
    if len(seen) != 2 ** len(factors):
        return None
    return Factorial(factors, dict(sorted(cells.items(), key=lambda kv: kv[1])))


def _contrasts(fac: Factorial) -> list[tuple[str, str, str, np.ndarray]]:
    """(term, kind, plain label, weights over fac.points) for main effects and two-way interactions.

    Main effect: mean over cells at the high level minus mean over cells at the low level.
    Interaction A x B: (effect of A with B high) - (effect of A with B low), averaged over
    the other factors ("difference of differences").
    """
    cells = np.array(list(fac.cells.values()))  # (2^k, k)
    k = len(fac.factors)
    half = 2 ** (k - 1)
    out = []
    for i, f in enumerate(fac.factors):
        w = np.where(cells[:, i] == 1, 1.0, -1.0) / half
        out.append((f.label, "main effect", f.change, w))
    for i, j in itertools.combinations(range(k), 2):
        a, b = fac.factors[i], fac.factors[j]
        sign = np.where(cells[:, i] == cells[:, j], 1.0, -1.0)
        w = sign / 2 ** (k - 2)
        out.append((f"{a.label} x {b.label}", "interaction",
                    f"extra effect of {a.change.split(' (')[0]} when combined with {b.change.split(' (')[0]}", w))
    return out


def factorial_effects(replications: pd.DataFrame, fac: Factorial, column: str = "success",
                      resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """Main effects and two-way interactions on the mean of ``column`` with paired-bootstrap 95% CIs.

    Args:
        replications: the replications table.
        fac: the factorial (from :func:`detect_factorial`).
        column: outcome (``success`` gives effects on the success probability).
        resamples: bootstrap resamples.
        seed: bootstrap seed.

    Returns:
        One row per term: ``term, kind, meaning, estimate, lo, hi, low_mean, high_mean`` (the averages a
        main effect contrasts; NaN for interactions), ``n_pairs, resamples, bootstrap_seed``.
    """
    pts = fac.points
    m, reps = paired_matrix(replications, pts, column)
    rows = []
    boot = bootstrap_means(m, resamples, seed) if len(reps) else None
    means = m.mean(axis=0) if len(reps) else np.full(len(pts), np.nan)
    for term, kind, meaning, w in _contrasts(fac):
        est = float(fixed_order_dot(means, w))
        lo, hi = _ci(fixed_order_dot(boot, w)) if boot is not None else (np.nan, np.nan)
        # For a main effect, the two averages it contrasts (low level, high level).
        low = float(fixed_order_dot(means, np.where(w < 0, -w, 0.0))) if kind == "main effect" else np.nan
        high = float(fixed_order_dot(means, np.where(w > 0, w, 0.0))) if kind == "main effect" else np.nan
        rows.append({"term": term, "kind": kind, "meaning": meaning, "estimate": est, "lo": lo, "hi": hi,
                     "low_mean": low, "high_mean": high, "n_pairs": len(reps), "resamples": resamples,
                     "bootstrap_seed": seed})
    return pd.DataFrame(rows)


def factorial_cell_means(replications: pd.DataFrame, fac: Factorial, i: int, j: int, column: str = "success",
                         resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """Mean of ``column`` for each level pair of factors ``i`` and ``j`` (averaged over the others), with CIs.

    Returns:
        Rows ``a, b, mean, lo, hi`` with ``a``, ``b`` the 0/1 levels of factors ``i`` and ``j``.
    """
    pts = fac.points
    m, reps = paired_matrix(replications, pts, column)
    cells = np.array(list(fac.cells.values()))
    boot = bootstrap_means(m, resamples, seed) if len(reps) else None
    rows = []
    for a in (0, 1):
        for b in (0, 1):
            sel = (cells[:, i] == a) & (cells[:, j] == b)
            w = sel / sel.sum()
            est = float(fixed_order_dot(m.mean(axis=0), w)) if len(reps) else np.nan
            lo, hi = _ci(fixed_order_dot(boot, w)) if boot is not None else (np.nan, np.nan)
            rows.append({"a": a, "b": b, "mean": est, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``df`` (values shown as they are)."""
    cols = [str(c) for c in df.columns]

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
