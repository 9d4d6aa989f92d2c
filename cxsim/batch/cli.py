"""``cxsim batch`` and ``cxsim analyze``: run experiments, read sensitivities."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import printable


def echo(text: str, err: bool = False) -> None:
    """``click.echo`` of a line that holds user text (names, ids, paths): control characters escaped."""
    click.echo(printable(text), err=err)


EPILOG_BATCH = """
\b
Examples:
  cxsim batch experiments/governance_factorial.toml
  cxsim batch governance_factorial --workers 2 --out results/governance
  cxsim batch experiments/sobol_reference.toml --quiet
  cxsim batch governance_factorial --reps 50 --seed 3 --ticks 104 --out results/quick
  cxsim batch governance_factorial --set committee.cadence_weeks=2 --set executives.cfo.jealousy=0.6
  cxsim batch --resume results/governance_factorial/20261122-101500-1a2b3c

\b
--set, --reps, --seed and --ticks replace the file's settings for this run
(--set holds a parameter at one value at every design point, like [fixed]);
manifest.json records them under command_line_settings, and the experiment as
resolved, so --resume needs none of them again.

\b
An experiment file (TOML) names the scenario(s), replications, seed, horizon,
what to keep, and a [design]: factorial, lhs, sobol, morris, points, or
discovery (levers crossed with sampled futures, for cxsim discover). See the
shipped ones in experiments/.

\b
Writes results/<experiment>/<run-id>/ (or --out, which must be empty):
  manifest.json         experiment as resolved, seeds, versions, chunk status
  points.parquet        one row per design point and its parameter values
  replications.parquet  one row per point x replication: the outcomes
  timeseries.parquet    one row per point x replication x week: the metrics
  summary.csv           per point: mean, sd, 95% CI; success rate, Wilson CI
Ctrl-C keeps every finished chunk; --resume checks each kept chunk against
the row counts and checksums recorded when it was written, recomputes (and
names) any that is damaged or from another run, runs the missing ones, and
gives tables bit-identical to an uninterrupted run.
"""

EPILOG_ANALYZE = """
\b
Examples:
  cxsim analyze results/sobol_reference/20261122-101500-1a2b3c
  cxsim analyze RUN_DIR --outcome final_adoption --out figures/

\b
sobol: first-order and total indices (S1, ST) with bootstrap 95% intervals;
morris: mu*, mu and sigma; lhs: partial rank correlation (PRCC) with 95%
intervals and RBD-FAST first-order indices. Writes sensitivity_<outcome>.csv
and sensitivity_<outcome>.png into RUN_DIR/analysis (or --out); those of an
earlier analysis are replaced only with --force.
"""

# Testing hook: behave as if Ctrl-C were pressed after this many chunks.
_STOP_ENV = "CXSIM_BATCH_STOP_AFTER"


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{x:6.1%}"


def _print_summary(run_dir: Path, workers: int | None) -> None:
    import pandas as pd

    from .store import read_manifest

    # (the manifest, the rows shown and, a block at a time, the names: reading every replication, or every row of
    # summary.csv, to print 15 lines grew with the points)
    m = read_manifest(run_dir)
    show = pd.read_csv(run_dir / "summary.csv", nrows=m["points"] if m["points"] <= 20 else 15, dtype={"name": str})
    with pd.read_csv(run_dir / "summary.csv", usecols=["name"], dtype=str, keep_default_na=False,
                     chunksize=4096) as blocks:
        width = min(max(len(n) for block in blocks for n in block["name"]), 48)
    session = (m.get("sessions") or [{}])[-1]
    workers = session.get("workers") or workers or 1
    how = (f"{workers} threads in this process" if session.get("threads")
           else f"{workers} worker{'s' if workers > 1 else ''}")
    echo(f"{m['experiment_name']}: {m['points']} points x {m['replications']} replications x {m['ticks']} weeks, "
               f"seed {m['seed']}, {m['design']} design; {m['elapsed_seconds']:.1f} s "
               f"({m.get('replications_per_second', 0):.0f} replications/s, {how})")
    click.echo(f"  {'point':<{width}}  success  95% CI (Wilson)   final adoption")
    for _, r in show.iterrows():
        echo(f"  {r['name'][:width]:<{width}}  {_pct(r['success_rate'])}  [{r['success_lo']:6.1%}, "
                   f"{r['success_hi']:6.1%}]  {r['final_adoption_mean']:6.1%}")
    if m["points"] > len(show):
        click.echo(f"  ... {m['points'] - len(show)} more points in summary.csv")
    click.echo(f"wrote {run_dir}/ (manifest.json, points.parquet, replications.parquet, timeseries.parquet, "
               "summary.csv)")
    if m["design"] in ("sobol", "morris", "lhs"):
        click.echo(f"next: cxsim analyze {run_dir}")


@click.command(epilog=EPILOG_BATCH)
@click.argument("experiment", required=False)
@click.option("--workers", "-w", type=click.IntRange(1, 256), default=None,
              help=f"Worker processes, 1 to 256 [default: all cores, here {os.cpu_count()}; a small run, under about "
                   "60 million agent-weeks, runs on one thread per core in this process, where starting workers "
                   "would cost more than they save]. 1 runs in this process alone.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results directory (must not exist or be empty) [default: results/<experiment>/<run-id>].")
@click.option("--resume", "resume", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="RUN_DIR", help="Finish an interrupted run: run only its missing chunks.")
@click.option("--reps", "-n", default=None, type=click.IntRange(1, 10**9),
              help="Replications per design point [default: the file's `replications`].")
@click.option("--seed", "-s", default=None, type=click.IntRange(0, 2**63 - 1),
              help="Seed [default: the file's `seed`]; replication k always uses the k-th stream spawned from it.")
@click.option("--ticks", "-t", default=None, type=click.IntRange(1, 5200),
              help="Weeks to simulate, 1 to 5200 [default: the file's `ticks`, else the scenarios' run.ticks].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Hold a parameter at one value at every point, e.g. committee.cadence_weeks=2 or "
                   "executives.cfo.jealousy=0.6. Repeatable.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (it is also off when stderr is not a terminal).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the chunks on Dask: tcp://HOST:PORT (a running `dask scheduler`) or local:N (a LocalCluster "
                   "of N workers); needs pip install 'cxsim[cluster]'. See docs/cluster.md.")
def batch(experiment, workers, out, resume, reps, seed, ticks, overrides, quiet, scheduler):
    """Run EXPERIMENT (a .toml file or a shipped name) on worker processes into a results store."""
    from ..errors import ResultsError
    from .experiment import load_experiment
    from .runner import resume_run, run_experiment

    stop = os.environ.get(_STOP_ENV)
    stop_after = int(stop) if stop else None
    if experiment is None and resume is None:
        raise click.UsageError("give an EXPERIMENT file, or --resume RUN_DIR")
    if resume is not None and out is not None:
        raise click.UsageError("--out and --resume exclude each other (a resumed run stays where it is)")
    if resume is not None and (overrides or reps is not None or seed is not None or ticks is not None):
        raise click.UsageError("--set, --reps, --seed and --ticks cannot change a run being resumed (its manifest "
                               "fixes them)")
    from contextlib import ExitStack, nullcontext

    from ..scenario import parse_overrides
    from .cluster import dask_executor, starting_cluster
    from .runner import default_run_dir
    from .store import done_chunks, read_manifest

    with ExitStack() as stack:
        # A local:N cluster starts while the experiment loads (each takes a few seconds); one nobody used (an error
        # in the experiment, nothing to resume) is stopped on leaving.
        started = stack.enter_context(starting_cluster(scheduler))
        exp = (load_experiment(experiment, parse_overrides(list(overrides)), reps, seed, ticks)
               if experiment is not None else None)
        if exp is not None:
            from ..extrapolation import calibration_warnings

            exp.calibration_warnings = list(dict.fromkeys(w for sc in exp.scenarios
                                                          for w in calibration_warnings(sc)))
        for line in dict.fromkeys([*(w for sc in (exp.scenarios if exp else []) for w in sc.warnings),
                                   *(exp.calibration_warnings if exp else [])]):
            echo(f"warning: {line}", err=True)
        target = resume if resume is not None else (out if out is not None else default_run_dir(exp))
        try:
            if resume is not None and read_manifest(resume).get("complete"):
                echo(f"{resume}: already complete; nothing to resume")
                return
            executor_cm = dask_executor(scheduler, started=started) if scheduler else nullcontext((None, workers))
            with executor_cm as (executor, workers):
                if resume is not None:
                    run_dir = resume_run(resume, exp, workers=workers, quiet=quiet, stop_after=stop_after,
                                         executor=executor)
                else:
                    run_dir = run_experiment(exp, target, workers=workers, quiet=quiet, stop_after=stop_after,
                                             executor=executor)
        except KeyboardInterrupt:
            try:
                n = len(read_manifest(target)["chunks"])
                echo(f"stopped: {len(done_chunks(target))} of {n} chunks kept in {target}/; "
                     f"finish with: cxsim batch --resume {target}", err=True)
            except ResultsError:
                pass
            raise
    _print_summary(run_dir, workers)


@click.command(epilog=EPILOG_ANALYZE)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--outcome", default="success", show_default=True,
              help="Column of replications.parquet averaged per point (success = success probability; "
                   "also final_adoption, peak_adoption, final_cx_index, ...).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the CSV and chart [default: RUN_DIR/analysis].")
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(10, 100_000),
              help="Bootstrap resamples for the confidence intervals.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the bootstrap.")
@click.option("--force", is_flag=True, help="Replace the CSV and chart of an earlier analysis of this outcome.")
def analyze(run_dir, outcome, out, resamples, seed, force):
    """Sensitivity of an OUTCOME to the parameters of a sobol, morris or lhs run in RUN_DIR."""
    from .analyze import METHODS, analyze_run

    res = analyze_run(run_dir, outcome=outcome, out=out, num_resamples=resamples, seed=seed, force=force)
    echo(f"{run_dir}: {METHODS[res.method]}; outcome: mean {outcome} per point")
    with_cols = [c for c in res.table.columns if c not in ("PRCC_p",)]
    click.echo(res.table[with_cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if res.note:
        echo(f"warning: {res.note}", err=True)
    echo(f"wrote {res.csv}" + (f" and {res.png}" if res.png else ""))
