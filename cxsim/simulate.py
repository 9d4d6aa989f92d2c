"""Run a scenario for many replications and return tidy tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .engine import Engine
from .errors import CXSimError
from .metrics import OUTCOMES, Recorder, outcomes
from .scenario import Scenario, load_scenario

__all__ = ["simulate", "run_batch", "SimulationResult", "BatchArrays"]


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
        n, R = rec.n, eng.R
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
    reps = np.asarray(replications, dtype=np.int64).ravel()
    eng = Engine(scenario, reps, seed)
    rec = Recorder(eng, ticks, per_agent=per_agent)
    for _ in range(ticks):
        eng.step()
        rec.record()
        if progress is not None:
            progress(1)
    return BatchArrays(scenario, reps, rec, outcomes(rec))


def simulate(scenario: Scenario | str, replications: int = 100, seed: int = 0, ticks: int | None = None,
             first_replication: int = 0, batch_size: int = 2000, per_agent: bool = True,
             _progress=None) -> SimulationResult:
    """Simulate ``replications`` replications of a scenario.

    Args:
        scenario: a :class:`Scenario` or a path / shipped name for :func:`load_scenario`.
        replications: how many replications (numbered ``first_replication`` onward).
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
