"""The command line: parse, call the library, turn user errors into one line and exit code 2."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .errors import CXSimError, printable


def echo(text: str, err: bool = False) -> None:
    """``click.echo`` of a line that holds user text (names, ids, paths): control characters escaped."""
    click.echo(printable(text), err=err)


MAX_RUN_ROWS = 10_000_000
"""Most timeseries rows (replications x (weeks + 1)) ``cxsim run`` holds in memory (a few GiB)."""

EPILOG_RUN = """
\b
Examples:
  cxsim run reference --reps 1000 --out results/reference
  cxsim run governance/budget-sponsor-committee --reps 500 --seed 7 --out results/best
  cxsim run scenarios/reference.toml --set committee.enabled=true --set committee.cadence_weeks=2 --out results/biweekly

\b
Writes into DIR (never over existing results unless --force):
  manifest.json         the scenario as resolved, seed, package versions, summary
  timeseries.parquet    one row per replication and week: adoption, buy-in, ...
  replications.parquet  one row per replication: final_adoption, weeks_to_50,
                        weeks_to_80, success, owner_departures, ...
  adoption.png          median adoption with 50% and 90% bands
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="cxsim")
def cli():
    """cxsim: simulate how customer-experience management takes hold (or not) inside a company.

    \b
    Executives carry true and expressed buy-in, jealousy, trust and understanding;
    departments carry readiness, CX skill, silo pull and adoption. Governance levers:
    the owner's mandate (advisory or budget-holding), CEO sponsorship, a CX committee.
    One tick is one week. Scenarios are TOML files (see `cxsim scenarios`); every
    parameter is documented by `cxsim params`.
    """  # noqa: D301 - click's no-rewrap marker must be a real backspace (\b), so no raw string


def _progress(total: int, quiet: bool, desc: str):
    from tqdm import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="wk", disable=disable, leave=False, dynamic_ncols=True)


@cli.command(epilog=EPILOG_RUN)
@click.argument("scenario")
@click.option("--reps", "-n", default=100, show_default=True, type=click.IntRange(1, MAX_RUN_ROWS),
              help="Replications to run (replications x (weeks + 1) at most 10,000,000: the tables are held in "
                   "memory; use `cxsim batch` for more).")
@click.option("--seed", "-s", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Seed; replication k always uses the k-th stream spawned from it.")
@click.option("--ticks", "-t", default=None, type=click.IntRange(1, 5200),
              help="Weeks to simulate, 1 to 5200 [default: the scenario's run.ticks, 156].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter by dotted key, e.g. committee.cadence_weeks=2 or "
                   "executives.cfo.jealousy=0.6. Repeatable.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory [default: results/runs/<scenario>-seed<S>].")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(scenario, reps, seed, ticks, overrides, out, force, quiet):
    """Run SCENARIO (a .toml file or a shipped name like `reference`) and write its results."""
    from .provenance import now_iso
    from .runio import check_output_dir, write_run
    from .scenario import load_scenario
    from .simulate import simulate

    started = now_iso()
    sc = load_scenario(scenario, list(overrides))
    for line in sc.warnings:
        echo(f"warning: {line}", err=True)
    ticks = sc.ticks if ticks is None else ticks
    if reps * (ticks + 1) > MAX_RUN_ROWS:  # checked before anything is allocated
        raise CXSimError(f"--reps {reps} x {ticks + 1} weeks = {reps * (ticks + 1):,} timeseries rows; at most "
                         f"{MAX_RUN_ROWS:,} are held in memory by `cxsim run`: use fewer replications, or "
                         "`cxsim batch`, which streams them to disk")
    out = out or Path("results") / "runs" / f"{_folder_name(sc.name)}-seed{seed}"
    check_output_dir(out, force)
    batch = 2000
    from ._jitcache import warm_up

    warm_up(sc, None if quiet else lambda line: click.echo(line, err=True))
    with _progress(ticks * -(-reps // batch), quiet, sc.name) as bar:
        result = simulate(sc, replications=reps, seed=seed, ticks=ticks, batch_size=batch, _progress=bar.update)
    path = write_run(result, out, reps, ticks, started, force=force,
                     warn=lambda line: echo(f"warning: {line}", err=True))
    rp = result.replications
    w50 = rp["weeks_to_50"].dropna()
    echo(f"{sc.name}: {reps} replications x {ticks} weeks, seed {seed}")
    click.echo(f"  success (final adoption >= {sc['run.success_threshold']:.0%}): {rp['success'].mean():.1%}")
    click.echo(f"  final adoption: mean {rp['final_adoption'].mean():.1%}, "
               f"median {rp['final_adoption'].median():.1%}")
    click.echo(f"  reached 50%: {len(w50) / len(rp):.1%}" + (f" (median week {w50.median():.0f})" if len(w50) else ""))
    click.echo(f"  first owner left by the horizon: {(rp['owner_departures'] > 0).mean():.1%}")
    echo(f"wrote {path}/ ({', '.join(json.loads((path / 'manifest.json').read_text())['files'])})")


def _folder_name(name: str) -> str:
    """A scenario name made safe as one folder name: printable, no separators, at most 100 characters."""
    safe = "".join(c if c.isprintable() and c not in "/\\" else "_" for c in name).lstrip(".") or "scenario"
    return safe[:100]


EPILOG_SCENARIOS = """
\b
Examples:
  cxsim scenarios
  cxsim run governance/budget-sponsor-committee --reps 500 --out results/best
  cxsim validate scenarios/reference.toml

\b
A shipped scenario is named by its path below scenarios/ without .toml; any
command that takes a SCENARIO also takes a .toml file of your own, which may
`extends = "..."` a shipped one and override only what differs.
"""

EPILOG_VALIDATE = """
\b
Examples:
  cxsim validate my_company.toml
  cxsim validate scenarios/governance/*.toml
  cxsim validate reference --set committee.enabled=true --set executives.cfo.jealousy=0.6

\b
Prints one line per valid file (executives, departments, employees, journey
stages) and warnings for consequential omissions; the first problem is one
line naming the file, the key, the bad value and what is allowed, exit code 2.
"""

EPILOG_PARAMS = """
\b
Examples:
  cxsim params
  cxsim params committee
  cxsim params | grep -i jealousy

\b
Each line: key, default, unit, allowed values, then what it means. Set a
parameter in a scenario file's [section] or with --set section.key=VALUE.
"""


@cli.command(epilog=EPILOG_SCENARIOS)
def scenarios():
    """List the shipped scenarios, one line each."""
    from .scenario import SCENARIO_DIR, load_scenario, shipped_scenarios

    names = shipped_scenarios()
    width = max((len(n) for n in names), default=10)
    for name in names:
        sc = load_scenario(SCENARIO_DIR / f"{name}.toml")
        echo(f"{name:<{width}}  {sc.description}")


@cli.command(epilog=EPILOG_VALIDATE)
@click.argument("files", nargs=-1, required=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Overrides to check too.")
def validate(files, overrides):
    """Check scenario FILES without running them (exit 2 on the first problem)."""
    from .scenario import load_scenario

    for f in files:
        sc = load_scenario(f, list(overrides))
        for line in sc.warnings:
            echo(f"warning: {line}", err=True)
        echo(f"{sc.path}: ok ({len(sc.executives)} executives, {len(sc.departments)} departments, "
                   f"{sum(int(d['headcount']) for d in sc.departments)} employees, {len(sc.stages)} journey stages)")


@cli.command(epilog=EPILOG_PARAMS)
@click.argument("section", required=False)
def params(section):
    """List every parameter with its default, unit and meaning (optionally one SECTION)."""
    from .params import PARAMS, SECTIONS

    if section and section not in SECTIONS:
        raise CXSimError(f"params: unknown section {section!r}; sections: {', '.join(SECTIONS)}")
    current = None
    for key, p in PARAMS.items():
        sec = key.split(".")[0]
        if section and sec != section:
            continue
        if sec != current:
            click.echo(f"\n[{sec}]")
            current = sec
        default = "true" if p.default is True else "false" if p.default is False else repr(p.default)
        click.echo(f"  {key.split('.', 1)[1]:<32} = {default:<12} {p.unit:<22} {p.allowed()}")
        click.echo(f"      {p.doc}")


def main(argv=None) -> None:
    """Entry point: user errors print one line and exit 2; no traceback."""
    try:
        cli.main(args=argv, prog_name="cxsim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CXSimError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # `cxsim params | head`: the reader left; say nothing, like git
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as exc:
        # Read-only folder, full disk, a path below a file, a name too long: one line naming the path,
        # as git does. Every writer works on temporary names, so nothing half-written looks complete.
        from .safeio import os_error_line

        click.echo(f"error: {os_error_line(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)


# -- commands contributed by other modules (one line each; keep this block last) --------
class _Deferred(click.Command):
    """A command whose module is imported only when the command is used (or its help shown).

    For the dashboard, whose module imports Mesa (a second or two), which no other
    command needs.
    """

    def __init__(self, name: str, module: str):
        super().__init__(name)
        self._module = module

    def _real(self) -> click.Command:
        import importlib

        return getattr(importlib.import_module(self._module), self.name)

    def make_context(self, info_name, args, parent=None, **extra):  # (the group then invokes the real command)
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self._real().get_short_help_str(limit)


def _register_optional_commands() -> None:
    import importlib
    import importlib.util

    for module, names in (
        ("cxsim.batch.cli", ("batch", "analyze")),
        ("cxsim.compare.cli", ("compare", "report")),
        ("cxsim.dashboard.cli", ("dashboard",)),
    ):
        if module == "cxsim.dashboard.cli" and importlib.util.find_spec(module) is not None:
            cli.add_command(_Deferred("dashboard", module))
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("cxsim"):
                continue  # that part is not built yet
            raise
        for name in names:
            cli.add_command(getattr(mod, name))


_register_optional_commands()
