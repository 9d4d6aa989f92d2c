"""Experiment files: TOML read with ``tomllib``, checked once, resolved into design points.

An experiment names its scenario(s), the replications, the seed, what to keep,
and a design::

    name = "cadence"                       # default: the file's stem
    description = "Committee cadence under a budget-holding owner"
    scenario = "reference"                 # or scenarios = [...]: files relative to
                                           # this file, or shipped names
    replications = 500
    seed = 1
    ticks = 156                            # default: the scenarios' run.ticks
    chunk_size = 500                       # replications per chunk (memory, progress; with
                                           # per_agent = "summary", chunks of all a point's
                                           # replications are summarized by their worker)

    [fixed]                                # overrides applied at every point
    "owner.mandate" = "budget"

    [keep]
    metrics = ["adoption", "buy_in"]       # default: every metric and event
    per_agent = false                      # per-department/executive columns: false, true
                                           # (every replication, agents.parquet) or "summary"
                                           # (per point and week: mean and quantiles)
    timeseries_every = 4                   # keep every 4th week (and the last)

    [design]
    type = "factorial"                     # factorial | lhs | sobol | morris | points | discovery
    [design.factors]
    "committee.cadence_weeks" = [1, 2, 4, 8]

A ``discovery`` design declares each factor as a lever (what the company chooses:
``[design.levers]``, lists of values, every combination run) or an uncertainty (what
it cannot choose: ``[design.uncertainties]``, ``[lo, hi]`` ranges sampled by a Latin
hypercube of ``samples`` futures); every combination of levers meets the same
futures. ``cxsim discover`` analyses such a run.

Sampled designs give ``[design.ranges]`` (``"key" = [lo, hi]``) and a size
(``samples`` for lhs, ``base_samples`` for sobol, ``trajectories`` and ``levels``
for morris); ``points`` gives ``[[design.points]]`` tables (optional ``name``).
Keys are the dotted parameter keys of ``cxsim params``, or
``executives.<id>.<field>`` / ``departments.<id>.<field>``; quoted or not.

Limits, checked before anything is built: at most 1,000,000 design points,
``replications`` and ``chunk_size`` at most 10^9 and 10^7, ``ticks`` 1 to 5200,
at most 100,000 chunks, and ``chunk_size x (ticks + 1)`` at most 10,000,000 rows.

Every problem is one :class:`~cxsim.errors.ExperimentError` line naming the file,
the key path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ExperimentError, ScenarioError
from ..metrics import EVENTS, METRICS
from ..params import LISTS, PARAMS, Param
from ..scenario import (
    SCENARIO_DIR,
    Scenario,
    coerce_value,
    did_you_mean,
    display_path,
    load_scenario,
    read_toml,
    scenario_from_dict,
    shipped_scenarios,
)
from .designs import DESIGNS, SAMPLED, Factor, Lazy, Sample, salib_problem

__all__ = ["Experiment", "Point", "Keep", "load_experiment", "experiment_from_dict", "apply_run_settings",
           "EXPERIMENT_DIR"]

EXPERIMENT_DIR = Path(__file__).resolve().parent.parent.parent / "experiments"

TOP_KEYS = ("name", "description", "scenario", "scenarios", "replications", "seed", "ticks", "chunk_size",
            "fixed", "keep", "design")
KEEP_KEYS = ("metrics", "per_agent", "timeseries_every")
DESIGN_KEYS = {
    "factorial": ("type", "factors"),
    "lhs": ("type", "samples", "ranges", "seed"),
    "sobol": ("type", "base_samples", "second_order", "ranges", "seed"),
    "morris": ("type", "trajectories", "levels", "ranges", "seed"),
    "points": ("type", "points"),
    "discovery": ("type", "levers", "uncertainties", "samples", "seed"),
}
DEFAULT_CHUNK = 500
_MAX_POINTS = 1_000_000
MAX_CHUNKS = 100_000
"""Most chunks a run is split into (each is a pair of files and a manifest entry)."""
MAX_CHUNK_ROWS = 10_000_000
"""Most timeseries rows (chunk_size x (ticks + 1)) one chunk holds in a worker's memory."""


@dataclass(frozen=True)
class Keep:
    """What a run stores per tick: which metrics, per-agent columns or not, every k-th tick.

    ``per_agent``: ``False`` (none), ``True`` (every replication's, in ``agents.parquet``)
    or ``"summary"`` (per point and tick: mean and quantiles over the replications, in
    ``agents_summary.parquet``; what the report's department and buy-in figures need).
    """

    metrics: tuple[str, ...] = tuple((*METRICS, *EVENTS))
    per_agent: bool | str = False
    timeseries_every: int = 1


# Designs of more points than this keep no scenario per point: each is checked when the experiment loads,
# then rebuilt from its base and values (about 0.1 ms) where it is needed, so a coordinator's memory does
# not grow by a scenario (about 5 KB) per point. (No design keeps a Point object per point: each is made
# from the design's row when asked for.)
HELD_POINTS = 2000


@dataclass
class Point:
    """One design point: a scenario with the design's values applied."""

    index: int
    name: str
    base_scenario: Scenario = field(repr=False)  # the base scenario ([fixed] applied)
    base: int  # index of the base scenario
    values: dict[str, Any]  # the design's values (not the fixed overrides)
    held: Scenario | None = field(default=None, repr=False)

    @property
    def scenario(self) -> Scenario:
        """The point's scenario (validated when the experiment loaded; rebuilt for large designs)."""
        return self.held if self.held is not None else point_scenario(self.base_scenario, self.values)


def point_scenario(base: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A design point's scenario: its base scenario (``[fixed]`` applied) with the design's ``values``."""
    return base.with_overrides(values) if values else base


@dataclass
class Experiment:
    """A resolved, validated experiment.

    Attributes:
        name, description: from the file (name defaults to the file's stem).
        file: the file as shown in messages; ``path``: its absolute path.
        scenarios: the base scenarios (``[fixed]`` applied).
        replications, seed, ticks, chunk_size: run settings.
        keep: what the timeseries table keeps.
        fixed: overrides applied at every point.
        design: ``{"type": ..., options}`` as resolved (keys flattened).
        factors: the varied parameters of a factorial or sampled design.
        sample: the design's points before they are applied to scenarios.
        points: the design points, in order (the base scenarios crossed with the sample's rows;
            each :class:`Point` is made when asked for).
    """

    name: str
    description: str
    file: str
    path: Path | None
    scenario_refs: list[str]
    scenarios: list[Scenario]
    replications: int
    seed: int
    ticks: int
    chunk_size: int
    keep: Keep
    fixed: dict[str, Any]
    design: dict[str, Any]
    factors: list[Factor]
    sample: Sample
    points: Sequence[Point] = field(default_factory=list)
    command_line_settings: dict[str, Any] = field(default_factory=dict)
    calibration_warnings: list[str] = field(default_factory=list)
    organization: str | None = None  # the organization a `cxsim study` is about

    @property
    def design_type(self) -> str:
        """The design's type: ``factorial``, ``lhs``, ``sobol``, ``morris`` or ``points``."""
        return self.design["type"]

    @property
    def varied_keys(self) -> list[str]:
        """Keys that differ between points: the design's keys, then keys that differ between scenarios."""
        keys = list(self.sample.keys)
        if len(self.scenarios) > 1:
            for key in PARAMS:
                if key.startswith("meta.") or key == "run.ticks" or key in keys:  # ticks: set by the experiment
                    continue
                if len({json.dumps(s.params[key]) for s in self.scenarios}) > 1:
                    keys.append(key)
        return keys

    def problem(self) -> dict[str, Any] | None:
        """The SALib problem of a sampled design (``None`` otherwise)."""
        return salib_problem(self.factors) if self.design_type in SAMPLED else None

    def to_dict(self) -> dict[str, Any]:
        """The experiment as resolved (JSON-ready): what a manifest records."""
        return {
            "name": self.name,
            "description": self.description,
            "scenarios": list(self.scenario_refs),
            "replications": self.replications,
            "seed": self.seed,
            "ticks": self.ticks,
            "chunk_size": self.chunk_size,
            "keep": {"metrics": list(self.keep.metrics), "per_agent": self.keep.per_agent,
                     "timeseries_every": self.keep.timeseries_every},
            "fixed": dict(self.fixed),
            "design": copy.deepcopy(self.design),
        }

    def plan_hash(self) -> str:
        """A digest of everything that decides the results: settings, scenarios and every point.

        The SHA-256 of the JSON text (keys sorted) of ``{"experiment": ..., "points": [[name,
        base, values], ...], "scenarios": [...]}``, fed to the hash a block of points at a
        time instead of made whole (tens of megabytes for a large design): the same digest.
        """
        def text(obj: Any) -> str:
            return json.dumps(obj, sort_keys=True, default=str)

        h = hashlib.sha256(f'{{"experiment": {text(self.to_dict())}, "points": ['.encode())
        for start in range(0, len(self.points), _HASH_BLOCK):
            block = ", ".join(text([p.name, p.base, p.values]) for p in self.points[start:start + _HASH_BLOCK])
            h.update(((", " if start else "") + block).encode())
        h.update(f'], "scenarios": {text([s.fingerprint() for s in self.scenarios])}}}'.encode())
        return h.hexdigest()


_HASH_BLOCK = 1000  # points per piece of the plan hash's text


# ---------------------------------------------------------------------------- helpers
def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"committee": {"cadence_weeks": 2}}`` (unquoted dotted keys) -> ``{"committee.cadence_weeks": 2}``."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _param(key: str, file: str, where: str) -> Param:
    """The declaration of a variable key, or a one-line error."""
    if key.startswith("meta.") or key == "run.ticks":
        raise ExperimentError(file, where, "cannot be varied by a design (set `ticks` for the horizon)")
    if key in PARAMS:
        return PARAMS[key]
    parts = key.split(".")
    if parts[0] in ("executives", "departments"):
        fields = LISTS[parts[0]][0]
        if len(parts) != 3:
            raise ExperimentError(file, where, f"expected {parts[0]}.<id>.<field>, e.g. {parts[0]}.<id>."
                                  + ("jealousy" if parts[0] == "executives" else "readiness"))
        if parts[2] not in fields or parts[2] in ("id", "executive", "office", "title", "name"):
            allowed = [f for f, p in fields.items() if p.kind in (int, float, bool)]
            raise ExperimentError(file, where, f"unknown or non-numeric field {parts[2]!r}"
                                  + did_you_mean(parts[2], allowed) + "; allowed: " + ", ".join(allowed))
        return fields[parts[2]]
    raise ExperimentError(file, where, "unknown parameter" + did_you_mean(key, PARAMS) + " (see `cxsim params`)")


def _check_value(p: Param, value: Any, file: str, where: str) -> Any:
    try:
        return coerce_value(p, value, file, where)
    except ScenarioError as exc:
        raise ExperimentError(file, where, exc.problem, value) from None


def _int(data: Mapping, key: str, file: str, default: Any, lo: int, hi: int | None = None,
         where: str | None = None) -> Any:
    value = data.get(key, default)
    where = where or key
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise ExperimentError(file, where, f"expected {rng}", value)
    return value


def _table(data: Mapping, key: str, file: str, where: str | None = None) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ExperimentError(file, where or key, f"must be a table ([{where or key}])", value)
    return value


def _check_keys(data: Mapping, allowed: tuple[str, ...], file: str, prefix: str, what: str) -> None:
    for key in data:
        if key not in allowed:
            raise ExperimentError(file, prefix + key, f"unknown key in {what}" + did_you_mean(key, allowed)
                                  + "; allowed: " + ", ".join(allowed))


def _resolve_scenario(ref: Any, base_dir: Path, file: str, where: str) -> Scenario:
    if not isinstance(ref, str) or not ref:
        raise ExperimentError(file, where, "expected a scenario file (relative to the experiment) or a shipped name",
                              ref)
    cand = base_dir / ref
    for c in (cand, cand.with_name(cand.name + ".toml")):
        if c.is_file():
            return load_scenario(c)
    if (SCENARIO_DIR / f"{ref}.toml").is_file():
        return load_scenario(ref)
    raise ExperimentError(file, where, "scenario not found, neither relative to the experiment file nor shipped"
                          + did_you_mean(ref, shipped_scenarios()) + "; `cxsim scenarios` lists the shipped ones",
                          ref)


def _value_of(sc: Scenario, key: str) -> Any:
    """A key's value in a resolved scenario (a parameter or a list item's field)."""
    if key in sc.params:
        return sc.params[key]
    head, ident, fld = key.split(".")
    for item in getattr(sc, head):
        if item.get("id") == ident:
            return item[fld]
    return None


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------- loading
def apply_run_settings(data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                       replications: int | None = None, seed: int | None = None,
                       ticks: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Experiment data with command-line settings applied, and a record of those settings.

    ``overrides`` (``--set KEY=VALUE``) join ``[fixed]``, so they hold at every design point;
    a key the design varies is an error (naming ``--set``), never silently overruled.
    ``replications``, ``seed`` and ``ticks`` replace the file's values.

    Returns:
        ``(data, settings)``: the new data and ``{"set": {...}, "replications": ..., ...}`` with
        only what was given (what a manifest records as ``command_line_settings``).
    """
    data = copy.deepcopy(dict(data))
    settings: dict[str, Any] = {}
    if overrides:
        design_t = data.get("design") if isinstance(data.get("design"), dict) else {}
        varied: set[str] = set()
        for table in ("factors", "ranges"):
            if isinstance(design_t.get(table), dict):
                varied |= set(_flatten(design_t[table]))
        for pt in design_t.get("points") or []:
            if isinstance(pt, dict):
                varied |= set(_flatten(pt)) - {"name"}
        fixed = _flatten(data["fixed"]) if isinstance(data.get("fixed"), dict) else {}
        for key, value in overrides.items():
            p = _param(key, "--set", key)
            value = _check_value(p, value, "--set", key)
            if key in varied:
                raise ExperimentError("--set", key, "is varied by the experiment's design, so it cannot be fixed "
                                      "at one value; drop --set or edit the design")
            fixed[key] = value
        data["fixed"] = fixed
        settings["set"] = dict(overrides)
    for key, value in (("replications", replications), ("seed", seed), ("ticks", ticks)):
        if value is not None:
            data[key] = value
            settings[key] = value
    return data, settings


def load_experiment(path: str | Path, overrides: Mapping[str, Any] | None = None, replications: int | None = None,
                    seed: int | None = None, ticks: int | None = None) -> Experiment:
    """Load, resolve and validate an experiment file.

    Args:
        path: a ``.toml`` file, or the name of a shipped experiment (``governance_factorial``).
        overrides: ``{"committee.cadence_weeks": 2}``: held fixed at every point (``--set``).
        replications: replaces the file's ``replications`` (``--reps``).
        seed: replaces the file's ``seed`` (``--seed``).
        ticks: replaces the file's ``ticks`` (``--ticks``).

    Raises:
        ExperimentError: one line naming the file, key path, bad value and what is allowed.
        ScenarioError: a scenario the experiment names is itself invalid.
    """
    p = Path(path)
    if not p.exists() and not p.suffix and (EXPERIMENT_DIR / f"{path}.toml").is_file():
        p = EXPERIMENT_DIR / f"{path}.toml"
    shown = display_path(p) if p.exists() else str(path)
    if not p.exists():
        shipped = sorted(q.stem for q in EXPERIMENT_DIR.glob("*.toml")) if EXPERIMENT_DIR.exists() else []
        raise ExperimentError(shown, "", "file not found" + did_you_mean(str(path), shipped)
                              + ("; shipped experiments: " + ", ".join(shipped) if shipped else ""))
    data = read_toml(p, shown, ExperimentError)
    data, settings = apply_run_settings(data, overrides, replications, seed, ticks)
    exp = experiment_from_dict(data, file=shown, base_dir=p.resolve().parent, default_name=p.stem,
                               command_line_set=tuple(settings.get("set", {})))
    exp.path = p.resolve()
    exp.command_line_settings = settings
    return exp


def experiment_from_dict(data: Mapping[str, Any], file: str = "<experiment>", base_dir: Path | None = None,
                         default_name: str = "experiment", scenarios: list[Scenario] | None = None,
                         command_line_set: tuple[str, ...] = ()) -> Experiment:
    """Validate raw experiment data and resolve its design points.

    Args:
        data: the parsed TOML (or a manifest's resolved ``experiment``).
        file: shown in error messages.
        base_dir: where scenario paths are relative to (default: the working directory).
        default_name: the name when the data gives none.
        scenarios: already-resolved base scenarios (without ``[fixed]``) to use instead of
            resolving the references (a resumed run uses the manifest's copies).
        command_line_set: keys of ``[fixed]`` that came from ``--set``: an error if they are what
            the scenarios differ in (fixing them would make the scenarios identical).
    """
    base_dir = base_dir or Path.cwd()
    _check_keys(data, TOP_KEYS, file, "", "an experiment")

    name = data.get("name", default_name)
    if (not isinstance(name, str) or not name.strip() or "/" in name or "\\" in name or name.startswith(".")
            or not name.isprintable() or len(name) > 100):
        raise ExperimentError(file, "name", "expected a short name (at most 100 printable characters, no '/' or "
                              "'\\', not starting with '.'; it names a directory)", name)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ExperimentError(file, "description", "expected a string", description)

    # -- scenarios
    if "scenario" in data and "scenarios" in data:
        raise ExperimentError(file, "scenarios", "give either `scenario` or `scenarios`, not both")
    if "scenarios" in data:
        refs = data["scenarios"]
        if not isinstance(refs, list) or not refs:
            raise ExperimentError(file, "scenarios", "expected a non-empty list of scenario files or names", refs)
        ref_keys = [f"scenarios[{i}]" for i in range(len(refs))]
    else:
        refs = [data.get("scenario", "reference")]
        ref_keys = ["scenario"]
    if len(set(map(str, refs))) != len(refs):
        dup = next(r for r in refs if refs.count(r) > 1)
        raise ExperimentError(file, "scenarios", "lists the same scenario twice", dup)
    if scenarios is None:
        bases = [_resolve_scenario(r, base_dir, file, k) for r, k in zip(refs, ref_keys)]
    else:
        bases = list(scenarios)
    names = [s.name for s in bases]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ExperimentError(file, "scenarios", "two scenarios have the same meta.name; names must be unique", dup)

    for key in command_line_set:
        if len(bases) > 1 and len({json.dumps(_value_of(sc, key)) for sc in bases}) > 1:
            raise ExperimentError("--set", key, "differs between the experiment's scenarios (it is what they "
                                  "compare), so it cannot be fixed at one value; drop --set or edit the scenarios")

    replications = _int(data, "replications", file, 100, 1, 10**9)
    seed = _int(data, "seed", file, 0, 0, 2**63 - 1)
    chunk_size = _int(data, "chunk_size", file, DEFAULT_CHUNK, 1, 10**7)
    ticks = _int(data, "ticks", file, None, 1, 5200)
    if ticks is None:
        horizons = sorted({s.ticks for s in bases})
        if len(horizons) > 1:
            raise ExperimentError(file, "ticks", "the scenarios have different run.ticks; set `ticks` for all",
                                  horizons)
        ticks = horizons[0]

    # -- keep
    keep_t = _table(data, "keep", file)
    _check_keys(keep_t, KEEP_KEYS, file, "keep.", "[keep]")
    known = (*METRICS, *EVENTS)
    metrics = keep_t.get("metrics", list(known))
    if not isinstance(metrics, list):
        raise ExperimentError(file, "keep.metrics", "expected a list of metric names", metrics)
    for i, m in enumerate(metrics):
        if m not in known:
            raise ExperimentError(file, f"keep.metrics[{i}]", "unknown metric" + did_you_mean(str(m), known)
                                  + "; allowed: " + ", ".join(known), m)
    per_agent = keep_t.get("per_agent", False)
    if not isinstance(per_agent, bool) and per_agent != "summary":
        raise ExperimentError(file, "keep.per_agent", "expected true, false or \"summary\"", per_agent)
    every = _int(keep_t, "timeseries_every", file, 1, 1, 5200, where="keep.timeseries_every")
    keep = Keep(tuple(dict.fromkeys(metrics)), per_agent, every)

    # -- fixed overrides
    fixed: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in _flatten(_table(data, "fixed", file)).items():
        where = f"fixed.{key}"
        fixed[key] = _check_value(_param(key, file, where), value, file, where)
        origin[key] = where

    # -- design
    design_t = _table(data, "design", file)
    if not design_t:
        raise ExperimentError(file, "design", "missing; add a [design] table with type = "
                              + " | ".join(repr(t) for t in DESIGNS))
    dtype = design_t.get("type")
    if dtype not in DESIGNS:
        raise ExperimentError(file, "design.type", "expected one of " + ", ".join(repr(t) for t in DESIGNS)
                              + did_you_mean(str(dtype), DESIGNS), dtype)
    _check_keys(design_t, DESIGN_KEYS[dtype], file, "design.", f"a {dtype} design")
    design: dict[str, Any] = {"type": dtype}
    factors: list[Factor] = []
    if dtype == "factorial":
        factors += _levels(_flatten(_table(design_t, "factors", file, "design.factors")), "design.factors", "",
                           fixed, origin, file)
        design["factors"] = {f.key: list(f.values) for f in factors}
    elif dtype == "discovery":
        levers = _flatten(_table(design_t, "levers", file, "design.levers"))
        if not levers:
            raise ExperimentError(file, "design.levers", "missing; give each lever (what the company chooses) as "
                                  '"key" = [value, value, ...], e.g. "owner.mandate" = ["advisory", "budget"]')
        factors += _levels(levers, "design.levers", "lever", fixed, origin, file)
        factors += _ranges(_flatten(_table(design_t, "uncertainties", file, "design.uncertainties")),
                           "design.uncertainties", dtype, fixed, origin, file, role="uncertainty")
        if clash := {f.key for f in factors if f.role == "lever"} & {f.key for f in factors if f.role != "lever"}:
            k = sorted(clash)[0]
            raise ExperimentError(file, f"design.uncertainties.{k}", "is also a lever; a factor is one or the other")
        design["levers"] = {f.key: list(f.values) for f in factors if f.role == "lever"}
        design["uncertainties"] = {f.key: [f.lo, f.hi] for f in factors if f.role == "uncertainty"}
        design["seed"] = _int(design_t, "seed", file, seed, 0, 2**32 - 1, where="design.seed")
        design["samples"] = _int(design_t, "samples", file, None, 2, _MAX_POINTS, where="design.samples")
        if design["samples"] is None:
            raise ExperimentError(file, "design.samples", "missing; how many futures to sample, e.g. 64")
    elif dtype in SAMPLED:
        factors += _ranges(_flatten(_table(design_t, "ranges", file, "design.ranges")), "design.ranges", dtype,
                           fixed, origin, file)
        design["ranges"] = {f.key: [f.lo, f.hi] for f in factors}
        design["seed"] = _int(design_t, "seed", file, seed, 0, 2**32 - 1, where="design.seed")
        if dtype == "lhs":
            design["samples"] = _int(design_t, "samples", file, None, 2, _MAX_POINTS, where="design.samples")
            if design["samples"] is None:
                raise ExperimentError(file, "design.samples", "missing; how many points to sample, e.g. 100")
        elif dtype == "sobol":
            n = _int(design_t, "base_samples", file, None, 2, _MAX_POINTS, where="design.base_samples")
            if n is None or n & (n - 1):
                raise ExperimentError(file, "design.base_samples", "expected a power of 2 (Sobol' sequences are "
                                      "balanced only then), e.g. 64", n)
            so = design_t.get("second_order", False)
            if not isinstance(so, bool):
                raise ExperimentError(file, "design.second_order", "expected true or false", so)
            if len(factors) < 2:
                raise ExperimentError(file, "design.ranges", "a sobol design needs at least 2 parameters")
            design["base_samples"], design["second_order"] = n, so
        else:
            r = _int(design_t, "trajectories", file, None, 2, _MAX_POINTS, where="design.trajectories")
            if r is None:
                raise ExperimentError(file, "design.trajectories", "missing; how many Morris trajectories, e.g. 20")
            levels = _int(design_t, "levels", file, 4, 2, 100, where="design.levels")
            if levels % 2:
                raise ExperimentError(file, "design.levels", "expected an even number of grid levels (4 is usual)",
                                      levels)
            design["trajectories"], design["levels"] = r, levels
    else:  # points
        pts = design_t.get("points")
        if not isinstance(pts, list) or not pts or not all(isinstance(p, dict) for p in pts):
            raise ExperimentError(file, "design.points", "expected one or more [[design.points]] tables", pts)
        resolved = []
        seen_names: set[str] = set()
        for i, raw in enumerate(pts):
            row: dict[str, Any] = {}
            flat = _flatten(raw)
            pname = flat.pop("name", None)
            if pname is not None:
                if not isinstance(pname, str) or not pname:
                    raise ExperimentError(file, f"design.points[{i}].name", "expected a non-empty string", pname)
                if pname in seen_names:
                    raise ExperimentError(file, f"design.points[{i}].name", "duplicate point name", pname)
                seen_names.add(pname)
                row["name"] = pname
            for key, value in flat.items():
                where = f"design.points[{i}].{key}"
                if key in fixed:
                    raise ExperimentError(file, where, "is also set in [fixed]; set it in one place")
                row[key] = _check_value(_param(key, file, where), value, file, where)
                origin.setdefault(key, f"design.points[{i}]")
            resolved.append(row)
        design["points"] = resolved

    # Sizes are checked before anything is built: a design's size is known from its settings.
    n_points = _design_size(dtype, design, factors) * len(bases)
    if n_points > _MAX_POINTS:
        raise ExperimentError(file, "design", f"gives {n_points:,} points; at most {_MAX_POINTS:,} are allowed")
    if chunk_size * (ticks + 1) > MAX_CHUNK_ROWS:
        raise ExperimentError(file, "chunk_size", f"x {ticks + 1} weeks = {chunk_size * (ticks + 1):,} timeseries "
                              f"rows per chunk; at most {MAX_CHUNK_ROWS:,} (a worker holds a chunk in memory)",
                              chunk_size)
    n_chunks = (n_points * -(-replications // chunk_size) if replications >= chunk_size
                else -(-n_points // max(1, chunk_size // replications)))
    if n_chunks > MAX_CHUNKS:
        raise ExperimentError(file, "chunk_size", f"splits {n_points:,} points x {replications:,} replications into "
                              f"{n_chunks:,} chunks; at most {MAX_CHUNKS:,}: raise chunk_size or lower replications",
                              chunk_size)
    sample = DESIGNS[dtype](factors, design, design.get("seed", seed))
    if (dtype in SAMPLED or dtype == "discovery") and len(bases) > 1:
        raise ExperimentError(file, "scenarios", f"a {dtype} design runs on one scenario; give `scenario`", refs)

    # -- base scenarios with [fixed], then every point
    def apply(sc: Scenario, overrides: dict[str, Any]) -> Scenario:
        try:
            return sc.with_overrides(overrides)
        except ScenarioError as exc:
            raise ExperimentError(file, origin.get(exc.key, exc.key), exc.problem,
                                  exc.value if exc.value is not None else ScenarioError._NO_VALUE) from None

    bases = [apply(s, fixed) if fixed else s for s in bases]
    exp = Experiment(name=name, description=description, file=file, path=None, scenario_refs=[str(r) for r in refs],
                     scenarios=bases, replications=replications, seed=seed, ticks=ticks, chunk_size=chunk_size,
                     keep=keep, fixed=fixed, design=design, factors=factors, sample=sample)
    exp.points = _make_points(exp, apply)
    return exp


def _levels(table: Mapping[str, Any], section: str, role: str, fixed: Mapping[str, Any], origin: dict[str, str],
            file: str) -> list[Factor]:
    """Factors given as lists of values (a factorial's factors, a discovery design's levers)."""
    out = []
    for key, values in table.items():
        where = f"{section}.{key}"
        p = _param(key, file, where)
        if not isinstance(values, list) or not values:
            raise ExperimentError(file, where, "expected a non-empty list of values, e.g. [2, 4, 8]", values)
        vals = [_check_value(p, v, file, f"{where}[{i}]") for i, v in enumerate(values)]
        if len({json.dumps(v) for v in vals}) != len(vals):
            raise ExperimentError(file, where, "lists a value twice", values)
        if key in fixed:
            raise ExperimentError(file, where, "is also set in [fixed]; set it in one place")
        out.append(Factor(key, p.kind, values=tuple(vals), role=role))
        origin[key] = where
    return out


def _ranges(table: Mapping[str, Any], section: str, dtype: str, fixed: Mapping[str, Any], origin: dict[str, str],
            file: str, role: str = "") -> list[Factor]:
    """Factors given as ``[lo, hi]`` ranges (sampled designs, a discovery design's uncertainties)."""
    if not table:
        raise ExperimentError(file, section, 'missing; give "key" = [lo, hi] for each sampled parameter')
    out = []
    for key, rng in table.items():
        where = f"{section}.{key}"
        p = _param(key, file, where)
        if p.kind not in (int, float):
            raise ExperimentError(file, where, f"is {p.allowed()}; a {dtype} design samples numbers only "
                                  "(vary it in a factorial or points design, or set it in [fixed])")
        if (not isinstance(rng, list) or len(rng) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in rng)):
            raise ExperimentError(file, where, "expected [lo, hi], two numbers", rng)
        lo = _check_value(p, rng[0], file, where + "[0]")
        hi = _check_value(p, rng[1], file, where + "[1]")
        if not lo < hi:
            raise ExperimentError(file, where, "expected lo < hi", rng)
        if key in fixed:
            raise ExperimentError(file, where, "is also set in [fixed]; set it in one place")
        out.append(Factor(key, p.kind, lo, hi, role=role))
        origin[key] = where
    return out


def _design_size(dtype: str, design: Mapping[str, Any], factors: list[Factor]) -> int:
    """How many points a design gives, from its settings alone (nothing is sampled or built)."""
    k = len(factors)
    if dtype == "factorial":
        return math.prod(len(f.values) for f in factors)
    if dtype == "lhs":
        return design["samples"]
    if dtype == "discovery":
        return design["samples"] * math.prod(len(f.values) for f in factors if f.role == "lever")
    if dtype == "sobol":
        return design["base_samples"] * ((2 * k + 2) if design["second_order"] else (k + 2))
    if dtype == "morris":
        return design["trajectories"] * (k + 1)
    return len(design["points"])


def _make_points(exp: Experiment, apply) -> Lazy:
    """Cross the base scenarios with the design's rows, checking every point's scenario; the points, made on demand.

    Designs of at most :data:`HELD_POINTS` points keep each point's scenario as it was checked.
    """
    rows = exp.sample.rows
    hold = len(rows) * len(exp.scenarios) <= HELD_POINTS
    held = []
    for base in exp.scenarios:
        for row in rows:
            sc = apply(base, row) if row else base  # (checked here, whatever is kept)
            if hold:
                held.append(sc)
    return Lazy(len(exp.scenarios) * len(rows), _PointMaker(exp, held if hold else None))


class _PointMaker:
    """Makes an experiment's point ``k`` (base ``k // rows``, row ``k % rows``), named uniquely and briefly."""

    def __init__(self, exp: Experiment, held: list[Scenario] | None):
        self.bases, self.rows, self.design, self.held = exp.scenarios, exp.sample.rows, exp.design, held
        lasts = [k.split(".")[-1] for k in exp.sample.keys]
        self.label = {k: (k.split(".")[-1] if lasts.count(k.split(".")[-1]) == 1 else k) for k in exp.sample.keys}
        self.width = len(str(max(len(self.rows) - 1, 0)))

    def __call__(self, k: int) -> Point:
        b, i = divmod(k, len(self.rows))
        row, dtype, label = self.rows[i], self.design["type"], self.label
        if dtype == "discovery":
            choice = " ".join(f"{label[key]}={_short(row[key])}" for key in self.design["levers"])
            samples = self.design["samples"]
            tag = f"{choice} future{i % samples:0{len(str(samples - 1))}d}"
        elif dtype in SAMPLED:
            tag = f"p{i:0{self.width}d}"
        elif dtype == "points":
            tag = self.design["points"][i].get("name") or f"point{i}"
        else:
            tag = " ".join(f"{label[key]}={_short(v)}" for key, v in row.items())
        parts = ([self.bases[b].name] if len(self.bases) > 1 or not tag else []) + ([tag] if tag else [])
        return Point(k, " ".join(parts), self.bases[b], b, row, None if self.held is None else self.held[k])


def point_values(exp: Experiment) -> dict[str, list[Any]]:
    """Each varied key's applied value at every point (integers rounded, list fields resolved)."""
    keys = exp.varied_keys
    out: dict[str, list[Any]] = {k: [] for k in keys}
    for p in exp.points:
        sc = p.scenario  # (built once per point)
        for k in keys:
            out[k].append(_value_of(sc, k))
    return out


def scenario_record(sc: Scenario) -> dict[str, Any]:
    """A base scenario as stored in a manifest (rebuilt on resume by :func:`scenario_from_record`)."""
    return {"name": sc.name, "path": sc.path, "data": sc.to_dict()}


def scenario_from_record(rec: Mapping[str, Any]) -> Scenario:
    sc = scenario_from_dict(rec["data"], file=rec.get("path") or "<manifest>", default_name=rec["name"])
    sc.path = rec.get("path")
    return sc

