"""A workshop room: teams playing the same organization, run from a facilitator's console (no UI here).

The facilitator creates a :class:`Room` (scenario, seed, size, jealousy, whether the
reveal waits for the debrief); teams join it with its short code, each with a
:class:`~cxsim.dashboard.session.Session` of its own built from the room's setup, which
they cannot change. The facilitator holds everyone at a week (a round), advances
everyone to a week, releases the reveal and ends the game; the console reads every
team's numbers from here, and :func:`luck` places a team's result in the distribution of
outcomes its decisions give over many replications.

Rooms and solo sessions live in :data:`REGISTRY`, one per server process, keyed by
secrets carried in the page's URL, so a reload (or a laptop waking up) finds the same
game. Nothing is written to disk: stopping the server ends every game.
"""

from __future__ import annotations

import csv
import io
import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..engine import Engine
from ..errors import CXSimError
from ..metrics import Recorder
from ..model import CXModel
from ..scenario import Scenario
from .session import Session, Setup, _load, decision_text

__all__ = ["Room", "Team", "Registry", "REGISTRY", "luck", "Luck", "room_payload", "room_csv", "ENV_TOKEN", "ENV_URL",
           "LUCK_REPLICATIONS"]

# How the command line hands the facilitator's token, and the address participants type, to the app.
ENV_TOKEN = "CXSIM_FACILITATOR_TOKEN"
ENV_URL = "CXSIM_DASHBOARD_URL"
# Replications behind a team's luck-versus-judgement figure: enough that its percentile
# is known to about +-3 points (binomial standard error at 300 draws, p = 0.5).
LUCK_REPLICATIONS = 300
# Join codes avoid characters people misread on a flip chart (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _code(n: int = 4) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(n))


@dataclass
class Luck:
    """Where a team's result sits among replications of its own decision path."""

    week: int  # the week compared (the team's current week when computed)
    decisions: tuple  # the decision path it was computed for
    adoption: np.ndarray  # adoption at ``week`` in each replication
    team: float  # the team's own adoption at ``week``
    threshold: float

    @property
    def percentile(self) -> float:
        """Share of replications (0-100) that did worse than the team with the same decisions."""
        a = self.adoption
        return float(100 * ((a < self.team).mean() + 0.5 * (a == self.team).mean()))

    @property
    def median(self) -> float:
        """Median adoption over the replications."""
        return float(np.median(self.adoption))

    @property
    def success_share(self) -> float:
        """Share of replications at or above the success threshold (at ``week``)."""
        return float((self.adoption >= self.threshold).mean())

    def band(self) -> tuple[float, float]:
        """The middle 80% of outcomes."""
        return float(np.quantile(self.adoption, 0.1)), float(np.quantile(self.adoption, 0.9))


def luck(scenario: Scenario, seed: int, decisions, week: int, team_adoption: float,
         replications: int = LUCK_REPLICATIONS) -> Luck:
    """Adoption at ``week`` over ``replications`` replications of the same decision path.

    Replication 0 is the team's own organization (``CXModel(seed=seed)``); replications
    1.. are other draws of the same organization: other luck, same judgement. All run in
    one engine of ``replications`` columns, with the decisions applied through
    :meth:`CXModel.set_lever` exactly as :meth:`CXModel.replay` does (each replication
    is bit-identical to ``CXModel.replay(..., replication=k)``; tests check it).
    """
    model = CXModel(scenario, seed=seed)
    model.engine = Engine(scenario, list(range(int(replications))), int(seed))
    model.recorder = Recorder(model.engine, scenario.ticks)
    plan = sorted(decisions, key=lambda d: d.week)
    i = 0
    for _ in range(int(week)):
        while i < len(plan) and plan[i].week <= model.week:
            model.set_lever(plan[i].key, plan[i].value)
            i += 1
        model.step()
    rec = model.recorder
    return Luck(int(week), tuple(decisions), rec.adoption64[rec.n - 1].copy(), float(team_adoption),
                float(scenario["run.success_threshold"]))


@dataclass
class Team:
    """A team in a room: its name, its game and the secret its page's URL carries."""

    name: str
    token: str
    session: Session
    joined: float = field(default_factory=time.time)
    luck: Luck | None = None

    def row(self) -> dict[str, Any]:
        """The console's line for this team."""
        snap = self.session.snapshot()
        return {"team": self.name, "week": snap["week"], "ticks": snap["ticks"], "adoption": snap["adoption"],
                "cx_index": snap["cx_index"], "done": snap["done"],
                "success": (snap["adoption"] >= snap["threshold"]) if snap["done"] else None,
                "decisions": [f'week {d["week"]}: {d["text"]}' for d in snap["decisions"]],
                "covert_weeks": int(sum(e["covert_weeks"] for e in snap["execs"]))}


class Room:
    """Teams on one organization under settings only the facilitator can change.

    Args:
        code: the short join code.
        setup: scenario, seed, size and jealousy every team plays.
        lock_reveal: the reveal of hidden politics waits until the facilitator releases it.
        name: what the console calls the room.
    """

    def __init__(self, code: str, setup: Setup, lock_reveal: bool = True, name: str = ""):
        self.code = code
        self.scenario = _load(setup)  # raises ScenarioError before the room exists
        self.setup = replace(setup, size=float(self.scenario["organization.headcount_scale"]),
                             jealousy=float(self.scenario["politics.jealousy_scale"]))
        self.name = name or f"Room {code}"
        self.lock_reveal = bool(lock_reveal)
        self.reveal_released = not lock_reveal
        self.hold: int | None = None  # teams may not play past this week
        self.ended = False
        self.teams: dict[str, Team] = {}
        self.lock = threading.RLock()
        self.revision = 0  # bumped by every facilitator action and every join

    def _bump(self) -> None:
        self.revision += 1

    @property
    def reveal_allowed(self) -> bool:
        """Teams may switch the reveal on."""
        return self.reveal_released or self.ended

    def join(self, name: str) -> Team:
        """A new team with its own game (names are made unique within the room)."""
        name = " ".join(str(name).split())[:40] or "Team"
        with self.lock:
            if self.ended:
                raise CXSimError(f"room {self.code}: the game has ended; ask the facilitator for a new room")
            taken = {t.name for t in self.teams.values()}
            base, k = name, 2
            while name in taken:
                name, k = f"{base} ({k})", k + 1
            s = Session(self.setup)
            s.limit = self.hold
            team = Team(name, secrets.token_urlsafe(9), s)
            self.teams[team.token] = team
            self._bump()
            return team

    def team_list(self) -> list[Team]:
        """Teams in the order they joined."""
        with self.lock:
            return sorted(self.teams.values(), key=lambda t: t.joined)

    def hold_at(self, week: int | None) -> None:
        """Teams may play up to ``week`` and no further (None: free play to the horizon)."""
        with self.lock:
            self.hold = None if week is None else max(0, int(week))
            for t in self.teams.values():
                with t.session.lock:
                    t.session.limit = self.hold
                    t.session.revision += 1
            self._bump()

    def advance_all(self, week: int) -> None:
        """Bring every team that is behind to ``week`` (and hold them there)."""
        week = max(0, int(week))
        self.hold_at(week)
        for t in self.team_list():
            t.session.step(week - t.session.week)
        with self.lock:
            self._bump()

    def release_reveal(self, released: bool = True) -> None:
        """Let teams switch the reveal of hidden politics on (or lock it again)."""
        with self.lock:
            self.reveal_released = bool(released)
            self._bump()

    def end(self) -> None:
        """End the game: no more weeks or decisions; the reveal and replays stay open."""
        with self.lock:
            self.ended = True
            for t in self.teams.values():
                with t.session.lock:
                    t.session.ended = True
                    t.session.revision += 1
            self._bump()

    def compute_luck(self, replications: int = LUCK_REPLICATIONS) -> None:
        """Each team's luck-versus-judgement figure, recomputed only where the team moved on."""
        for t in self.team_list():
            with t.session.lock:
                week, path = t.session.week, tuple(t.session.decisions)
                adoption = t.session.snapshot()["adoption"]
            if t.luck is not None and t.luck.week == week and t.luck.decisions == path:
                continue
            t.luck = luck(self.scenario, self.setup.seed, path, week, adoption, replications)
            with self.lock:
                self._bump()

    def leaderboard(self) -> list[dict[str, Any]]:
        """Teams ranked by adoption at their week (ties by week), with their luck where computed."""
        rows = []
        for t in self.team_list():
            r = t.row()
            lk = t.luck if t.luck is not None and t.luck.week == r["week"] else None
            r["luck"] = None if lk is None else {
                "percentile": lk.percentile, "median": lk.median, "p10": lk.band()[0], "p90": lk.band()[1],
                "success_share": lk.success_share, "replications": int(lk.adoption.size)}
            rows.append(r)
        rows.sort(key=lambda r: (-r["adoption"], -r["week"]))
        for k, r in enumerate(rows):
            r["rank"] = k + 1
        return rows


def room_payload(room: Room) -> dict[str, Any]:
    """Every team's setup, decisions, weekly adoption and outcome, as plain data (the console's JSON)."""
    from .export import debrief_payload

    teams = []
    board = {r["team"]: r for r in room.leaderboard()}
    for t in room.team_list():
        d = debrief_payload(t.session)
        d["team"] = t.name
        d["rank"] = board[t.name]["rank"]
        d["luck"] = board[t.name]["luck"]
        d["adoption_by_week"] = [float(x) for x in t.session.snapshot()["series"]["adoption"]]
        teams.append(d)
    return {"kind": "cxsim workshop room", "room": room.code, "name": room.name,
            "scenario": room.scenario.name, "seed": room.setup.seed, "size": room.setup.size,
            "jealousy": room.setup.jealousy, "hold": room.hold, "ended": room.ended,
            "reveal_released": room.reveal_allowed, "teams": teams}


def room_csv(room: Room) -> str:
    """One row per team and week: adoption, CX index and the decisions taken that week."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["team", "week", "adoption", "cx_index", "decisions"])
    for t in room.team_list():
        with t.session.lock:
            snap = t.session.snapshot()
            titles = dict(zip(t.session.model.engine.st.exec_ids, t.session.model.engine.st.exec_titles))
            notes: dict[int, list[str]] = {}
            for d in t.session.decisions:
                notes.setdefault(d.week, []).append(decision_text(d.key, d.value, titles))
        for wk, (a, c) in enumerate(zip(snap["series"]["adoption"], snap["series"]["cx_index"])):
            w.writerow([t.name, wk, f"{a:.6g}", f"{c:.6g}", "; ".join(notes.get(wk, []))])
    return buf.getvalue()


class Registry:
    """Every room and every solo session of this server, found again by the secrets in a page's URL.

    Solo sessions (no room) are kept for the ``max_solo`` most recently used, so an
    abandoned tab does not hold memory forever.
    """

    def __init__(self, max_solo: int = 300):
        self.rooms: dict[str, Room] = {}
        self.solo: OrderedDict[str, Session] = OrderedDict()
        self.max_solo = max_solo
        self.lock = threading.Lock()
        self.revision = 0

    def create_room(self, setup: Setup, lock_reveal: bool = True, name: str = "") -> Room:
        """A new room with a fresh join code (raises ScenarioError for a bad setup)."""
        with self.lock:
            code = _code()
            while code in self.rooms:
                code = _code()
            room = Room(code, setup, lock_reveal, name)
            self.rooms[code] = room
            self.revision += 1
            return room

    def room(self, code: str | None) -> Room | None:
        """The room with this code (case and spaces ignored), or None."""
        if not code:
            return None
        return self.rooms.get("".join(str(code).split()).upper())

    def team(self, code: str | None, token: str | None) -> tuple[Room | None, Team | None]:
        """The room and the team a page's URL names (None for what is not found)."""
        room = self.room(code)
        if room is None or not token:
            return room, None
        return room, room.teams.get(token)

    def solo_session(self, token: str | None, setup: Setup) -> tuple[str, Session]:
        """The solo session behind ``token``, or a new one (with a new token)."""
        with self.lock:
            if token and token in self.solo:
                self.solo.move_to_end(token)
                return token, self.solo[token]
        s = Session(setup)
        token = secrets.token_urlsafe(9)
        with self.lock:
            self.solo[token] = s
            while len(self.solo) > self.max_solo:
                self.solo.popitem(last=False)
        return token, s


REGISTRY = Registry()


def token_ok(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of the facilitator's token."""
    return bool(given) and bool(expected) and secrets.compare_digest(str(given), str(expected))


def _finite(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=lambda v: _finite(v.item()) if isinstance(v, np.generic) else str(v))
