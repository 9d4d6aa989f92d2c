"""One participant's game: a model, the decisions taken, counterfactual replays (no UI here).

The browser app keeps one :class:`Session` per browser session; everything it
shows is read from :meth:`Session.snapshot`, and everything a participant does
goes through :meth:`Session.step`, :meth:`Session.pull`, :meth:`Session.reset`
and :meth:`Session.add_replay`. Keeping this free of Solara makes it testable
and lets the load benchmark drive many sessions without a browser.

Invariant: the live model is always the model that
``CXModel.replay(scenario, seed, decisions, week)`` would build, so a replay
that keeps the participant's decisions reproduces their curve to the bit, and
any difference in a counterfactual is caused by the changed decisions alone
(same random numbers each week: common random numbers).
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ScenarioError
from ..model import LEVERS, CXModel, Decision
from ..scenario import Scenario, load_scenario, shipped_scenarios

__all__ = [
    "Setup", "Session", "Replay", "PRESETS", "LEVER_LABELS", "LEVER_EFFECTS", "SIZES", "short_label",
    "default_setup", "scenario_choices", "decision_text", "value_text", "ENV_SCENARIO", "ENV_SEED",
    "GameOver",
]

# How the command line hands its arguments to the app (the server imports the app module).
ENV_SCENARIO = "CXSIM_DASHBOARD_SCENARIO"
ENV_SEED = "CXSIM_DASHBOARD_SEED"

# Organization size choices (organization.headcount_scale); structural, applied on reset.
SIZES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)

LEVER_LABELS = {
    "owner.executive": "CX owner",
    "owner.mandate": "Mandate",
    "owner.budget": "Budget (k/week)",
    "sponsorship.level": "CEO sponsorship",
    "sponsorship.start_week": "Sponsorship from week",
    "committee.enabled": "CX committee",
    "committee.cadence_weeks": "Committee cadence (weeks)",
    "politics.jealousy_scale": "Jealousy level",
}

# What each lever a team can pull does, in one line (shown under the lever). Costs are given
# where the model has one: only the budget mandate spends money.
LEVER_EFFECTS = {
    "owner.executive": "Who owns CX. A new owner starts with fresh credibility, and others may envy them.",
    "owner.mandate": "Advisory: persuasion only, no cost. Budget: funds training, staff and shared targets "
                     "(costs the weekly budget) but the status feeds jealousy.",
    "owner.budget": "Weekly CX budget (k per week) under the budget mandate: more skill and readiness, "
                    "and a bigger target for cuts when support is thin.",
    "sponsorship.level": "Passive: the CEO approves. Active: the CEO pulls executives toward CX, protects the "
                         "owner and the budget, and makes open resistance costly (it may go underground).",
    "committee.enabled": "All executives meet on CX: views converge, envy fades with familiarity, and covert "
                         "resistance gets seen.",
    "committee.cadence_weeks": "How often the committee meets: more often, more effect (and more of the "
                               "executives' time).",
}


class GameOver(ScenarioError):
    """The facilitator has ended the game (or it is held): no more weeks or decisions."""


# Counterfactual presets: lever values applied from week 0, replacing the
# participant's decisions on the same keys and keeping all the others.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "sponsor0": ("Active CEO sponsor from week 0", {"sponsorship.level": "active", "sponsorship.start_week": 0}),
    "committee0": ("CX committee from week 0", {"committee.enabled": True}),
    "budget0": ("Budget mandate from week 0", {"owner.mandate": "budget"}),
    "all0": ("Budget + sponsor + committee from week 0",
             {"owner.mandate": "budget", "sponsorship.level": "active", "sponsorship.start_week": 0,
              "committee.enabled": True}),
    "nojealousy": ("A world without jealousy (not a decision)", {"politics.jealousy_scale": 0.0}),
}


def short_label(title: str, exec_id: str) -> str:
    """A label that fits a box: 'Chief Marketing Officer' -> 'CMO', 'Head of Sales' -> 'Sales'."""
    words = title.split()
    if words and words[0].lower() == "chief":
        return "C" + "".join(w[0].upper() for w in words[1:] if w[0].isalpha() and w.lower() not in ("of", "and"))
    if title.lower().startswith("head of "):
        return title[8:]
    return title if len(title) <= 14 else exec_id.upper()


def scenario_choices(extra: str | None = None) -> list[str]:
    """Shipped scenario names, with ``extra`` (e.g. a file given on the command line) first."""
    names = shipped_scenarios()
    if extra and extra not in names:
        names = [extra, *names]
    return names


# The seed new sessions start with: one where the reference fails without any decision
# (final adoption 7%, covert resisters every week) and succeeds with an active sponsor and a
# committee from week 0 (87%), so round one teaches that governance, not luck, decides.
# tests/test_dashboard.py checks both.
DEFAULT_SEED = 7


@dataclass(frozen=True)
class Setup:
    """Structural settings: they define the organization and its random numbers (applied on reset)."""

    scenario: str = "reference"
    seed: int = DEFAULT_SEED
    size: float = 1.0  # organization.headcount_scale
    # politics.jealousy_scale: a property of the organization, not a lever a team can pull
    # (nobody decides how envious their colleagues are); None keeps the scenario's own
    jealousy: float | None = None


def default_setup() -> Setup:
    """The setup the command line asked for (environment variables), else the reference."""
    return Setup(scenario=os.environ.get(ENV_SCENARIO, "reference"),
                 seed=int(os.environ.get(ENV_SEED, str(DEFAULT_SEED))))


@dataclass
class Replay:
    """A counterfactual: the same seed under another decision path, run to the horizon."""

    key: str
    label: str
    decisions: list[Decision]
    adoption: np.ndarray  # (ticks + 1,)
    cx_index: np.ndarray
    outcomes: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


def _load(setup: Setup) -> Scenario:
    sc = load_scenario(setup.scenario)
    over: dict[str, Any] = {}
    if setup.size != sc["organization.headcount_scale"]:
        over["organization.headcount_scale"] = float(setup.size)
    if setup.jealousy is not None and setup.jealousy != sc["politics.jealousy_scale"]:
        over["politics.jealousy_scale"] = float(setup.jealousy)
    return sc.with_overrides(over) if over else sc


class Session:
    """A participant's game.

    Args:
        setup: scenario, seed and organization size.

    Thread safety: the play loop steps from a worker thread while clicks arrive on
    another, so every mutation takes ``self.lock``.
    """

    def __init__(self, setup: Setup | None = None):
        self.lock = threading.RLock()
        self.replays: list[Replay] = []
        self.revision = 0  # bumped by every change; snapshots are cached per revision
        self._snap: tuple[int, dict[str, Any]] | None = None
        # Set by a room (see :mod:`cxsim.dashboard.room`): the week a team may not play past
        # (a round), and whether the facilitator has ended the game.
        self.limit: int | None = None
        self.ended = False
        self.reset(setup or default_setup())

    # -- life cycle ---------------------------------------------------------------------
    def reset(self, setup: Setup | None = None) -> None:
        """Start over (optionally with another scenario, seed or size); decisions and replays are cleared."""
        with self.lock:
            setup = setup or self.setup
            scenario = _load(setup)  # raises ScenarioError before anything changes
            self.setup = replace(setup, size=float(scenario["organization.headcount_scale"]),
                                 jealousy=float(scenario["politics.jealousy_scale"]))
            self.scenario = scenario
            self.replays = []
            self._rebuild([], 0)
            self.revision += 1

    def _rebuild(self, decisions: list[Decision], week: int) -> None:
        """The live model as ``replay(decisions)`` up to ``week``, tracking covert weeks on the way."""
        self.model = CXModel(self.scenario, seed=self.setup.seed)
        self._checkpoint = None
        E = self.model.engine.E
        self.covert_weeks = np.zeros(E, dtype=np.int64)
        self.ever_exposed = np.zeros(E, dtype=bool)
        plan = sorted(decisions, key=lambda d: d.week)
        i = 0
        while True:
            while i < len(plan) and plan[i].week <= self.model.week:
                self.model.set_lever(plan[i].key, plan[i].value)
                i += 1
            if self.model.week >= week:
                break
            self._step_once()

    def _step_once(self) -> None:
        self.model.step()
        e = self.model.engine
        self.covert_weeks += e.covert[:, 0]
        self.ever_exposed |= e.exposed[:, 0] > 0

    @property
    def ticks(self) -> int:
        """The horizon in weeks."""
        return self.scenario.ticks

    @property
    def week(self) -> int:
        """Weeks played so far."""
        return self.model.week

    @property
    def done(self) -> bool:
        """The horizon is reached."""
        return self.model.week >= self.ticks

    @property
    def stop_week(self) -> int:
        """The last week the team may play to now: the horizon, or the facilitator's hold."""
        if self.ended:
            return self.model.week
        return self.ticks if self.limit is None else max(0, min(self.ticks, int(self.limit)))

    @property
    def held(self) -> bool:
        """Not at the horizon, but may not play on (the facilitator holds the round or ended the game)."""
        return not self.done and self.model.week >= self.stop_week

    @property
    def decisions(self) -> list[Decision]:
        """The decisions taken so far, in order (a copy)."""
        return list(self.model.decisions)

    def step(self, weeks: int = 1) -> int:
        """Advance up to ``weeks`` weeks (never past the horizon or a hold); returns the weeks advanced."""
        with self.lock:
            n = max(0, min(int(weeks), self.stop_week - self.model.week))
            for _ in range(n):
                self._step_once()
            self.revision += 1
            return n

    # -- levers -------------------------------------------------------------------------
    def lever_values(self) -> dict[str, Any]:
        """Current value of every lever."""
        p = self.model.engine.params
        return {k: p[k] for k in LEVERS}

    def pull(self, key: str, value: Any) -> bool:
        """Pull a lever from this week on; returns whether a decision was recorded.

        Pulling a lever to its current value does nothing. Pulling the same lever
        twice in one week keeps only the last value (and a lever moved back to where
        it was at the start of the week leaves no decision), so a participant
        fiddling with a slider leaves one clean decision.

        Raises:
            ScenarioError: unknown lever or a value it does not allow.
        """
        with self.lock:
            if self.ended:
                raise GameOver("lever", key, "the facilitator has ended the game; replays are still open")
            if key not in LEVERS:
                raise ScenarioError("lever", key, "not a lever; levers: " + ", ".join(LEVERS))
            w = self.model.week
            if self._checkpoint is None or self._checkpoint[0] != w:
                # the state at the start of this week, before its decisions: undoing a pull
                # restores it (some levers change state, e.g. the owner's credibility)
                self._checkpoint = (w, copy.deepcopy((self.model, self.covert_weeks, self.ever_exposed)))
            same = [d for d in self.model.decisions if d.week == w and d.key == key]
            if same:
                others = [d for d in self.model.decisions if d.week == w and d.key != key]
                self.model, self.covert_weeks, self.ever_exposed = copy.deepcopy(self._checkpoint[1])
                for d in others:
                    self.model.set_lever(d.key, d.value)
            self.revision += 1
            if self.model.engine.params[key] == value:
                return bool(same)
            self.model.set_lever(key, value)
            return True

    def decision_text(self, key: str, value: Any) -> str:
        """A decision as participants read it: 'CX owner → Chief Operating Officer'."""
        return decision_text(key, value, dict(zip(self.model.engine.st.exec_ids, self.model.engine.st.exec_titles)))

    def sponsor_since(self) -> int | None:
        """The week the current sponsorship level took effect (None without a sponsor).

        Not the ``sponsorship.start_week`` parameter: a sponsor appointed at week 32 with the
        parameter left at 0 has been a sponsor since week 32.
        """
        with self.lock:
            p = self.model.engine.params
            if p["sponsorship.level"] == "none":
                return None
            since = 0
            for d in self.model.decisions:
                if d.key == "sponsorship.level":
                    since = d.week
            return max(since, int(p["sponsorship.start_week"]))

    # -- counterfactuals ----------------------------------------------------------------------
    def replay_options(self) -> list[tuple[str, str]]:
        """(key, label) of every counterfactual on offer now."""
        opts = [("none", "No decisions: the scenario as it was set up")]
        for i, d in enumerate(self.model.decisions):
            opts.append((f"without:{i}",
                         f"Without decision {i + 1} (week {d.week}: {self.decision_text(d.key, d.value)})"))
        opts += [(k, label) for k, (label, _) in PRESETS.items()]
        return opts

    def decision_path(self, key: str) -> list[Decision]:
        """The decision path of counterfactual ``key`` (see :meth:`replay_options`)."""
        mine = list(self.model.decisions)
        if key == "none":
            return []
        if key == "mine":
            return mine
        if key.startswith("without:"):
            i = int(key.split(":", 1)[1])
            if not 0 <= i < len(mine):
                raise ScenarioError("replay", key, f"no decision {i + 1}; there are {len(mine)}")
            return mine[:i] + mine[i + 1:]
        if key in PRESETS:
            levers = PRESETS[key][1]
            kept = [d for d in mine if d.key not in levers]
            return [Decision(0, k, v) for k, v in levers.items()] + kept
        raise ScenarioError("replay", key, "unknown counterfactual; choose one of: "
                            + ", ".join(k for k, _ in self.replay_options()))

    def add_replay(self, key: str, max_kept: int = 4) -> Replay:
        """Run counterfactual ``key`` to the horizon and keep it for the overlay (newest last)."""
        with self.lock:
            path = self.decision_path(key)
            label = dict(self.replay_options()).get(key, key)
            scenario, seed = self.scenario, self.setup.seed
        m = CXModel.replay(scenario, seed, path, scenario.ticks)
        rec = m.recorder
        rp = Replay(key, label, path, rec.adoption64[:rec.n, 0].copy(),
                    rec.series["cx_index"][:rec.n, 0].astype(np.float64), m.outcomes(),
                    [e for e in m.events if e["kind"] != "committee_met"])
        with self.lock:
            self.replays = [r for r in self.replays if r.key != key][-(max_kept - 1):] + [rp]
            self.revision += 1
        return rp

    def clear_replays(self) -> None:
        """Drop every counterfactual replay."""
        with self.lock:
            self.replays = []
            self.revision += 1

    # -- read-outs ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything the views draw, as plain data; cached until the next change (treat it as read-only)."""
        with self.lock:
            if self._snap is None or self._snap[0] != self.revision:
                self._snap = (self.revision, self._snapshot())
            return self._snap[1]

    def _snapshot(self) -> dict[str, Any]:
        with self.lock:
            m, e = self.model, self.model.engine
            st, rec, n = e.st, m.recorder, m.recorder.n
            present = bool(e.owner_present[0])
            titles = dict(zip(st.exec_ids, st.exec_titles))
            execs = []
            for i, ex in enumerate(st.exec_ids):
                execs.append({
                    "id": ex, "title": st.exec_titles[i], "label": short_label(st.exec_titles[i], ex),
                    "true": float(e.buy_in[i, 0]), "expressed": float(e.expressed[i, 0]),
                    "jealousy": float(e.jealousy[i, 0]), "covert": bool(e.covert[i, 0]),
                    "exposed": bool(e.exposed[i, 0] > 0), "covert_weeks": int(self.covert_weeks[i]),
                    "ever_exposed": bool(self.ever_exposed[i]),
                    "is_owner": i == e.owner, "is_ceo": i == st.ceo, "influence": float(st.exec_influence[i]),
                })
            depts = [{
                "id": d, "name": st.dept_names[j], "exec": st.exec_ids[st.dept_exec[j]],
                "headcount": int(st.headcount[j]), "front": bool(st.front[j]),
                "adoption": float(e.adopters[j, 0] / st.headcount[j]),
            } for j, d in enumerate(st.dept_ids)]
            return {
                "scenario": self.scenario.name, "description": self.scenario.description,
                "seed": self.setup.seed, "size": self.setup.size,
                "week": m.week, "ticks": self.ticks, "done": self.done,
                "adoption": float(rec.adoption64[n - 1, 0]), "cx_index": float(rec.series["cx_index"][n - 1, 0]),
                "threshold": float(self.scenario["run.success_threshold"]),
                "owner": st.exec_ids[e.owner], "owner_present": present,
                "series": {
                    "adoption": rec.adoption64[:n, 0].copy(),
                    "cx_index": rec.series["cx_index"][:n, 0].astype(np.float64),
                    "true": rec.exec_true[:n, :, 0].astype(np.float64),
                    "expressed": rec.exec_expr[:n, :, 0].astype(np.float64),
                },
                "execs": execs, "depts": depts,
                "decisions": [{"n": i + 1, "week": d.week, "key": d.key, "label": LEVER_LABELS[d.key],
                               "value": d.value, "text": decision_text(d.key, d.value, titles)}
                              for i, d in enumerate(m.decisions)],
                "sponsor_since": self.sponsor_since(), "stop_week": self.stop_week, "held": self.held,
                "ended": self.ended,
                "events": list(m.events),
                "levers": self.lever_values(),
                "replays": list(self.replays),
            }


def value_text(value: Any) -> str:
    """A lever value as participants read it: on/off, 0.5, active."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def decision_text(key: str, value: Any, titles: dict[str, str] | None = None) -> str:
    """A decision in words, no codes: 'CX owner → Chief Operating Officer', 'CX committee → formed'."""
    label = LEVER_LABELS.get(key, key)
    if key == "owner.executive":
        v = (titles or {}).get(str(value), str(value))
    elif key == "committee.enabled":
        return "CX committee formed" if value else "CX committee disbanded"
    elif key == "committee.cadence_weeks":
        return f"Committee meets every {int(value)} weeks"
    elif key == "owner.budget":
        return f"Budget → {float(value):g}k per week"
    elif key == "politics.jealousy_scale":
        return f"Jealousy level → ×{float(value):g}"
    elif key == "sponsorship.start_week":
        return f"Sponsorship from week {int(value)}"
    else:
        v = value_text(value)
    return f"{label} → {v}"
