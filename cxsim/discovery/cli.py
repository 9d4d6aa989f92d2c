"""``cxsim discover``: scenario discovery (PRIM, CART) and robust choices on a finished run."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import printable

EPILOG = """
\b
Examples:
  cxsim batch experiments/discovery.toml --out results/discovery/main
  cxsim discover results/discovery/main
  cxsim discover results/discovery/main --box 6
  cxsim discover results/discovery/main --where "final_adoption >= 0.8"

\b
PRIM peels the futures (one per design point and replication) down to a box of
levers and uncertainties where the outcome is common: DENSITY is the share of
the box's futures with the outcome, COVERAGE the share of all futures with the
outcome that lie in the box. The trajectory lists every box; --box N describes
box N (default: the knee, the largest coverage x lift with at most three
restrictions). Each restriction gets a quasi-p-value (small: it matters) and the
share of bootstrap resamples in which it reappears. CART (a depth-3 decision
tree) is the cross-check. For a discovery design (levers crossed with sampled
futures) every choice is ranked by its worst-case regret.

\b
Writes into RUN_DIR/discovery (or --out): trajectory.csv, box.csv, cart.csv,
robustness.csv, trajectory.png, cart.png, robustness.png; those of an earlier
discovery are replaced only with --force.
"""

FILES = ("trajectory.csv", "box.csv", "cart.csv", "robustness.csv", "trajectory.png", "cart.png", "robustness.png")


@click.command(epilog=EPILOG, context_settings={"max_content_width": 100})
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--outcome", default="success", show_default=True,
              help="A yes/no column of the replications table: the futures of interest.")
@click.option("--where", default=None, metavar="CONDITION",
              help='Instead of --outcome: "<column> <op> <number>", e.g. "final_adoption >= 0.6".')
@click.option("--box", "box", type=click.IntRange(min=0), default=None,
              help="Describe box N of the peeling trajectory (default: the knee).")
@click.option("--resamples", default=50, show_default=True, type=click.IntRange(0, 1000),
              help="Bootstrap resamples for how often each restriction reappears (0: skip).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the resamples.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the tables and figures (default: RUN_DIR/discovery).")
@click.option("--force", is_flag=True, help="Replace the files of an earlier discovery.")
def discover(run_dir, outcome, where, box, resamples, seed, out, force):
    """Which levers lead to success, under which conditions: PRIM, CART and robust choices on RUN_DIR."""
    from ..safeio import atomic_write, check_new_files
    from .core import discover as run_discovery
    from .figures import cart_figure, robustness_figure, trajectory_figure

    out = out or Path(run_dir) / "discovery"
    check_new_files(out, FILES, force)
    d = run_discovery(run_dir, outcome=outcome, where=where, box=box, resamples=resamples, seed=seed)
    echo = lambda text="": click.echo(printable(text))  # noqa: E731
    echo(f"{run_dir}: {len(d.prim.y):,} futures; {d.base_rate:.1%} {d.outcome_name}")
    echo(f"PRIM peeling trajectory ({len(d.trajectory)} boxes):")
    t = d.trajectory
    step = max(1, len(t) // 15)
    shown = sorted(set(range(0, len(t), step)) | {d.chosen, len(t) - 1})
    click.echo(t.iloc[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    echo()
    echo(f"Box {d.chosen}: {d.summary()}")
    r = d.restrictions[d.restrictions["restricted"]]
    if len(r):
        click.echo(r[["label", "role", "limits", "full range", "quasi_p", "resample_share"]]
                   .rename(columns={"resample_share": "in resamples"})
                   .to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    echo()
    echo("CART cross-check (depth-3 tree), leaves by their share of futures that " + d.outcome_name + ":")
    click.echo(d.cart_rules.head(4).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if d.robustness is not None:
        echo()
        echo("Robust choices (every choice in the same futures; regret: below the best choice for that future):")
        cols = ["choice", "mean", "p10", "mean_regret", "max_regret"]
        click.echo(d.robustness[cols].head(8).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        echo()
        echo(f"Most robust: {d.robustness['choice'].iloc[0]}.")
        echo(robust_failure_sentence(d))
    out.mkdir(parents=True, exist_ok=True)
    tables = {"trajectory.csv": d.trajectory, "box.csv": d.restrictions, "cart.csv": d.cart_rules}
    if d.robustness is not None:
        tables["robustness.csv"] = d.robustness
    for name, df in tables.items():  # tables first: a figure that fails costs no table
        with atomic_write(out / name) as tmp:
            df.to_csv(tmp, index=False)
    trajectory_figure(d, out / "trajectory.png")
    cart_figure(d, out / "cart.png")
    if d.robustness is not None:
        robustness_figure(d, out / "robustness.png")
    echo(f"wrote {out}/ ({', '.join(sorted(p.name for p in out.iterdir() if p.name in FILES))})")


def robust_failure_sentence(d) -> str:
    """When the most robust choice fails, in one sentence (or that no simple condition explains it)."""
    if d.robust_fails_when is None:
        return "It fails too rarely in these futures to say when."
    s = d.robust_fail_stats
    lift = (s["density"] - s["base"]) / max(1e-12, 1 - s["base"])
    text = (f"It fails in {s['base']:.0%} of its futures; most often when {d.robust_fails_when} "
            f"({s['density']:.0%} fail there, {s['coverage']:.0%} of its failures).")
    if lift < 0.1:
        text += " That condition barely raises the failure rate: its failures are mostly bad luck, not conditions."
    return text
