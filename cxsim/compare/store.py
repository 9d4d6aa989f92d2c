"""Read a batch results directory, relying only on the results-store contract.

The contract (written by ``cxsim batch``): ``manifest.json``, ``points.parquet``,
``replications.parquet`` and ``timeseries.parquet`` in one run directory. This
module reads exactly that and nothing else, so ``cxsim compare`` and
``cxsim report`` work on any directory that honours it.

:func:`read_run` is the one entry point; once ``cxsim.batch.store.load_results``
is settled it can delegate there (the returned object only needs ``manifest``,
``points``, ``replications`` and a ``timeseries(columns, points)`` method).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ResultsError

__all__ = ["RunData", "read_run", "REQUIRED_FILES"]

REQUIRED_FILES = ("manifest.json", "points.parquet", "replications.parquet")


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
        import pyarrow.parquet as pq

        if not self.timeseries_columns:
            raise ResultsError(f"{self.timeseries_path}: missing; this run kept no time series")
        keys = ["point", "replication", "tick"]
        if columns is None:
            cols = list(self.timeseries_columns)
        else:
            missing = [c for c in columns if c not in self.timeseries_columns]
            if missing:
                raise ResultsError(f"{self.timeseries_path}: no column {missing[0]!r}; it holds "
                                   f"{', '.join(c for c in self.timeseries_columns if c not in keys)}")
            cols = keys + [c for c in columns if c not in keys]
        filters = [("point", "in", [int(p) for p in points])] if points is not None else None
        table = pq.read_table(self.timeseries_path, columns=cols, filters=filters)
        df = table.to_pandas()
        return df.sort_values(keys, kind="stable").reset_index(drop=True)


def read_run(run_dir: str | Path) -> RunData:
    """Read a results directory written by ``cxsim batch``.

    Args:
        run_dir: ``results/<experiment>/<run-id>/``.

    Returns:
        :class:`RunData`.

    Raises:
        ResultsError: the directory or one of its files is missing or malformed.
    """
    import pyarrow.parquet as pq

    path = Path(run_dir)
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results directory; pass the run directory that "
                           "`cxsim batch` wrote (results/<experiment>/<run-id>/)")
    for name in REQUIRED_FILES:
        if not (path / name).is_file():
            raise ResultsError(f"{path / name}: missing; a results directory holds "
                               f"{', '.join(REQUIRED_FILES)} and timeseries.parquet")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path / 'manifest.json'}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path / 'manifest.json'}: expected a JSON object")
    try:
        points = pd.read_parquet(path / "points.parquet")
        replications = pd.read_parquet(path / "replications.parquet")
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise ResultsError(f"{path}: cannot read Parquet tables ({exc})") from None
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
        except Exception as exc:
            raise ResultsError(f"{path / 'timeseries.parquet'}: cannot read ({exc})") from None
    return RunData(path, manifest, points, replications, ts_cols)


def _require(df: pd.DataFrame, cols, file) -> None:
    for c in cols:
        if c not in df.columns:
            raise ResultsError(f"{file}: no column {c!r}; columns are {', '.join(map(str, df.columns))}")
