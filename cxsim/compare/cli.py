"""Commands ``cxsim compare`` and ``cxsim report`` (registered by :mod:`cxsim.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable
from .effects import BOOTSTRAP_RESAMPLES


def echo(text: str, err: bool = False) -> None:
    """``click.echo`` of a line that holds user text (names, ids, paths): control characters escaped."""
    click.echo(printable(text), err=err)


EPILOG_COMPARE = """
\b
Examples:
  cxsim compare results/governance/20250101-120000
  cxsim compare results/governance/20250101-120000 budget-sponsor-committee advisory-sponsor-nocommittee \\
      --baseline advisory-nosponsor-nocommittee --out figures/governance
  cxsim compare RUN_DIR 0 3 7 --metric cx_index --heatmap 7

\b
POINT is a design point's name or number (see points.parquet or `cxsim analyze`).
Default: every point; baseline: the worst governance combination
(advisory-nosponsor-nocommittee) if present, else the first point.

\b
Writes into --out [default: RUN_DIR/compare; files of an earlier comparison
there are replaced only with --force]:
  curves.png/.svg          adoption over time: median, 50% and 90% bands
  curves_panels.png/.svg   the same, one panel per point (more than 4 points)
  success.png/.svg         chance of success with 95% Wilson intervals
  effects.png/.svg         change vs the baseline with 95% paired-bootstrap intervals
  interaction.png/.svg     governance factorial: interaction plot
  weeks_to_80.png/.svg     weeks to 80% adoption and share that never got there
  final_adoption.png/.svg  final adoption histograms (two humps = tipping)
  departments.png/.svg     adoption by department over time (needs per-agent columns)
  buy_in.png/.svg          true vs expressed buy-in per executive (needs per-agent columns)
  summary.csv              per point: success probability + Wilson CI, adoption, weeks to 80%
  effects.csv, effects.md  paired differences vs the baseline with 95% bootstrap CIs
  factorial.csv, .md       main effects and two-way interactions (governance factorial only)
"""

EPILOG_REPORT = """
\b
Examples:
  cxsim report results/governance/20250101-120000 --out governance-report.html
  cxsim report RUN_DIR budget-sponsor-committee budget-nosponsor-nocommittee --baseline 0 --out report.html

\b
One self-contained HTML file: a plain-language summary, the options compared, all the
figures of `cxsim compare` (embedded), the effects tables, the model's assumptions and
calibration sources, and the exact command and seed that reproduce the run. It loads
nothing from the network, so it can be mailed and opened offline.
"""


def _common(f):
    """Options shared by compare and report."""
    f = click.option("--resamples", default=BOOTSTRAP_RESAMPLES, show_default=True,
                     type=click.IntRange(200, 100_000),
                     help="Bootstrap resamples for the effect intervals (fixed seed: reproducible).")(f)
    f = click.option("--heatmap", "focus", metavar="POINT", default=None,
                     help="Point of the per-department heatmap and buy-in figure [default: the baseline].")(f)
    f = click.option("--metric", default="adoption", show_default=True,
                     help="Time-series metric of the curves figure (a column of timeseries.parquet, "
                          "e.g. adoption, cx_index, buy_in).")(f)
    f = click.option("--baseline", "-b", metavar="POINT", default=None,
                     help="Point the others are compared with (name or number).")(f)
    f = click.argument("points", nargs=-1, metavar="[POINT]...")(f)
    f = click.argument("run_dir", type=click.Path(path_type=Path))(f)
    return f


@click.command(epilog=EPILOG_COMPARE)
@_common
@click.option("--out", "-o", type=click.Path(path_type=Path), default=None,
              help="Output directory [default: RUN_DIR/compare].")
@click.option("--force", is_flag=True, help="Replace the files of an earlier comparison in --out.")
def compare(run_dir, points, baseline, metric, focus, resamples, out, force):
    """Compare design points of a batch run: figures (PNG + SVG) and effect tables."""
    from .analysis import compare_run
    from .report import check_compare_dir, write_compare

    out = out or Path(run_dir) / "compare"
    check_compare_dir(out, force)
    c = compare_run(run_dir, points or None, baseline, metric, focus, resamples)
    from .figures import build_figures

    specs = build_figures(c)
    paths = write_compare(c, out, specs, force=force)
    _echo_summary(c, specs)
    echo(f"wrote {len(paths)} files to {out}/")


@click.command(epilog=EPILOG_REPORT)
@_common
@click.option("--out", "-o", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True,
              help="The HTML file to write (written atomically; an existing file only with --force).")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def report(run_dir, points, baseline, metric, focus, resamples, out, force):
    """Write one self-contained HTML report on a batch run, for readers who do not run cxsim."""
    from .analysis import compare_run
    from .figures import report_figures
    from .report import check_report_path, write_report

    check_report_path(out, force)
    from ..discovery.report import is_discovery_run

    if is_discovery_run(run_dir):  # levers x futures: a "what it takes" report, not options side by side
        from ..discovery.report import brief, write_discovery_report

        command = _command("report", run_dir, points, baseline, metric, focus, resamples, out)
        path, d = write_discovery_report(run_dir, out, force=force, command=command)
        for line in brief(d):
            echo(f"  {line}")
        echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained)")
        return
    c = compare_run(run_dir, points or None, baseline, metric, focus, resamples)
    specs = report_figures(c, workers=_cores())
    command = _command("report", run_dir, points, baseline, metric, focus, resamples, out)
    path = write_report(c, out, specs, command, force=force)
    _echo_summary(c, specs)
    echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained)")


def _cores() -> int:
    """Cores this process may use (its affinity where the system tells it)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every system
        return os.cpu_count() or 1


def _echo_summary(c, specs) -> None:
    from .tables import pct

    n = len(c.point_ids)
    echo(f"{c.run.path}: {n} point{'s' if n != 1 else ''}, baseline {c.name(c.baseline)}")
    width = min(max([len(str(n)) for n in c.summary["name"]] + [10]), 64)
    for _, r in c.summary.iterrows():
        echo(f"  {r['name']:<{width}} success {pct(r['success']):>5} "
                   f"[{pct(r['success_lo'])}, {pct(r['success_hi'])}]  mean final adoption "
                   f"{pct(r['mean_final_adoption'])}")
    for note in c.notes:
        echo(f"note: {note}")
    for s in specs:
        if s.figure is None and s.png is None:
            echo(f"note: no {s.stem} figure: {s.missing}")


def _command(name, run_dir, points, baseline, metric, focus, resamples, out) -> str:
    """The command line that reproduces this output (from the parsed options, not from sys.argv)."""
    import shlex

    args = ["cxsim", name, str(run_dir), *map(str, points)]
    if baseline is not None:
        args += ["--baseline", str(baseline)]
    if metric != "adoption":
        args += ["--metric", metric]
    if focus is not None:
        args += ["--heatmap", str(focus)]
    if resamples != BOOTSTRAP_RESAMPLES:
        args += ["--resamples", str(resamples)]
    args += ["--out", str(out)]
    return " ".join(shlex.quote(a) for a in args)


EPILOG_STUDY = """
\b
Examples:
  cxsim study acme.toml
  cxsim study acme.toml --reps 500 --seed 7 --out results/acme-study
  cxsim study reference --reps 50 --ticks 104 --workers 2
  cxsim study acme.toml --owner cmo --owner cto      # also try other executives as the CX owner

\b
Runs the governance options for the organization in SCENARIO -- the owner's
mandate (advisory or budget-holding) x CEO sponsorship (none or active) x a CX
committee (none, or on the organization's own cadence, monthly by default) --
plus its current governance, which is the baseline every option is compared
with. The same simulated futures are replayed under every option. Writes the
batch results (manifest.json, points, replications, timeseries, summary.csv)
and report.html, one self-contained page to open in a browser or mail on,
into --out [default: results/study-<name>/<run-id>], which must be new.
"""


@click.command(epilog=EPILOG_STUDY)
@click.argument("scenario")
@click.option("--reps", "-n", default=200, show_default=True, type=click.IntRange(2, 1_000_000),
              help="Simulated futures per option (200: success rates within about +-7 points; 1000: +-3).")
@click.option("--seed", "-s", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Seed; the same seed gives the same numbers.")
@click.option("--ticks", "-t", default=None, type=click.IntRange(1, 5200),
              help="Weeks to simulate [default: the scenario's run.ticks, 156].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter of the organization, e.g. executives.cfo.jealousy=0.6. Repeatable.")
@click.option("--owner", "owners", multiple=True, metavar="ID",
              help="Also try this executive as the CX owner (the eight options are repeated for each). Repeatable.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results directory (must not exist or be empty) [default: results/study-<name>/<run-id>].")
@click.option("--workers", "-w", type=click.IntRange(1, 256), default=None,
              help="Worker processes [default: all cores, or this process alone for a study too small to repay "
                   "starting them]; 1 runs in this process.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def study(scenario, reps, seed, ticks, overrides, owners, out, workers, quiet):
    """Compare governance options for the organization in SCENARIO against its current governance."""
    import time

    from ..extrapolation import calibration_warnings
    from ..provenance import command_line
    from ..scenario import load_scenario
    from .study import run_study, study_experiment

    t0 = time.perf_counter()
    sc = load_scenario(scenario, list(overrides))
    for line in sc.warnings + calibration_warnings(sc):
        echo(f"warning: {line}", err=True)
    if out is None:
        from ..batch.runner import default_run_dir

        out = default_run_dir(study_experiment(sc, reps, seed, ticks, owners=tuple(owners))[0])
    else:
        study_experiment(sc, 2, seed, 1, owners=tuple(owners))  # bad --owner: one line before any output
    run_dir, path, c = run_study(sc, out, reps, seed, ticks, workers=workers, quiet=quiet, command=command_line(),
                                 owners=tuple(owners))
    _echo_summary(c, [])
    echo(f"wrote {run_dir}/ and the report {path} ({time.perf_counter() - t0:.0f} s)")
    echo(f"open {path} in a browser")
