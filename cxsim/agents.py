"""Mesa agents: views onto one replication's rows of the engine's arrays.

An agent holds no state of its own; its attributes read the engine, so a batch
engine and an interactive model can never disagree. Filter them the Mesa way:
``model.agents.select(lambda a: isinstance(a, Executive) and a.covert)``.
"""

from __future__ import annotations

import mesa

__all__ = ["Executive", "Department"]


class Executive(mesa.Agent):
    """An executive: true and expressed buy-in, jealousy, understanding, trust, influence."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index
        self.exec_id = model.engine.st.exec_ids[index]
        self.title = model.engine.st.exec_titles[index]

    def _get(self, name):
        return float(getattr(self.model.engine, name)[self.index, 0])

    @property
    def buy_in(self) -> float:
        """True (private) buy-in to CX."""
        return self._get("buy_in")

    @property
    def expressed_buy_in(self) -> float:
        """Buy-in shown to colleagues (higher than true buy-in when playing along)."""
        from .submodels import expressed_view

        return float(expressed_view(self.model.engine)[self.index, 0])

    @property
    def jealousy(self) -> float:
        """Jealousy toward the CX owner."""
        return self._get("jealousy")

    @property
    def understanding(self) -> float:
        """Understanding of CX."""
        return self._get("understanding")

    @property
    def trust(self) -> float:
        """Trust in the CX owner."""
        return self._get("trust")

    @property
    def influence(self) -> float:
        """Formal power."""
        return float(self.model.engine.st.exec_influence[self.index])

    @property
    def covert(self) -> bool:
        """Playing along in public while resisting in private."""
        return bool(self.model.engine.covert[self.index, 0])

    @property
    def exposed(self) -> bool:
        """Caught resisting recently (cannot play along for a while)."""
        return bool(self.model.engine.exposed[self.index, 0] > 0)

    @property
    def is_owner(self) -> bool:
        """Owns CX."""
        return self.model.engine.owner == self.index

    @property
    def is_ceo(self) -> bool:
        """Is the CEO."""
        return self.model.engine.st.ceo == self.index

    def __repr__(self) -> str:
        return f"Executive({self.exec_id!r}, buy_in={self.buy_in:.2f}, expressed={self.expressed_buy_in:.2f})"


class Department(mesa.Agent):
    """A department: headcount, owning executive, readiness, skill, silo strength, adoption."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index
        st = model.engine.st
        self.dept_id = st.dept_ids[index]
        self.name = st.dept_names[index]
        self.office = "front" if st.front[index] else "back"
        self.headcount = int(st.headcount[index])
        self.executive = st.exec_ids[st.dept_exec[index]]
        self.stages = [s for s, row in zip(st.stage_ids, st.stage_weights) if row[index] > 0]

    def _get(self, name):
        return float(getattr(self.model.engine, name)[self.index, 0])

    @property
    def adopters(self) -> int:
        """Employees practising CX."""
        return int(self._get("adopters"))

    @property
    def adoption(self) -> float:
        """Share of the department's employees practising CX."""
        return self._get("adopters") / self.headcount

    @property
    def readiness(self) -> float:
        """Readiness for CX (follows the owning executive's buy-in, worn down by change fatigue)."""
        return self._get("readiness")

    @property
    def skill(self) -> float:
        """CX skill (grows with practice)."""
        return self._get("skill")

    @property
    def silo_strength(self) -> float:
        """Silo strength: pull of functional targets against CX work."""
        return self._get("silo")

    def __repr__(self) -> str:
        return f"Department({self.dept_id!r}, adoption={self.adoption:.2f})"
