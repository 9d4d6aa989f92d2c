"""Read a results directory for comparison: :func:`cxsim.batch.store.load_results`, normalized.

``cxsim compare`` and ``cxsim report`` read runs through
:func:`~cxsim.batch.store.load_results` (so a ``cxsim batch`` run and a ``cxsim
run`` directory both work, and an incomplete batch is refused with the command
that finishes it), then check and normalize the columns they rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ResultsError

__all__ = ["RunData", "read_run"]


@dataclass
class RunData:
    """One run directory: manifest and tables (the time series is read on demand).

    Attributes:
        path: the run directory.
        manifest: ``manifest.json`` as a dict.
        points: one row per design point (``point``, ``name``, ``scenario``, ``description``,
            then one column per varied parameter).
        replications: one row per (point, replication) with the outcome columns.
        timeseries_columns: the columns ``timeseries.parquet`` holds (empty if there is none).
    """

    path: Path
    manifest: dict
    points: pd.DataFrame
    replications: pd.DataFrame
    timeseries_columns: list[str] = field(default_factory=list)
    _results: object = field(default=None, repr=False)

    @property
    def timeseries_path(self) -> Path:
        """Where the time series lives."""
        return self.path / "timeseries.parquet"

    def timeseries(self, columns: list[str] | None = None, points: list[int] | None = None) -> pd.DataFrame:
        """Read ``point, replication, tick`` and ``columns`` of the time series, for ``points`` only.

        Args:
            columns: metric columns to read (default: all).
            points: design points to keep (default: all).

        Raises:
            ResultsError: the run has no time series, or a requested column is missing.
        """
        keys = ["point", "replication", "tick"]
        if not self.timeseries_columns:
            raise ResultsError(f"{self.timeseries_path}: missing; this run kept no time series")
        if columns is not None:
            missing = [c for c in columns if c not in self.timeseries_columns]
            if missing:
                raise ResultsError(f"{self.timeseries_path}: no column {missing[0]!r}; it holds "
                                   f"{', '.join(c for c in self.timeseries_columns if c not in keys)}")
        want = None if points is None else [int(p) for p in points]
        if want is not None and set(want) >= set(self.points["point"].astype(int)):
            # Every point of the run: reading without the row filter is several times faster (a
            # million rows); rows of any other point, were there any, are dropped here instead.
            df = self._results.read_timeseries(columns, None)
            keep = df["point"].isin(want).to_numpy()
            if not keep.all():
                df = df[keep]
        else:
            df = self._results.read_timeseries(columns, want)
        if _sorted_by(df, keys):  # (as the store writes it: a linear check instead of a sort of a million rows)
            return df.reset_index(drop=True)
        return df.sort_values(keys, kind="stable").reset_index(drop=True)

    @property
    def agent_summary_columns(self) -> list[str]:
        """Per-agent columns summarized per point and tick (``keep.per_agent = "summary"``; else empty)."""
        return self._results.agent_summary_columns if self._results is not None else []

    def agent_summary(self, columns: list[str] | None = None, points: list[int] | None = None) -> pd.DataFrame:
        """Per point, tick and per-agent column: ``replications``, ``mean``, ``median``, quantiles."""
        return self._results.agent_summary(columns, points)


def read_run(run_dir: str | Path) -> RunData:
    """Read a results directory written by ``cxsim batch`` (or ``cxsim run``) for comparison.

    Raises:
        ResultsError: the directory is missing, incomplete, or lacks the columns compare needs.
    """
    import pyarrow.parquet as pq

    from ..batch.store import load_results

    res = load_results(run_dir)
    path = Path(res.run_dir)
    points, replications = res.points, res.replications
    _require(points, ("point", "name"), path / "points.parquet")
    _require(replications, ("point", "replication", "final_adoption", "success"), path / "replications.parquet")
    if points["name"].duplicated().any():
        dup = points.loc[points["name"].duplicated(), "name"].iloc[0]
        raise ResultsError(f"{path / 'points.parquet'}: name = {dup!r} appears twice; point names must be unique")
    points = points.copy()
    points["point"] = points["point"].astype(int)
    points["name"] = points["name"].astype(str)
    for col in ("scenario", "description"):
        if col not in points:
            points[col] = points["name"] if col == "scenario" else ""
        points[col] = points[col].fillna("").astype(str)
    points = points.sort_values("point").reset_index(drop=True)
    replications = replications.copy()
    replications["point"] = replications["point"].astype(int)
    replications["replication"] = replications["replication"].astype(int)
    replications["success"] = replications["success"].astype(bool)
    ts_cols: list[str] = []
    if (path / "timeseries.parquet").is_file():
        try:
            ts_cols = list(pq.ParquetFile(path / "timeseries.parquet").schema_arrow.names)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise ResultsError(f"{path / 'timeseries.parquet'}: cannot read ({exc})") from None
        ts_cols = res.timeseries_columns  # (with agents.parquet's per-agent columns, where the store has one)
        if "point" not in ts_cols:  # a `cxsim run` directory: one point, added on reading
            ts_cols = ["point", *[c for c in ts_cols if c != "scenario"]]
    return RunData(path, res.manifest, points, replications, ts_cols, res)


def _sorted_by(df: pd.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are already in ``keys`` order (so a stable sort would leave them as they are)."""
    import numpy as np

    if len(df) < 2:
        return True
    later = np.zeros(len(df) - 1, dtype=bool)  # row i+1 sorts after row i on an earlier key
    for k in keys:
        col = df[k].to_numpy()
        if col.dtype.kind not in "iub":
            return False
        step = np.diff(col.astype(np.int64))
        if (~later & (step < 0)).any():
            return False
        later |= step > 0
    return True


def _require(df: pd.DataFrame, cols, file) -> None:
    for c in cols:
        if c not in df.columns:
            raise ResultsError(f"{file}: no column {c!r}; columns are {', '.join(map(str, df.columns))}")
