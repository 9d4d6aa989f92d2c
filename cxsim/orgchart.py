"""Your own organization as a scenario file: from an org chart spreadsheet, or from a few answers.

``cxsim import ORG.csv`` reads one row per department (and one for each executive who owns
none, such as the CEO): executive, title, reports-to, department, headcount, front or back
office, the journey stages the department serves, and optional survey columns on 1-to-5
scales. ``cxsim new NAME`` builds a first draft from a handful of answers. Both write a
commented, valid scenario TOML (checked by loading it before it is written) that leaves
every input nobody gave out of the file, so the calibration warnings can say which ones
are guesses. The column meanings and the survey questions are in
``docs/organization-format.md``; templates ship in ``cxsim/templates/``.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OrgChartError
from .params import DEPARTMENT_FIELDS, EXECUTIVE_FIELDS, PARAMS
from .scenario import did_you_mean, scenario_from_dict

__all__ = [
    "Org", "COLUMNS", "SURVEY", "TEMPLATE_DIR", "TEMPLATES", "read_org_chart", "draft_org", "scenario_toml",
    "survey_share", "slug",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATES = {"org_chart.csv": "the org chart spreadsheet `cxsim import` reads (a 400-person software firm)",
             "executive_survey.csv": "the executive survey: questions on 1-to-5 scales and the field each feeds"}

SURVEY: dict[str, tuple[str, str]] = {
    # column: (list, what a score of 1 and of 5 mean)
    "influence": ("executives", "1 = little say in company decisions, 5 = decisive (the CEO is usually 5)"),
    "buy_in": ("executives", "1 = privately against CX, 5 = privately fully committed"),
    "jealousy": ("executives", "1 = welcomes the CX owner, 5 = sees the CX owner as a rival"),
    "understanding": ("executives", "1 = cannot say what CX is or why it pays, 5 = can explain it in numbers"),
    "trust": ("executives", "1 = does not trust the CX owner, 5 = trusts the CX owner fully"),
    "readiness": ("departments", "1 = change-weary, resists change, 5 = ready and willing to change"),
    "skill": ("departments", "1 = no CX training or practice, 5 = trained and practising"),
    "silo": ("departments", "1 = shares cross-functional targets, 5 = only its own functional targets count"),
}
"""Optional survey columns: 1-to-5 scores (or percentages such as 40%) mapped to shares."""

COLUMNS: dict[str, str] = {
    "executive": "short id of the executive who owns the department (the same id on every row of that executive)",
    "title": "the executive's job title",
    "reports_to": "the id of the executive's boss; empty for the CEO (exactly one)",
    "owns_cx": "yes for the executive who owns CX (exactly one, or give --owner)",
    "department": "short id of the department; empty on a row for an executive without departments",
    "department_name": "the department's display name (default: its id)",
    "headcount": "employees in the department (a whole number, from HR data)",
    "office": "front (customer-facing) or back office",
    "stages": "journey stages the department serves, separated by ';' (e.g. Buy; Onboard)",
    **{k: f"1 to 5 (or a percentage): {v}" for k, (_, v) in SURVEY.items()},
}
"""Every column an org chart may have, and what it holds (``executive`` is required)."""

REQUIRED_COLUMNS = ("executive",)
_FIELD = {"silo": "silo_strength"}  # survey column -> scenario field
_YES, _NO = ("yes", "y", "true", "1", "x"), ("no", "n", "false", "0", "")


def slug(text: str) -> str:
    """An id from a name: lower case, words joined by '_' ('Head of Sales' -> 'head_of_sales')."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def survey_share(raw: str) -> float:
    """A 1-to-5 score (decimals allowed, e.g. a mean of answers) or a percentage, as a share in [0, 1].

    Raises:
        ValueError: anything else.
    """
    text = raw.strip()
    if text.endswith("%"):
        v = float(text[:-1])
        if not 0 <= v <= 100:
            raise ValueError(text)
        return round(v / 100, 3)
    v = float(text)
    if not 1 <= v <= 5:
        raise ValueError(text)
    return round((v - 1) / 4, 3)


@dataclass
class Org:
    """An organization on its way to a scenario file; ``given`` holds only the values someone supplied.

    ``notes`` hold a comment per value (``"survey 4 of 5"``); an input nobody supplied is left
    out of the file (with a comment saying so), so it takes the model's default and the
    calibration warnings name it.
    """

    name: str
    description: str = ""
    source: str = ""
    owner: str = ""
    governance: dict[str, Any] = field(default_factory=dict)  # owner.mandate, sponsorship.level, committee.*
    executives: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    influence: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # "executives.cfo.buy_in" -> comment


# ---------------------------------------------------------------------------- reading a spreadsheet
def _rows(path: Path, shown: str) -> list[dict[str, str]]:
    """The spreadsheet's rows as dicts of stripped text, keyed by normalized column name."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ModuleNotFoundError:
            raise OrgChartError(shown, "", "reading .xlsx needs openpyxl: pip install 'cxsim[xlsx]' (or save the "
                                "sheet as CSV)") from None
        if not path.is_file():
            raise OrgChartError(shown, "", "file not found")
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a bad file
            raise OrgChartError(shown, "", f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        table = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                  for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif suffix in (".csv", ".txt", ""):
        from .safeio import read_bytes

        raw = read_bytes(path, lambda problem: OrgChartError(shown, "", problem))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        table = list(csv.reader(io.StringIO(text), dialect))
    else:
        raise OrgChartError(shown, "", f"unknown spreadsheet type {suffix!r}; expected .csv or .xlsx")
    table = [r for r in table if any(c.strip() for c in r)]
    if not table:
        raise OrgChartError(shown, "", "is empty; expected a header row (executive, title, reports_to, ...) and "
                            "one row per department")
    header = [slug(c) for c in table[0]]
    for i, col in enumerate(header):
        if col not in COLUMNS:
            raise OrgChartError(shown, f"row 1, column {i + 1}", "unknown column" + did_you_mean(col, COLUMNS)
                                + "; allowed: " + ", ".join(COLUMNS), table[0][i])
    for col in REQUIRED_COLUMNS:
        if col not in header:
            raise OrgChartError(shown, "row 1", f"no column {col!r} (required); columns: " + ", ".join(COLUMNS))
    out = []
    for r in table[1:]:
        out.append({col: (r[i].strip() if i < len(r) else "") for i, col in enumerate(header)})
    return out


def read_org_chart(path: str | Path, name: str | None = None, owner: str | None = None,
                   governance: dict[str, Any] | None = None) -> Org:
    """Read an org chart spreadsheet into an :class:`Org`.

    Args:
        path: a .csv (comma, semicolon or tab separated) or .xlsx file.
        name: the organization's name [default: the file's stem].
        owner: the id of the executive who owns CX (instead of an ``owns_cx`` column).
        governance: ``{"owner.mandate": "budget", ...}``: the current governance, where known.

    Raises:
        OrgChartError: one line naming the file, the row and column, the bad value and what is allowed.
    """
    path = Path(path)
    shown = str(path)
    rows = _rows(path, shown)
    org = Org(name=name or path.stem, source=path.name, governance=dict(governance or {}))
    execs: dict[str, dict[str, Any]] = {}
    depts: dict[str, dict[str, Any]] = {}
    stage_names: dict[str, str] = {}
    stage_depts: dict[str, list[str]] = {}
    owners: list[str] = []

    def err(row: int, col: str, problem: str, value: Any = OrgChartError._NO_VALUE) -> OrgChartError:
        return OrgChartError(shown, f"row {row}, column {col}", problem, value)

    for n, r in enumerate(rows, start=2):
        eid = slug(r.get("executive", ""))
        if not eid:
            raise err(n, "executive", "empty; every row names the executive (a short id such as coo)",
                      r.get("executive", ""))
        e = execs.setdefault(eid, {"id": eid, "_row": n})
        for col in ("title", "reports_to"):
            value = r.get(col, "")
            if col == "reports_to":
                value = slug(value)
            if value:
                if col in e and e[col] != value:
                    raise err(n, col, f"differs from row {e['_row']} of the same executive ({e[col]!r}); give "
                              "it once or the same on every row", r.get(col))
                e[col] = value
        flag = r.get("owns_cx", "").lower()
        if flag not in _YES + _NO:
            raise err(n, "owns_cx", "expected yes or no (or empty)", r.get("owns_cx"))
        if flag in _YES and eid not in owners:
            owners.append(eid)
        for col, (lname, meaning) in SURVEY.items():
            raw = r.get(col, "")
            if not raw:
                continue
            try:
                share = survey_share(raw)
            except ValueError:
                raise err(n, col, f"expected a score from 1 to 5 (decimals allowed) or a percentage; {meaning}",
                          raw) from None
            if lname == "executives":
                if col in e and e[col][0] != share:
                    raise err(n, col, f"differs from row {e['_row']} of the same executive; give it once",
                              raw)
                e[col] = (share, raw)
        did = slug(r.get("department", ""))
        if not did:
            for col in ("headcount", "office", "stages", "readiness", "skill", "silo", "department_name"):
                if r.get(col):
                    raise err(n, "department", f"empty, but the row gives {col}; name the department (a short id)")
            continue
        if did in depts:
            raise err(n, "department", f"the same department is on row {depts[did]['_row']}; each department "
                      "has one row", r.get("department"))
        raw_h = r.get("headcount", "").replace(",", "").replace("_", "").replace(" ", "")
        try:
            headcount = int(float(raw_h)) if raw_h else None
            if headcount is not None and (headcount != float(raw_h) or headcount < 1):
                raise ValueError
        except ValueError:
            raise err(n, "headcount", "expected a whole number of employees, at least 1", r.get("headcount")) \
                from None
        if headcount is None:
            raise err(n, "headcount", "empty; every department needs its number of employees (HR data)")
        office = r.get("office", "").lower()
        office = {"front office": "front", "back office": "back", "f": "front", "b": "back"}.get(office, office)
        if office not in ("front", "back"):
            raise err(n, "office", "expected front or back (customer-facing or not)", r.get("office", ""))
        d = {"id": did, "name": r.get("department_name") or r.get("department"), "office": office,
             "headcount": headcount, "executive": eid, "_row": n}
        for col in ("readiness", "skill", "silo"):
            if r.get(col):
                d[_FIELD.get(col, col)] = (survey_share(r[col]), r[col])
        depts[did] = d
        for st in (s.strip() for s in re.split(r"[;|\n]", r.get("stages", ""))):
            if st:
                sid = slug(st)
                if not sid:
                    raise err(n, "stages", "a stage name needs letters or digits", st)
                stage_names.setdefault(sid, st)
                stage_depts.setdefault(sid, []).append(did)

    if not depts:
        raise OrgChartError(shown, "", "no department rows (rows with department and headcount); the model "
                            "needs at least one department")
    for eid, e in execs.items():
        boss = e.get("reports_to")
        if boss and boss not in execs:
            raise err(e["_row"], "reports_to", "no such executive" + did_you_mean(boss, execs)
                      + "; executives: " + ", ".join(execs), boss)
        if boss == eid:
            raise err(e["_row"], "reports_to", "an executive cannot report to themselves", boss)
    ceos = [eid for eid, e in execs.items() if not e.get("reports_to")]
    if len(ceos) != 1:
        where = execs[ceos[1]]["_row"] if len(ceos) > 1 else 2
        raise err(where, "reports_to", "exactly one executive (the CEO) has no reports_to; found "
                  f"{len(ceos)}: " + (", ".join(ceos) or "none"))
    if owner is not None:
        owner_id = slug(owner)
        if owner_id not in execs:
            raise OrgChartError(shown, "--owner", "no such executive" + did_you_mean(owner_id, execs)
                                + "; executives: " + ", ".join(execs), owner)
        owners = [owner_id]
    if len(owners) != 1:
        found = f"{len(owners)}" + (f": {', '.join(owners)}" if owners else "")
        raise OrgChartError(shown, "column owns_cx", "exactly one executive owns CX: mark one row's owns_cx "
                            f"yes or pass --owner ID; found {found}")
    org.owner = owners[0]

    for eid, e in execs.items():
        item = {"id": eid, "title": e.get("title", eid)}
        if eid == ceos[0]:
            item["ceo"] = True
        for col in ("influence", "buy_in", "jealousy", "understanding", "trust"):
            if col in e:
                item[col] = e[col][0]
                org.notes[f"executives.{eid}.{col}"] = f"survey {e[col][1]}" + ("" if e[col][1].endswith("%")
                                                                                 else " of 5")
        org.executives.append(item)
    for d in depts.values():
        item = {k: v for k, v in d.items() if k != "_row" and not isinstance(v, tuple)}
        for fld in ("readiness", "skill", "silo_strength"):
            if fld in d:
                item[fld] = d[fld][0]
                org.notes[f"departments.{d['id']}.{fld}"] = f"survey {d[fld][1]}" + (
                    "" if d[fld][1].endswith("%") else " of 5")
        org.departments.append(item)
    org.stages = [{"id": sid, "name": stage_names[sid], "departments": ds} for sid, ds in stage_depts.items()]
    org.influence = _influence_from_reporting({eid: e.get("reports_to") for eid, e in execs.items()})
    return org


def _influence_from_reporting(boss_of: dict[str, str | None]) -> list[dict[str, Any]]:
    """Who listens to whom, from the reporting lines: each executive to their boss (0.3), bosses to reports (0.1)."""
    out = []
    for eid, boss in boss_of.items():
        if boss:
            out.append({"listener": eid, "speaker": boss, "weight": 0.3})
            out.append({"listener": boss, "speaker": eid, "weight": 0.1})
    return out


# ---------------------------------------------------------------------------- a draft from answers
# Title keywords -> (department name, office, keywords of the journey stages it serves).
_FUNCTIONS = [
    (("marketing", "cmo", "brand"), "Marketing", "front", ("discover", "aware", "buy", "consider")),
    (("sales", "commercial", "cro", "revenue"), "Sales", "front", ("buy", "consider", "purchase", "renew")),
    (("service", "support", "success", "cco", "customer"), "Customer service", "front",
     ("support", "help", "onboard", "renew", "service")),
    (("operat", "coo", "delivery", "logistic", "supply"), "Operations", "back",
     ("onboard", "deliver", "use", "fulfil", "install")),
    (("financ", "cfo", "billing", "account"), "Finance and billing", "back", ("pay", "bill", "invoice")),
    (("it", "cio", "cto", "technolog", "engineer", "product", "digital"), "IT and product", "back",
     ("use", "digital", "app", "onboard")),
    (("hr", "chro", "people", "human"), "HR", "back", ()),
    (("legal", "risk", "complian"), "Legal and compliance", "back", ()),
]

DEFAULT_EXECUTIVES = "CMO, Head of Sales, COO, CFO"
DEFAULT_STAGES = "Discover, Buy, Onboard, Use, Pay, Get support, Renew"


def _function_of(title: str) -> tuple[str, str, tuple[str, ...]]:
    words = set(slug(title).split("_"))
    low = slug(title)
    for keys, dept, office, stage_keys in _FUNCTIONS:
        if any((k in words) if len(k) <= 3 else (k in low) for k in keys):
            return dept, office, stage_keys
    return f"{title}'s department", "back", ()


def _split(total: int, n: int) -> list[int]:
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


def draft_org(name: str, description: str = "", employees: int = 400, executives: str = DEFAULT_EXECUTIVES,
              owner: str | None = None, governance: dict[str, Any] | None = None, stages: str = DEFAULT_STAGES,
              buy_in: float | None = None, readiness: float | None = None) -> Org:
    """A first draft of an organization from a few answers (what ``cxsim new`` asks).

    Args:
        name: the organization's name.
        description: one sentence about it.
        employees: total headcount, split evenly over one department per executive (edit it).
        executives: titles of the executives besides the CEO, comma-separated.
        owner: the title or id of the executive who owns CX [default: the first one].
        governance: the current governance (``owner.mandate``, ``sponsorship.level``, ``committee.enabled``,
            ``committee.cadence_weeks``) where known.
        stages: the customer journey's stages, comma-separated.
        buy_in: executives' typical buy-in to CX on a 1-to-5 scale (``None``: unknown).
        readiness: departments' typical readiness for change on a 1-to-5 scale (``None``: unknown).

    Raises:
        OrgChartError: an answer is invalid (one line naming the option).
    """
    src = "cxsim new"
    titles = [t.strip() for t in executives.split(",") if t.strip()]
    if not titles:
        raise OrgChartError(src, "--executives", "give at least one executive besides the CEO, e.g. "
                            f"'{DEFAULT_EXECUTIVES}'", executives)
    ids = []
    for t in titles:
        i = slug(t)
        if not i:
            raise OrgChartError(src, "--executives", "a title needs letters or digits", t)
        if i in ids or i == "ceo":
            raise OrgChartError(src, "--executives", "names the same executive twice (the CEO is always "
                                "included)", t)
        ids.append(i)
    stage_list = [s.strip() for s in stages.split(",") if s.strip()]
    if not stage_list or any(not slug(s) for s in stage_list) or len({slug(s) for s in stage_list}) != len(stage_list):
        raise OrgChartError(src, "--stages", "expected distinct stage names separated by commas, e.g. "
                            f"'{DEFAULT_STAGES}'", stages)
    if employees < len(titles):
        raise OrgChartError(src, "--employees", f"fewer employees than departments ({len(titles)}, one per "
                            "executive)", employees)
    owner_id = slug(owner) if owner else ids[0]
    by_title = {slug(t): i for t, i in zip(titles, ids)}
    owner_id = by_title.get(owner_id, owner_id)
    if owner_id not in ids and owner_id != "ceo":
        raise OrgChartError(src, "--owner", "not one of the executives" + did_you_mean(owner_id, ids)
                            + "; executives: ceo, " + ", ".join(ids), owner)
    shares = {}
    for opt, v in (("--buy-in", buy_in), ("--readiness", readiness)):
        if v is not None:
            if not 1 <= v <= 5:
                raise OrgChartError(src, opt, "expected a score from 1 to 5", v)
            shares[opt] = round((v - 1) / 4, 3)
    org = Org(name=name, description=description, source="cxsim new", owner=owner_id,
              governance=dict(governance or {}))
    org.executives.append({"id": "ceo", "title": "Chief Executive Officer", "ceo": True, "influence": 1.0})
    org.notes["executives.ceo.influence"] = "the CEO decides"
    for t, i in zip(titles, ids):
        org.executives.append({"id": i, "title": t})
    if "--buy-in" in shares:
        for e in org.executives:
            e["buy_in"] = shares["--buy-in"]
            org.notes[f"executives.{e['id']}.buy_in"] = f"--buy-in {buy_in:g} of 5"
    heads = _split(employees, len(titles))
    served: dict[str, list[str]] = {slug(s): [] for s in stage_list}
    used_ids: set[str] = set()
    for (t, i), h in zip(zip(titles, ids), heads):
        dept, office, stage_keys = _function_of(t)
        did = slug(dept)
        if did in used_ids:
            did = f"{did}_{i}"
        used_ids.add(did)
        d = {"id": did, "name": dept, "office": office, "headcount": h, "executive": i}
        if "--readiness" in shares:
            d["readiness"] = shares["--readiness"]
            org.notes[f"departments.{did}.readiness"] = f"--readiness {readiness:g} of 5"
        org.departments.append(d)
        for s in stage_list:
            if any(k in slug(s) for k in stage_keys):
                served[slug(s)].append(did)
    front = [d["id"] for d in org.departments if d["office"] == "front"] or [org.departments[0]["id"]]
    for s in stage_list:
        org.stages.append({"id": slug(s), "name": s, "departments": served[slug(s)] or list(front)})
    org.influence = _influence_from_reporting({"ceo": None, **{i: "ceo" for i in ids}})
    return org


# ---------------------------------------------------------------------------- writing the file
def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line(key: str, value: Any, note: str = "", width: int = 30) -> str:
    text = f"{key} = {_toml(value)}"
    return f"{text:<{width}}# {note}" if note else text


_GOV = {
    "owner.mandate": ("advisory: persuasion only; budget: funds training, staff and targets", "advisory"),
    "sponsorship.level": ("none | passive (aware, not active) | active", "passive"),
    "committee.enabled": ("a CX committee of all executives meets on a cadence", False),
}


def scenario_toml(org: Org, command: str = "") -> str:
    """The organization as a commented scenario TOML; loads and validates it before returning it.

    Raises:
        OrgChartError: the result does not validate (a bug in the conversion, or an impossible organization).
    """
    headcount = sum(d["headcount"] for d in org.departments)
    L = [f"# {org.name}: a cxsim scenario (docs/organization-format.md explains every field).",
         f"# Made by {command or org.source}"
         + (f" from {org.source}" if command and org.source and org.source not in command else "") + ".",
         f"# {len(org.executives)} executives, {len(org.departments)} departments, {headcount:,} employees, "
         f"{len(org.stages)} journey stages.",
         "# Inputs nobody gave are left out (the model's default applies) and listed as comments;",
         "# `cxsim validate` and `cxsim study` warn about them. Shares are 0 to 1; a 1-to-5 survey",
         "# score s maps to (s - 1) / 4.",
         "",
         "[meta]",
         _line("name", org.name),
         _line("description", org.description or f"{org.name}: {headcount:,} employees, its current CX "
               "governance"),
         "",
         "[owner]",
         _line("executive", org.owner, "the executive who owns CX")]
    gov = org.governance
    missing = []

    def gov_line(key: str) -> None:
        doc, default = _GOV[key]
        name = key.split(".", 1)[1]
        if key in gov:
            L.append(_line(name, gov[key], doc))
        else:
            L.append(f"# {name} = {_toml(default)}".ljust(30) + f"# NOT GIVEN (model default): {doc}")
            missing.append(key)

    gov_line("owner.mandate")
    if "owner.budget" in gov:
        L.append(_line("budget", gov["owner.budget"], "k-currency per week (used only with a budget mandate)"))
    else:
        per = PARAMS["owner.budget"].default / 3230  # the reference spends 60 k per week on 3,230 employees
        L.append(_line("budget", round(per * headcount, 1), "k-currency per week, the reference's spend per "
                       "employee (used only with a budget mandate)"))
    L += ["", "[sponsorship]"]
    gov_line("sponsorship.level")
    L += ["", "[committee]"]
    gov_line("committee.enabled")
    if gov.get("committee.enabled"):
        L.append(_line("cadence_weeks", gov.get("committee.cadence_weeks", 4), "weeks between meetings"))
    for e in org.executives:
        L += ["", "[[executives]]"]
        for k in ("id", "title", "ceo"):
            if k in e:
                L.append(_line(k, e[k]))
        for k in ("influence", "buy_in", "jealousy", "understanding", "trust"):
            if k in e:
                L.append(_line(k, e[k], org.notes.get(f"executives.{e['id']}.{k}", "")))
            else:
                L.append(f"# {k}: not given (model default {EXECUTIVE_FIELDS[k].default:g})")
    for d in org.departments:
        L += ["", "[[departments]]"]
        for k in ("id", "name", "office", "headcount", "executive"):
            L.append(_line(k, d[k]))
        for k in ("readiness", "skill", "silo_strength"):
            if k in d:
                L.append(_line(k, d[k], org.notes.get(f"departments.{d['id']}.{k}", "")))
            else:
                L.append(f"# {k}: not given (model default {DEPARTMENT_FIELDS[k].default:g})")
    for s in org.stages:
        L += ["", "[[stages]]", _line("id", s["id"]), _line("name", s["name"]), _line("departments", s["departments"])]
    if org.influence:
        L += ["", "# Who listens to whom, from the reporting lines: each executive to their boss (0.3), each boss",
              "# to their reports (0.1). Edit the weights where interviews say otherwise."]
    for x in org.influence:
        L += ["", "[[influence]]", _line("listener", x["listener"]), _line("speaker", x["speaker"]),
              _line("weight", x["weight"])]
    text = "\n".join(L) + "\n"
    try:
        scenario_from_dict(tomllib.loads(text), file=f"{org.name}.toml")
    except Exception as exc:
        raise OrgChartError(org.source or "cxsim new", "", f"the organization does not make a valid scenario: {exc}") \
            from None
    return text
