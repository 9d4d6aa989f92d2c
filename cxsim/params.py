"""Every model parameter, declared once: type, default, allowed range, unit, meaning.

Scenario files set these under the section named by the first part of the key
(``[committee] cadence_weeks = 2``); ``--set committee.cadence_weeks=2`` overrides
one. Submodel sections carry an ``enabled`` switch: ``false`` makes that submodel
neutral (the model then behaves as if the mechanism did not exist). The section
names match the submodel functions in :mod:`cxsim.submodels` and the headings of
``docs/ODD.md``.

Executives and departments are lists of tables; their fields are declared in
:data:`EXECUTIVE_FIELDS` and :data:`DEPARTMENT_FIELDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Param",
    "PARAMS",
    "EXECUTIVE_FIELDS",
    "DEPARTMENT_FIELDS",
    "STAGE_FIELDS",
    "INFLUENCE_FIELDS",
    "SECTIONS",
    "LISTS",
]


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    key: str
    default: Any
    kind: type  # float, int, bool, str
    unit: str
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False

    def allowed(self) -> str:
        """Plain-language description of the allowed values."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "a string"
        if self.kind is list:
            return "a list of ids (strings)"
        word = "an integer" if self.kind is int else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{word} in [{self.lo:g}, {self.hi:g}]"
        if self.lo is not None:
            return f"{word} >= {self.lo:g}"
        return word


def _p(key, default, unit, doc, lo=None, hi=None, kind=None, choices=None, required=False):
    if kind is None:
        kind = type(default) if default is not None else str
    if kind is float and isinstance(default, int):
        default = float(default)
    return Param(key, default, kind, unit, doc, lo, hi, tuple(choices) if choices else None, required)


def _f(key, default, unit, doc, lo=0.0, hi=1.0):
    return _p(key, float(default), unit, doc, lo, hi, kind=float)


def _on(section, doc):
    return _p(f"{section}.enabled", True, "switch", doc, kind=bool)


_LIST = [
    # -- meta and run ------------------------------------------------------------
    _p("meta.name", "", "text", "Short name shown in tables and legends (defaults to the file name)."),
    _p("meta.description", "", "text", "One sentence saying what this scenario represents."),
    _p("run.ticks", 156, "weeks", "Default horizon: one tick is one week.", 1, 5200, kind=int),
    _f("run.success_threshold", 0.6, "share of employees",
       "A replication succeeds when final adoption is at least this share."),
    # -- organization -----------------------------------------------------------------
    _f("organization.headcount_scale", 1.0, "multiplier",
       "Multiplies every department's headcount (organization size).", 0.05, 20.0),
    _f("organization.readiness_shift", 0.0, "share",
       "Added to every department's initial readiness (then clipped to [0, 1]).", -1.0, 1.0),
    _f("organization.skill_shift", 0.0, "share",
       "Added to every department's initial CX skill (then clipped to [0, 1]).", -1.0, 1.0),
    _f("organization.initial_spread", 0.08, "sd",
       "Uncertainty (sd, in share units) around the entered values: each executive's initial buy-in "
       "and jealousy, each function's readiness and skill differ by this between replications; "
       "0 makes every replication start exactly as entered.", 0.0, 0.5),
    # -- owner (mechanism 1, who owns CX and with what mandate) ----------------------
    _p("owner.executive", "cmo", "executive id", "The executive who owns CX.", required=True),
    _p("owner.mandate", "advisory", "choice",
       "advisory: persuasion only, no staff or budget; budget: funds training, staff and "
       "cross-functional targets.", choices=("advisory", "budget")),
    _f("owner.budget", 60.0, "k-currency per week",
       "Weekly program budget of a budget-holding owner (ignored when advisory).", 0.0, 10000.0),
    _f("owner.initial_credibility", 0.5, "share", "Credibility of a newly appointed owner."),
    # -- mandate (mechanism 1) ---------------------------------------------------------
    _on("mandate", "A budget-holding owner's spending raises skill and readiness and weakens silos."),
    _f("mandate.reference_intensity", 20.0, "k-currency per 1000 employees per week",
       "Spending intensity at which the rates below apply in full.", 0.01, 1e6),
    _f("mandate.training_rate", 0.006573, "per week", "Skill gain (of the gap to 1) at reference intensity."),
    _f("mandate.staff_rate", 0.002, "per week", "Readiness gain (of the gap to 1) at reference intensity."),
    _f("mandate.targets_rate", 0.00302, "per week",
       "Silo-strength decay from cross-functional targets at reference intensity."),
    _f("mandate.status", 1.0, "share",
       "Owner status a budget mandate confers (advisory confers advisory_status); feeds jealousy."),
    _f("mandate.advisory_status", 0.5, "share", "Owner status an advisory mandate confers."),
    # -- sponsorship (mechanism 2) ------------------------------------------------------
    _on("sponsorship", "CEO sponsorship: co-ownership pull, owner and budget protection, cost of open resistance."),
    _p("sponsorship.level", "passive", "choice",
       "none, passive (aware, not active) or active.", choices=("none", "passive", "active")),
    _p("sponsorship.start_week", 0, "week", "Week from which the sponsorship level applies.", 0, 5200, kind=int),
    _f("sponsorship.passive_strength", 0.5704, "share", "Strength of a passive sponsor (active = 1, none = 0)."),
    _f("sponsorship.coownership_rate", 0.01485, "per week",
       "Pull of every executive's buy-in toward 1 under an active sponsor."),
    _f("sponsorship.owner_protection", 0.4, "share",
       "Fraction of the owner's departure hazard that full support removes (support: the "
       "sponsor's strength, or CEO buy-in x understanding if higher); an active sponsor "
       "also removes this fraction of covert erosion of the owner's credibility."),
    _f("sponsorship.resistance_cost", 0.55, "share",
       "Public pressure to conform that an active sponsor adds (see politics.conformity)."),
    _f("sponsorship.correction", 0.6, "share",
       "Fraction of jealousy an active sponsor removes from an executive caught resisting."),
    # -- committee (mechanism 3) -------------------------------------------------------
    _p("committee.enabled", False, "switch",
       "Whether a CX committee of all executives exists and meets on a cadence.", kind=bool),
    _p("committee.cadence_weeks", 4, "weeks", "Weeks between meetings.", 1, 520, kind=int),
    _p("committee.start_week", 0, "week", "Week of the first meeting.", 0, 5200, kind=int),
    _f("committee.convergence", 0.2182, "share per meeting",
       "Pull of members' buy-in toward their influence-weighted mean."),
    _f("committee.familiarity", 0.0409, "share per meeting", "Fraction of jealousy removed per meeting."),
    _f("committee.trust_gain", 0.05, "share per meeting", "Trust in the owner gained per meeting (of the gap to 1)."),
    _f("committee.detection", 0.3702, "probability per meeting", "Chance a covert resister is seen at a meeting."),
    _f("committee.planning", 0.04, "share per meeting", "Silo-strength reduction from unified planning."),
    # -- politics (mechanism 4) ---------------------------------------------------------
    _on("politics", "Jealousy toward the owner, covert resistance (playing along) and sabotage."),
    _f("politics.jealousy_scale", 1.0, "multiplier",
       "Multiplies every executive's jealousy propensity.", 0.0, 5.0),
    _f("politics.jealousy_growth", 0.03, "per week", "Jealousy growth at full owner status and propensity 1."),
    _f("politics.jealousy_decay", 0.004, "per week", "Spontaneous decay of jealousy."),
    _f("politics.resist_threshold", 0.35, "jealousy",
       "Jealousy at which half of the executives resist (chance j^4 / (j^4 + threshold^4))."),
    _f("politics.conformity", 0.3, "share",
       "Baseline public pressure to conform; with the sponsor's cost it makes playing along "
       "(covert resistance) more attractive than resisting openly."),
    _f("politics.covert_threshold", 0.1036, "pressure",
       "Net pressure (pressure minus deterrence x risk of being seen) at which half of the resisters play along."),
    _f("politics.covert_width", 0.1, "pressure",
       "How gradually the chance of playing along rises with net pressure (scale of a smooth S-curve).",
       0.001, 1.0),
    _f("politics.deterrence", 3.0, "weight",
       "Weight of the weekly risk of being seen (committee detection / cadence) against playing along.",
       0.0, 100.0),
    _f("politics.buy_in_drag", 0.015, "per week", "Weekly erosion of a resister's true buy-in, times jealousy."),
    _f("politics.sabotage", 0.3, "share", "Slowdown of a covert resister's departments, times jealousy."),
    _f("politics.credibility_erosion", 0.004, "per week",
       "Owner credibility lost per week to covert resistance (influence- and jealousy-weighted)."),
    _p("politics.exposure_weeks", 26, "weeks", "How long a detected resister cannot play along.", 0, 5200, kind=int),
    # -- social influence among executives (DeGroot) ------------------------------------
    _on("social_influence", "Executives average the buy-in they hear (expressed) over the influence network."),
    _f("social_influence.rate", 0.08, "per week", "Weight on the network average each week (1: pure DeGroot)."),
    _f("social_influence.self_weight", 1.0, "weight",
       "Weight each executive gives their own view before row normalization.", 0.0, 1e6),
    _f("social_influence.noise", 0.02, "sd per week", "Random weekly shocks to true buy-in.", 0.0, 0.5),
    # -- persuasion by the owner (mechanism 1, advisory lever) ----------------------------
    _on("persuasion", "The owner persuades executives (credibility x trust x (1 - jealousy))."),
    _f("persuasion.rate", 0.02, "per week", "Buy-in gain (of the gap to 1) at full credibility and trust."),
    _f("persuasion.trust_gain", 0.005, "per week", "Trust gained per week of persuasion contact."),
    # -- business case (mechanism 10 feedback) --------------------------------------------
    _on("business_case", "Visible CX results feed buy-in, understanding and owner credibility."),
    _p("business_case.lag_weeks", 26, "weeks", "Time constant with which results become visible.", 1, 520, kind=int),
    _f("business_case.threshold", 0.15, "CX gain",
       "Motivation threshold (Repenning 2002): results (CX index above its no-adoption baseline, as a share "
       "of the possible gain) above it build commitment, below it erode it."),
    _f("business_case.gain", 0.03887, "per week", "Buy-in gain per unit of results above the threshold."),
    _f("business_case.erosion", 0.02248, "per week",
       "Buy-in and credibility lost per week while results stay below threshold after patience."),
    _p("business_case.patience_weeks", 52, "weeks", "Weeks executives wait before results are expected.", 0, 5200,
       kind=int),
    _f("business_case.understanding_gain", 0.01, "per week",
       "Understanding gained per unit of results and per unit of persuasion."),
    # -- attrition of the owner (mechanism 8) --------------------------------------------
    _on("attrition", "The owner may leave or be pushed out; budgets are cut without support."),
    _f("attrition.hazard", 0.01457, "per week", "Departure hazard of an owner with no support and no credibility."),
    _f("attrition.credibility_protection", 0.6, "share", "Fraction of the hazard full credibility removes."),
    _p("attrition.vacancy_weeks", 45, "weeks", "Mean weeks until a successor arrives.", 1, 520, kind=int),
    _f("attrition.budget_cut_hazard", 0.02, "per week", "Chance per week of a budget cut with no support."),
    _f("attrition.budget_cut", 0.25, "share", "Fraction of the budget removed by one cut."),
    _f("attrition.successor_reset", 0.5, "share", "Fraction of executives' jealousy a new owner starts without."),
    # -- readiness (mechanism 5) ----------------------------------------------------------
    _on("readiness", "Readiness follows the owning executive's buy-in; change fatigue lowers it."),
    _p("readiness.change_management_lead_weeks", 0, "weeks",
       "Weeks of change management before launch (raises initial readiness).", 0, 520, kind=int),
    _f("readiness.change_management_effect", 0.3, "share", "Maximum readiness gain from change management lead time."),
    _f("readiness.alignment_rate", 0.01, "per week", "Pull of readiness toward the owning executive's true buy-in."),
    _f("readiness.fatigue_rate", 0.004, "per week",
       "Change fatigue accumulated per week of unfinished change, times load."),
    _f("readiness.fatigue_recovery", 0.02, "per week", "Fatigue recovered per week, times adoption."),
    _f("readiness.fatigue_effect", 0.01, "per week", "Readiness lost per week per unit of fatigue."),
    # -- skill (mechanism 6) ----------------------------------------------------------------
    _on("skill", "CX skill grows by doing (adoption); back-office skill starts lower (department data)."),
    _f("skill.learning_rate", 0.006, "per week", "Skill gain (of the gap to 1) per week at full adoption."),
    # -- amount of change (mechanism 7) ---------------------------------------------------------
    _on("change_load", "More people, functions and journey interfaces involved: slower adoption, more fatigue."),
    _f("change_load.reference_headcount", 3000.0, "employees", "Headcount at which load is 1.", 1.0, 1e7),
    _f("change_load.headcount_elasticity", 0.0173, "elasticity", "Load ~ (headcount / reference) ^ this.", 0.0, 3.0),
    _f("change_load.reference_functions", 7.0, "functions",
       "Functions (executives with departments) at which load is 1.", 1.0, 1e4),
    _f("change_load.function_elasticity", 0.1, "elasticity", "Load ~ (functions / reference) ^ this.", 0.0, 3.0),
    _f("change_load.reference_interfaces", 9.0, "interfaces",
       "Journey interfaces (pairs of functions serving a common stage) at which load is 1.", 1.0, 1e6),
    _f("change_load.interface_elasticity", 0.05, "elasticity", "Load ~ (interfaces / reference) ^ this.", 0.0, 3.0),
    # -- employee adoption (mechanism 9) ---------------------------------------------------------
    _on("adoption", "Employee adoption: push (p) and imitation (q), with reversion below a support threshold."),
    _f("adoption.p", 0.001624, "per week",
       "Spontaneous (push) adoption probability per non-adopter at neutral drivers."),
    _f("adoption.q", 0.05819, "per week", "Imitation probability per non-adopter at full adoption of peers."),
    _f("adoption.cross_department", 0.3, "share",
       "Share of imitation that comes from the whole organization (ripple)."),
    _f("adoption.leadership_weight", 0.8, "weight", "Effect of the owning executive's true buy-in on push (0: none)."),
    _f("adoption.owner_weight", 0.6, "weight", "Effect of an active, credible owner on push (0: none)."),
    _f("adoption.readiness_weight", 0.7, "weight", "Effect of readiness on push and imitation (0: none)."),
    _f("adoption.skill_weight", 0.6, "weight", "Effect of CX skill on push and imitation (0: none)."),
    _f("adoption.silo_weight", 0.6, "weight", "How much silo strength suppresses adoption (0: none)."),
    _f("adoption.culture_spread", 0.4437, "sd",
       "Between-replication spread of how receptive the company's employees are, which no org chart "
       "shows: each replication's adoption hazard is multiplied by max(1 + spread z, 0.05), z ~ N(0, 1).",
       0.0, 2.0),
    _f("adoption.reversion", 0.06076, "per week", "Reversion probability per adopter at zero support."),
    _f("adoption.support_threshold", 0.5786, "share", "Support below which adopters start to revert."),
    # -- journey (mechanism 10) ----------------------------------------------------------------------
    _on("journey", "CX index over journey stages with weak links punished."),
    _f("journey.baseline_quality", 0.2, "share", "Stage quality with no CX adoption."),
    _f("journey.weak_link_exponent", -2.0, "power-mean exponent",
       "Power mean over stages: 1 is the plain mean, lower punishes weak links more.", -20.0, 1.0),
]

PARAMS: dict[str, Param] = {p.key: p for p in _LIST}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(k.split(".")[0] for k in PARAMS))

EXECUTIVE_FIELDS: dict[str, Param] = {
    p.key: p
    for p in [
        _p("id", "", "identifier", "Unique short id, used in references.", required=True),
        _p("title", "", "text", "Job title shown in plots."),
        _f("influence", 0.5, "share", "Formal power: weight in committee averages and sabotage."),
        _f("buy_in", 0.5, "share", "Initial true (private) buy-in to CX."),
        _f("jealousy", 0.1, "share", "Jealousy propensity toward the CX owner (initial jealousy too)."),
        _f("understanding", 0.4, "share", "Understanding of what CX is and why it pays."),
        _f("trust", 0.5, "share", "Initial trust in the CX owner."),
        _p("ceo", False, "switch", "Marks the chief executive (exactly one when there are executives).", kind=bool),
    ]
}

DEPARTMENT_FIELDS: dict[str, Param] = {
    p.key: p
    for p in [
        _p("id", "", "identifier", "Unique short id, used in references.", required=True),
        _p("name", "", "text", "Display name."),
        _p("office", "front", "choice", "front or back office.", choices=("front", "back")),
        _p("headcount", 100, "employees", "Employees in the department.", 1, 10_000_000, kind=int, required=True),
        _p("executive", "", "executive id", "The executive the department reports to.", required=True),
        _f("readiness", 0.5, "share", "Initial readiness for change."),
        _f("skill", 0.5, "share", "Initial CX skill."),
        _f("silo_strength", 0.4, "share", "Pull of functional (silo) targets against CX work."),
        _f("initial_adoption", 0.0, "share", "Share of employees already practising CX at week 0."),
    ]
}

STAGE_FIELDS: dict[str, Param] = {
    p.key: p
    for p in [
        _p("id", "", "identifier", "Unique short id of the journey stage.", required=True),
        _p("name", "", "text", "Display name."),
        _p("departments", [], "department ids", "Departments serving this stage.", kind=list, required=True),
    ]
}

INFLUENCE_FIELDS: dict[str, Param] = {
    p.key: p
    for p in [
        _p("listener", "", "executive id", "The executive being influenced.", required=True),
        _p("speaker", "", "executive id", "The executive whose expressed buy-in is heard.", required=True),
        _p("weight", 1.0, "weight", "Relative weight (rows are normalized).", 0.0, kind=float, required=True),
    ]
}

# Lists of tables in a scenario file, the field declarations of their items, and the
# key(s) that identify an item when a file extends another.
LISTS: dict[str, tuple[dict[str, Param], tuple[str, ...]]] = {
    "executives": (EXECUTIVE_FIELDS, ("id",)),
    "departments": (DEPARTMENT_FIELDS, ("id",)),
    "stages": (STAGE_FIELDS, ("id",)),
    "influence": (INFLUENCE_FIELDS, ("listener", "speaker")),
}
