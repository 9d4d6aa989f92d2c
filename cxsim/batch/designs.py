"""Experimental designs: which parameter values each design point gets.

Every design is a function with one signature, ``design(factors, options, seed) ->
Sample``, registered in :data:`DESIGNS`:

- ``factorial``: every combination of the listed values (``Factor.values``);
- ``lhs``: a Latin hypercube of ``options["samples"]`` points (``scipy.stats.qmc``);
- ``sobol``: Saltelli's extension of a Sobol' sequence, ``N (k + 2)`` points
  (``N (2k + 2)`` with second-order indices), from SALib;
- ``morris``: ``r`` Morris trajectories of ``k + 1`` points on a ``p``-level grid, from SALib;
- ``points``: an explicit list (``options["points"]``, dicts of key -> value);
- ``discovery``: every combination of the levers' values (what the company chooses),
  crossed with a Latin hypercube of ``options["samples"]`` futures over the
  uncertainties (what it cannot choose): every choice meets the same futures, the
  design EMA Workbench calls policies x scenarios, which regret needs.

Sampled designs (lhs, sobol, morris) draw in the unit cube and map to each
factor's range. Integer parameters are mapped so that every integer in
``[lo, hi]`` has the same probability (``lo + floor(u (hi - lo + 1))``), which
keeps the design's balance; the unrounded values are kept in ``Sample.raw`` for
analyses that need the sampler's own matrix (Morris).

Designs only see ``Factor`` objects; checking keys and ranges against the
parameter registry is :mod:`cxsim.batch.experiment`'s job.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["Factor", "Lazy", "Sample", "DESIGNS", "factorial", "lhs", "sobol", "morris", "points", "discovery",
           "salib_problem"]


@dataclass(frozen=True)
class Factor:
    """One varied parameter.

    Attributes:
        key: dotted key path (``committee.cadence_weeks``).
        kind: ``float``, ``int``, ``bool`` or ``str``.
        lo, hi: range for sampled designs.
        values: the levels for a factorial design.
        role: in a discovery design, ``"lever"`` (values) or ``"uncertainty"`` (a range).
    """

    key: str
    kind: type = float
    lo: float | None = None
    hi: float | None = None
    values: tuple = ()
    role: str = ""


class Lazy(Sequence):
    """A sequence of ``n`` items, item ``i`` made by ``make(i)`` each time it is asked for.

    A design's rows (and an experiment's points) are held this way: a design of many
    points keeps its values as arrays (or as the factors' levels), not one dict per
    point (about 1.7 KB per point of a 20-factor design). Indices may be negative;
    slices give lists.
    """

    def __init__(self, n: int, make: Callable[[int], Any]):
        self._n, self._make = n, make

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._n))]
        i = operator.index(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"index {i} of {self._n} items")
        return self._make(i)


@dataclass
class Sample:
    """A design's points.

    Attributes:
        rows: one dict per design point, key -> value to apply (integers rounded): a list, or
            :class:`Lazy` rows, each made when asked for.
        raw: for sampled designs, the sampler's matrix ``(points, factors)`` scaled to
            the factors' ranges before rounding; ``None`` for factorial and points.
        keys: the factors' keys, in the columns' order.
    """

    rows: Sequence[dict[str, Any]]
    raw: np.ndarray | None = None
    keys: list[str] = field(default_factory=list)


def _matrix_row(columns: tuple[tuple[str, np.ndarray, type], ...], i: int) -> dict[str, Any]:
    """Row ``i`` of a sampled design: each ``(key, column, kind)``'s value as a Python ``kind``."""
    return {key: kind(col[i]) for key, col, kind in columns}


def _product_row(keys: tuple[str, ...], levels: tuple[tuple, ...], i: int) -> dict[str, Any]:
    """Row ``i`` of every combination of ``levels`` in ``itertools.product`` order (the last factor fastest)."""
    combo = [None] * len(levels)
    for j in range(len(levels) - 1, -1, -1):
        i, r = divmod(i, len(levels[j]))
        combo[j] = levels[j][r]
    return dict(zip(keys, combo))


def _crossed_row(choices: Sequence[dict[str, Any]], futures: Sequence[dict[str, Any]], i: int) -> dict[str, Any]:
    """Row ``i`` of every choice crossed with every future: choices outer, futures inner."""
    c, f = divmod(i, len(futures))
    return {**choices[c], **futures[f]}


def salib_problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """The SALib problem dict of sampled factors."""
    return {
        "num_vars": len(factors),
        "names": [f.key for f in factors],
        "bounds": [[float(f.lo), float(f.hi)] for f in factors],
    }


def _apply_unit(factors: Sequence[Factor], unit: np.ndarray) -> Sample:
    """Scale unit-cube samples to the factors' ranges; integers get equal-probability bins."""
    unit = np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0)
    raw = np.empty_like(unit)
    columns = []
    for j, f in enumerate(factors):
        lo, hi = float(f.lo), float(f.hi)
        raw[:, j] = lo + unit[:, j] * (hi - lo)
        if f.kind is int:
            ilo, ihi = int(round(lo)), int(round(hi))
            columns.append((f.key, np.minimum(ilo + np.floor(unit[:, j] * (ihi - ilo + 1)), ihi).astype(np.int64),
                            int))
        else:
            columns.append((f.key, raw[:, j], float))  # (a view: the values are the raw matrix's)
    return Sample(Lazy(unit.shape[0], functools.partial(_matrix_row, tuple(columns))), raw,
                  [f.key for f in factors])


def factorial(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """Every combination of the factors' ``values``; the last factor varies fastest."""
    keys = [f.key for f in factors]
    levels = tuple(tuple(f.values) for f in factors)
    return Sample(Lazy(math.prod(map(len, levels)), functools.partial(_product_row, tuple(keys), levels)), None, keys)


def lhs(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """A Latin hypercube of ``options["samples"]`` points (``scipy.stats.qmc.LatinHypercube``)."""
    from scipy.stats import qmc

    n = int(options["samples"])
    try:
        sampler = qmc.LatinHypercube(d=len(factors), rng=np.random.default_rng(seed))
    except TypeError:  # scipy < 1.15 names the argument ``seed``
        sampler = qmc.LatinHypercube(d=len(factors), seed=np.random.default_rng(seed))
    return _apply_unit(factors, sampler.random(n))


def sobol(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """Saltelli's scheme on a scrambled Sobol' sequence (``SALib.sample.sobol``)."""
    from SALib.sample import sobol as salib_sobol

    k = len(factors)
    unit_problem = {"num_vars": k, "names": [f.key for f in factors], "bounds": [[0.0, 1.0]] * k}
    unit = salib_sobol.sample(unit_problem, int(options["base_samples"]),
                              calc_second_order=bool(options.get("second_order", False)), seed=seed)
    return _apply_unit(factors, unit)


def morris(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """Morris trajectories on a ``levels``-level grid (``SALib.sample.morris``)."""
    from SALib.sample import morris as salib_morris

    k = len(factors)
    unit_problem = {"num_vars": k, "names": [f.key for f in factors], "bounds": [[0.0, 1.0]] * k}
    unit = salib_morris.sample(unit_problem, int(options["trajectories"]),
                               num_levels=int(options.get("levels", 4)), seed=seed)
    return _apply_unit(factors, unit)


def points(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """The explicit list ``options["points"]`` (dicts of key -> value; ``name`` is not a value)."""
    rows = [{k: v for k, v in p.items() if k != "name"} for p in options["points"]]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return Sample(rows, None, keys)


def discovery(factors: Sequence[Factor], options: Mapping[str, Any], seed: int) -> Sample:
    """Every combination of the levers, each crossed with the same LHS futures over the uncertainties.

    Point order: lever combinations outer (the last lever fastest), futures inner, so
    point ``c * samples + f`` is choice ``c`` in future ``f``.
    """
    levers = [f for f in factors if f.role == "lever"]
    futures = lhs([f for f in factors if f.role == "uncertainty"], options, seed)
    choices = factorial(levers, options, seed).rows
    rows = Lazy(len(choices) * len(futures.rows), functools.partial(_crossed_row, choices, futures.rows))
    return Sample(rows, None, [f.key for f in levers] + futures.keys)


DESIGNS: dict[str, Callable[[Sequence[Factor], Mapping[str, Any], int], Sample]] = {
    "factorial": factorial,
    "lhs": lhs,
    "sobol": sobol,
    "morris": morris,
    "points": points,
    "discovery": discovery,
}

SAMPLED = ("lhs", "sobol", "morris")
