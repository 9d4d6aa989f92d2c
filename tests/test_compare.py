"""cxsim compare: reading runs, paired effects, the governance factorial, figures, the CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from results_fixture import GOVERNANCE, simulated_results, synthetic_results

from cxsim.cli import cli, main
from cxsim.compare.analysis import compare_run, resolve_point
from cxsim.compare.effects import (
    bootstrap_means,
    detect_factorial,
    factorial_effects,
    paired_effects,
    wilson_interval,
)
from cxsim.compare.store import read_run
from cxsim.errors import ResultsError

# Four governance scenarios (mandate x sponsorship, no committee): a 2x2 factorial, fast to draw.
FOUR = [f"governance/{m}-{s}-nocommittee" for m in ("advisory", "budget") for s in ("nosponsor", "sponsor")]


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    """A real (short) batch-like run of four governance scenarios, with per-agent columns."""
    return simulated_results(tmp_path_factory.mktemp("sim") / "run", FOUR, reps=30, ticks=52, seed=5)


def _factorial_truth():
    """Success probabilities with known effects: p = .15 + .25 m + .15 s + .10 c + .10 m s."""
    p = {}
    for g in GOVERNANCE:
        m, s, c = g.startswith("budget"), "-sponsor-" in g, g.endswith("-committee")
        p[g] = 0.15 + 0.25 * m + 0.15 * s + 0.10 * c + 0.10 * m * s
    return p


def test_wilson_interval_known_values():
    """Wilson 95% intervals match textbook values (5/10 and 0/10)."""
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)


def test_wilson_95_needs_no_scipy_and_is_bit_identical():
    """The written-out z of a 95% interval is scipy's norm.ppf(0.975) exactly, so the intervals are unchanged."""
    from scipy.stats import norm

    from cxsim.stats import Z95

    assert Z95 == norm.ppf(0.975)
    k, n = np.array([0, 3, 117, 412, 1000]), np.array([10, 10, 1000, 1000, 1000])
    z = norm.ppf(0.975)
    p = k / n
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    lo, hi = wilson_interval(k, n)
    assert np.array_equal(lo, np.clip(center - half, 0, 1)) and np.array_equal(hi, np.clip(center + half, 0, 1))
    lo90, hi90 = wilson_interval(k, n, conf=0.90)  # another level still goes through scipy
    assert (lo90 >= lo).all() and (hi90 <= hi).all()


def test_bootstrap_is_reproducible_and_chunk_independent():
    """Same seed, same resamples whatever the chunk size; another seed differs."""
    x = np.random.default_rng(1).random((50, 3))
    a = bootstrap_means(x, 300, seed=7, chunk=300)
    b = bootstrap_means(x, 300, seed=7, chunk=37)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, bootstrap_means(x, 300, seed=8))


def test_paired_effects_recover_known_difference(tmp_path):
    """Synthetic run: true success difference 0.30 and adoption difference 0.20 are recovered."""
    run = synthetic_results(tmp_path / "r", {"a": 0.2, "b": 0.5}, {"a": 0.4, "b": 0.6}, reps=400)
    rp = read_run(run).replications
    eff = paired_effects(rp, [0, 1], 0, {0: "a", 1: "b"}, resamples=2000).iloc[0]
    # Paired by replication: success differs exactly when u_k in [0.2, 0.5), a Bernoulli(0.3);
    # its sampling SE is sqrt(.3 * .7 / 400) = 0.023. Allow 4 SE.
    se = np.sqrt(0.3 * 0.7 / 400)
    assert abs(eff["diff_success"] - 0.3) < 4 * se
    assert eff["diff_success_lo"] < 0.3 < eff["diff_success_hi"]
    # A 95% percentile interval spans about 2 x 1.96 SE; bootstrap and discreteness allow +-30%.
    assert 0.7 * 2 * 1.96 * se < eff["diff_success_hi"] - eff["diff_success_lo"] < 1.3 * 2 * 1.96 * se
    # Adoption = mean + 0.1 z_k with z shared: the paired difference is 0.2 up to clipping at 0/1
    # (needs |z| > 4: about 1 in 16,000 draws), so it is exact to 1e-3.
    assert eff["diff_final_adoption"] == pytest.approx(0.2, abs=1e-3)
    assert eff["diff_final_adoption_hi"] - eff["diff_final_adoption_lo"] < 0.01


def test_pairing_narrows_the_interval(tmp_path):
    """Resampling replications jointly gives a narrower CI than treating the two points as independent."""
    run = synthetic_results(tmp_path / "r", {"a": 0.4, "b": 0.5}, reps=400)
    rp = read_run(run).replications
    eff = paired_effects(rp, [0, 1], 0, {0: "a", 1: "b"}, resamples=2000).iloc[0]
    # Unpaired normal-approximation width: 2 * 1.96 * sqrt(p1 q1 / n + p2 q2 / n) ~ 0.138; paired
    # (difference is Bernoulli(0.1)) ~ 0.059. Require at least a third narrower.
    unpaired = 2 * 1.96 * np.sqrt((0.4 * 0.6 + 0.5 * 0.5) / 400)
    assert eff["diff_success_hi"] - eff["diff_success_lo"] < unpaired * 2 / 3


def test_factorial_recovers_main_effects_and_interactions(tmp_path):
    """Known main effects (.30, .20, .10) and interactions (.10, 0, 0) of the 2^3 design are recovered."""
    reps = 1000
    run = synthetic_results(tmp_path / "r", _factorial_truth(), reps=reps)
    data = read_run(run)
    fac = detect_factorial(data.points)
    assert fac is not None and [f.key for f in fac.factors] == ["owner.mandate", "sponsorship.level",
                                                                 "committee.enabled"]
    tab = factorial_effects(data.replications, fac, resamples=1000).set_index("term")
    truth = {
        "Owner's mandate": 0.30, "CEO sponsorship": 0.20, "CX committee": 0.10,
        "Owner's mandate x CEO sponsorship": 0.10, "Owner's mandate x CX committee": 0.0,
        "CEO sponsorship x CX committee": 0.0,
    }
    wide = data.replications.pivot(index="replication", columns="point", values="success").astype(float)
    from cxsim.compare.effects import _contrasts

    for term, kind, _, w in _contrasts(fac):
        # The estimate is a mean over replications of the per-replication contrast; its sampling SE
        # is that contrast's SD / sqrt(reps). Allow 4 SE.
        per_rep = wide[fac.points].to_numpy() @ w
        se = per_rep.std(ddof=1) / np.sqrt(reps)
        assert abs(tab.at[term, "estimate"] - truth[term]) < 4 * se + 1e-9, term
        assert tab.at[term, "lo"] <= tab.at[term, "estimate"] <= tab.at[term, "hi"]
    assert tab.at["Owner's mandate", "low_mean"] < tab.at["Owner's mandate", "high_mean"]


def test_factorial_detected_from_names_and_rejected_when_incomplete():
    """Names alone identify the factorial; a missing cell or a duplicate cell means no factorial."""
    pts = pd.DataFrame({"point": range(8), "name": GOVERNANCE})
    fac = detect_factorial(pts)
    assert fac is not None and len(fac.factors) == 3
    assert pts.at[fac.all_low(), "name"] == "advisory-nosponsor-nocommittee"
    assert detect_factorial(pts.iloc[:7]) is None
    two = pd.DataFrame({"point": range(4), "name": ["a", "b", "c", "d"],
                        "owner.mandate": ["advisory", "budget", "advisory", "budget"],
                        "committee.enabled": [False, False, True, True]})
    fac2 = detect_factorial(two)
    assert fac2 is not None and [f.key for f in fac2.factors] == ["owner.mandate", "committee.enabled"]
    dup = two.assign(**{"committee.enabled": [False, False, False, True]})
    assert detect_factorial(dup) is None
    assert detect_factorial(pd.DataFrame({"point": [0, 1], "name": ["x", "y"]})) is None


def test_resolve_point_by_name_or_number(sim_run):
    """Points resolve by name or number; an unknown one is a one-line ResultsError listing the names."""
    pts = read_run(sim_run).points
    assert resolve_point(pts, "budget-sponsor-nocommittee", "f") == 3
    assert resolve_point(pts, "2", "f") == 2
    with pytest.raises(ResultsError, match=r"point = 'nope' not found.*0\.\.3.*advisory-nosponsor-nocommittee"):
        resolve_point(pts, "nope", "points.parquet")


def test_default_baseline_is_worst_governance(sim_run):
    """Without --baseline, the all-weak combination is the baseline even if it is not listed first."""
    c = compare_run(sim_run, points=["budget-sponsor-nocommittee", "advisory-nosponsor-nocommittee"],
                    resamples=200)
    assert c.name(c.baseline) == "advisory-nosponsor-nocommittee"
    assert c.point_ids == [3, 0]
    c2 = compare_run(sim_run, points=["2", "1"], resamples=200)
    assert c2.baseline == 2  # two cells of a 2x2: no factorial, no worst case: the first point
    c2b = compare_run(sim_run, points=["3", "1"], resamples=200)
    assert c2b.baseline == 1  # a one-factor design (mandate): its low level, the advisory owner
    c3 = compare_run(sim_run, points=["3"], baseline="1", resamples=200)
    assert c3.baseline == 1 and set(c3.point_ids) == {1, 3}


def test_read_run_rejects_missing_files(tmp_path, capsys):
    """A directory without the contract's files gives one line and exit code 2."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="no manifest.json"):
        read_run(tmp_path / "empty")
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(tmp_path / "nothing-here")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such results directory" in err[0]


def test_compare_cli_writes_figures_and_tables(sim_run, tmp_path, capsys):
    """`cxsim compare` writes every figure as a 1600x900 PNG and a parseable SVG, plus CSV/Markdown tables."""
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(sim_run), "--out", str(out), "--resamples", "500"])
    assert exc.value.code == 0
    stems = ["curves", "success", "effects", "interaction", "weeks_to_80", "final_adoption", "departments",
             "buy_in"]
    for stem in stems:
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        with Image.open(png) as im:
            im.load()
            assert im.size == (1600, 900)
            # Non-empty: more than a blank canvas (many distinct colours).
            assert len(im.convert("RGB").getcolors(maxcolors=1_000_000)) > 50
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50
    eff = pd.read_csv(out / "effects.csv")
    assert len(eff) == 3 and set(eff["baseline"]) == {"advisory-nosponsor-nocommittee"}
    assert eff["resamples"].eq(500).all()
    fac = pd.read_csv(out / "factorial.csv")
    assert list(fac["kind"]) == ["main effect", "main effect", "interaction"]
    assert (out / "effects.md").read_text().count("\n|") >= 4
    text = capsys.readouterr().out
    assert "baseline advisory-nosponsor-nocommittee" in text and "wrote" in text


def test_compare_says_when_per_agent_columns_are_missing(tmp_path, capsys):
    """A run without per-agent columns gets no heatmap or buy-in figure and a clear note."""
    run = synthetic_results(tmp_path / "r", {"a": 0.3, "b": 0.6}, reps=60, per_agent=False)
    out = tmp_path / "cmp"
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(run), "a", "b", "--out", str(out), "--resamples", "300", "--metric", "cx_index"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "did not keep per-department columns" in text
    assert "per-executive columns" in text
    assert not (out / "departments.png").exists() and (out / "curves.png").exists()


def test_compare_rejects_unknown_metric(sim_run, capsys):
    """An unknown --metric is one line naming the file, the value and what exists, exit 2."""
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(sim_run), "--metric", "happiness", "--out", str(sim_run / "x")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "timeseries.parquet: no column 'happiness'" in err[0] and "adoption" in err[0]


def test_commands_registered():
    """`compare` and `report` appear in the cxsim command group."""
    assert {"compare", "report"} <= set(cli.commands)


def test_bootstrap_sums_in_a_fixed_order_not_blas():
    """bootstrap_means equals a plain left-to-right Python sum of count x value, bit for bit (no BLAS rounding)."""
    x = np.random.default_rng(3).random((37, 4)) * 1e3 + 1e-3
    got = bootstrap_means(x, 60, seed=11, chunk=25)
    idx = np.random.default_rng(11).integers(0, 37, size=(60, 37))
    for b in (0, 17, 59):
        counts = np.bincount(idx[b], minlength=37)
        for p in range(4):
            total = 0.0
            for k in range(37):
                total += float(counts[k]) * float(x[k, p])
            assert got[b, p] == total / 37


def test_curve_matrix_equals_the_pivot_it_replaces():
    """The fan charts' (tick x replication) matrix equals pandas' pivot, sorted or shuffled, with gaps; duplicates refused."""
    from cxsim.compare.figures import QUANTILES, _bands, _wide

    rng = np.random.default_rng(5)
    ts = pd.DataFrame([(p, r, t) for p in (0, 1) for r in (2, 3, 7) for t in range(0, 10, 2)],
                      columns=["point", "replication", "tick"])
    ts["adoption"] = rng.random(len(ts)).astype(np.float32)
    for frame in (ts, ts.sample(frac=1, random_state=2), ts.drop(index=[4, 17])):
        for p in (0, 1):
            w, ticks = _wide(frame, p, "adoption")
            ref = frame[frame["point"] == p].pivot(index="tick", columns="replication", values="adoption")
            assert np.array_equal(w, ref.to_numpy(dtype=float), equal_nan=True)
            assert np.array_equal(ticks, ref.index.to_numpy())
            ticks_b, q = _bands(frame, [p], "adoption")[p]
            assert np.array_equal(q, np.nanquantile(ref.to_numpy(dtype=float), QUANTILES, axis=1), equal_nan=True)
    with pytest.raises(ValueError, match="twice"):
        _wide(pd.concat([ts, ts.iloc[[3]]]), 0, "adoption")


def test_time_series_sorted_check_agrees_with_sorting():
    """RunData.timeseries skips its sort only when the rows are already in (point, replication, tick) order."""
    from cxsim.compare.store import _sorted_by

    keys = ["point", "replication", "tick"]
    rng = np.random.default_rng(4)
    for _ in range(200):
        df = pd.DataFrame(rng.integers(0, 3, size=(int(rng.integers(0, 8)), 3)), columns=keys)
        if rng.random() < 0.5:
            df = df.sort_values(keys, kind="stable")
        expect = df.equals(df.sort_values(keys, kind="stable"))
        assert _sorted_by(df, keys) == expect
