"""``cxsim study``: the governance options for one organization, compared with its current governance.

The study is the 2 x 2 x 2 governance factorial -- the owner's mandate (advisory or
budget-holding), CEO sponsorship (none or active), a CX committee (none, or meeting on the
organization's own cadence, monthly by default) -- run on the given organization, plus its
current governance as the baseline when that is not one of the eight. Every option is
named in words ("budget-holding owner, active CEO sponsor, monthly committee") and carries
a description of its own. Asked (``--owner``), it also tries other executives as the CX
owner, repeating the eight options for each. It reuses the batch runner (one experiment, common random
numbers across options) and the HTML report.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario import Scenario

__all__ = ["Option", "governance_options", "option_label", "study_experiment", "run_study"]

_CADENCE = {1: "weekly", 2: "fortnightly", 4: "monthly", 13: "quarterly", 26: "half-yearly"}


@dataclass
class Option:
    """One governance option: its name in words, its own description and the overrides that make it."""

    name: str
    description: str
    overrides: dict[str, Any]
    current: bool = False


def option_label(mandate: str, level: str, committee: bool, cadence: int) -> str:
    """The option in words: 'budget-holding owner, active CEO sponsor, monthly committee'."""
    owner = "budget-holding owner" if mandate == "budget" else "advisory owner"
    sponsor = {"none": "no CEO sponsor", "passive": "passive CEO sponsor", "active": "active CEO sponsor"}[level]
    if not committee:
        com = "no committee"
    else:
        com = f"{_CADENCE[cadence]} committee" if cadence in _CADENCE else f"committee every {cadence} weeks"
    return f"{owner}, {sponsor}, {com}"


def _describe(sc: Scenario, mandate: str, level: str, committee: bool, cadence: int, start: int) -> str:
    owner = next((e for e in sc.executives if e["id"] == sc["owner.executive"]), {"title": sc["owner.executive"]})
    who = owner.get("title") or owner["id"]
    parts = [f"The {who} owns CX " + ("with a budget for training, staff and cross-functional targets"
                                        if mandate == "budget" else "in an advisory role: persuasion only, no "
                                        "staff or budget")]
    when = f" from week {start}" if start else ""
    parts.append({"none": "the CEO does not sponsor it",
                  "passive": f"the CEO is aware of it but not active{when}",
                  "active": f"the CEO sponsors it actively{when}, protecting the owner and the budget"}[level])
    parts.append(f"all executives meet as a CX committee every {cadence} week{'s' if cadence != 1 else ''}"
                 if committee else "there is no CX committee")
    return "; ".join(parts) + "."


def _who(sc: Scenario, eid: str) -> str:
    """A short name of an executive for labels: its id in capitals when short (COO), else its title."""
    e = next((x for x in sc.executives if x["id"] == eid), {"id": eid, "title": ""})
    return eid.upper() if len(eid) <= 4 else (e.get("title") or eid)


def governance_options(sc: Scenario, owners: tuple[str, ...] = ()) -> tuple[list[Option], str]:
    """The eight factorial options and, if different, the current governance; plus the baseline's name.

    The committee meets on the organization's own cadence when it has a committee, monthly otherwise;
    CEO sponsorship starts when the organization's does. ``owners`` names other executives who
    could own CX: the eight options are then repeated for each, and every label says who owns CX.

    Raises:
        CXSimError: an ``owners`` id is not one of the organization's executives.
    """
    from ..errors import CXSimError
    from ..scenario import did_you_mean

    ids = [e["id"] for e in sc.executives]
    for o in owners:
        if o not in ids:
            raise CXSimError(f"--owner = {o!r}: no such executive in {sc.name}{did_you_mean(o, ids)}; executives: "
                             + ", ".join(ids))
    own = sc["owner.executive"]
    who_list = [own] + [o for o in dict.fromkeys(owners) if o != own]
    named = len(who_list) > 1
    cadence = int(sc["committee.cadence_weeks"]) if sc["committee.enabled"] else 4
    start = int(sc["sponsorship.start_week"])
    cur = (sc["owner.mandate"], sc["sponsorship.level"], bool(sc["committee.enabled"]))
    opts = []
    for who in who_list:
        owner_sc = sc if who == own else sc.with_overrides({"owner.executive": who})
        for mandate, level, committee in itertools.product(("advisory", "budget"), ("none", "active"),
                                                           (False, True)):
            is_cur = (mandate, level, committee) == cur and who == own
            desc = _describe(owner_sc, mandate, level, committee, cadence, start)
            label = option_label(mandate, level, committee, cadence)
            if named:
                label = label.replace(" owner,", f" owner ({_who(sc, who)}),", 1)
            opts.append(Option(label, ("Today's governance. " if is_cur else "") + desc,
                               {"owner.executive": who, "owner.mandate": mandate, "sponsorship.level": level,
                                "committee.enabled": committee, "committee.cadence_weeks": cadence}, is_cur))
    current = next((o for o in opts if o.current), None)
    if current is None:
        own_cadence = int(sc["committee.cadence_weeks"])
        label = option_label(*cur, own_cadence)
        if named:
            label = label.replace(" owner,", f" owner ({_who(sc, own)}),", 1)
        current = Option(label, "Today's governance. " + _describe(sc, *cur, own_cadence, start), {}, True)
        opts.insert(0, current)
    return opts, current.name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "organization"


def study_experiment(sc: Scenario, replications: int, seed: int, ticks: int | None = None,
                     chunk_size: int = 500, owners: tuple[str, ...] = ()):
    """The study as an :class:`~cxsim.batch.experiment.Experiment` (a list of scenarios, one per option)."""
    from ..batch.experiment import experiment_from_dict
    from ..extrapolation import calibration_warnings

    opts, baseline = governance_options(sc, owners)
    scenarios = []
    for o in opts:
        variant = sc.with_overrides({**o.overrides, "meta.name": o.name, "meta.description": o.description})
        variant.defaulted = [k for k in sc.defaulted]  # the warnings speak of the organization as entered
        scenarios.append(variant)
    data = {
        "name": f"study-{_slug(sc.name)}",
        "description": f"Governance options for {sc.name}, against its current governance ({baseline})",
        "scenarios": [o.name for o in opts],
        "replications": replications, "seed": seed, "chunk_size": min(chunk_size, max(replications, 1)),
        "keep": {"per_agent": True},
        "design": {"type": "factorial"},
    }
    if ticks is not None:
        data["ticks"] = ticks
    exp = experiment_from_dict(data, file=sc.path or sc.name, scenarios=scenarios, default_name=data["name"])
    exp.calibration_warnings = calibration_warnings(sc)
    exp.organization = sc.name
    return exp, baseline


def run_study(sc: Scenario, out: str | Path, replications: int = 200, seed: int = 0, ticks: int | None = None,
              workers: int | None = None, quiet: bool = True, command: str | None = None,
              resamples: int | None = None, owners: tuple[str, ...] = ()) -> tuple[Path, Path, Any]:
    """Run the study into ``out`` and write ``out/report.html`` (``owners``: other executives who could own CX).

    Returns:
        ``(run_dir, report_path, comparison)``.
    """
    from ..batch.runner import run_experiment
    from .analysis import compare_run
    from .effects import BOOTSTRAP_RESAMPLES
    from .figures import report_figures
    from .report import write_report

    exp, baseline = study_experiment(sc, replications, seed, ticks, owners=owners)
    run_dir = run_experiment(exp, out, workers=workers, quiet=quiet)
    c = compare_run(run_dir, baseline=baseline, resamples=resamples or BOOTSTRAP_RESAMPLES)
    specs = report_figures(c, workers=workers or os.cpu_count() or 1)  # (half the figures on a second core)
    report = write_report(c, Path(run_dir) / "report.html", specs, command)
    return Path(run_dir), report, c
