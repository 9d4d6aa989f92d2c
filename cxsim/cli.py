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
    from .extrapolation import calibration_warnings

    sc = load_scenario(scenario, list(overrides))
    for line in sc.warnings + calibration_warnings(sc):
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
stages) and warnings for consequential omissions and for an organization
outside the calibrated range (150 to ~32,000 employees, 4 to 11 functions,
5 to 12 executives, 7 to 11 journey stages); the first problem is one
line naming the file, the key, the bad value and what is allowed, exit code 2.
"""

EPILOG_PARAMS = """
\b
Examples:
  cxsim params
  cxsim params committee
  cxsim params executives        # also: departments, stages, influence
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
    from .extrapolation import calibration_warnings
    from .scenario import load_scenario

    for f in files:
        sc = load_scenario(f, list(overrides))
        for line in sc.warnings + calibration_warnings(sc):
            echo(f"warning: {line}", err=True)
        echo(f"{sc.path}: ok ({len(sc.executives)} executives, {len(sc.departments)} departments, "
                   f"{sum(int(d['headcount']) for d in sc.departments)} employees, {len(sc.stages)} journey stages)")


def _fmt_default(p) -> str:
    return "true" if p.default is True else "false" if p.default is False else repr(p.default)


@cli.command(epilog=EPILOG_PARAMS)
@click.argument("section", required=False)
def params(section):
    """List every parameter with its default, unit and meaning (optionally one SECTION, or a list's fields)."""
    from .params import LISTS, PARAMS, SECTIONS
    from .scenario import did_you_mean

    if section in LISTS:
        click.echo(f"\n[[{section}]]  (one table per item; fields:)")
        for key, p in LISTS[section][0].items():
            req = "required" if p.required else _fmt_default(p)
            click.echo(f"  {key:<32} = {req:<12} {p.unit:<22} {p.allowed()}")
            click.echo(f"      {p.doc}")
        click.echo("\nHow to estimate each field from surveys, interviews and HR data: docs/organization-format.md")
        return
    if section and section not in SECTIONS:
        raise CXSimError(f"params: unknown section {section!r}{did_you_mean(section, (*SECTIONS, *LISTS))}; "
                         f"sections: {', '.join(SECTIONS)}; lists: {', '.join(LISTS)}")
    current = None
    for key, p in PARAMS.items():
        sec = key.split(".")[0]
        if section and sec != section:
            continue
        if sec != current:
            click.echo(f"\n[{sec}]")
            current = sec
        click.echo(f"  {key.split('.', 1)[1]:<32} = {_fmt_default(p):<12} {p.unit:<22} {p.allowed()}")
        click.echo(f"      {p.doc}")


EPILOG_IMPORT = """
\b
Examples:
  cxsim templates                                   # copy org_chart.csv and executive_survey.csv here
  cxsim import org_chart.csv --out acme.toml
  cxsim import acme.xlsx --owner coo --mandate budget --sponsor passive --committee-weeks 0
  cxsim study acme.toml                             # then compare governance options for it

\b
One row per department, plus one for each executive without departments (the
CEO). Columns (only `executive` is required; `cxsim templates` writes an example):
  executive, title, reports_to (empty for the CEO), owns_cx (yes for the CX
  owner), department, department_name, headcount, office (front|back), stages
  (journey stages the department serves, separated by ';'), and optional survey
  columns scored 1 to 5 (or a percentage): influence, buy_in, jealousy,
  understanding, trust (executives); readiness, skill, silo (departments).
Writes a commented scenario TOML (never over an existing file without --force);
inputs not given are left out and named in a warning. A bad cell is one line
naming the file, the row and column, the value and what is allowed; exit 2.
.xlsx needs the xlsx extra: pip install 'cxsim[xlsx]'.
"""

EPILOG_NEW = """
\b
Examples:
  cxsim new acme                                    # asks the questions, defaults in brackets
  cxsim new acme --yes                              # every default, no questions
  cxsim new acme --employees 400 --executives "CMO, Head of Sales, COO, CTO, CFO" \
      --owner COO --mandate budget --sponsor passive --committee-weeks 0 --buy-in 3 --yes

\b
Every question is also a flag; questions answered by a flag are not asked, and
--yes takes the default for the rest. Writes NAME.toml (or --out): one department
per executive with the headcount split evenly and the journey stages assigned by
the department's function, for you to edit; `cxsim import` reads a real org chart.
"""

EPILOG_TEMPLATES = """
\b
Examples:
  cxsim templates
  cxsim templates my-org/

\b
Writes org_chart.csv (the spreadsheet `cxsim import` reads, filled in for a
400-person software firm) and executive_survey.csv (the survey questions on
1-to-5 scales and the field each one feeds) into DIR; existing files are
replaced only with --force.
"""

_GOVERNANCE_OPTIONS = [
    ("--mandate", "owner.mandate", click.Choice(["advisory", "budget"]),
     "The CX owner's mandate today: advisory (persuasion only) or budget (funds training, staff, targets)."),
    ("--sponsor", "sponsorship.level", click.Choice(["none", "passive", "active"]),
     "The CEO's sponsorship of CX today: none, passive (aware, not active) or active."),
    ("--committee-weeks", "committee.cadence_weeks", click.IntRange(0, 520),
     "Weeks between CX committee meetings today; 0: there is no committee."),
]


def _governance(values: dict) -> dict:
    out = {}
    for opt, key, _, _ in _GOVERNANCE_OPTIONS:
        v = values.get(opt)
        if v is None:
            continue
        if key == "committee.cadence_weeks":
            out["committee.enabled"] = v > 0
            if v > 0:
                out[key] = v
        else:
            out[key] = v
    return out


def _governance_options(f):
    for opt, _, typ, help_ in reversed(_GOVERNANCE_OPTIONS):
        f = click.option(opt, opt.lstrip("-").replace("-", "_"), type=typ, default=None,
                         help=help_ + " [default: not given: the model's default, with a warning]")(f)
    return f


def _write_scenario(text: str, out: Path, force: bool, sc_name: str) -> None:
    import tomllib

    from .extrapolation import calibration_warnings
    from .safeio import atomic_write, check_new_file
    from .scenario import scenario_from_dict

    check_new_file(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    sc = scenario_from_dict(tomllib.loads(text), file=str(out), default_name=sc_name)
    for line in sc.warnings + calibration_warnings(sc):
        echo(f"warning: {line}", err=True)
    echo(f"wrote {out} ({len(sc.executives)} executives, {len(sc.departments)} departments, "
         f"{sum(int(d['headcount']) for d in sc.departments):,} employees, {len(sc.stages)} journey stages)")
    echo(f"next: cxsim study {out}")


@cli.command("import", epilog=EPILOG_IMPORT)
@click.argument("org_chart", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The scenario file to write [default: ORG_CHART's name with .toml].")
@click.option("--name", default=None, help="The organization's name [default: the --out file's stem].")
@click.option("--owner", default=None, metavar="ID", help="The executive who owns CX (instead of an owns_cx column).")
@_governance_options
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def import_(org_chart, out, name, owner, mandate, sponsor, committee_weeks, force):
    """Turn an org chart spreadsheet (ORG_CHART: .csv or .xlsx) into a commented scenario file."""
    from .orgchart import read_org_chart, scenario_toml
    from .safeio import check_new_file

    out = out or org_chart.with_suffix(".toml")
    check_new_file(out, force)
    gov = _governance({"--mandate": mandate, "--sponsor": sponsor, "--committee-weeks": committee_weeks})
    org = read_org_chart(org_chart, name=name or out.stem, owner=owner, governance=gov)
    _write_scenario(scenario_toml(org, f"cxsim import {org_chart.name}"), out, force, org.name)


_NEW_QUESTIONS = [
    # (option, prompt, default, type)
    ("description", "One sentence about the organization", "", str),
    ("employees", "Employees in total", 400, click.IntRange(1, 10_000_000)),
    ("executives", "Executives besides the CEO (titles, comma-separated)", "CMO, Head of Sales, COO, CFO", str),
    ("owner", "Who owns CX (one of those titles)", "", str),
    ("mandate", "The CX owner's mandate today (advisory or budget)", "advisory", click.Choice(["advisory", "budget"])),
    ("sponsor", "The CEO's sponsorship of CX today (none, passive or active)", "passive",
     click.Choice(["none", "passive", "active"])),
    ("committee_weeks", "Weeks between CX committee meetings today (0: no committee)", 0, click.IntRange(0, 520)),
    ("stages", "The customer journey's stages (comma-separated)", "Discover, Buy, Onboard, Use, Pay, Get support, "
     "Renew", str),
    ("buy_in", "Executives' typical buy-in to CX, 1 to 5 (empty: unknown)", "", str),
    ("readiness", "Departments' typical readiness for change, 1 to 5 (empty: unknown)", "", str),
]


@cli.command(epilog=EPILOG_NEW)
@click.argument("name")
@click.option("--description", default=None, help="One sentence about the organization.")
@click.option("--employees", type=click.IntRange(1, 10_000_000), default=None, help="Employees in total [400].")
@click.option("--executives", default=None, help="Executives besides the CEO, titles comma-separated "
              "[CMO, Head of Sales, COO, CFO].")
@click.option("--owner", default=None, help="The title or id of the executive who owns CX [the first executive].")
@click.option("--mandate", type=click.Choice(["advisory", "budget"]), default=None,
              help="The CX owner's mandate today [advisory].")
@click.option("--sponsor", type=click.Choice(["none", "passive", "active"]), default=None,
              help="The CEO's sponsorship of CX today [passive].")
@click.option("--committee-weeks", type=click.IntRange(0, 520), default=None,
              help="Weeks between CX committee meetings today; 0: no committee [0].")
@click.option("--stages", default=None, help="The customer journey's stages, comma-separated "
              "[Discover, Buy, Onboard, Use, Pay, Get support, Renew].")
@click.option("--buy-in", default=None, help="Executives' typical buy-in to CX, 1 to 5 [unknown: the model's "
              "default, with a warning].")
@click.option("--readiness", default=None, help="Departments' typical readiness for change, 1 to 5 [unknown].")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The scenario file to write [default: NAME.toml, lower case, spaces as dashes].")
@click.option("--yes", "-y", is_flag=True, help="Ask nothing: the default for every question not given as a flag.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
def new(name, out, yes, force, **answers):
    """Write a first scenario file for organization NAME from a short questionnaire."""
    from .orgchart import draft_org, scenario_toml, slug
    from .safeio import check_new_file

    if not slug(name):
        raise CXSimError(f"cxsim new: NAME = {name!r}: expected a name with letters or digits, e.g. acme")
    out = out or Path(f"{slug(name).replace('_', '-')}.toml")
    check_new_file(out, force)
    governance_keys = ("mandate", "sponsor", "committee_weeks")
    for key, prompt, default, typ in _NEW_QUESTIONS:
        if answers.get(key) is None:
            if key == "owner":
                default = answers["executives"].split(",")[0].strip() if answers.get("executives") else "CMO"
            if yes:
                # Governance nobody stated stays out of the file, so the warnings say it is a guess.
                answers[key] = None if key in governance_keys else default
            else:
                answers[key] = click.prompt(prompt, default=default, type=typ, show_default=default != "", err=True)
    scores = {}
    for key, opt in (("buy_in", "--buy-in"), ("readiness", "--readiness")):
        raw = str(answers[key]).strip()
        try:
            scores[key] = float(raw) if raw else None
        except ValueError:
            raise CXSimError(f"cxsim new: {opt} = {raw!r}: expected a score from 1 to 5, or nothing") from None
    gov = _governance({"--mandate": answers["mandate"], "--sponsor": answers["sponsor"],
                       "--committee-weeks": answers["committee_weeks"]})
    org = draft_org(name, answers["description"] or "", answers["employees"], answers["executives"],
                    answers["owner"] or None, gov, answers["stages"], scores["buy_in"], scores["readiness"])
    _write_scenario(scenario_toml(org, "cxsim new"), out, force, name)


@cli.command(epilog=EPILOG_TEMPLATES)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--force", is_flag=True, help="Replace existing files of the same names.")
def templates(directory, force):
    """Copy the org chart and executive survey templates (CSV) into DIRECTORY [default: here]."""
    from .orgchart import TEMPLATE_DIR, TEMPLATES
    from .safeio import atomic_write, check_new_files

    check_new_files(directory, TEMPLATES, force)
    directory.mkdir(parents=True, exist_ok=True)
    for name, what in TEMPLATES.items():
        with atomic_write(directory / name) as tmp:
            tmp.write_bytes((TEMPLATE_DIR / name).read_bytes())
        echo(f"wrote {directory / name}: {what}")


def main(argv=None) -> None:
    """Entry point: user errors print one line and exit 2; no traceback."""
    from ._alloc import tune

    tune()  # (batches in this process, the threads path's, reuse their memory: cxsim/_alloc.py)
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


def entry() -> None:
    """The ``cxsim`` command (and ``python -m cxsim``): :func:`main`, then an exit without a garbage hunt.

    On exit Python tears its modules down, running the cyclic garbage collector over
    every object as it goes: with numba's, pandas's and pyarrow's objects loaded, that
    took 0.3-0.4 s of every command (1.45 s against 1.1 s, medians of six, for a process
    that imports cxsim and loads its kernels). :func:`gc.freeze` first leaves them to the
    end of the process, which returns their memory anyway; atexit handlers still run and
    objects are still released by reference count. Only the real command does this (tests
    call :func:`main`, in a process that goes on).
    """
    import gc

    try:
        main()
    finally:
        gc.freeze()


# -- commands contributed by other modules (one line each; keep this block last) --------
class _Deferred(click.Command):
    """A command whose module is imported only when the command is used (or its help shown).

    Each command's module pulls in what only it needs (the report matplotlib, the
    dashboard Mesa and Solara, discovery scikit-learn): a second or more that every
    other command, and every batch, would otherwise pay at start-up.
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
    for module, names in (
        ("cxsim.batch.cli", ("batch", "analyze")),
        ("cxsim.compare.cli", ("compare", "report", "study")),
        ("cxsim.dashboard.cli", ("dashboard",)),
        ("cxsim.discovery.cli", ("discover",)),
    ):
        for name in names:
            cli.add_command(_Deferred(name, module))


_register_optional_commands()
