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
import math
import threading
import time
from html import escape
from typing import Any, Callable

import reacton.core
import reacton.ipyvuetify as rv
import solara
import solara.lab

from ..errors import CXSimError
from .export import debrief_json, debrief_png, file_stem, history_csv
from .session import LEVER_LABELS, SIZES, Session, Setup, default_setup, scenario_choices, short_label, value_text
from .views import EVENT_STYLE, REPLAY_COLORS, buyin_svg, curves_svg, org_svg

__all__ = ["Page", "MAX_FPS"]

# Frames (re-renders) per second while playing; faster speeds advance several weeks per frame.
MAX_FPS = 8
PRIMARY = "#0072B2"  # Okabe-Ito blue
log = logging.getLogger("cxsim.dashboard")

CSS = """
.v-app-bar, .v-app-bar.v-toolbar { background-color: #0072B2 !important; color: #fff !important; }
.cx-appbar-sub { font-size: 13px; opacity: .85; margin-left: 14px; font-weight: 400; }
.cx-root { font-size: 15px; }
.cx-card { border-radius: 10px !important; }
.cx-kpis { display:flex; gap:22px; align-items:flex-end; flex-wrap:wrap; }
.cx-kpi .v { font-size: 26px; font-weight: 700; line-height: 1.1; }
.cx-kpi .l { font-size: 12px; color: #6b7280; text-transform: uppercase; letter-spacing: .04em; }
.cx-week .v { font-size: 38px; }
.cx-progress { height: 6px; background: #e5e7eb; border-radius: 3px; margin-top: 8px; }
.cx-progress > div { height: 6px; background: #0072B2; border-radius: 3px; }
.cx-log { max-height: 300px; overflow-y: auto; font-size: 13.5px; }
.cx-log div { padding: 3px 0; border-bottom: 1px solid #f0f0f0; }
.cx-log .wk { display:inline-block; min-width: 58px; color:#6b7280; font-variant-numeric: tabular-nums; }
.cx-log .decision { font-weight: 600; }
.cx-dec { font-size: 13.5px; }
.cx-dec .n { display:inline-block; width:20px; height:20px; border-radius:4px; background:#1f2430; color:#fff;
             text-align:center; font-size:12px; font-weight:700; line-height:20px; margin-right:6px; }
.cx-table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
.cx-table th, .cx-table td { padding: 4px 6px; border-bottom: 1px solid #eee; text-align: right; }
.cx-table th:first-child, .cx-table td:first-child { text-align: left; }
.cx-reveal-on { color: #D55E00; font-weight: 700; }
.cx-hint { color: #6b7280; font-size: 12.5px; }
.cx-section { font-size: 12px; font-weight: 700; color: #6b7280; text-transform: uppercase; letter-spacing: .05em;
              margin: 10px 0 2px 0; }
"""


def _items(pairs) -> list[dict[str, Any]]:
    """Select items; Vuetify 2 reads text/value, Vuetify 3 title/value."""
    return [{"text": t, "title": t, "value": v} for v, t in pairs]


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


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


@solara.component
def Page():
    """One participant's dashboard.

    Only the small view components below subscribe to ``version`` (bumped every
    week), so a step re-renders a handful of HTML widgets, not the whole page.
    """
    session: Session = solara.use_memo(lambda: Session(default_setup()), [])
    # Page owns only what re-renders the whole page (play/pause, reveal). The rest are
    # standalone reactives made once per session: setting them re-renders just the
    # components that read them (use_reactive would re-render Page, hence everything).
    playing = solara.use_reactive(False)
    reveal = solara.use_reactive(False)
    version = _own(0)  # bumped whenever the model changes (every week)
    levers_version = _own(0)  # bumped on decisions and resets only
    speed = _own(4)
    message = _own("")
    done = _own(session.done)  # the horizon is reached (disables the step buttons)

    rc = reacton.core.get_render_context()

    def changed(levers: bool = False):
        # Each subscribed view would otherwise trigger a render pass of its own;
        # inside the render context they are batched into one pass.
        with rc:
            version.set(version.value + 1)
            done.set(session.done)
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
                if n == 0 or session.done:
                    playing.set(False)
                    return
                cancel.wait(PLAY_BUDGET.interval(speed.value))

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    def theme():
        solara.lab.theme.themes.light.primary = PRIMARY
        solara.lab.theme.themes.light.secondary = "#009E73"
    solara.use_memo(theme, [])
    rev = bool(reveal.value)

    solara.Style(CSS)
    solara.Title("cxsim workshop")
    with solara.AppBarTitle():
        AppTitle(session, levers_version)
    with solara.Sidebar():
        Controls(session, levers_version, changed, playing, speed, message)
    with solara.Column(classes=["cx-root"], style={"padding": "4px 8px"}):
        Message(message)
        with solara.Card(classes=["cx-card"], margin=0, style={"padding": "10px 16px"}):
            Status(session, version, reveal)
            Buttons(session, done, playing, reveal, changed)
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


@solara.component
def AppTitle(session: Session, levers_version):
    """The app bar: the app and the scenario being played."""
    levers_version.value  # noqa: B018 -- the scenario changes on reset only
    sc = session.scenario
    solara.HTML(tag="span", unsafe_innerHTML=(
        "cxsim · CX adoption workshop"
        f'<span class="cx-appbar-sub">{escape(sc.name)}: {escape(sc.description)}</span>'))


@solara.component
def Message(message):
    """One line for a rejected input (e.g. a scenario file that does not validate)."""
    if message.value:
        solara.Warning(message.value, dense=True)


@solara.component
def Controls(session: Session, levers_version, changed: Callable, playing, speed, message):
    """The sidebar: governance levers (apply now), setup (applies on reset), speed."""
    levers_version.value  # noqa: B018 -- subscribe: re-render on decisions and resets only
    sc = session.scenario
    vals = session.lever_values()
    execs = [(x["id"], x["title"] or x["id"]) for x in sc.executives]
    pending_scenario = solara.use_reactive(session.setup.scenario)
    pending_size = solara.use_reactive(session.setup.size)
    pending_seed = solara.use_reactive(session.setup.seed)

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
            session.reset(Setup(pending_scenario.value, int(pending_seed.value or 0), float(pending_size.value)))
            message.set("")
        except CXSimError as exc:
            message.set(str(exc))
        changed(levers=True)

    solara.HTML(tag="div", unsafe_innerHTML="Governance levers", classes=["cx-section"])
    solara.HTML(tag="div", unsafe_innerHTML="Apply from the current week; each change is recorded as a decision.",
                classes=["cx-hint"])
    if execs:
        rv.Select(label=LEVER_LABELS["owner.executive"], items=_items((i, t) for i, t in execs),
                  v_model=vals["owner.executive"], on_v_model=pull("owner.executive"), dense=True,
                  hide_details=True, class_="cx-owner mt-2")
    solara.Text("Mandate", style={"font-size": "13px", "color": "#6b7280"})
    with solara.ToggleButtonsSingle(value=vals["owner.mandate"], on_value=pull("owner.mandate"), dense=True,
                                    classes=["cx-mandate"]):
        solara.Button("advisory", value="advisory", attributes={"data-testid": "mandate-advisory"})
        solara.Button("budget", value="budget", attributes={"data-testid": "mandate-budget"})
    if vals["owner.mandate"] == "budget":
        solara.SliderInt(f'Budget {vals["owner.budget"]:g}k per week', value=int(vals["owner.budget"]), min=0, max=300, step=10,
                         on_value=lambda v: pull("owner.budget")(float(v)))
    solara.Text("CEO sponsorship", style={"font-size": "13px", "color": "#6b7280"})
    with solara.ToggleButtonsSingle(value=vals["sponsorship.level"], on_value=pull("sponsorship.level"), dense=True,
                                    classes=["cx-sponsor"]):
        for lv in ("none", "passive", "active"):
            solara.Button(lv, value=lv, attributes={"data-testid": f"sponsor-{lv}"})
    solara.SliderInt(f'Sponsorship from week {vals["sponsorship.start_week"]}', value=int(vals["sponsorship.start_week"]), min=0, max=session.ticks,
                     step=1, on_value=pull("sponsorship.start_week"))
    solara.Switch(label="CX committee", value=bool(vals["committee.enabled"]), on_value=pull("committee.enabled"),
                  classes=["cx-committee"])
    solara.SliderInt(f'Committee meets every {vals["committee.cadence_weeks"]} weeks', value=int(vals["committee.cadence_weeks"]), min=1, max=13,
                     on_value=pull("committee.cadence_weeks"), disabled=not vals["committee.enabled"])
    solara.SliderFloat(f'Jealousy level x{vals["politics.jealousy_scale"]:g}', value=float(vals["politics.jealousy_scale"]), min=0.0, max=3.0, step=0.1,
                       on_value=pull("politics.jealousy_scale"))

    solara.HTML(tag="div", unsafe_innerHTML="Play", classes=["cx-section"])
    solara.SliderInt(f"Speed: {speed.value} weeks per second", value=speed, min=1, max=26)

    solara.HTML(tag="div", unsafe_innerHTML="Setup (applies on reset)", classes=["cx-section"])
    solara.Select("Scenario", values=scenario_choices(session.setup.scenario), value=pending_scenario, dense=True,
                  classes=["cx-scenario"])
    base = sum(int(d["headcount"]) for d in sc.departments) / max(session.setup.size, 1e-9)
    rv.Select(label="Organization size", items=_items((s, f"x{s:g} ({int(round(base * s)):,} employees)")
                                                  for s in SIZES),
              v_model=pending_size.value, on_v_model=pending_size.set, dense=True, hide_details=True, class_="mt-2")
    solara.InputInt("Seed", value=pending_seed, dense=True)
    differs = (pending_scenario.value, pending_size.value, pending_seed.value) != (
        session.setup.scenario, session.setup.size, session.setup.seed)
    solara.Button("Apply and reset" if differs else "Reset", on_click=reset, color="primary" if differs else None,
                  icon_name="mdi-restart", attributes={"data-testid": "reset-setup"}, style={"margin-top": "6px"})
    if differs:
        solara.HTML(tag="div", unsafe_innerHTML="Setup changed: press to start over with it.", classes=["cx-hint"])


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
def Buttons(session: Session, done_state, playing, reveal, changed: Callable):
    """Play or pause, step a week or a quarter, reset; the reveal switch (not re-rendered each week)."""
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
        solara.Button("Reset", icon_name="mdi-restart", on_click=restart, text=True,
                      attributes={"data-testid": "reset"})
        solara.HTML(tag="div", unsafe_innerHTML="", style="flex-grow:1")
        solara.Switch(label="Reveal hidden politics (debrief)", value=reveal, classes=["cx-reveal"],
                      color="deep-orange")


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


def _parse(text: str) -> Any:
    return {"True": True, "False": False}.get(text, text)


def _decisions_html(snap) -> str:
    if not snap["decisions"]:
        return ('<div class="cx-hint">No decisions yet. Pull a lever in the sidebar (e.g. appoint an active '
                'sponsor, form a committee); it applies from the current week.</div>')
    rows = [f'<div class="cx-dec"><span class="n">{d["n"]}</span>week {d["week"]}: {escape(d["label"])} '
            f'&rarr; <b>{escape(value_text(d["value"]))}</b></div>' for d in snap["decisions"]]
    return "".join(rows)


def _events_html(snap) -> str:
    evs = [e for e in snap["events"] if e["kind"] != "committee_met"]
    meetings = sum(e["kind"] == "committee_met" for e in snap["events"])
    out = ['<div class="cx-log">']
    if meetings:
        out.append(f'<div class="cx-hint">The committee met {meetings} times.</div>')
    if not evs:
        out.append('<div class="cx-hint">Nothing has happened yet.</div>')
    for e in reversed(evs[-60:]):
        sym, col, _ = EVENT_STYLE.get(e["kind"], ("•", "#000", e["kind"]))
        text = e["text"]
        if e["kind"] == "decision":
            key, _, value = text.removeprefix("Decision: ").partition(" = ")
            text = f"Decision: {LEVER_LABELS.get(key, key)} → {value_text(_parse(value))}"
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
        return ('<div class="cx-hint">A replay reruns this seed week by week with the same random numbers, so any '
                'difference comes from the decisions alone. It is drawn dashed on the adoption chart.</div>')
    week, ticks = snap["week"], snap["ticks"]
    rows = ["<table class='cx-table' data-testid='replay-table'><tr><th></th>"
            f"<th>at week {week}</th><th>at week {ticks}</th><th>weeks to 50%</th><th>owner left</th></tr>",
            f"<tr><td><b style='color:#0072B2'>&#9644; you</b></td><td>{_pct(snap['adoption'])}</td>"
            "<td>–</td><td>–</td><td>–</td></tr>"]
    for i, r in enumerate(snap["replays"]):
        c = REPLAY_COLORS[i % len(REPLAY_COLORS)]
        w50 = r.outcomes.get("weeks_to_50")
        rows.append(f"<tr data-replay='{escape(r.key)}'><td><span style='color:{c}'>&#9476;&#9476;</span> "
                    f"{escape(r.label)}</td>"
                    f"<td>{_pct(float(r.adoption[min(week, len(r.adoption) - 1)]))}</td>"
                    f"<td>{_pct(r.outcomes['final_adoption'])}</td>"
                    f"<td>{'never' if w50 is None or w50 != w50 else int(w50)}</td>"
                    f"<td>{int(r.outcomes.get('owner_departures', 0))}x</td></tr>")
    rows.append("</table>")
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
