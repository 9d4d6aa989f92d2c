"""The live views as inline SVG, built from a :meth:`Session.snapshot` (pure functions, no UI).

Why SVG strings rather than matplotlib figures per step: a room of 25 laptops
playing at several weeks per second would ask a 2-core facilitator laptop for
hundreds of PNG renders a second; an SVG of a few hundred elements costs about a
millisecond to build and the browser draws it. The debrief PNG (see
:mod:`cxsim.dashboard.export`) still uses matplotlib.

Colours come from :data:`cxsim.plotting.PALETTE` (Okabe-Ito); the buy-in scale
runs orange (against) to blue (for), adoption runs grey to bluish green, both
distinguishable with the common forms of colour blindness.
"""

from __future__ import annotations

from html import escape
from typing import Any, Sequence

import numpy as np

from ..plotting import PALETTE

__all__ = ["curves_svg", "org_svg", "buyin_svg", "room_svg", "TEAM_COLORS", "buyin_color", "adoption_color", "EVENT_STYLE"]

BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION, YELLOW, BLACK = PALETTE
INK = "#1f2430"
MUTED = "#6b7280"
GRID = "#e5e7eb"
FONT = "font-family:Inter,Roboto,'Helvetica Neue',Arial,sans-serif"

# Event kinds: (symbol, colour, short name) for the log and the curve markers.
EVENT_STYLE = {
    "owner_left": ("▼", VERMILLION, "Owner left"),
    "successor": ("▲", GREEN, "Successor"),
    "budget_cut": ("✂", ORANGE, "Budget cut"),
    "resistance_detected": ("◉", PINK, "Resistance seen"),
    "committee_met": ("●", SKY, "Committee met"),
    "decision": ("◆", INK, "Decision"),
}

# Replay overlays cycle through these (the live curves use blue and green).
REPLAY_COLORS = (PINK, ORANGE, SKY, VERMILLION)
# Teams on the facilitator's chart: Okabe-Ito without yellow (too light on white), then darker shades.
TEAM_COLORS = (BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION, BLACK, "#8a6d00", "#005080", "#a04000",
               "#006b4f", "#8c4a6e")


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _mix(a: str, b: str, t: float) -> str:
    t = float(np.clip(t, 0.0, 1.0))
    r = _hex(a) * (1 - t) + _hex(b) * t
    return "#" + "".join(f"{int(round(v)):02x}" for v in r)


def buyin_color(x: float) -> str:
    """Diverging: orange (0, against) - near white (0.5) - blue (1, for)."""
    return _mix(ORANGE, "#f4f4f2", x / 0.5) if x < 0.5 else _mix("#f4f4f2", BLUE, (x - 0.5) / 0.5)


def adoption_color(x: float) -> str:
    """Sequential: light grey (nobody) to bluish green (everybody)."""
    return _mix("#eeeeee", GREEN, x)


def _text_on(fill: str) -> str:
    r, g, b = _hex(fill) / 255
    return "#ffffff" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else INK


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _polyline(xs: Sequence[float], ys: Sequence[float], color: str, width: float = 2.5, dash: str = "",
              extra: str = "") -> str:
    if len(xs) == 0:
        return ""
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"'
            f' stroke-linejoin="round" stroke-linecap="round"{d} {extra}/>')


def _spread(ys: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Move end labels apart (keeping their order) so they do not overlap."""
    order = np.argsort(ys)
    out = list(ys)
    prev = lo - gap
    for i in order:
        out[i] = max(out[i], prev + gap)
        prev = out[i]
    over = prev - hi
    if over > 0:
        for i in order:
            out[i] -= over
    return out


def _axes(x0, y0, x1, y1, ticks: int, ylabel: str, yfmt=_pct) -> list[str]:
    """Frame, grid and tick labels of a week (x) by share (y) chart."""
    out = []
    sx = (x1 - x0) / max(ticks, 1)
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        y = y1 - v * (y1 - y0)
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="{MUTED}">{yfmt(v)}</text>')
    step = 13 if ticks <= 60 else 26 if ticks <= 160 else 52
    for w in range(0, ticks + 1, step):
        x = x0 + w * sx
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y1}" y2="{y1 + 4}" stroke="{MUTED}"/>')
        out.append(f'<text x="{x:.1f}" y="{y1 + 17}" text-anchor="middle" font-size="12" fill="{MUTED}">{w}</text>')
    out.append(f'<line x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}" stroke="{MUTED}"/>')
    out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{y1 + 32}" text-anchor="middle" font-size="11.5" fill="{MUTED}">week</text>')
    out.append(f'<text x="12" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" font-size="11.5" fill="{MUTED}"'
               f' transform="rotate(-90 12 {(y0 + y1) / 2:.0f})">{escape(ylabel)}</text>')
    return out


def curves_svg(snap: dict[str, Any], width: int = 760, height: int = 380) -> str:
    """Adoption and CX index by week, decisions and events marked, replays overlaid (dashed)."""
    T = int(snap["ticks"])
    x0, y0, x1, y1 = 52, 50, width - 150, height - 44
    sx, sy = (x1 - x0) / max(T, 1), (y1 - y0)
    X = lambda w: x0 + w * sx  # noqa: E731
    Y = lambda v: y1 - float(np.clip(v, 0, 1)) * sy  # noqa: E731
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="{FONT}"'
           f' data-testid="curves" data-week="{snap["week"]}" data-adoption="{snap["adoption"]:.6f}"'
           f' data-cx-index="{snap["cx_index"]:.6f}" data-replays="{len(snap["replays"])}">']
    out += _axes(x0, y0, x1, y1, T, "share / index")
    thr = snap["threshold"]
    out.append(f'<line x1="{x0}" x2="{x1}" y1="{Y(thr):.1f}" y2="{Y(thr):.1f}" stroke="{MUTED}" stroke-dasharray="5 4"/>')
    out.append(f'<text x="{x0 + 4}" y="{Y(thr) - 5:.1f}" font-size="10.5" fill="{MUTED}">success threshold {_pct(thr)}</text>')
    # decisions: numbered squares along the top, a faint rule down the plot; several in one
    # week sit side by side (and shift right when they would run into the next week's)
    last_right = -1e9
    for d in snap["decisions"]:
        x = X(d["week"])
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="{INK}" stroke-opacity="0.25" stroke-dasharray="2 3"/>')
        bx = max(x - 8, last_right + 2)
        last_right = bx + 16
        out.append(f'<g data-decision="{d["n"]}"><title>Decision {d["n"]}, week {d["week"]}: {escape(d.get("text", d["label"]))}</title>'
                   f'<rect x="{bx:.1f}" y="{y0 - 22}" width="16" height="16" rx="3" fill="{INK}"/>'
                   f'<text x="{bx + 8:.1f}" y="{y0 - 10}" text-anchor="middle" font-size="10.5" font-weight="700" fill="#fff">{d["n"]}</text></g>')
    ends = []
    # replays only as far as the team has played: the rest of the future is theirs to find out
    upto = int(snap["week"]) + 1
    for i, rp in enumerate(snap["replays"]):
        c = REPLAY_COLORS[i % len(REPLAY_COLORS)]
        ra = rp.adoption[:upto]
        w = np.arange(len(ra))
        out.append(_polyline(X(w), [Y(v) for v in ra], c, 2.2, "7 5", f'data-replay="{escape(rp.key)}" data-upto="{len(ra) - 1}"'))
        ends.append((Y(ra[-1]), f"if: {_trim(rp.label, 22)}", c, f"{_pct(ra[-1])}"))
    s = snap["series"]
    w = np.arange(len(s["adoption"]))
    out.append(_polyline(X(w), [Y(v) for v in s["cx_index"]], GREEN, 2.4))
    out.append(_polyline(X(w), [Y(v) for v in s["adoption"]], BLUE, 3.2))
    # events on the week axis
    for ev in snap["events"]:
        if ev["kind"] in ("owner_left", "successor", "budget_cut", "resistance_detected"):
            sym, col, name = EVENT_STYLE[ev["kind"]]
            out.append(f'<text x="{X(ev["week"]):.1f}" y="{y1 - 4}" text-anchor="middle" font-size="12" fill="{col}">'
                       f'<title>week {ev["week"]}: {escape(ev["text"])}</title>{sym}</text>')
    if len(w):
        wk = len(w) - 1
        out.append(f'<circle cx="{X(wk):.1f}" cy="{Y(s["adoption"][-1]):.1f}" r="5" fill="{BLUE}" stroke="#fff" stroke-width="1.5"/>')
        out.append(f'<circle cx="{X(wk):.1f}" cy="{Y(s["cx_index"][-1]):.1f}" r="4" fill="{GREEN}" stroke="#fff" stroke-width="1.5"/>')
        ends.append((Y(s["adoption"][-1]), "adoption", BLUE, _pct(s["adoption"][-1])))
        ends.append((Y(s["cx_index"][-1]), "CX index", GREEN, f'{s["cx_index"][-1]:.2f}'))
    ys = _spread([e[0] for e in ends], 24, y0, y1)
    for (yv, name, col, val), yl in zip(ends, ys):
        out.append(f'<text x="{x1 + 16}" y="{yl:.1f}" font-size="12.5" fill="{col}" font-weight="700">{escape(val)}'
                   f'<tspan x="{x1 + 16}" dy="12" font-size="10" font-weight="400">{escape(name)}</tspan></text>')
    # legend
    lg = [(BLUE, "", "employees practising CX"), (GREEN, "", "CX index")]
    if snap["replays"]:
        lg.append((MUTED, "7 5", "what if (replay)"))
    lx = x0
    for col, dash, name in lg:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="11" y2="11" stroke="{col}" stroke-width="3"{d}/>')
        out.append(f'<text x="{lx + 27}" y="15" font-size="12.5" fill="{INK}">{escape(name)}</text>')
        lx += 40 + 6.8 * len(name)
    out.append("</svg>")
    return "".join(out)


def _fit(text: str, width: float, size: float) -> float:
    """A font size at most ``size`` at which ``text`` fits in ``width`` pixels (bold, about 0.62 em a letter)."""
    return max(7.5, min(size, width / (0.62 * max(len(text), 1))))


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """Words into at most ``lines`` lines of ``width`` characters (the last one trimmed if it must be)."""
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1:])]
    return [_trim(x, width) for x in out]


def _name_lines(name: str, x: float, y: float, color: str) -> str:
    """A department's name on up to two lines of a box (never cut when it fits in two)."""
    parts = _wrap(name, 17)
    return "".join(f'<text x="{x:.1f}" y="{y + 12 * k}" font-size="11" font-weight="600" fill="{color}">{escape(p)}</text>'
                   for k, p in enumerate(parts))


def _trim(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def buyin_svg(snap: dict[str, Any], reveal: bool, width: int = 560, height: int = 380) -> str:
    """Executives' buy-in by week, one small panel each: what they say, or true vs said when revealed.

    Small multiples rather than one chart of eight lines: each executive's line can be
    read on its own, with the name above it and no legend to decode.
    """
    T = int(snap["ticks"])
    execs = snap["execs"]
    n_ex = max(len(execs), 1)
    ncol = 4 if n_ex > 6 else 3 if n_ex > 4 else 2
    nrow = int(np.ceil(n_ex / ncol))
    top, gap_x, gap_y = 24, 10, 8
    pw = (width - 8 - (ncol - 1) * gap_x) / ncol
    ph = max(60.0, (height - top - 6 - (nrow - 1) * gap_y) / nrow)
    height = int(top + nrow * ph + (nrow - 1) * gap_y + 6)
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="{FONT}"'
           f' data-testid="buyin-chart" data-view="{"true" if reveal else "expressed"}">']
    title = ("solid: TRUE buy-in · dashed: what they say" if reveal
             else "what colleagues see: expressed buy-in, 0–100%")
    out.append(f'<text x="4" y="15" font-size="12" fill="{VERMILLION if reveal else MUTED}" font-weight="600">{title}</text>')
    s = snap["series"]
    n = s["expressed"].shape[0]
    w = np.arange(n)
    for i, ex in enumerate(execs):
        r, c = divmod(i, ncol)
        px, py = 4 + c * (pw + gap_x), top + r * (ph + gap_y)
        ix0, ix1, iy0, iy1 = px + 2, px + pw - 2, py + 30, py + ph - 4
        X = lambda wk: ix0 + wk * (ix1 - ix0) / max(T, 1)  # noqa: E731, B023
        Yv = lambda v: iy1 - np.clip(v, 0, 1) * (iy1 - iy0)  # noqa: E731, B023
        said = s["expressed"][:, i]
        true = s["true"][:, i]
        now = float((true if reveal else said)[-1]) if n else 0.0
        covert = reveal and ex["covert_weeks"] > 0
        frame = VERMILLION if (reveal and ex["covert"]) else GRID
        out.append(f'<g data-exec-panel="{escape(ex["id"])}"><title>{escape(ex["title"])}</title>')
        dash = ' stroke-dasharray="5 3"' if reveal and ex["covert"] else ""
        out.append(f'<rect x="{px:.1f}" y="{py:.1f}" width="{pw:.1f}" height="{ph:.1f}" rx="6" fill="#fafafa" '
                   f'stroke="{frame}"{dash}/>')
        star = "★ " if ex["is_owner"] else ""
        name = star + ex["label"]
        out.append(f'<text x="{px + 6:.1f}" y="{py + 13:.1f}" font-size="{_fit(name, pw - 12, 11.5):.1f}" '
                   f'font-weight="700" fill="{INK}">{escape(name)}</text>')
        out.append(f'<text x="{px + 6:.1f}" y="{py + 26:.1f}" font-size="10.5" font-weight="700" '
                   f'fill="{buyin_color(now) if now > 0.62 or now < 0.38 else MUTED}">{_pct(now)}</text>')
        if covert:
            out.append(f'<text x="{px + pw - 6:.1f}" y="{py + 26:.1f}" font-size="9.5" font-weight="700" '
                       f'text-anchor="end" fill="{VERMILLION}">covert {ex["covert_weeks"]} wk</text>')
        mid = Yv(0.5)
        out.append(f'<line x1="{ix0:.1f}" x2="{ix1:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{GRID}"/>')
        if reveal:
            out.append(_polyline(X(w), Yv(said), MUTED, 1.2, "3 3"))
            out.append(_polyline(X(w), Yv(true), BLUE, 2.0))
        else:
            out.append(_polyline(X(w), Yv(said), BLUE, 2.0))
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def room_svg(teams: list[dict[str, Any]], ticks: int, threshold: float, width: int = 900, height: int = 380) -> str:
    """Every team's adoption curve on one chart, the team's name at the end of its line."""
    x0, y0, x1, y1 = 52, 20, width - 170, height - 44
    sx, sy = (x1 - x0) / max(ticks, 1), (y1 - y0)
    X = lambda w: x0 + w * sx  # noqa: E731
    Y = lambda v: y1 - float(np.clip(v, 0, 1)) * sy  # noqa: E731
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="{FONT}"'
           f' data-testid="room-curves" data-teams="{len(teams)}">']
    out += _axes(x0, y0, x1, y1, ticks, "employees practising CX")
    out.append(f'<line x1="{x0}" x2="{x1}" y1="{Y(threshold):.1f}" y2="{Y(threshold):.1f}" stroke="{MUTED}" stroke-dasharray="5 4"/>')
    out.append(f'<text x="{x0 + 4}" y="{Y(threshold) - 5:.1f}" font-size="10.5" fill="{MUTED}">goal {_pct(threshold)}</text>')
    ends = []
    for i, t in enumerate(teams):
        c = TEAM_COLORS[i % len(TEAM_COLORS)]
        a = np.asarray(t["adoption_series"])
        w = np.arange(len(a))
        out.append(_polyline(X(w), [Y(v) for v in a], c, 2.4, "", f'data-team="{escape(t["team"])}"'))
        if len(a):
            out.append(f'<circle cx="{X(len(a) - 1):.1f}" cy="{Y(a[-1]):.1f}" r="4" fill="{c}"/>')
            ends.append((Y(a[-1]), t["team"], c, _pct(a[-1]), len(a) - 1))
    ys = _spread([e[0] for e in ends], 14, y0, y1)
    for (_, name, c, val, wk), yl in zip(ends, ys):
        out.append(f'<text x="{x1 + 8}" y="{yl + 4:.1f}" font-size="11.5" fill="{c}" font-weight="700">{escape(val)} '
                   f'{escape(_trim(name, 18))}<tspan font-weight="400" fill="{MUTED}"> wk {wk}</tspan></text>')
    if not teams:
        out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" font-size="14" '
                   f'fill="{MUTED}">No team has joined yet</text>')
    out.append("</svg>")
    return "".join(out)


def org_svg(snap: dict[str, Any], reveal: bool, min_width: int = 980) -> str:
    """The organization as an org chart: the CEO, the executives, their departments.

    Executives are coloured by buy-in (expressed, or true when revealed), departments
    by adoption. Revealed, covert resisters get a dashed vermillion frame and a mask.
    """
    execs, depts = snap["execs"], snap["depts"]
    ceo = next((e for e in execs if e["is_ceo"]), execs[0] if execs else None)
    by_exec: dict[str, list] = {}
    for d in depts:
        by_exec.setdefault(d["exec"], []).append(d)
    cols = [e for e in execs if not e["is_ceo"]]
    if ceo is not None and by_exec.get(ceo["id"]):
        cols = [ceo, *cols]  # the CEO's own departments get a column too
    bw, gap = 112, 10
    ncol = max(len(cols), 1)
    width = max(min_width, ncol * (bw + gap) + 40)
    xs = [(width - ncol * (bw + gap) + gap) / 2 + k * (bw + gap) for k in range(ncol)]
    ceo_y, ex_y, eh, dh, dgap = 12, 104, 74, 50, 8
    dep_y = ex_y + eh + 22
    rows = max((len(by_exec.get(e["id"], [])) for e in cols), default=0)
    height = dep_y + rows * (dh + dgap) + 56
    key = "true" if reveal else "expressed"
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg" style="{FONT}"'
           f' data-testid="org-chart" data-view="{key}">']

    def exec_box(e, x, y, w=bw, h=eh):
        v = e[key]
        fill = buyin_color(v)
        tc = _text_on(fill)
        covert_now = reveal and e["covert"]
        stroke, sw, dash = ("#9ca3af", 1, "")
        if e["is_owner"]:
            stroke, sw = (INK, 3)
        if covert_now:
            stroke, sw, dash = (VERMILLION, 3.5, ' stroke-dasharray="6 3"')
        attrs = f'data-exec="{escape(e["id"])}" data-buyin="{v:.4f}"'
        if reveal:
            attrs += f' data-covert="{int(e["covert"])}" data-covert-weeks="{e["covert_weeks"]}"'
        tip = f'{e["title"]}: says {_pct(e["expressed"])}'
        if reveal:
            tip += f', truly {_pct(e["true"])}, jealousy {_pct(e["jealousy"])}, covert {e["covert_weeks"]} weeks'
        g = [f'<g {attrs}><title>{escape(tip)}</title>',
             f'<rect x="{x:.1f}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>',
             f'<text x="{x + w / 2:.1f}" y="{y + 19}" text-anchor="middle" font-size="{_fit(e["label"], w - 10, 14):.1f}" '
             f'font-weight="700" fill="{tc}">{escape(e["label"])}</text>']
        if reveal:
            g.append(f'<text x="{x + w / 2:.1f}" y="{y + 36}" text-anchor="middle" font-size="11" fill="{tc}">'
                     f'true {_pct(e["true"])} · says {_pct(e["expressed"])}</text>')
        else:
            g.append(f'<text x="{x + w / 2:.1f}" y="{y + 36}" text-anchor="middle" font-size="11.5" fill="{tc}">buy-in {_pct(v)}</text>')
        tags = []
        if e["is_owner"]:
            tags.append("★ CX owner" if snap["owner_present"] else "★ owner post vacant")
        if reveal and e["covert"]:
            tags.append("COVERT now")
        elif reveal and e["covert_weeks"]:
            tags.append(f'played along {e["covert_weeks"]} wk')
        if reveal and e["exposed"]:
            tags.append("caught")
        for k, t in enumerate(tags[:2]):
            g.append(f'<text x="{x + w / 2:.1f}" y="{y + 52 + 13 * k}" text-anchor="middle" font-size="10.5" '
                     f'font-weight="700" fill="{tc}">{escape(t)}</text>')
        g.append("</g>")
        return "".join(g)

    # connectors first, boxes on top
    cx = width / 2
    if ceo is not None:
        mid = ceo_y + eh + (ex_y - ceo_y - eh) / 2
        for e, x in zip(cols, xs):
            if e is ceo:
                continue
            out.append(f'<path d="M{cx:.1f},{ceo_y + eh} V{mid:.1f} H{x + bw / 2:.1f} V{ex_y}" fill="none" stroke="#9ca3af" stroke-width="1.4"/>')
    for e, x in zip(cols, xs):
        ds = by_exec.get(e["id"], [])
        if ds:
            top = ex_y + eh if e is not ceo else ceo_y + eh
            out.append(f'<path d="M{x + 10:.1f},{top} V{dep_y + (len(ds) - 1) * (dh + dgap) + dh / 2:.1f}" fill="none" stroke="#9ca3af" stroke-width="1.4"/>')
    if ceo is not None:
        out.append(exec_box(ceo, cx - bw * 0.65, ceo_y, bw * 1.3, eh))
    for e, x in zip(cols, xs):
        if e is not ceo:
            out.append(exec_box(e, x, ex_y))
        for r, d in enumerate(by_exec.get(e["id"], [])):
            y = dep_y + r * (dh + dgap)
            fill = adoption_color(d["adoption"])
            tc = _text_on(fill)
            office = "front office" if d["front"] else "back office"
            back = "" if d["front"] else " · back"
            out.append(
                f'<g data-dept="{escape(d["id"])}" data-adoption="{d["adoption"]:.4f}">'
                f'<title>{escape(d["name"])} ({office}, {d["headcount"]} people): {_pct(d["adoption"])} practise CX</title>'
                f'<rect x="{x + 4:.1f}" y="{y}" width="{bw - 4}" height="{dh}" rx="6" fill="{fill}" stroke="#d1d5db"/>'
                + _name_lines(d["name"], x + 9, y + 14, tc) +
                f'<text x="{x + 9:.1f}" y="{y + 41}" font-size="10.5" fill="{tc}">{_pct(d["adoption"])} of {d["headcount"]:,}{back}</text>'
                f'<rect x="{x + 4:.1f}" y="{y + dh - 5}" width="{(bw - 4) * min(max(d["adoption"], 0), 1):.1f}" height="5" rx="2" fill="{INK}" fill-opacity="0.35"/>'
                '</g>')
    # legends: two small gradient bars
    ly = height - 30
    out.append('<defs><linearGradient id="gb"><stop offset="0" stop-color="%s"/><stop offset="0.5" stop-color="#f4f4f2"/>'
               '<stop offset="1" stop-color="%s"/></linearGradient><linearGradient id="ga"><stop offset="0" stop-color="#eeeeee"/>'
               '<stop offset="1" stop-color="%s"/></linearGradient></defs>' % (ORANGE, BLUE, GREEN))
    lx = 20
    label = "executive TRUE buy-in" if reveal else "executive buy-in (as expressed)"
    out.append(f'<text x="{lx}" y="{ly - 4}" font-size="11" fill="{VERMILLION if reveal else MUTED}" font-weight="600">{label}</text>')
    out.append(f'<rect x="{lx}" y="{ly}" width="160" height="10" fill="url(#gb)" stroke="#d1d5db"/>')
    out.append(f'<text x="{lx}" y="{ly + 22}" font-size="10" fill="{MUTED}">against</text>'
               f'<text x="{lx + 160}" y="{ly + 22}" font-size="10" fill="{MUTED}" text-anchor="end">for</text>')
    lx = 220
    out.append(f'<text x="{lx}" y="{ly - 4}" font-size="11" fill="{MUTED}" font-weight="600">department adoption</text>')
    out.append(f'<rect x="{lx}" y="{ly}" width="160" height="10" fill="url(#ga)" stroke="#d1d5db"/>')
    out.append(f'<text x="{lx}" y="{ly + 22}" font-size="10" fill="{MUTED}">0%</text>'
               f'<text x="{lx + 160}" y="{ly + 22}" font-size="10" fill="{MUTED}" text-anchor="end">100%</text>')
    note = ("dashed vermillion frame: resisting covertly now (saying yes, meaning no)" if reveal
            else "thick frame: the CX owner · hover a box for details")
    out.append(f'<text x="420" y="{ly + 9}" font-size="11" fill="{MUTED}">{escape(note)}</text>')
    out.append("</svg>")
    return "".join(out)
