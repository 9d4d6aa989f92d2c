"""The facilitator's console at ``/facilitator``: create rooms, watch every team, run the rounds and the debrief.

The page asks for the token ``cxsim dashboard`` prints at start-up (it travels in the
URL, ``/facilitator?token=...``, so a reload keeps the console open). Everything it
shows is read from :mod:`cxsim.dashboard.room`; it polls the room twice a second, so a
team's step shows on the console within a second.
"""

from __future__ import annotations

import os
import threading
from html import escape

import solara

from ..errors import CXSimError
from .room import ENV_TOKEN, ENV_URL, LUCK_REPLICATIONS, REGISTRY, Room, dumps, room_csv, room_payload, token_ok
from .session import DEFAULT_SEED, SIZES, Setup, default_setup, scenario_choices
from .ui import CSS, _items, _pct, _push, _query
from .views import TEAM_COLORS, room_svg

__all__ = ["Console", "CONSOLE_POLL_S", "join_url"]

CONSOLE_POLL_S = 0.5


def join_url(code: str) -> str:
    """The link a team opens to join room ``code``."""
    base = os.environ.get(ENV_URL, "").rstrip("/")
    return f"{base}/?room={code}"


def qr_svg(url: str) -> str:
    """The join link as an inline SVG QR code ('' without segno, the optional package that draws it)."""
    try:
        import segno
    except ImportError:
        return ""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#1f2430")


@solara.component
def Console():
    """The console, behind the facilitator's token."""
    router = solara.use_router()
    q = _query(router.search)
    solara.Style(CSS)
    solara.Title("cxsim workshop: facilitator")
    if not token_ok(q.get("token"), os.environ.get(ENV_TOKEN)):
        TokenForm(bool(q.get("token")))
        return
    ConsoleBody(q["token"], q.get("room"))


@solara.component
def TokenForm(wrong: bool):
    """Ask for the token printed by ``cxsim dashboard``."""
    router = solara.use_router()
    token = solara.use_reactive("")
    with solara.Column(style={"max-width": "520px", "margin": "40px auto"}, classes=["cx-root"]):
        with solara.Card("Facilitator's console", classes=["cx-card"]):
            solara.HTML(tag="div", classes=["cx-hint"], unsafe_innerHTML=(
                "Enter the facilitator token that <code>cxsim dashboard</code> printed when it started."))
            solara.InputText("Token", value=token, password=True, continuous_update=True, classes=["cx-token"])
            solara.Button("Open the console", color="primary", attributes={"data-testid": "open-console"},
                          on_click=lambda: _push(router, f"/facilitator?token={token.value.strip()}"))
            if wrong:
                solara.Warning("That token is not this server's.", dense=True)


@solara.component
def ConsoleBody(token: str, code: str | None):
    """Room creation and the room list on the left; the chosen room on the right."""
    router = solara.use_router()
    tick = solara.use_reactive(0)
    room = REGISTRY.room(code)

    def poll(cancel: threading.Event):
        # the signature changes with any room, team, step or decision: re-render within a second
        def sig():
            r = REGISTRY.room(code)
            teams = r.team_list() if r is not None else []
            return (REGISTRY.revision, r.revision if r else 0, tuple(t.session.revision for t in teams))
        seen = sig()
        while not cancel.wait(CONSOLE_POLL_S):
            now = sig()
            if now != seen:
                seen = now
                tick.set(tick.value + 1)

    solara.use_thread(poll, dependencies=[code], intrusive_cancel=False)
    tick.value  # noqa: B018 -- subscribe

    with solara.AppBarTitle():
        solara.HTML(tag="span", unsafe_innerHTML="cxsim · facilitator's console")
    with solara.Column(classes=["cx-root"], style={"padding": "4px 8px"}):
        with solara.Columns([1, 3], gutters_dense=True):
            with solara.Column():
                NewRoom(token)
                with solara.Card("Rooms", margin=0, classes=["cx-card"]):
                    if not REGISTRY.rooms:
                        solara.HTML(tag="div", classes=["cx-hint"], unsafe_innerHTML="No room yet.")
                    for r in list(REGISTRY.rooms.values()):
                        solara.Button(f"{r.code} · {r.name} · {len(r.teams)} teams", text=r.code != code,
                                      outlined=r.code == code,
                                      on_click=lambda r=r: _push(router, f"/facilitator?token={token}&room={r.code}"),
                                      attributes={"data-testid": f"room-{r.code}"}, style={"margin": "2px 0"})
            with solara.Column():
                if room is None:
                    with solara.Card(margin=0, classes=["cx-card"]):
                        solara.HTML(tag="div", unsafe_innerHTML=(
                            "<b>Create a room</b> for the session (left): every team that joins plays the same "
                            "organization, seed and settings, which they cannot change. Then write the code on the "
                            "flip chart."))
                else:
                    RoomPanel(room, tick.value)


@solara.component
def NewRoom(token: str):
    """The room's settings: scenario, seed, size, jealousy; whether the reveal waits for the debrief."""
    router = solara.use_router()
    d = default_setup()
    name = solara.use_reactive("")
    scenario = solara.use_reactive(d.scenario)
    seed = solara.use_reactive(d.seed)
    size = solara.use_reactive(1.0)
    jealousy = solara.use_reactive(1.0)
    lock = solara.use_reactive(True)
    error = solara.use_reactive("")

    def create():
        try:
            room = REGISTRY.create_room(Setup(scenario.value, int(seed.value if seed.value is not None else
                                                                  DEFAULT_SEED),
                                              float(size.value), float(jealousy.value)),
                                        lock_reveal=lock.value, name=name.value.strip())
        except CXSimError as exc:
            error.set(str(exc))
            return
        error.set("")
        _push(router, f"/facilitator?token={token}&room={room.code}")

    with solara.Card("New room", margin=0, classes=["cx-card"]):
        solara.InputText("Name (e.g. Tuesday group)", value=name, continuous_update=True)
        solara.Select("Scenario", values=scenario_choices(d.scenario), value=scenario, dense=True)
        solara.InputInt("Seed (same for every team)", value=seed, dense=True)
        import reacton.ipyvuetify as rv

        rv.Select(label="Organization size", items=_items((s, f"x{s:g}") for s in SIZES), v_model=size.value,
                  on_v_model=size.set, dense=True, hide_details=True, class_="mt-2")
        solara.SliderFloat(f"Jealousy: x{jealousy.value:g}", value=jealousy.value, on_value=jealousy.set,
                           min=0.0, max=3.0, step=0.1)
        solara.Checkbox(label="Reveal waits for me (the debrief)", value=lock)
        solara.Button("Create room", color="primary", on_click=create, attributes={"data-testid": "create-room"})
        if error.value:
            solara.Warning(error.value, dense=True)


@solara.component
def RoomPanel(room: Room, tick: int):
    """One room: join code, controls for the rounds and the debrief, every team's curves, the leaderboard."""
    week = solara.use_reactive(26)
    busy = solara.use_reactive("")

    def background(label, fn):
        def run():
            try:
                fn()
            finally:
                busy.set("")
        busy.set(label)
        threading.Thread(target=run, daemon=True).start()

    def end():
        room.end()
        background("ranking luck and judgement ...", room.compute_luck)

    board = room.leaderboard()
    ticks = room.scenario.ticks
    with solara.Card(margin=0, classes=["cx-card"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "24px"}):
            solara.HTML(tag="div", unsafe_innerHTML=(
                f'<div class="cx-hint">join code</div><div class="cx-code-big" data-testid="room-code">'
                f'{escape(room.code)}</div>'))
            qr = qr_svg(join_url(room.code))
            if qr and join_url(room.code).startswith("http"):
                solara.HTML(tag="div", unsafe_innerHTML=qr,
                            attributes={"data-testid": "join-qr", "title": "scan to join"})
            solara.HTML(tag="div", unsafe_innerHTML=(
                f'<div><b>{escape(room.name)}</b> · {escape(room.scenario.name)} · seed {room.setup.seed} · '
                f'size x{room.setup.size:g} · jealousy x{room.setup.jealousy:g}</div>'
                f'<div>Teams open <b data-testid="join-url">{escape(join_url(room.code))}</b> '
                f'(or the app\'s address and type the code).</div>'
                f'<div class="cx-hint">{len(board)} teams · '
                + (f"held at week {room.hold}" if room.hold is not None else "free play")
                + (" · game ended" if room.ended else "")
                + (" · reveal released" if room.reveal_allowed else " · reveal locked") + "</div>"),
                attributes={"data-testid": "room-state", "data-ended": str(int(room.ended)),
                            "data-reveal": str(int(room.reveal_allowed))})
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.InputInt("Week", value=week, dense=True, style={"max-width": "90px"}, classes=["cx-round-week"])
            solara.Button("Hold everyone at this week", outlined=True, disabled=room.ended,
                          on_click=lambda: room.hold_at(min(max(int(week.value or 0), 0), ticks)),
                          attributes={"data-testid": "hold"})
            solara.Button("Advance everyone to it", outlined=True, disabled=room.ended,
                          on_click=lambda: background("advancing ...", lambda: room.advance_all(
                              min(max(int(week.value or 0), 0), ticks))),
                          attributes={"data-testid": "advance"})
            solara.Button("Free play", text=True, disabled=room.ended or room.hold is None,
                          on_click=lambda: room.hold_at(None), attributes={"data-testid": "free-play"})
            solara.Switch(label="Reveal released", value=room.reveal_allowed, disabled=room.ended,
                          on_value=room.release_reveal, classes=["cx-release"], color="deep-orange")
            solara.Button("End the game", color="error", outlined=True, disabled=room.ended, on_click=end,
                          attributes={"data-testid": "end-game"})
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Button("Luck vs judgement", icon_name="mdi-dice-multiple", outlined=True,
                          disabled=bool(busy.value),
                          on_click=lambda: background("ranking luck and judgement ...", room.compute_luck),
                          attributes={"data-testid": "luck"})
            solara.FileDownload(lambda: room_csv(room), filename=f"cxsim-room-{room.code}.csv",
                                label="Every team, week by week (CSV)", mime_type="text/csv")
            solara.FileDownload(lambda: dumps(room_payload(room)), filename=f"cxsim-room-{room.code}.json",
                                label="Every team's decisions and outcomes (JSON)", mime_type="application/json")
            if busy.value:
                solara.HTML(tag="div", unsafe_innerHTML=escape(busy.value), classes=["cx-hint"])
    with solara.Card("Every team's adoption", margin=0, classes=["cx-card"]):
        teams = [{"team": t.name, "adoption_series": t.session.snapshot()["series"]["adoption"]}
                 for t in room.team_list()]
        solara.HTML(tag="div", unsafe_innerHTML=room_svg(teams, ticks, float(room.scenario["run.success_threshold"])),
                    attributes={"data-testid": "view-room"})
    with solara.Card("Leaderboard", subtitle=(
            f"ranked by adoption; luck: where the team's result sits among {LUCK_REPLICATIONS} replays of the same "
            "organization under the team's own decisions (other luck, same judgement)"),
            margin=0, classes=["cx-card"]):
        solara.HTML(tag="div", unsafe_innerHTML=leaderboard_html(board, room), classes=["cx-scroll"],
                    attributes={"data-testid": "leaderboard"})


def leaderboard_html(board: list[dict], room: Room) -> str:
    """The leaderboard table (one row per team, data attributes for tests and scripts)."""
    if not board:
        return (f'<div class="cx-hint">No team yet. Teams open {escape(join_url(room.code))} or type the code '
                f'<b>{escape(room.code)}</b>.</div>')
    colour = {t.name: TEAM_COLORS[i % len(TEAM_COLORS)] for i, t in enumerate(room.team_list())}
    rows = ["<table class='cx-table'><tr><th>#</th><th>team</th><th>week</th><th>adoption</th><th>CX index</th>"
            "<th>result</th><th>luck: better than</th><th>same decisions: typical (10-90%)</th>"
            "<th>weeks covert</th><th style='text-align:left'>decisions</th></tr>"]
    for r in board:
        lk = r["luck"]
        result = ("succeeded" if r["success"] else "fell short") if r["success"] is not None else (
            f"stopped at week {r['week']}" if room.ended else "playing")
        luck = "–" if lk is None else f"{lk['percentile']:.0f}% of replays"
        typ = "–" if lk is None else f"{_pct(lk['median'])} ({_pct(lk['p10'])}–{_pct(lk['p90'])})"
        pct = "" if lk is None else f"{lk['percentile']:.1f}"
        dec = "<br>".join(escape(d) for d in r["decisions"]) or "<span class='cx-hint'>none</span>"
        rows.append(
            f"<tr data-team='{escape(r['team'])}' data-week='{r['week']}' data-adoption='{r['adoption']:.6f}'"
            f" data-percentile='{pct}'>"
            f"<td>{r['rank']}</td><td style='text-align:left'><b style='color:{colour.get(r['team'], '#000')}'>"
            f"{escape(r['team'])}</b></td><td>{r['week']}</td><td>{_pct(r['adoption'])}</td>"
            f"<td>{r['cx_index']:.2f}</td><td>{result}</td><td>{luck}</td><td>{typ}</td><td>{r['covert_weeks']}</td>"
            f"<td style='text-align:left;font-size:12px'>{dec}</td></tr>")
    rows.append("</table>")
    return "".join(rows)
