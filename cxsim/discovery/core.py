"""Scenario discovery and robust choices on a finished run: :func:`discover`.

The unit of analysis is one simulated future under one choice: a (design point,
replication) pair. Its inputs are the point's lever and uncertainty values; its
outcome is 1 when the programme met the outcome of interest (``success`` by default,
or a condition such as ``final_adoption >= 0.6``).

* **PRIM** (:mod:`cxsim.discovery.prim`) finds boxes of inputs where the outcome is
  common, stated as rules a person can read, with quasi-p-values and how often each
  restriction reappears on bootstrap resamples.
* **CART** (scikit-learn's decision tree) is the cross-check: a shallow tree on the
  same data, whose purest large leaf should tell the same story.
* **Robust choices**: in a ``discovery`` design every combination of lever values meets
  the same sampled futures, so each choice has a success rate in each future; the
  table gives each choice's mean, its 10th percentile over futures, and its regret
  (how far below the best choice for that future it falls), and names the choice with
  the smallest worst-case regret and the conditions under which it fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ResultsError
from .prim import Box, PrimResult, prim

__all__ = ["Discovery", "discover", "outcome_of", "describe_box", "label", "choice_words"]

_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*([-+0-9.eE]+)\s*$")
_OPS = {">=": np.greater_equal, "<=": np.less_equal, "==": np.equal, "!=": np.not_equal, ">": np.greater,
        "<": np.less}

# Words for the keys a discovery design usually varies; any other key is shown as its last part.
_NAMES = {
    "owner.mandate": "owner's mandate",
    "sponsorship.level": "CEO sponsorship",
    "sponsorship.start_week": "CEO sponsor from week",
    "committee.enabled": "CX committee",
    "committee.cadence_weeks": "committee meets every (weeks)",
    "owner.budget": "CX budget (k per week)",
    "readiness.change_management_lead_weeks": "change management lead (weeks)",
    "politics.jealousy_scale": "jealousy scale",
    "organization.readiness_shift": "readiness shift",
    "organization.skill_shift": "skill shift",
    "organization.headcount_scale": "size (x headcount)",
    "attrition.hazard": "owner's departure hazard",
    "business_case.patience_weeks": "executives' patience (weeks)",
}


def label(key: str) -> str:
    """A short readable name for a parameter key."""
    return _NAMES.get(key, key.split(".")[-1].replace("_", " "))


_CHOICE_WORDS = {
    ("owner.mandate", "budget"): "budget-holding owner",
    ("owner.mandate", "advisory"): "advisory owner",
    ("sponsorship.level", "active"): "active CEO sponsor",
    ("sponsorship.level", "passive"): "passive CEO",
    ("sponsorship.level", "none"): "no CEO sponsor",
    ("committee.enabled", True): "CX committee",
    ("committee.enabled", False): "no committee",
}


def choice_words(key: str, value: Any) -> str:
    """One lever's value in words: ``budget-holding owner``, ``no committee``, ``change management lead 26``."""
    if isinstance(value, np.generic):
        value = value.item()
    return _CHOICE_WORDS.get((key, value)) or f"{label(key)} {_value(value)}"


def _value(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def outcome_of(replications: pd.DataFrame, outcome: str = "success", where: str | None = None) -> np.ndarray:
    """The binary outcome per replication: column ``outcome`` (truthy), or the condition ``where``.

    ``where`` is ``"<column> <op> <number>"`` with ``op`` one of >= <= > < == != (no code is
    evaluated). Raises :class:`~cxsim.errors.ResultsError` naming the allowed columns.
    """
    numeric = [c for c in replications.columns if c not in ("point", "replication", "scenario")
               and pd.api.types.is_numeric_dtype(replications[c])]
    if where:
        m = _WHERE.match(where)
        if not m:
            raise ResultsError(f"--where {where!r}: expected '<column> <op> <number>', e.g. 'final_adoption >= 0.6' "
                               "(op: >= <= > < == !=)")
        col, op, num = m.groups()
        if col not in replications.columns:
            raise ResultsError(f"--where {where!r}: no column {col!r}; columns: {', '.join(numeric)}")
        values = pd.to_numeric(replications[col], errors="coerce").to_numpy(dtype=np.float64)
        return np.asarray(_OPS[op](values, float(num)) & np.isfinite(values), dtype=bool)
    if outcome not in replications.columns:
        raise ResultsError(f"--outcome {outcome!r}: no such column; columns: {', '.join(numeric)}")
    values = replications[outcome]
    if values.dtype == bool:
        return values.to_numpy(dtype=bool)
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isin(v[np.isfinite(v)], (0.0, 1.0)).all():
        raise ResultsError(f"--outcome {outcome!r} is not a yes/no column; give a condition instead, e.g. "
                           f"--where '{outcome} >= {np.nanmedian(v):.3g}'")
    return v == 1.0


def describe_box(box: Box, full: Box, categorical: list[str]) -> str:
    """The box's restrictions as a rule: ``"owner's mandate is budget AND jealousy scale <= 1.4"``."""
    parts = []
    for key in box.restricted(full):
        lim, whole = box.limits[key], full.limits[key]
        if key in categorical:
            allowed = [_value(v) for v in lim]
            parts.append(f"{label(key)} is {' or '.join(allowed)}")
            continue
        lo, hi = lim
        if lo > whole[0] and hi < whole[1]:
            parts.append(f"{label(key)} between {_value(lo)} and {_value(hi)}")
        elif lo > whole[0]:
            parts.append(f"{label(key)} >= {_value(lo)}")
        else:
            parts.append(f"{label(key)} <= {_value(hi)}")
    return " AND ".join(parts) if parts else "any values (no restriction)"


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes:
        prim: the PRIM peeling trajectory (:class:`~cxsim.discovery.prim.PrimResult`).
        trajectory: one row per box: coverage, density, mass, n, restrictions.
        chosen: the index of the box described (``box=`` or the default choice).
        restrictions: the chosen box's limits with quasi-p-values and how often each
            restriction reappeared on resamples.
        rule: the chosen box as a sentence.
        cart_rules: CART's leaves, purest first (``rule, n, share, density``).
        robustness: one row per choice (lever values): mean, 10th percentile, mean and
            worst regret; ``None`` when the run is not a discovery design.
        robust_choice: the choice with the smallest worst-case regret (``None`` as above).
        robust_fails_when: PRIM on that choice's failures: the conditions under which it fails.
        levers, uncertainties: the inputs' keys.
    """

    prim: PrimResult
    trajectory: pd.DataFrame
    chosen: int
    restrictions: pd.DataFrame
    rule: str
    outcome_name: str
    base_rate: float
    levers: list[str]
    uncertainties: list[str]
    cart_rules: pd.DataFrame
    cart_tree: Any = None
    robustness: pd.DataFrame | None = None
    robust_choice: dict[str, Any] | None = None
    robust_fails_when: str | None = None
    robust_fail_stats: dict[str, float] = field(default_factory=dict)

    @property
    def box(self) -> Box:
        """The chosen box (pasted)."""
        return self.prim.box(self.chosen)

    def summary(self) -> str:
        """The chosen box as the sentence a strategist reads."""
        b = self.box
        return (f"{self.rule}: {b.density:.0%} of these futures {self.outcome_name} (density), covering "
                f"{b.coverage:.0%} of all futures that {self.outcome_name} (coverage); overall "
                f"{self.base_rate:.0%} do.")


def _inputs(points: pd.DataFrame, manifest: dict) -> tuple[list[str], list[str]]:
    design = (manifest.get("experiment") or {}).get("design") or {}
    if design.get("type") == "discovery":
        return list(design.get("levers", {})), list(design.get("uncertainties", {}))
    keys = [c for c in points.columns if c not in ("point", "name", "scenario", "description")]
    return [], keys


def discover(results, outcome: str = "success", where: str | None = None, box: int | None = None,
             resamples: int = 50, seed: int = 0, alpha: float = 0.05, min_mass: float = 0.05) -> Discovery:
    """Scenario discovery (PRIM, CART) and robust choices on a finished run.

    Args:
        results: a run directory or :class:`~cxsim.batch.store.Results`.
        outcome: a yes/no column of the replications table (``success``).
        where: instead of ``outcome``, a condition ``"<column> <op> <number>"``.
        box: which box of the peeling trajectory to describe (default: the knee, the
            largest coverage x lift; see :meth:`~cxsim.discovery.prim.PrimResult.default_box`).
        resamples: bootstrap resamples for the reproducibility of each restriction.
        seed: the resamples' seed.
        alpha: PRIM's peeling share (of the box's points per peel).
        min_mass: PRIM's smallest box (share of all points).

    Returns:
        :class:`Discovery`; its tables are pandas DataFrames a notebook can go on with.

    Example:
        >>> d = cxsim.discover("results/discovery/run")            # doctest: +SKIP
        >>> print(d.summary()); d.robustness.head()                 # doctest: +SKIP
    """
    from ..batch.store import load_results

    res = load_results(results) if isinstance(results, (str, Path)) else results
    points, reps = res.points, res.replications
    levers, uncertainties = _inputs(points, res.manifest)
    keys = levers + uncertainties
    if not keys:
        raise ResultsError(f"{res.path}: the run varies no parameter; discovery needs a design with levers and "
                           "uncertainties (type = \"discovery\") or at least some varied parameters")
    y = outcome_of(reps, outcome, where)
    name = "meet the condition" if where else ("succeed" if outcome == "success" else f"have {outcome}")
    table = reps[["point"]].merge(points[["point", *keys]], on="point", how="left")
    X = table[keys].reset_index(drop=True)
    categorical = [k for k in keys if X[k].dtype == bool or not pd.api.types.is_numeric_dtype(X[k])]
    result = prim(X, y, alpha=alpha, min_mass=min_mass, categorical=categorical)
    chosen = result.default_box() if box is None else int(box)
    if not 0 <= chosen < len(result.boxes):
        raise ResultsError(f"--box {box}: the peeling trajectory has boxes 0 to {len(result.boxes) - 1}")
    chosen_box = result.box(chosen)
    qp = result.quasi_p(chosen_box)
    again = _reproducibility(X, y, categorical, chosen_box, result.full, resamples, seed, alpha, min_mass)
    rows = []
    for key in keys:
        lim, whole = chosen_box.limits[key], result.full.limits[key]
        rows.append({"input": key, "label": label(key), "role": "lever" if key in levers else "uncertainty",
                     "restricted": lim != whole,
                     "limits": ", ".join(_value(v) for v in lim) if key in categorical else
                     f"{_value(lim[0])} to {_value(lim[1])}",
                     "full range": ", ".join(_value(v) for v in whole) if key in categorical else
                     f"{_value(whole[0])} to {_value(whole[1])}",
                     "quasi_p": qp.get(key, np.nan), "resample_share": again.get(key, 0.0)})
    restrictions = pd.DataFrame(rows).sort_values(["restricted", "quasi_p"], ascending=[False, True],
                                                  kind="stable").reset_index(drop=True)
    cart_rules, tree = _cart(X, y, categorical)
    out = Discovery(prim=result, trajectory=result.trajectory(), chosen=chosen, restrictions=restrictions,
                    rule=describe_box(chosen_box, result.full, categorical), outcome_name=name,
                    base_rate=float(y.mean()), levers=levers, uncertainties=uncertainties, cart_rules=cart_rules,
                    cart_tree=tree)
    if levers and uncertainties:
        _robust(out, table, y, levers, uncertainties, alpha, min_mass)
    return out


def _reproducibility(X, y, categorical, chosen: Box, full: Box, resamples: int, seed: int, alpha: float,
                     min_mass: float) -> dict[str, float]:
    """Share of bootstrap resamples whose box of nearest coverage restricts each input."""
    if resamples <= 0:
        return {}
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    n = len(y)
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        r = prim(X.iloc[idx], y[idx], alpha=alpha, min_mass=min_mass, categorical=categorical)
        i = int(np.argmin([abs(b.coverage - chosen.coverage) for b in r.boxes]))
        for key in r.boxes[i].restricted(r.full):
            counts[key] = counts.get(key, 0) + 1
    return {k: v / resamples for k, v in counts.items()}


def _encode(X: pd.DataFrame, categorical: list[str]) -> tuple[np.ndarray, list[str], list[tuple[str, str] | None]]:
    """Numbers for the tree (booleans 0/1, other categories one 0/1 column per value), names, and 0/1 wordings."""
    cols, names, words = [], [], []
    for key in X.columns:
        if X[key].dtype == bool:
            cols.append(X[key].to_numpy(dtype=np.float64))
            names.append(label(key))
            words.append((f"{label(key)}: no", f"{label(key)}: yes"))
        elif key in categorical:
            for v in dict.fromkeys(X[key].tolist()):
                cols.append((X[key] == v).to_numpy(dtype=np.float64))
                names.append(f"{label(key)} = {v}")
                words.append((f"{label(key)} is not {v}", f"{label(key)} is {v}"))
        else:
            cols.append(X[key].to_numpy(dtype=np.float64))
            names.append(label(key))
            words.append(None)
    return np.column_stack(cols), names, words


def _cart(X: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> tuple[pd.DataFrame, Any]:
    """A depth-3 decision tree (scikit-learn) and its leaves as rules, purest large leaves first."""
    from sklearn.tree import DecisionTreeClassifier

    data, names, words = _encode(X, categorical)
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=max(20, int(0.02 * len(y))), random_state=0)
    tree.fit(data, y.astype(int))
    t = tree.tree_
    rows = []

    def walk(node: int, conds: list[str]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0]
            n = int(t.n_node_samples[node])
            classes = list(tree.classes_)
            share = float(counts[classes.index(1)] / counts.sum()) if 1 in classes else 0.0
            rows.append({"rule": " AND ".join(conds) or "everything", "n": n, "share of futures": n / len(y),
                         "density": share})
            return
        j, thr = t.feature[node], float(t.threshold[node])
        left, right = words[j] or (f"{names[j]} <= {thr:.3g}", f"{names[j]} > {thr:.3g}")
        walk(t.children_left[node], conds + [left])
        walk(t.children_right[node], conds + [right])

    walk(0, [])
    rules = pd.DataFrame(rows).sort_values(["density", "n"], ascending=False, kind="stable").reset_index(drop=True)
    tree.feature_names_ = names
    return rules, tree


def _robust(out: Discovery, table: pd.DataFrame, y: np.ndarray, levers: list[str], uncertainties: list[str],
            alpha: float, min_mass: float) -> None:
    """Each choice's success across the same futures: mean, 10th percentile, regret; the most robust choice."""
    df = table.copy()
    df["y"] = y
    per = df.groupby(levers + uncertainties, sort=False, dropna=False)["y"].mean().rename("rate").reset_index()
    per["choice"] = per[levers].astype(str).agg(" | ".join, axis=1)
    per["future"] = per[uncertainties].astype(str).agg(" | ".join, axis=1)
    best = per.groupby("future", sort=False)["rate"].transform("max")
    per["regret"] = best - per["rate"]
    agg = per.groupby("choice", sort=False).agg(mean=("rate", "mean"),
                                               p10=("rate", lambda r: float(np.quantile(r, 0.1))),
                                               mean_regret=("regret", "mean"), max_regret=("regret", "max"),
                                               futures=("rate", "size"))
    first = per.drop_duplicates("choice").set_index("choice")[levers]
    agg = first.join(agg).reset_index()
    agg["choice"] = agg[levers].apply(lambda r: ", ".join(choice_words(k, r[k]) for k in levers), axis=1)
    agg = agg.sort_values(["max_regret", "mean"], ascending=[True, False], kind="stable").reset_index(drop=True)
    out.robustness = agg
    top = agg.iloc[0]
    out.robust_choice = {k: top[k] for k in levers}
    # when does the most robust choice fail? PRIM on its futures, failure as the case of interest
    mine = np.ones(len(table), dtype=bool)
    for k in levers:
        mine &= (table[k] == top[k]).to_numpy()
    fails = ~y[mine]
    if fails.sum() >= 10 and (~fails).sum() >= 1:
        X = table.loc[mine, uncertainties].reset_index(drop=True)
        r = prim(X, fails, alpha=alpha, min_mass=min_mass, categorical=[])
        b = r.box(r.default_box())
        out.robust_fails_when = describe_box(b, r.full, [])
        out.robust_fail_stats = {"density": b.density, "coverage": b.coverage, "base": float(fails.mean())}
