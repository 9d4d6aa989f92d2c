"""The workshop dashboard: a Solara app, one model per browser session.

Serve it with ``cxsim dashboard [SCENARIO]`` (see :mod:`cxsim.dashboard.cli`).
Every browser tab gets its own :class:`~cxsim.dashboard.session.Session`, held
in component state (``solara.use_memo`` inside :func:`Page`), never in a
module-level global, so a room of participants never share a model.

Rendering cost per week is kept small so a 2-core laptop can serve a room: the
live views are inline SVG strings built from one snapshot per render, the
controls do not re-render on a step (they listen to ``levers_version``, which
changes only on decisions and resets), and the PNG/JSON/CSV exports are built
only when a download is requested.
"""

from __future__ import annotations

import logging
import threading
import time
from html import escape
from typing import Callable

import numpy as np
import reacton.core
import reacton.ipyvuetify as rv
import solara
import solara.lab

from ..errors import CXSimError
from .console import Console
from .export import debrief_json, debrief_png, file_stem, history_csv
from .room import REGISTRY
from .session import (
    LEVER_EFFECTS,
    LEVER_LABELS,
    SIZES,
    Session,
    Setup,
    default_setup,
    scenario_choices,
    short_label,
)
from .ui import CSS, PRIMARY, _items, _pct, _push, _query
from .views import EVENT_STYLE, REPLAY_COLORS, buyin_svg, curves_svg, org_svg

__all__ = ["Participant", "Game", "Page", "MAX_FPS", "routes"]

log = logging.getLogger("cxsim.dashboard")

# Frames (re-renders) per second while playing; faster speeds advance several weeks per frame.
MAX_FPS = 8
# How often a team's page looks for the facilitator's actions (seconds).
ROOM_POLL_S = 0.5
class PlayBudget:
    """Server-wide frame pacing for sessions that are playing.

    A frame (one re-render) costs tens of milliseconds of the one core Python
    renders on. When many participants press play at once, frames get rarer and
    each advances more weeks, so the simulated speed holds and clicks (step,
    levers) still answer quickly: playing sessions together use at most
    ``share`` of a core for rendering.
    """

    def __init__(self, share: float = 0.5, max_fps: float = MAX_FPS):
        self.share, self.max_fps = share, max_fps
        self.cost = 0.03  # moving average of a frame's render time (s)
        self.active = 0
        self.lock = threading.Lock()

    def playing(self):
        budget = self

        class _Active:
            def __enter__(self):
                with budget.lock:
                    budget.active += 1

            def __exit__(self, *exc):
                with budget.lock:
                    budget.active -= 1

        return _Active()

    def record(self, seconds: float) -> None:
        self.cost = 0.8 * self.cost + 0.2 * seconds

    def interval(self, speed: float) -> float:
        """Seconds until a session's next frame."""
        fair = self.active * self.cost / self.share
        return max(1.0 / self.max_fps, 1.0 / max(speed, 1e-9), fair)


PLAY_BUDGET = PlayBudget()


def _own(initial):
    """A reactive value private to this browser session (made once, in component state)."""
    return solara.use_memo(lambda: solara.reactive(initial), [])


# Below this window width the sidebar starts folded away (the menu button in the app bar opens it).
NARROW_PX = 960


@solara.component_vue("width_probe.vue")
def WidthProbe(event_report: Callable[[int], None]):
    """Reports the browser window's width once, when mounted."""


def set_theme() -> None:
    """The app's colours (Okabe-Ito blue and bluish green) for every page."""
    solara.lab.theme.themes.light.primary = PRIMARY
    solara.lab.theme.themes.light.secondary = "#009E73"


@solara.component
def Layout(children=[]):  # noqa: B006 -- Solara's layout signature
    """The app frame without route tabs (participants should not see a link to the console).

    The sidebar starts open on a wide screen and folded on a phone, where it would
    otherwise cover the whole page.
    """
    solara.use_memo(set_theme, [])
    width = solara.use_reactive(0)
    probe = WidthProbe(event_report=lambda w: width.set(int(w or 0)))
    # one child: AppLayout would take a second one for the sidebar
    return solara.AppLayout(children=[solara.Div(children=[*children, probe])], navigation=False, color=PRIMARY, toolbar_dark=True,
                            sidebar_open=not (0 < width.value < NARROW_PX))


@solara.component
def Participant():
    """The page at ``/``: a team in a room (``?room=CODE&team=...``), a join form, or a solo game (``?s=...``)."""
    router = solara.use_router()
    q = _query(router.search)
    if "room" in q:
        room, team = REGISTRY.team(q["room"], q.get("team"))
        if room is None:
            JoinForm(None, q["room"])
        elif team is None:
            JoinForm(room, q["room"])
        else:
            Game(team.session, room, team)
    else:
        SoloGame(q.get("s"))


@solara.component
def SoloGame(token: str | None):
    """A game of one's own; its token goes into the URL so a reload finds the same game."""
    router = solara.use_router()
    found, session = solara.use_memo(lambda: REGISTRY.solo_session(token, default_setup()), [token])

    def remember():
        if found != token:
            _push(router, f"/?s={found}")
    solara.use_effect(remember, [found, token])
    Game(session, None, None)


@solara.component
def JoinForm(room, code: str):
    """Join a room: the team's name (and the code, when the link had a wrong one)."""
    router = solara.use_router()
    name = solara.use_reactive("")
    typed = solara.use_reactive(code if room is not None else "")
    error = solara.use_reactive("")
    solara.Style(CSS)
    solara.Title("cxsim workshop: join a room")

    def join():
        r = REGISTRY.room(typed.value) if room is None else room
        if r is None:
            error.set(f"No room with the code {typed.value.strip().upper() or '(empty)'}: check it on the flip chart.")
            return
        if not name.value.strip():
            error.set("Give your team a name first.")
            return
        try:
            team = r.join(name.value)
        except CXSimError as exc:
            error.set(str(exc))
            return
        _push(router, f"/?room={r.code}&team={team.token}")

    with solara.Sidebar():  # (the layout keeps its sidebar from the join form to the game)
        solara.HTML(tag="div", unsafe_innerHTML="Governance levers", classes=["cx-section"])
        solara.HTML(tag="div", unsafe_innerHTML="The levers appear once your team has joined.", classes=["cx-hint"])
    with solara.AppBarTitle():
        solara.HTML(tag="span", unsafe_innerHTML="cxsim · CX workshop")
    with solara.Column(style={"max-width": "520px", "margin": "40px auto"}, classes=["cx-root"]):
        with solara.Card("Join the workshop", classes=["cx-card"]):
            if room is not None:
                solara.HTML(tag="div", unsafe_innerHTML=(
                    f"Room <b>{escape(room.code)}</b>: {escape(room.name)} · {escape(room.scenario.name)}"),
                    classes=["cx-hint"])
            else:
                solara.InputText("Room code (4 letters, on the flip chart)", value=typed, continuous_update=True,
                                 classes=["cx-join-code"])
            solara.InputText("Team name", value=name, continuous_update=True, classes=["cx-team-name"])
            solara.Button("Join", on_click=join, color="primary", attributes={"data-testid": "join"},
                          style={"margin-top": "10px"})
            if error.value:
                solara.Warning(error.value, dense=True)


@solara.component
def Game(session: Session, room=None, team=None):
    """One team's (or one person's) dashboard.

    Only the small view components below subscribe to ``version`` (bumped every
    week), so a step re-renders a handful of HTML widgets, not the whole page.
    In a room, the room's settings are fixed, the reveal waits for the facilitator
    (when the room says so), and a watcher re-renders when the facilitator acts.
    """
    # Game owns only what re-renders the whole page (play/pause, reveal, room state). The rest
    # are standalone reactives made once per page: setting them re-renders just the components
    # that read them (use_reactive would re-render Game, hence everything).
    playing = solara.use_reactive(False)
    reveal = solara.use_reactive(False)
    room_rev = solara.use_reactive(room.revision if room is not None else 0)
    version = _own(0)  # bumped whenever the model changes (every week)
    levers_version = _own(0)  # bumped on decisions and resets only
    speed = _own(4)
    message = _own("")
    done = _own(session.done or session.held)  # no more weeks to play (disables the step buttons)

    rc = reacton.core.get_render_context()

    def changed(levers: bool = False):
        # Each subscribed view would otherwise trigger a render pass of its own;
        # inside the render context they are batched into one pass.
        with rc:
            version.set(version.value + 1)
            done.set(session.done or session.held)
            if levers:
                levers_version.set(levers_version.value + 1)

    def play_loop(cancel: threading.Event):
        if not playing.value:
            return
        with PLAY_BUDGET.playing():
            owed = 0.0  # weeks due but not yet stepped (speed x elapsed time)
            last = time.perf_counter()
            while not cancel.is_set():
                now = time.perf_counter()
                owed = min(owed + (now - last) * speed.value, 26.0)
                last = now
                try:
                    n = session.step(max(1, int(owed)))
                except Exception as exc:  # a bug must not die silently in a worker thread
                    log.exception("play loop stopped")
                    message.set(f"The simulation stopped: {type(exc).__name__}: {exc}")
                    playing.set(False)
                    return
                owed = max(0.0, owed - n)
                t0 = time.perf_counter()
                changed()
                PLAY_BUDGET.record(time.perf_counter() - t0)
                if n == 0 or session.done or session.held:
                    playing.set(False)
                    return
                cancel.wait(PLAY_BUDGET.interval(speed.value))

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    def watch_room(cancel: threading.Event):
        # The facilitator acts from another page (reveal, hold, advance, end): notice within a second.
        if room is None:
            return
        seen = room.revision
        while not cancel.wait(ROOM_POLL_S):
            if room.revision != seen:
                seen = room.revision
                room_rev.set(seen)
                changed(levers=True)

    solara.use_thread(watch_room, dependencies=[room], intrusive_cancel=False)

    solara.use_memo(set_theme, [])
    room_rev.value  # noqa: B018 -- subscribe: the facilitator's actions re-render the page
    reveal_allowed = room is None or room.reveal_allowed
    rev = bool(reveal.value) and reveal_allowed

    solara.Style(CSS)
    solara.Title("cxsim workshop")
    with solara.AppBarTitle():
        AppTitle(session, levers_version, room, team)
    with solara.Sidebar():
        Controls(session, levers_version, changed, playing, speed, message, room)
    with solara.Column(classes=["cx-root"], style={"padding": "4px 8px"}):
        Message(message)
        Briefing(session, levers_version, room)
        with solara.Card(classes=["cx-card"], margin=0, style={"padding": "10px 16px"}):
            Status(session, version, reveal)
            Buttons(session, done, playing, reveal, changed, room, reveal_allowed)
            Outcome(session, version, room)
        with solara.Columns([3, 2], gutters_dense=True):
            with solara.Card("Adoption and CX index", margin=0, classes=["cx-card"]):
                View(session, version, "curves", False)
            with solara.Card("Executives: TRUE buy-in vs what they say" if rev else "Executives: buy-in as expressed",
                             margin=0, classes=["cx-card"]):
                View(session, version, "buyin", rev)
        with solara.Card("The organization", subtitle=("colours show TRUE buy-in; dashed frames mark covert resisters"
                                                       if rev else "colours show expressed buy-in (executives) "
                                                       "and adoption (departments)"),
                         margin=0, classes=["cx-card"]):
            View(session, version, "org", rev)
        with solara.Columns([1, 1, 1] if rev else [1, 1], gutters_dense=True):
            with solara.Card("Decisions", margin=0, classes=["cx-card"]):
                View(session, version, "decisions", rev)
            with solara.Card("Event log", margin=0, classes=["cx-card"]):
                View(session, version, "events", rev)
            if rev:
                with solara.Card("Hidden politics", subtitle="who said yes and meant no", margin=0,
                                 classes=["cx-card"]):
                    View(session, version, "politics", rev)
        with solara.Columns([3, 2], gutters_dense=True):
            with solara.Card("What if ...?", subtitle="Replay the same organization and the same luck with other "
                             "decisions", margin=0, classes=["cx-card"]):
                ReplayControls(session, levers_version, changed)
                View(session, version, "replays", rev)
            with solara.Card("Debrief export", margin=0, classes=["cx-card"]):
                Export(session, levers_version, reveal)
        solara.HTML(tag="div", unsafe_innerHTML="", style="height: 48px")  # room below the last card


@solara.component
def AppTitle(session: Session, levers_version, room=None, team=None):
    """The app bar: the app, the scenario, and the room and team when in one."""
    levers_version.value  # noqa: B018 -- the scenario changes on reset only
    where = f"{escape(team.name)} · room {escape(room.code)} · " if team is not None else ""
    solara.HTML(tag="span", unsafe_innerHTML=(
        f'cxsim · CX workshop<span class="cx-appbar-sub">{where}{escape(session.scenario.name)}</span>'))


@solara.component
def Message(message):
    """One line for a rejected input (e.g. a scenario file that does not validate)."""
    if message.value:
        solara.Warning(message.value, dense=True)


GLOSSARY = (
    ("Employees practising CX (adoption)", "the share of all employees who work with the customer's experience "
     "in mind. The goal is 60% by week 156."),
    ("CX index", "how customers experience the company across the journey's stages (0 to 1): it follows "
     "adoption, with a lag, and business results follow it."),
    ("Buy-in", "how much an executive supports the CX programme (0-100%). What they say in meetings "
     "(expressed) can differ from what they truly think."),
    ("Covert resistance", "an executive who is against CX but under pressure to conform says yes and slows "
     "their departments. Nobody sees it during play; the reveal shows it at the debrief."),
)


@solara.component
def Briefing(session: Session, levers_version, room=None):
    """The goal, the situation, the glossary; open at the start, folded away once play begins."""
    levers_version.value  # noqa: B018
    open_ = solara.use_reactive(session.week == 0)
    sc = session.scenario
    thr = float(sc["run.success_threshold"])
    with solara.Card(margin=0, classes=["cx-card", "cx-briefing"], style={"padding": "8px 16px"}):
        with solara.Row(style={"align-items": "center"}):
            solara.HTML(tag="div", unsafe_innerHTML=(
                f'<b>Your goal:</b> {100 * thr:.0f}% of employees practising CX by week {session.ticks} '
                f'({session.ticks // 52} years).'), classes=["cx-goal"])
            solara.HTML(tag="div", unsafe_innerHTML="", style="flex-grow:1")
            solara.Button("Hide briefing" if open_.value else "Briefing", text=True, on_click=lambda: open_.set(
                not open_.value), icon_name="mdi-information-outline", attributes={"data-testid": "briefing-toggle"})
        if open_.value:
            n_emp = int(sum(int(d["headcount"]) for d in sc.departments) * session.setup.size
                        / max(float(sc["organization.headcount_scale"]), 1e-9))
            lv = session.lever_values()
            titles = {x["id"]: x["title"] or x["id"] for x in sc.executives}
            situation = (
                f"<b>The situation.</b> {escape(sc.description.rstrip('.'))}. About {n_emp:,} employees. "
                "The company has decided "
                f"to become customer-centric. The CX owner is the {escape(titles.get(lv['owner.executive'], ''))} "
                f"with a <b>{escape(str(lv['owner.mandate']))}</b> mandate; the CEO's sponsorship is "
                f"<b>{escape(str(lv['sponsorship.level']))}</b>; "
                + ("there is a CX committee." if lv["committee.enabled"] else "there is no CX committee.")
                + " You run the programme: pull the levers in the sidebar at any week, then play on."
                + (" The facilitator sets the organization and the rounds." if room is not None else ""))
            gl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in GLOSSARY)
            solara.HTML(tag="div", unsafe_innerHTML=(
                f'<div class="cx-brief"><p>{situation}</p><dl class="cx-gloss">{gl}</dl>'
                '<p class="cx-hint">A reading of real programmes: about one in three succeeds. Adoption is an '
                'S-curve: little happens for months, then imitation takes over, or it stalls for good.</p></div>'),
                attributes={"data-testid": "briefing"})


@solara.component
def Outcome(session: Session, version, room=None):
    """The end-of-game moment, and the notices when the facilitator holds or ends the game."""
    version.value  # noqa: B018
    snap = session.snapshot()
    if snap["done"]:
        ok = snap["adoption"] >= snap["threshold"]
        head = ("The programme succeeded" if ok else "The programme fell short")
        html = (f'<div class="cx-end {"ok" if ok else "short"}" data-testid="outcome" data-success="{int(ok)}">'
                f'<div class="h">Week {snap["ticks"]}: {head}.</div>'
                f'{_pct(snap["adoption"])} of employees practise CX (the goal was {_pct(snap["threshold"])}), '
                f'CX index {snap["cx_index"]:.2f}. '
                + ("Now find out why: switch the reveal on to see who said yes and meant no, and replay the same "
                   "organization, with the same luck, under other decisions (What if ...? below)."
                   if session.ended or room is None or room.reveal_allowed else
                   "Replay the same organization, with the same luck, under other decisions (What if ...? below); "
                   "the facilitator will reveal the hidden politics at the debrief.")
                + "</div>")
        solara.HTML(tag="div", unsafe_innerHTML=html)
    elif snap["ended"]:
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<div class="cx-end short" data-testid="outcome" data-ended="1"><div class="h">The facilitator has '
            f'ended the game at week {snap["week"]}.</div>{_pct(snap["adoption"])} practise CX. Replays and the '
            'reveal stay open for the debrief.</div>'))
    elif snap["held"]:
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<div class="cx-held" data-testid="held">Round over: the facilitator holds everyone at week '
            f'{snap["stop_week"]}. You can still pull levers for the next round.</div>'))


@solara.component
def Controls(session: Session, levers_version, changed: Callable, playing, speed, message, room=None):
    """The sidebar: governance levers (apply now), speed, and the setup (solo) or the room's settings."""
    levers_version.value  # noqa: B018 -- subscribe: re-render on decisions and resets only
    router = solara.use_router()
    sc = session.scenario
    vals = session.lever_values()
    execs = [(x["id"], x["title"] or x["id"]) for x in sc.executives]
    pending_scenario = solara.use_reactive(session.setup.scenario)
    pending_size = solara.use_reactive(session.setup.size)
    pending_seed = solara.use_reactive(session.setup.seed)
    pending_jealousy = solara.use_reactive(session.setup.jealousy)
    code = solara.use_reactive("")
    ended = session.ended

    def pull(key):
        def on(value):
            try:
                if session.pull(key, value):
                    message.set("")
                changed(levers=True)
            except CXSimError as exc:
                message.set(str(exc))
        return on

    def reset():
        playing.set(False)
        try:
            session.reset(Setup(pending_scenario.value, int(pending_seed.value or 0), float(pending_size.value),
                                float(pending_jealousy.value)))
            message.set("")
        except CXSimError as exc:
            message.set(str(exc))
        changed(levers=True)

    def effect(key):
        solara.HTML(tag="div", unsafe_innerHTML=escape(LEVER_EFFECTS[key]), classes=["cx-effect"])

    solara.HTML(tag="div", unsafe_innerHTML="Governance levers", classes=["cx-section"])
    solara.HTML(tag="div", unsafe_innerHTML="Apply from the current week; each change is recorded as a decision.",
                classes=["cx-hint"])
    if execs:
        rv.Select(label=LEVER_LABELS["owner.executive"], items=_items((i, t) for i, t in execs),
                  v_model=vals["owner.executive"], on_v_model=pull("owner.executive"), dense=True,
                  hide_details=True, class_="cx-owner mt-2", disabled=ended)
        effect("owner.executive")
    solara.Text("Mandate", style={"font-size": "13px", "color": "#6b7280"})
    with solara.ToggleButtonsSingle(value=vals["owner.mandate"], on_value=pull("owner.mandate"), dense=True,
                                    classes=["cx-mandate"]):
        solara.Button("advisory", value="advisory", attributes={"data-testid": "mandate-advisory"}, disabled=ended)
        solara.Button("budget", value="budget", attributes={"data-testid": "mandate-budget"}, disabled=ended)
    effect("owner.mandate")
    if vals["owner.mandate"] == "budget":
        solara.SliderInt(f'Budget: {vals["owner.budget"]:g}k per week', value=int(vals["owner.budget"]), min=0,
                         max=300, step=10, on_value=lambda v: pull("owner.budget")(float(v)), disabled=ended)
        effect("owner.budget")
    solara.Text("CEO sponsorship", style={"font-size": "13px", "color": "#6b7280"})
    with solara.ToggleButtonsSingle(value=vals["sponsorship.level"], on_value=pull("sponsorship.level"), dense=True,
                                    classes=["cx-sponsor"]):
        for lv in ("none", "passive", "active"):
            solara.Button(lv, value=lv, attributes={"data-testid": f"sponsor-{lv}"}, disabled=ended)
    since = session.sponsor_since()
    solara.HTML(tag="div", unsafe_innerHTML=(
        "No sponsor." if since is None else
        f"{escape(str(vals['sponsorship.level']).capitalize())} sponsor since week {since}."),
        classes=["cx-since"], attributes={"data-testid": "sponsor-since"})
    effect("sponsorship.level")
    solara.Switch(label="CX committee", value=bool(vals["committee.enabled"]), on_value=pull("committee.enabled"),
                  classes=["cx-committee"], disabled=ended)
    effect("committee.enabled")
    solara.SliderInt(f'Committee meets every {vals["committee.cadence_weeks"]} weeks',
                     value=int(vals["committee.cadence_weeks"]), min=1, max=13,
                     on_value=pull("committee.cadence_weeks"), disabled=ended or not vals["committee.enabled"])

    solara.HTML(tag="div", unsafe_innerHTML="Play", classes=["cx-section"])
    solara.SliderInt(f"Speed: {speed.value} weeks per second", value=speed.value, on_value=speed.set, min=1, max=26)

    if room is not None:
        jl = session.setup.jealousy
        solara.HTML(tag="div", unsafe_innerHTML="The room", classes=["cx-section"])
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"Room <b>{escape(room.code)}</b>. Set by the facilitator: {escape(session.scenario.name)}, "
            f"seed {session.setup.seed}, size x{session.setup.size:g}, jealousy x{jl:g}."), classes=["cx-hint"],
            attributes={"data-testid": "room-settings"})
        return

    solara.HTML(tag="div", unsafe_innerHTML="Setup (applies when you start over)", classes=["cx-section"])
    solara.Select("Scenario", values=scenario_choices(session.setup.scenario), value=pending_scenario, dense=True,
                  classes=["cx-scenario"])
    base = sum(int(d["headcount"]) for d in sc.departments) / max(float(sc["organization.headcount_scale"]), 1e-9)
    rv.Select(label="Organization size", items=_items((s, f"x{s:g} ({int(round(base * s)):,} employees)")
                                                  for s in SIZES),
              v_model=pending_size.value, on_v_model=pending_size.set, dense=True, hide_details=True, class_="mt-2")
    solara.SliderFloat(f"Jealousy in this organization: x{pending_jealousy.value:g}", value=pending_jealousy.value, on_value=pending_jealousy.set,
                       min=0.0, max=3.0, step=0.1)
    solara.HTML(tag="div", unsafe_innerHTML=("How envious executives are of whoever owns CX: a property of the "
                                             "organization, not a decision."), classes=["cx-effect"])
    solara.InputInt("Seed", value=pending_seed, dense=True)
    differs = (pending_scenario.value, pending_size.value, pending_seed.value, pending_jealousy.value) != (
        session.setup.scenario, session.setup.size, session.setup.seed, session.setup.jealousy)
    if differs:
        solara.Button("Apply and start over", on_click=reset, color="primary", icon_name="mdi-restart",
                      attributes={"data-testid": "reset-setup"}, style={"margin-top": "6px"})
        solara.HTML(tag="div", unsafe_innerHTML="Setup changed: press to start over with it.", classes=["cx-hint"])

    solara.HTML(tag="div", unsafe_innerHTML="Workshop room", classes=["cx-section"])
    with solara.Row(style={"align-items": "center"}):
        solara.InputText("Room code", value=code, continuous_update=True, classes=["cx-code"])
        solara.Button("Join", on_click=lambda: _push(router, f"/?room={code.value.strip().upper()}"),
                      disabled=not code.value.strip(), outlined=True, attributes={"data-testid": "join-code"})


@solara.component
def Status(session: Session, version, reveal):
    """The week, adoption, CX index and governance at a glance."""
    version.value  # noqa: B018 -- subscribe: re-render every week
    snap = session.snapshot()
    rev = bool(reveal.value)
    owner = next((e for e in snap["execs"] if e["is_owner"]), None)
    owner_text = (short_label(owner["title"], owner["id"]) if owner else "–") + (
        "" if snap["owner_present"] else " (vacant)")
    lv = snap["levers"]
    kpis = [
        ("cx-week", "week", f'{snap["week"]}<span style="font-size:18px;color:#6b7280"> / {snap["ticks"]}</span>',
         f'data-testid="week" data-week="{snap["week"]}"'),
        ("", "employees practising CX", _pct(snap["adoption"]), f'data-testid="adoption" data-value="{snap["adoption"]:.6f}"'),
        ("", "CX index", f'{snap["cx_index"]:.2f}', f'data-testid="cx-index" data-value="{snap["cx_index"]:.6f}"'),
        ("", "CX owner", f'{escape(owner_text)} <span style="font-size:15px">{escape(lv["owner.mandate"])}</span>', ""),
        ("", "CEO sponsor", escape(str(lv["sponsorship.level"])), ""),
        ("", "committee", "every " + str(lv["committee.cadence_weeks"]) + " wk" if lv["committee.enabled"] else "none", ""),
    ]
    if rev:
        cov = sum(e["covert"] for e in snap["execs"])
        ever = sum(e["covert_weeks"] > 0 for e in snap["execs"])
        kpis.append(("cx-reveal-on", "covert resisters now / ever", f"{cov} / {ever}", 'data-testid="covert-count"'))
    html = '<div class="cx-kpis">' + "".join(
        f'<div class="cx-kpi {c}" {a}><div class="l">{label}</div><div class="v">{v}</div></div>'
        for c, label, v, a in kpis) + "</div>"
    frac = snap["week"] / max(snap["ticks"], 1)
    html += f'<div class="cx-progress"><div style="width:{100 * frac:.1f}%"></div></div>'
    solara.HTML(tag="div", unsafe_innerHTML=html)


@solara.component
def Buttons(session: Session, done_state, playing, reveal, changed: Callable, room=None, reveal_allowed=True):
    """Play or pause, step a week or a quarter, start over (solo); the reveal switch (not re-rendered each week)."""
    done = done_state.value

    def step(n):
        def on():
            t0 = time.perf_counter()
            session.step(n)
            changed()
            log.debug("step %d answered in %.1f ms", n, 1000 * (time.perf_counter() - t0))
        return on

    def restart():
        playing.set(False)
        session.reset()
        changed(levers=True)

    with solara.Row(style={"align-items": "center", "margin-top": "10px", "flex-wrap": "wrap"}):
        if playing.value:
            solara.Button("Pause", icon_name="mdi-pause", on_click=lambda: playing.set(False), color="primary",
                          attributes={"data-testid": "pause"})
        else:
            solara.Button("Play", icon_name="mdi-play", on_click=lambda: playing.set(True), color="primary",
                          disabled=done, attributes={"data-testid": "play"})
        solara.Button("Step 1 week", icon_name="mdi-step-forward", on_click=step(1), disabled=done,
                      outlined=True, attributes={"data-testid": "step"})
        solara.Button("+1 quarter", icon_name="mdi-fast-forward", on_click=step(13), disabled=done,
                      outlined=True, attributes={"data-testid": "step-quarter"})
        if room is None:  # in a room the facilitator runs the clock: no starting over mid-round
            solara.Button("Start over", icon_name="mdi-restart", on_click=restart, text=True,
                          attributes={"data-testid": "reset"})
        solara.HTML(tag="div", unsafe_innerHTML="", style="flex-grow:1")
        if reveal_allowed:
            solara.Switch(label="Reveal hidden politics (debrief)", value=reveal, classes=["cx-reveal"],
                          color="deep-orange")
        else:
            solara.HTML(tag="div", unsafe_innerHTML="Hidden politics: revealed by the facilitator at the debrief",
                        classes=["cx-hint"], attributes={"data-testid": "reveal-locked"})


@solara.component
def View(session: Session, version, kind: str, reveal: bool):
    """One live view as HTML, re-rendered each week from the session's cached snapshot."""
    version.value  # noqa: B018 -- subscribe: re-render every week
    snap = session.snapshot()
    html = {
        "curves": lambda: curves_svg(snap, 600, 330),
        "buyin": lambda: buyin_svg(snap, reveal, 420, 330),
        "org": lambda: org_svg(snap, reveal),
        "decisions": lambda: _decisions_html(snap),
        "events": lambda: _events_html(snap),
        "politics": lambda: _politics_html(snap),
        "replays": lambda: _replays_html(snap),
    }[kind]()
    solara.HTML(tag="div", unsafe_innerHTML=html, attributes={"data-testid": f"view-{kind}"})


def _decisions_html(snap) -> str:
    if not snap["decisions"] and (snap["ended"] or snap["done"]):
        return '<div class="cx-hint">No decisions were taken: the organization was left to itself.</div>'
    if not snap["decisions"]:
        return ('<div class="cx-hint">No decisions yet. Pull a lever in the sidebar (e.g. appoint an active '
                'sponsor, form a committee); it applies from the current week.</div>')
    rows = [f'<div class="cx-dec"><span class="n">{d["n"]}</span>week {d["week"]}: {escape(d["text"])}</div>'
            for d in snap["decisions"]]
    return "".join(rows)


def _events_html(snap) -> str:
    evs = [e for e in snap["events"] if e["kind"] != "committee_met"]
    meetings = sum(e["kind"] == "committee_met" for e in snap["events"])
    out = ['<div class="cx-log">']
    if meetings:
        out.append(f'<div class="cx-hint">The committee met {meetings} times.</div>')
    if not evs:
        out.append('<div class="cx-hint">Nothing has happened yet.</div>')
    dec_text = {}  # the log's decision events are the decisions, in the same order: say them in words
    k = 0
    for i, e in enumerate(evs):
        if e["kind"] == "decision" and k < len(snap["decisions"]):
            d = snap["decisions"][k]
            dec_text[i] = f'Decision {d["n"]}: {d["text"]}'
            k += 1
    for i in reversed(range(max(0, len(evs) - 60), len(evs))):
        e = evs[i]
        sym, col, _ = EVENT_STYLE.get(e["kind"], ("•", "#000", e["kind"]))
        text = dec_text.get(i, e["text"])
        out.append(f'<div class="{e["kind"]}" data-kind="{e["kind"]}"><span class="wk">wk {e["week"]}</span>'
                   f'<span style="color:{col}">{sym}</span> {escape(text)}</div>')
    out.append("</div>")
    return "".join(out)


def _politics_html(snap) -> str:
    rows = ["<table class='cx-table'><tr><th>executive</th><th>says</th><th>true</th><th>weeks covert</th>"
            "<th>caught</th></tr>"]
    for e in sorted(snap["execs"], key=lambda e: -e["covert_weeks"]):
        style = ' style="color:#D55E00;font-weight:700"' if e["covert_weeks"] else ""
        rows.append(f'<tr{style}><td>{escape(e["label"])}</td><td>{_pct(e["expressed"])}</td><td>{_pct(e["true"])}</td>'
                    f'<td>{e["covert_weeks"]}</td><td>{"yes" if e["ever_exposed"] else ""}</td></tr>')
    rows.append("</table>")
    return "".join(rows)


def _replays_html(snap) -> str:
    if not snap["replays"]:
        return ('<div class="cx-hint">A replay reruns this organization week by week with the same random numbers, '
                'so any difference comes from the decisions alone. It is drawn dashed on the adoption chart, as far '
                'as you have played.</div>')
    week, ticks, done = snap["week"], snap["ticks"], snap["done"]

    def w50(a) -> str:
        hit = np.nonzero(np.asarray(a[: week + 1]) >= 0.5)[0]
        return str(int(hit[0])) if hit.size else "not yet" if not done else "never"

    # everything as of the team's week: a replay's later weeks would tell them their own future
    rows = ["<table class='cx-table' data-testid='replay-table'><tr><th></th>"
            f"<th>at week {week}</th><th>week 50% reached</th><th>owner left</th></tr>",
            f"<tr><td><b style='color:#0072B2'>&#9644; you</b></td><td>{_pct(snap['adoption'])}</td>"
            f"<td>{w50(snap['series']['adoption'])}</td>"
            f"<td>{sum(e['kind'] == 'owner_left' for e in snap['events'])}x</td></tr>"]
    for i, r in enumerate(snap["replays"]):
        c = REPLAY_COLORS[i % len(REPLAY_COLORS)]
        left = sum(e["kind"] == "owner_left" and e["week"] <= week for e in r.events)
        rows.append(f"<tr data-replay='{escape(r.key)}'><td><span style='color:{c}'>&#9476;&#9476;</span> "
                    f"{escape(r.label)}</td>"
                    f"<td>{_pct(float(r.adoption[min(week, len(r.adoption) - 1)]))}</td>"
                    f"<td>{w50(r.adoption)}</td><td>{left}x</td></tr>")
    rows.append("</table>")
    if not done:
        rows.append(f"<div class='cx-hint'>Replays run to week {ticks}; you see them up to your week.</div>")
    return "".join(rows)


@solara.component
def ReplayControls(session: Session, levers_version, changed: Callable):
    """Choose a counterfactual and run it (options change with the decisions)."""
    levers_version.value  # noqa: B018
    choice = solara.use_reactive("none")
    busy = solara.use_reactive(False)
    options = session.replay_options()
    if choice.value not in [k for k, _ in options]:
        choice.set("none")

    def run():
        busy.set(True)
        try:
            session.add_replay(choice.value)
        finally:
            busy.set(False)
        changed()

    def clear():
        session.clear_replays()
        changed()

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        rv.Select(label="Counterfactual", items=_items(options), v_model=choice.value, on_v_model=choice.set,
                  dense=True, hide_details=True, class_="cx-replay-choice", style_="min-width: 380px; max-width: 520px")
        solara.Button("Replay", icon_name="mdi-history", on_click=run, color="primary", disabled=busy.value,
                      attributes={"data-testid": "replay"})
        solara.Button("Clear", on_click=clear, text=True, attributes={"data-testid": "clear-replays"})


@solara.component
def Export(session: Session, levers_version, reveal):
    """Debrief downloads, built only when clicked."""
    levers_version.value  # noqa: B018 -- the file names change on reset
    stem = file_stem(session)
    with solara.Column(gap="6px"):
        solara.FileDownload(lambda: debrief_png(session, reveal=reveal.value), filename=f"{stem}.png",
                            label="Figure (PNG)", mime_type="image/png")
        solara.FileDownload(lambda: debrief_json(session), filename=f"{stem}.json",
                            label="Decisions and outcomes (JSON)", mime_type="application/json")
        solara.FileDownload(lambda: history_csv(session), filename=f"{stem}.csv",
                            label="Week by week (CSV)", mime_type="text/csv")
        solara.HTML(tag="div", classes=["cx-hint"], unsafe_innerHTML=(
            "The figure shows true buy-in when the reveal switch is on."))


Page = Participant  # the single-page name earlier versions and notebooks used

routes = [
    solara.Route(path="/", component=Participant, label="Team", layout=Layout),
    solara.Route(path="facilitator", component=Console, label="Facilitator"),
]
