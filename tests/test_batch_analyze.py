"""Sensitivity analysis: Ishigami and linear checks through the run-directory code path, and `cxsim analyze`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxsim.batch.analyze import analyze_run
from cxsim.batch.designs import DESIGNS, Factor, salib_problem
from cxsim.batch.store import write_json


def _synthetic_run(path, design: str, factors, options: dict, fn, seed: int = 1):
    """A results directory for ``fn`` evaluated at a design's points (one replication each, outcome ``y``).

    Only the files the analysis reads are written (manifest, design.parquet, replications.parquet),
    in the store's format, so the test runs the same code path as ``cxsim analyze``.
    """
    sample = DESIGNS[design](factors, options, seed)
    y = fn(sample.raw)
    path.mkdir()
    write_json(path / "manifest.json", {
        "kind": "cxsim batch", "experiment_name": f"{design}-check", "design": design,
        "design_problem": salib_problem(factors), "points": len(y), "replications": 1, "complete": True,
        "experiment": {"design": {"type": design, **options}},
    })
    design_df = pd.DataFrame(sample.raw, columns=[f.key for f in factors])
    design_df.insert(0, "point", np.arange(len(y)))
    design_df.to_parquet(path / "design.parquet", index=False)
    pd.DataFrame({"point": np.arange(len(y)), "replication": 0, "y": y}).to_parquet(
        path / "replications.parquet", index=False)
    return path


def ishigami(X, a=7.0, b=0.1):
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def test_ishigami_sobol_indices_match_published_values(tmp_path):
    """Sobol' indices of the Ishigami function (a=7, b=0.1) match the analytic S1 and ST within the bootstrap CI."""
    # Analytic values (Ishigami & Homma 1990; Sobol' & Levitan 1999), as tabulated by SALib and UQLab.
    s1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    st = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
    factors = [Factor(k, float, -np.pi, np.pi) for k in ("x1", "x2", "x3")]
    run = _synthetic_run(tmp_path / "ishigami", "sobol", factors, {"base_samples": 1024}, ishigami)
    res = analyze_run(run, outcome="y", num_resamples=500, seed=3)
    df = res.table.set_index("parameter")
    assert res.csv.is_file() and res.png.is_file()
    for k in s1:
        # S1_conf/ST_conf are 95% bootstrap half-widths (z = 1.96). Allowing 1.68 x that (z = 3.29,
        # a 99.9% interval) keeps the chance that any of the six estimates misses its analytic value
        # at about 0.6%, while still failing if the design or the Y ordering were wrong (errors of
        # the order of the indices themselves).
        assert abs(df.loc[k, "S1"] - s1[k]) <= 1.68 * df.loc[k, "S1_conf"], (k, df.loc[k].to_dict())
        assert abs(df.loc[k, "ST"] - st[k]) <= 1.68 * df.loc[k, "ST_conf"], (k, df.loc[k].to_dict())
        # The intervals must be tight enough for the check to mean something.
        assert df.loc[k, "S1_conf"] < 0.1 and df.loc[k, "ST_conf"] < 0.1
    assert list(df.index) == ["x1", "x2", "x3"]  # ranked by ST


def test_morris_on_a_linear_function_is_exact(tmp_path):
    """Morris mu* of y = 3 x1 + x2 equals coefficient x range exactly, with sigma 0 and x3 inert."""
    factors = [Factor("x1", float, 0.0, 2.0), Factor("x2", float, -1.0, 1.0), Factor("x3", float, 0.0, 5.0)]
    run = _synthetic_run(tmp_path / "morris", "morris", factors, {"trajectories": 10, "levels": 4},
                         lambda X: 3 * X[:, 0] + X[:, 1])
    df = analyze_run(run, outcome="y", num_resamples=100, plot=False).table.set_index("parameter")
    # Elementary effects of a linear function are its slopes times the range: no sampling error.
    assert df.loc["x1", "mu_star"] == pytest.approx(6.0, abs=1e-9)
    assert df.loc["x2", "mu_star"] == pytest.approx(2.0, abs=1e-9)
    assert df.loc["x3", "mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert df["sigma"].abs().max() < 1e-9


def test_lhs_prcc_ranks_monotone_drivers(tmp_path):
    """PRCC on an LHS run ranks y = 3 x1 + x2 + noise as x1 > x2 > x3, with x3's interval covering 0."""
    factors = [Factor(k, float, 0.0, 1.0) for k in ("x1", "x2", "x3")]
    noise = np.random.default_rng(0).normal(0, 0.3, 300)
    run = _synthetic_run(tmp_path / "lhs", "lhs", factors, {"samples": 300},
                         lambda X: 3 * X[:, 0] + X[:, 1] + noise)
    df = analyze_run(run, outcome="y", num_resamples=100).table
    assert list(df["parameter"]) == ["x1", "x2", "x3"]
    x3 = df.set_index("parameter").loc["x3"]
    # A null effect's 95% interval covers 0 with probability 0.95 over noise draws; the draw is seeded.
    assert x3["PRCC_lo"] < 0 < x3["PRCC_hi"]
    assert df.loc[0, "PRCC"] > 0.9 and "rbd_fast_S1" in df


SOBOL_TINY = """
name = "sobol_tiny"
scenario = "reference"
replications = 3
seed = 2
ticks = 10
chunk_size = 12

[keep]
metrics = ["adoption"]

[design]
type = "sobol"
base_samples = 4

[design.ranges]
"organization.readiness_shift" = [-0.3, 0.3]
"adoption.p" = [0.001, 0.01]
"committee.cadence_weeks" = [1, 8]
"""


def test_analyze_cli_on_a_real_sobol_run(write_toml, tmp_path, run_cli):
    """`cxsim analyze` on a small Sobol batch writes S1, ST and intervals for every parameter, and a chart."""
    path = write_toml("s.toml", SOBOL_TINY)
    code, out, err = run_cli("batch", path, "--out", tmp_path / "run", "-w", "1")
    assert code == 0, err
    assert "next: cxsim analyze" in out
    code, out, err = run_cli("analyze", tmp_path / "run", "--outcome", "final_adoption", "--resamples", "50")
    assert code == 0, err
    df = pd.read_csv(tmp_path / "run" / "analysis" / "sensitivity_final_adoption.csv")
    assert set(df["parameter"]) == {"organization.readiness_shift", "adoption.p", "committee.cadence_weeks"}
    assert {"S1", "S1_conf", "ST", "ST_conf", "rank"} <= set(df.columns)
    assert (tmp_path / "run" / "analysis" / "sensitivity_final_adoption.png").is_file()
    code, _, err = run_cli("analyze", tmp_path / "run", "--outcome", "final_adopton")
    assert code == 2 and "did you mean 'final_adoption'" in err and len(err.strip().splitlines()) == 1


def test_analyze_refuses_a_factorial_run(write_toml, tmp_path, run_cli):
    """Sensitivity analysis of a factorial run is a one-line error with exit code 2."""
    path = write_toml("f.toml", 'scenario = "reference"\nreplications = 2\nticks = 3\n'
                                '[design]\ntype = "factorial"\n[design.factors]\n"adoption.p" = [0.001, 0.002]\n')
    code, _, err = run_cli("batch", path, "--out", tmp_path / "f", "-w", "1")
    assert code == 0, err
    code, _, err = run_cli("analyze", tmp_path / "f")
    assert code == 2 and "needs a sobol, morris or lhs run" in err and len(err.strip().splitlines()) == 1
