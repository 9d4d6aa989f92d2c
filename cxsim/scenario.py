"""Scenario files: TOML read with ``tomllib``, ``extends`` chains, overrides, validation.

A scenario is data. Loading resolves ``extends`` (a path relative to the file),
merges tables key by key and lists of tables item by item (by ``id``), applies
dotted-key overrides, fills defaults from :mod:`cxsim.params`, and validates
everything once, so the rules can trust what they get. Every problem becomes a
one-line :class:`~cxsim.errors.ScenarioError` naming the file, the key path, the
bad value and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import errno
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import ScenarioError
from .params import LISTS, PARAMS, SECTIONS, Param

__all__ = [
    "Scenario",
    "load_scenario",
    "parse_overrides",
    "scenario_from_dict",
    "SCENARIO_DIR",
    "coerce_value",
    "did_you_mean",
    "display_path",
    "read_toml",
    "MAX_EXTENDS_DEPTH",
]

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

CONSEQUENTIAL = {
    "params": ("owner.mandate", "sponsorship.level", "committee.enabled"),
    "executives": ("influence", "buy_in", "jealousy", "understanding", "trust"),
    "departments": ("readiness", "skill", "silo_strength"),
}
"""Inputs that move the results and have defaults: a scenario records which it left unset."""
_TOP_KEYS = set(SECTIONS) | set(LISTS) | {"extends"}


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest option, or '' when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _ids(ids: Iterable[Any], shown: int = 12) -> str:
    """Ids for a message: each quoted if it holds control characters, at most ``shown`` of them, each cut."""
    ids = [str(i) for i in ids]
    out = ", ".join(i if i.isprintable() and len(i) <= 40 else repr(i[:37] + "..." if len(i) > 40 else i)
                    for i in ids[:shown])
    return out + (f", ... ({len(ids) - shown} more)" if len(ids) > shown else "")


def _item_key(item: Mapping[str, Any], id_keys: tuple[str, ...]) -> tuple:
    return tuple(item.get(k) for k in id_keys)


def _merge(base: dict, over: Mapping, file: str, path: str = "") -> dict:
    """Deep-merge ``over`` into a copy of ``base``: tables by key, item lists by id."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        kp = f"{path}.{key}" if path else key
        if key in LISTS and not path:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ScenarioError(file, kp, "must be a list of tables ([[" + key + "]])", value)
            id_keys = LISTS[key][1]
            for i, item in enumerate(value):
                for k in id_keys:
                    if k in item and not isinstance(item[k], str):
                        label = f"{key}[{i}].{k}"
                        raise ScenarioError(file, label, "expected a string id (an id is never a list or table)",
                                            item[k])
            merged = [copy.deepcopy(v) for v in out.get(key, [])]
            # Items of this file update the base's items with the same id; an id
            # repeated within this file's own list is an error, never a silent merge.
            index = {_item_key(v, id_keys): i for i, v in enumerate(merged)}
            seen_here: set = set()
            for item in value:
                k = _item_key(item, id_keys)
                if None not in k:
                    if k in seen_here:
                        label = k[0] if len(k) == 1 else "/".join(map(str, k))
                        raise ScenarioError(file, f"{key}.{label}", "duplicate " + "/".join(id_keys)
                                            + " in this file", label)
                    seen_here.add(k)
                if k in index and None not in k:
                    merged[index[k]].update(copy.deepcopy(item))
                else:
                    index[k] = len(merged)
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, file, kp)
        else:
            out[key] = copy.deepcopy(value)
    return out


MAX_EXTENDS_DEPTH = 64
"""Longest ``extends`` chain followed (the shipped scenarios use 2)."""


def read_toml(path: Path, shown: str, error=ScenarioError) -> dict:
    """A TOML file as a dict: a regular UTF-8 file of at most 16 MiB, else one-line ``error(shown, "", problem)``."""
    from .safeio import read_bytes

    raw = read_bytes(path, lambda problem: error(shown, "", problem))
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error(shown, "", "is UTF-16 text; TOML files must be UTF-8 (save it as UTF-8)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(shown, "", f"is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                               "a TOML file must be UTF-8 text") from None
    if "\x00" in text:
        raise error(shown, "", "contains NUL bytes: a binary file, not TOML text")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(shown, "", f"not valid TOML: {exc}") from None


def _resolve(path: Path, shown: str, key: str = "") -> Path:
    """``path`` resolved; a symlink loop is one line (3.11's resolve() raises on one, 3.13's does not: ask stat)."""
    loop = ScenarioError(shown, key, "symlink loop: the path never reaches a file", str(path))
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise loop from None
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError):
        raise loop from None


def _resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, dict[str, str]]:
    """Raw merged data of ``path`` and its ancestors, plus key -> file provenance (at most 64 deep, no cycles)."""
    path = _resolve(path, str(path))
    shown = display_path(path)
    if path in chain:
        cycle = " -> ".join(display_path(p) for p in (*chain, path))
        raise ScenarioError(shown, "extends", f"extends cycle: {cycle}")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(display_path(chain[-1]), "extends", f"the extends chain from {display_path(chain[0])} "
                            f"is longer than {MAX_EXTENDS_DEPTH} files; flatten it")
    data = read_toml(path, shown)
    parent = data.pop("extends", None)
    if parent is None:
        base, origin = {}, {}
    else:
        if not isinstance(parent, str):
            raise ScenarioError(shown, "extends", "must be a path string relative to this file", parent)
        if not parent or "\x00" in parent:
            raise ScenarioError(shown, "extends", "expected a path to a .toml file", parent)
        ppath = (path.parent / parent)
        if not ppath.exists():
            if ppath.is_symlink():
                _resolve(ppath, shown, "extends")  # a loop says so
                raise ScenarioError(shown, "extends", "dangling symlink: its target does not exist", parent)
            raise ScenarioError(shown, "extends", f"file not found: {display_path(_resolve(ppath, shown, 'extends'))}",
                                parent)
        base, origin = _resolve_extends(ppath, (*chain, path))
    _check_top(data, shown)
    for key, value in data.items():
        if isinstance(value, dict):
            for sub in value:
                origin[f"{key}.{sub}"] = shown
        origin[key] = shown
    return _merge(base, data, shown), origin


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter error messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _check_top(data: Mapping, file: str) -> None:
    for key, value in data.items():
        if key not in _TOP_KEYS:
            raise ScenarioError(
                file, key, "unknown section" + did_you_mean(key, _TOP_KEYS)
                + "; allowed: " + ", ".join(sorted(_TOP_KEYS)))
        if key in SECTIONS and not isinstance(value, dict):
            raise ScenarioError(file, key, f"must be a table ([{key}])", value)


def coerce_value(p: Param, value: Any, file: str, key: str) -> Any:
    """Check ``value`` against ``p``; return it in the declared type."""
    bad = lambda: ScenarioError(file, key, f"expected {p.allowed()}", value)  # noqa: E731
    if p.kind is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if p.kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScenarioError(file, key, "expected a list of ids (strings)", value)
        return list(value)
    if p.kind is str:
        if not isinstance(value, str):
            raise bad()
        if p.choices and value not in p.choices:
            raise ScenarioError(file, key, f"expected {p.allowed()}" + did_you_mean(value, p.choices), value)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad()
    if p.kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise bad()
            value = int(value)
    else:
        value = float(value)
        if not np.isfinite(value):
            raise bad()
    if (p.lo is not None and value < p.lo) or (p.hi is not None and value > p.hi):
        raise bad()
    return value


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into a dict; values are read as TOML, else as text."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError("--set", item, "expected KEY=VALUE, e.g. committee.cadence_weeks=2")
        key, raw = item.split("=", 1)
        key, raw = key.strip(), raw.strip()
        if not key:
            raise ScenarioError("--set", "", f"{item!r} has no key before '='; expected KEY=VALUE, e.g. "
                                "committee.cadence_weeks=2")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out[key] = value
    return out


def _apply_override(data: dict, key: str, value: Any, file: str) -> None:
    parts = key.split(".")
    head = parts[0]
    if head in LISTS and head != "influence":
        fields = LISTS[head][0]
        if len(parts) != 3:
            example = next(f for f in fields if f != "id")  # (the id itself cannot be overridden)
            raise ScenarioError(file, key, f"expected {head}.<id>.<field>, e.g. {head}.<id>.{example}")
        _, ident, fld = parts
        items = data.get(head, [])
        ids = [it.get("id") for it in items]
        if ident not in ids:
            raise ScenarioError(file, key, f"no {head[:-1]} with id {ident!r}" + did_you_mean(ident, ids)
                                + "; ids: " + _ids(ids))
        if fld not in fields or fld == "id":
            raise ScenarioError(file, key, f"unknown field {fld!r}" + did_you_mean(fld, fields)
                                + "; allowed: " + ", ".join(f for f in fields if f != "id"))
        items[ids.index(ident)][fld] = value
        return
    if key not in PARAMS:
        raise ScenarioError(file, key, "unknown parameter" + did_you_mean(key, PARAMS)
                            + " (see `cxsim params`)")
    section, name = key.split(".", 1)
    data.setdefault(section, {})[name] = value


@dataclass
class Scenario:
    """A resolved, validated scenario.

    Attributes:
        name, description: from ``[meta]`` (name defaults to the file's stem).
        path: the file it was loaded from (``None`` when built from a dict).
        params: every declared parameter by dotted key, defaults filled in.
        executives, departments, stages, influence: lists of dicts, defaults filled.
        overrides: the overrides applied on top of the file(s).
        warnings: consequential omissions (one line each), shown by the CLI.
        defaulted: consequential inputs the file left at their defaults (``owner.mandate``,
            ``executives.cfo.buy_in``, ...; see :data:`CONSEQUENTIAL`), for the calibration warnings.
    """

    name: str
    description: str
    path: str | None
    params: dict[str, Any]
    executives: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    influence: list[dict[str, Any]]
    overrides: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @property
    def ticks(self) -> int:
        """Weeks to simulate (``run.ticks``)."""
        return int(self.params["run.ticks"])

    def to_dict(self) -> dict[str, Any]:
        """The scenario as resolved: a nested dict that loads back to the same scenario."""
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            section, name = key.split(".", 1)
            out.setdefault(section, {})[name] = value
        out["executives"] = copy.deepcopy(self.executives)
        out["departments"] = copy.deepcopy(self.departments)
        out["stages"] = copy.deepcopy(self.stages)
        out["influence"] = copy.deepcopy(self.influence)
        return out

    def with_overrides(self, overrides: Mapping[str, Any] | Iterable[str] | None) -> "Scenario":
        """A new scenario with dotted-key overrides applied and validated."""
        extra = parse_overrides(overrides)
        if not extra:
            return self
        if all(_simple(k) for k in extra):
            # Numbers and switches that no other check reads: each is checked as the full path checks it,
            # and the (read-only) lists are shared, so a design of 20,000 points builds in seconds.
            params = {**self.params, **{k: coerce_value(PARAMS[k], v, "--set", k) for k, v in extra.items()}}
            file = self.path or "<scenario>"
            return dataclasses.replace(self, params=params, overrides={**self.overrides, **extra},
                                       defaulted=[k for k in self.defaulted if k not in extra],
                                       warnings=_warnings(self.departments, self.stages, params, file))
        data = self.to_dict()
        for key, value in extra.items():
            _apply_override(data, key, value, "--set")
        out = scenario_from_dict(data, file=self.path or "<scenario>", override_keys=extra, default_name=self.name)
        out.path = self.path
        out.overrides = {**self.overrides, **extra}
        out.defaulted = [k for k in self.defaulted if k not in extra]
        return out

    def fingerprint(self) -> str:
        """A stable JSON text of the resolved scenario (for manifests and caching)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def scenario_from_dict(
    data: Mapping[str, Any],
    file: str = "<scenario>",
    origin: Mapping[str, str] | None = None,
    override_keys: Iterable[str] = (),
    default_name: str = "scenario",
) -> Scenario:
    """Validate raw (merged) scenario data and fill defaults.

    ``origin`` maps key paths to the file that set them, and ``override_keys``
    names keys that came from ``--set``, so each error names the right source.
    """
    origin = origin or {}
    overridden = set(override_keys)

    def where(key: str) -> str:
        if key in overridden:
            return "--set"
        return origin.get(key) or origin.get(key.split(".")[0]) or file

    _check_top(data, file)
    params: dict[str, Any] = {}
    for section in SECTIONS:
        given = data.get(section, {})
        for name in given:
            key = f"{section}.{name}"
            if key not in PARAMS:
                allowed = [k.split(".", 1)[1] for k in PARAMS if k.startswith(section + ".")]
                raise ScenarioError(where(key), key, "unknown key" + did_you_mean(name, allowed)
                                    + f"; allowed in [{section}]: " + ", ".join(allowed))
    defaulted: list[str] = []
    for key, p in PARAMS.items():
        section, name = key.split(".", 1)
        given = data.get(section, {})
        params[key] = coerce_value(p, given[name], where(key), key) if name in given else p.default
        if name not in given and key in CONSEQUENTIAL["params"]:
            defaulted.append(key)

    lists: dict[str, list[dict[str, Any]]] = {}
    for lname, (fields, id_keys) in LISTS.items():
        items = data.get(lname, [])
        if not isinstance(items, list):
            raise ScenarioError(where(lname), lname, f"must be a list of tables ([[{lname}]])", items)
        seen: set = set()
        out_items = []
        for i, item in enumerate(items):
            label = item.get("id") if isinstance(item, dict) and "id" in item else i
            base = f"{lname}.{label}" if lname != "influence" else f"{lname}[{i}]"
            if not isinstance(item, dict):
                raise ScenarioError(where(lname), base, "must be a table", item)
            filled = {}
            for fname in item:
                if fname not in fields:
                    raise ScenarioError(where(lname), f"{base}.{fname}", "unknown field"
                                        + did_you_mean(fname, fields) + "; allowed: " + ", ".join(fields))
            for fname, p in fields.items():
                if fname in item:
                    filled[fname] = coerce_value(p, item[fname], where(f"{base}.{fname}"), f"{base}.{fname}")
                elif p.required:
                    raise ScenarioError(where(lname), f"{base}.{fname}", f"missing; {p.doc}")
                else:
                    filled[fname] = copy.deepcopy(p.default)
                    if fname in CONSEQUENTIAL.get(lname, ()):
                        defaulted.append(f"{base}.{fname}")
            ident = _item_key(filled, id_keys)
            if ident in seen:
                raise ScenarioError(where(lname), base, "duplicate " + "/".join(id_keys),
                                    ident[0] if len(ident) == 1 else ident)
            seen.add(ident)
            out_items.append(filled)
        lists[lname] = out_items

    _check_references(lists, params, where)
    warnings = _warnings(lists["departments"], lists["stages"], params, file)
    name = params["meta.name"] or default_name
    return Scenario(
        defaulted=defaulted,
        warnings=warnings,
        name=name,
        description=params["meta.description"],
        path=None,
        params=params,
        executives=lists["executives"],
        departments=lists["departments"],
        stages=lists["stages"],
        influence=lists["influence"],
    )


def _simple(key: str) -> bool:
    """Whether an override of ``key`` needs only its own range check (see :meth:`Scenario.with_overrides`)."""
    p = PARAMS.get(key)
    return p is not None and p.kind in (int, float, bool) and key not in _CROSS_CHECKED


_CROSS_CHECKED = ("social_influence.self_weight",)
"""Numeric parameters that :func:`_check_references` reads together with the lists."""


def _warnings(departments: list, stages: list, params: Mapping[str, Any], file: str) -> list[str]:
    """Consequential omissions in a valid scenario, one line each."""
    if departments and not stages and params["journey.enabled"]:
        return [f"{file}: no [[stages]]: the customer journey (journey.enabled = true) has no stages, so the CX "
                "index ignores weak links; add [[stages]] or set journey.enabled = false"]
    return []


def _check_references(lists: dict, params: dict, where) -> None:
    execs = [e["id"] for e in lists["executives"]]
    depts = [d["id"] for d in lists["departments"]]
    if not execs:  # an empty scenario would "run" to a meaningless 0% success
        raise ScenarioError(where("executives"), "executives", "missing; a scenario needs at least one "
                            "[[executives]] entry, exactly one of them with ceo = true")
    ceos = [e["id"] for e in lists["executives"] if e["ceo"]]
    if len(ceos) != 1:
        # Blame --set when it is what set a ceo flag, the file otherwise.
        src = next((where(f"executives.{e}.ceo") for e in execs if where(f"executives.{e}.ceo") == "--set"),
                   where("executives"))
        raise ScenarioError(src, "executives", f"exactly one executive must have ceo = true; found {len(ceos)}",
                            ceos)
    owner = params["owner.executive"]
    if owner not in execs:
        raise ScenarioError(where("owner.executive"), "owner.executive",
                            "no such executive" + did_you_mean(owner, execs) + "; ids: " + _ids(execs), owner)
    for d in lists["departments"]:
        if d["executive"] not in execs:
            raise ScenarioError(where(f"departments.{d['id']}.executive"), f"departments.{d['id']}.executive",
                                "no such executive" + did_you_mean(d["executive"], execs)
                                + "; ids: " + _ids(execs), d["executive"])
    for s in lists["stages"]:
        for ref in s["departments"]:
            if ref not in depts:
                raise ScenarioError(where(f"stages.{s['id']}.departments"), f"stages.{s['id']}.departments",
                                    "no such department" + did_you_mean(ref, depts) + "; ids: " + _ids(depts),
                                    ref)
        if not s["departments"]:
            raise ScenarioError(where("stages"), f"stages.{s['id']}.departments",
                                "a stage needs at least one department", [])
    for i, edge in enumerate(lists["influence"]):
        for role in ("listener", "speaker"):
            if edge[role] not in execs:
                raise ScenarioError(where("influence"), f"influence[{i}].{role}",
                                    "no such executive" + did_you_mean(edge[role], execs)
                                    + "; ids: " + _ids(execs), edge[role])
    self_w = params["social_influence.self_weight"]
    for e in execs:
        total = self_w + sum(x["weight"] for x in lists["influence"] if x["listener"] == e and x["speaker"] != e)
        total += sum(x["weight"] for x in lists["influence"] if x["listener"] == e and x["speaker"] == e)
        if total <= 0:
            raise ScenarioError(where("influence"), f"influence (listener {e!r})",
                                "weights sum to 0 and cannot be row-normalized; give this executive a positive "
                                "weight on someone or set social_influence.self_weight > 0")
        if not np.isfinite(total):
            # Row-normalizing would divide by infinity and silently turn every weight into 0.
            raise ScenarioError(where("influence"), f"influence (listener {e!r})",
                                "weights (with social_influence.self_weight) sum to infinity and cannot be "
                                "row-normalized; the row sums must be finite: scale this executive's weights down")


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | Iterable[str] | None = None) -> Scenario:
    """Load, resolve and validate a scenario file.

    Args:
        path: a ``.toml`` file, or the name of a shipped scenario (``reference``,
            ``governance/budget-sponsor-committee``, ``limits/bass``).
        overrides: ``{"committee.cadence_weeks": 2}`` or ``["committee.cadence_weeks=2"]``.

    Raises:
        ScenarioError: one line naming the file, key path, bad value and what is allowed.
    """
    p = Path(path)
    if not p.exists() and not p.suffix:
        shipped = SCENARIO_DIR / f"{path}.toml"
        if shipped.exists():
            p = shipped
    if not p.exists() and p.is_symlink():
        _resolve(p, str(path))  # a symlink loop says so
    if not p.exists():
        hint = did_you_mean(str(path), shipped_scenarios())
        raise ScenarioError(str(path), "", "file not found" + hint + "; `cxsim scenarios` lists the shipped ones")
    raw, origin = _resolve_extends(p)
    shown = display_path(p)
    data = copy.deepcopy(raw)
    extra = parse_overrides(overrides)
    for key, value in extra.items():
        _apply_override(data, key, value, "--set")
    scen = scenario_from_dict(data, file=shown, origin=origin, override_keys=extra, default_name=p.stem)
    scen.path = shown
    scen.overrides = extra
    return scen


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/`` (without ``.toml``)."""
    if not SCENARIO_DIR.exists():
        return []
    return sorted(str(p.relative_to(SCENARIO_DIR).with_suffix("")) for p in SCENARIO_DIR.rglob("*.toml"))
