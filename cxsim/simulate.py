"""Run a scenario for many replications and return tidy tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import CXSimError
from .scenario import Scenario, load_scenario

if TYPE_CHECKING:  # (imported where used: `import cxsim` need not load numba and the kernels)
    from .engine import Engine
    from .metrics import Recorder

__all__ = ["simulate", "run_batch", "run_stacked", "run_points", "SimulationResult", "BatchArrays"]

# Replications per stacked engine in run_points: large enough that the per-week cost of
# the numpy calls is spread over many replications, small enough to stay in cache.
STACK_REPLICATIONS = 4000


@dataclass
class BatchArrays:
    """Raw results of one batch: the recorder (per-week arrays) and per-replication outcomes."""

    scenario: Scenario
    replications: np.ndarray
    recorder: Recorder
    outcomes: dict[str, np.ndarray]

    def timeseries(self) -> pd.DataFrame:
        """Long table: one row per replication and tick, one column per metric."""
        rec, eng = self.recorder, self.recorder.m
        n, R = rec.n, self.replications.size
        cols: dict[str, np.ndarray] = {
            "scenario": np.full(n * R, self.scenario.name, dtype=object),
            "replication": np.repeat(self.replications, n),
            "tick": np.tile(np.arange(n, dtype=np.int64), R),
        }
        for k, v in rec.series.items():
            cols[k] = v[:n].T.ravel()
        if rec.per_agent:
            for i, d in enumerate(eng.st.dept_ids):
                cols[f"adoption:{d}"] = rec.dept[:n, i, :].T.ravel()
            for i, e in enumerate(eng.st.exec_ids):
                cols[f"buy_in:{e}"] = rec.exec_true[:n, i, :].T.ravel()
            for i, e in enumerate(eng.st.exec_ids):
                cols[f"expressed:{e}"] = rec.exec_expr[:n, i, :].T.ravel()
        df = pd.DataFrame(cols)
        df["scenario"] = df["scenario"].astype("string")
        return df

    def replications_table(self) -> pd.DataFrame:
        """One row per replication: the outcomes in :data:`~cxsim.metrics.OUTCOMES`."""
        df = pd.DataFrame({"scenario": self.scenario.name, "replication": self.replications})
        from .metrics import OUTCOMES

        for k in OUTCOMES:
            df[k] = self.outcomes[k]
        df["scenario"] = df["scenario"].astype("string")
        return df


@dataclass
class SimulationResult:
    """Tables from :func:`simulate`.

    Attributes:
        timeseries: one row per (replication, tick): ``scenario``, ``replication``,
            ``tick``, then the metrics (``adoption`` among them).
        replications: one row per replication: ``final_adoption``, ``weeks_to_50``,
            ``weeks_to_80``, ``success``, ``owner_departures``, ...
        scenario: the resolved scenario.
        seed: the seed used.
    """

    timeseries: pd.DataFrame
    replications: pd.DataFrame
    scenario: Scenario
    seed: int


def run_batch(scenario: Scenario, replications, seed: int, ticks: int | None = None,
              per_agent: bool = True, progress=None) -> BatchArrays:
    """Run the given replication indices of ``scenario`` in one vectorized batch.

    Replication k's numbers depend only on (scenario, seed, k): any split of the
    indices into batches gives the same results.
    """
    ticks = scenario.ticks if ticks is None else int(ticks)
    from .engine import Engine
    from .metrics import outcomes

    reps = np.asarray(replications, dtype=np.int64).ravel()
    eng = Engine(scenario, reps, seed)
    rec = _run(eng, ticks, per_agent, progress)
    return BatchArrays(scenario, reps, rec, outcomes(rec))


class EngineColumns:
    """Some replications (columns) of a finished engine, read-only: what a stacked point's results need.

    State arrays (replications last) and per-replication parameters come back
    restricted to the columns; everything else is the engine's own.
    """

    def __init__(self, eng: Engine, cols: np.ndarray, scenario: Scenario):
        self._eng, self._cols = eng, cols
        self.R = cols.size
        self.scenario = scenario
        self.params = {k: (v[cols] if isinstance(v, np.ndarray) else v) for k, v in eng.params.items()}

    def __getattr__(self, name):
        value = getattr(self._eng, name)
        if isinstance(value, np.ndarray) and value.ndim and value.shape[-1] == self._eng.R:
            return value[..., self._cols]
        return value


def _run(eng: Engine, ticks: int, per_agent: bool, progress) -> Recorder:
    from .metrics import Recorder

    rec = Recorder(eng, ticks, per_agent=per_agent)
    for _ in range(ticks):
        eng.step()
        rec.record()
        if progress is not None:
            progress(1)
    return rec


def run_stacked(scenarios, replications, point_of, seed: int, ticks: int | None = None, per_agent: bool = True,
                progress=None) -> list[BatchArrays]:
    """Run replications of several design points in one engine; results split back per point.

    Args:
        scenarios: design points that share a :func:`~cxsim.engine.stack_key`.
        replications: one replication index per column (any order; the same index may
            appear for several points: common random numbers).
        point_of: for each column, the index of its scenario in ``scenarios``.
        seed: the run's seed.
        ticks: weeks to simulate (default: the first scenario's ``run.ticks``).
        per_agent: record per-department and per-executive arrays.
        progress: called with 1 after each simulated week, as in :func:`run_batch`.

    Returns:
        One :class:`BatchArrays` per scenario, its columns in the order given. Each is
        bit-identical to ``run_batch(scenario, its replications, seed, ticks)``.
    """
    from .engine import Engine
    from .metrics import outcomes

    scenarios = list(scenarios)
    ticks = scenarios[0].ticks if ticks is None else int(ticks)
    reps = np.asarray(replications, dtype=np.int64).ravel()
    point_of = np.asarray(point_of, dtype=np.int64).ravel()
    eng = Engine(scenarios, reps, seed, point_of)
    rec = _run(eng, ticks, per_agent, progress)
    out = outcomes(rec)
    parts = []
    for i, sc in enumerate(scenarios):
        cols = np.flatnonzero(point_of == i)
        view = EngineColumns(eng, cols, sc)
        parts.append(BatchArrays(sc, reps[cols], rec.select(cols, view), {k: v[cols] for k, v in out.items()}))
    del eng, rec
    return parts


def run_points(scenarios, replication_indices, seed: int, ticks: int | None = None, per_agent: bool = True,
               max_replications: int = STACK_REPLICATIONS, progress=None) -> list[BatchArrays]:
    """Run the same replications at several design points, stacking compatible points into shared engines.

    Points with the same :func:`~cxsim.engine.stack_key` and horizon share engines of
    up to ``max_replications`` replications; the results are bit-identical to one
    :func:`run_batch` per point, and come back in the order of ``scenarios``.
    ``progress``, if given, is called after each simulated week of each engine with
    the number of replications it advanced.

    Example:
        >>> import cxsim, numpy as np
        >>> points = [cxsim.load_scenario(f"governance/{n}") for n in ("budget-sponsor-committee",
        ...                                                        "advisory-nosponsor-nocommittee")]
        >>> a, b = run_points(points, np.arange(100), seed=1, ticks=10)
        >>> a.replications_table().shape
        (100, 12)
    """
    from .engine import stack_key

    scenarios = list(scenarios)
    reps = np.asarray(replication_indices, dtype=np.int64).ravel()
    horizon = [sc.ticks if ticks is None else int(ticks) for sc in scenarios]
    groups: dict = {}
    for i, sc in enumerate(scenarios):
        groups.setdefault((stack_key(sc), horizon[i]), []).append(i)
    per_engine = max(1, int(max_replications) // max(reps.size, 1))
    results: list[BatchArrays | None] = [None] * len(scenarios)
    for (_, T), members in groups.items():
        for start in range(0, len(members), per_engine):
            idx = members[start:start + per_engine]
            point_of = np.repeat(np.arange(len(idx)), reps.size)
            size = point_of.size
            step = None if progress is None else (lambda n, size=size: progress(n * size))
            parts = run_stacked([scenarios[i] for i in idx], np.tile(reps, len(idx)), point_of, seed, T, per_agent,
                                step)
            for i, part in zip(idx, parts):
                results[i] = part
    return results


def simulate(scenario: Scenario | str, replications: int = 100, seed: int = 0, ticks: int | None = None,
             first_replication: int = 0, batch_size: int = 2000, per_agent: bool = True,
             _progress=None) -> SimulationResult:
    """Simulate ``replications`` replications of a scenario.

    Args:
        scenario: a :class:`Scenario` or a path / shipped name for :func:`load_scenario`.
        replications: how many replications (numbered ``first_replication`` onward).
        first_replication: the index of the first replication.
        seed: the run's seed; replication k uses the k-th stream spawned from it.
        ticks: weeks to simulate (default: the scenario's ``run.ticks``).
        batch_size: replications advanced together (memory only; results do not depend on it).
        per_agent: include per-department adoption and per-executive buy-in columns.

    Returns:
        :class:`SimulationResult` with ``timeseries`` and ``replications`` tables.
    """
    if isinstance(scenario, (str, bytes)) or hasattr(scenario, "__fspath__"):
        scenario = load_scenario(scenario)
    if int(replications) < 1:
        raise CXSimError(f"replications must be at least 1, got {replications}")
    if ticks is not None and int(ticks) < 0:
        raise CXSimError(f"ticks must be >= 0, got {ticks}")
    reps = np.arange(first_replication, first_replication + int(replications))
    ts, rp = [], []
    for start in range(0, reps.size, batch_size):
        batch = run_batch(scenario, reps[start:start + batch_size], seed, ticks, per_agent, _progress)
        ts.append(batch.timeseries())
        rp.append(batch.replications_table())
    timeseries = pd.concat(ts, ignore_index=True) if len(ts) > 1 else ts[0]
    table = pd.concat(rp, ignore_index=True) if len(rp) > 1 else rp[0]
    return SimulationResult(timeseries, table, scenario, int(seed))
