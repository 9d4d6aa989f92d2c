"""The interactive face: ``CXModel(mesa.Model)``, one replication you can step, inspect and steer.

It runs on the same :class:`~cxsim.engine.Engine` as a batch (with R = 1), so
``CXModel(sc, seed=s, replication=k)`` reproduces replication k of a batch run
with seed s exactly. Levers changed between steps are recorded as decisions;
:meth:`CXModel.replay` runs the same seed under another decision path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import mesa
import numpy as np
import pandas as pd

from .agents import Department, Executive
from .engine import Engine
from .errors import ScenarioError
from .metrics import Recorder, outcomes
from .params import PARAMS
from .scenario import Scenario, load_scenario
from .submodels import adoption_share
from .submodels.initialize import jealousy_propensity

__all__ = ["CXModel", "Decision", "LEVERS"]

# Levers a participant may pull mid-run. Each is a scenario parameter key.
LEVERS = (
    "owner.executive",
    "owner.mandate",
    "owner.budget",
    "sponsorship.level",
    "sponsorship.start_week",
    "committee.enabled",
    "committee.cadence_weeks",
    "politics.jealousy_scale",
)


@dataclass(frozen=True)
class Decision:
    """A lever pulled at the start of ``week``."""

    week: int
    key: str
    value: Any


class CXModel(mesa.Model):
    """One organization, advanced a week per :meth:`step`.

    Args:
        scenario: a :class:`Scenario`, or a path / shipped name.
        seed: the run's seed.
        replication: which replication's random stream to use (default 0).
        overrides: dotted-key overrides applied when loading by name.

    Attributes:
        engine: the underlying engine (arrays with R = 1).
        executives, departments: Mesa ``AgentSet``s.
        events: list of dicts (week, kind, text) — owner left, budget cut, ...
        decisions: the levers pulled so far, as :class:`Decision`.
    """

    def __init__(self, scenario: Scenario | str = "reference", seed: int = 0, replication: int = 0,
                 overrides=None):
        # (Mesa's own generators, which no rule uses, seeded by rng=: Mesa 3.5 deprecates seed=)
        super().__init__(rng=int(seed))
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides)
        elif overrides:
            scenario = scenario.with_overrides(overrides)
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.engine = Engine(scenario, [self.replication], self.seed)
        self.recorder = Recorder(self.engine, scenario.ticks)
        for i in range(self.engine.E):
            Executive(self, i)
        for d in range(self.engine.D):
            Department(self, d)
        self.events: list[dict[str, Any]] = []
        self.decisions: list[Decision] = []

    # -- Mesa -------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one week."""
        self.engine.step()
        self.recorder.record()
        self._log_events()

    @property
    def week(self) -> int:
        """Weeks simulated so far."""
        return self.engine.week

    @property
    def executives(self) -> mesa.agent.AgentSet:
        """The executives, as a Mesa agent set."""
        return self.agents_by_type.get(Executive, mesa.agent.AgentSet([], random=self.random))

    @property
    def departments(self) -> mesa.agent.AgentSet:
        """The departments, as a Mesa agent set."""
        return self.agents_by_type.get(Department, mesa.agent.AgentSet([], random=self.random))

    @property
    def adoption(self) -> float:
        """Share of all employees practising CX."""
        return float(adoption_share(self.engine)[0])

    @property
    def cx_index(self) -> float:
        """The CX index: the customer experience across the journey's stages."""
        return float(self.engine.cx[0])

    @property
    def owner(self) -> Executive | None:
        """The executive who owns CX, or None while the post is vacant."""
        for a in self.executives:
            if a.is_owner:
                return a
        return None

    # -- levers ------------------------------------------------------------------------
    def set_lever(self, key: str, value: Any) -> None:
        """Pull a lever from the current week on, and record the decision.

        Raises:
            ScenarioError: unknown lever or a value outside what the parameter allows.
        """
        if key not in LEVERS:
            raise ScenarioError("lever", key, "not a lever; levers: " + ", ".join(LEVERS))
        from .scenario import coerce_value

        value = coerce_value(PARAMS[key], value, "lever", key)
        if key == "owner.executive":
            if value not in self.engine.st.exec_ids:
                raise ScenarioError("lever", key, "no such executive; ids: " + ", ".join(self.engine.st.exec_ids),
                                    value)
            self.engine.set_owner(value)
        elif key == "politics.jealousy_scale":
            self._set_jealousy_scale(value)
        else:
            self.engine.params[key] = value
            if key == "owner.budget":
                # the budget is state from week 0 on (cuts shrink it): a decision sets it anew
                self.engine.budget[:] = value
        self.decisions.append(Decision(self.week, key, value))
        self.events.append({"week": self.week, "kind": "decision", "text": f"Decision: {key} = {value}"})

    def _set_jealousy_scale(self, value: float) -> None:
        """Jealousy propensities are drawn at week 0; rescale them (and current jealousy) to the new level.

        At week 0 this matches loading the scenario with the override (up to clipping at 1).
        """
        e = self.engine
        old = e.params["politics.jealousy_scale"]
        e.params["politics.jealousy_scale"] = value
        if not e.params["politics.enabled"] or e.E == 0:
            return
        e.propensity = jealousy_propensity(e, value)
        if old > 0:
            e.jealousy = np.clip(e.jealousy * (value / old), 0.0, 1.0)
        else:
            e.jealousy = np.maximum(e.jealousy, e.propensity)
        e.jealousy[e.owner] = 0.0

    @classmethod
    def replay(cls, scenario: Scenario | str, seed: int, decisions: Iterable[Decision | tuple],
               ticks: int, replication: int = 0) -> "CXModel":
        """Run the same seed under a decision path; returns the model after ``ticks`` weeks."""
        model = cls(scenario, seed=seed, replication=replication)
        plan = sorted((d if isinstance(d, Decision) else Decision(*d) for d in decisions), key=lambda d: d.week)
        i = 0
        for _ in range(ticks):
            while i < len(plan) and plan[i].week <= model.week:
                model.set_lever(plan[i].key, plan[i].value)
                i += 1
            model.step()
        return model

    # -- read-outs ----------------------------------------------------------------------
    def history(self) -> pd.DataFrame:
        """Per-week metrics so far (tick 0 is the initial state), one row per week."""
        rec, n = self.recorder, self.recorder.n
        cols = {"tick": np.arange(n)}
        for k, v in rec.series.items():
            cols[k] = v[:n, 0].astype(np.float64)
        for i, d in enumerate(self.engine.st.dept_ids):
            cols[f"adoption:{d}"] = rec.dept[:n, i, 0].astype(np.float64)
        for i, e in enumerate(self.engine.st.exec_ids):
            cols[f"buy_in:{e}"] = rec.exec_true[:n, i, 0].astype(np.float64)
            cols[f"expressed:{e}"] = rec.exec_expr[:n, i, 0].astype(np.float64)
        return pd.DataFrame(cols)

    def outcomes(self) -> dict[str, Any]:
        """The per-replication outcomes as of now."""
        return {k: (v[0].item() if hasattr(v[0], "item") else v[0]) for k, v in outcomes(self.recorder).items()}

    def _log_events(self) -> None:
        e, w = self.engine, self.week
        owner = e.st.exec_titles[e.owner]
        if e.ev_owner_left[0]:
            self.events.append({"week": w, "kind": "owner_left",
                                "text": f"The CX owner ({owner}) left; the post is vacant"})
        if e.ev_successor[0]:
            self.events.append({"week": w, "kind": "successor", "text": "A successor took over as CX owner"})
        if e.ev_budget_cut[0]:
            self.events.append({"week": w, "kind": "budget_cut",
                                "text": f"The CX budget was cut to {e.budget[0]:.0f}k per week"})
        if e.ev_detected[0]:
            self.events.append({"week": w, "kind": "resistance_detected",
                                "text": f"The committee saw covert resistance by {int(e.ev_detected[0])} executive(s)"})
        if e.committee_met:
            self.events.append({"week": w, "kind": "committee_met", "text": "The CX committee met"})
