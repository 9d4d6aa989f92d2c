"""Debrief exports: the figure as PNG, decisions and outcomes as JSON, the weeks as CSV.

Built only when a participant clicks a download button, never per step.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..plotting import PALETTE
from ..provenance import now_iso, package_versions
from .session import Session
from .views import EVENT_STYLE, REPLAY_COLORS

__all__ = ["debrief_png", "debrief_payload", "debrief_json", "history_csv", "file_stem"]


def file_stem(session: Session) -> str:
    """A file name stem such as ``cxsim-reference-seed0``."""
    name = session.scenario.name.replace("/", "-").replace(" ", "_")
    return f"cxsim-{name}-seed{session.setup.seed}"


def _clean(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def debrief_payload(session: Session) -> dict[str, Any]:
    """Everything a debrief needs as plain data: setup, decisions, events, outcomes, replays."""
    snap = session.snapshot()
    ex = snap["execs"]
    return {
        "kind": "cxsim workshop debrief",
        "created": now_iso(),
        "versions": package_versions(),
        "scenario": snap["scenario"],
        "description": snap["description"],
        "seed": snap["seed"],
        "organization.headcount_scale": snap["size"],
        "week": snap["week"],
        "ticks": snap["ticks"],
        "finished": snap["done"],
        "decisions": [{"week": d["week"], "lever": d["key"], "label": d["label"], "value": _clean(d["value"]),
                       "text": d["text"]} for d in snap["decisions"]],
        "levers_now": {k: _clean(v) for k, v in snap["levers"].items()},
        # Mid-game there is no final adoption and no success yet: only what has happened so far.
        "outcomes": _outcomes(session.model.outcomes(), snap["done"]),
        "adoption_now": snap["adoption"],
        "cx_index_now": snap["cx_index"],
        "executives": [{"id": e["id"], "title": e["title"], "true_buy_in": e["true"],
                        "expressed_buy_in": e["expressed"], "weeks_covert": e["covert_weeks"],
                        "caught": e["ever_exposed"], "owner": e["is_owner"]}
                       for e in ex],
        "events": [{"week": e["week"], "kind": e["kind"], "text": e["text"]} for e in snap["events"]
                   if e["kind"] != "committee_met"],
        "committee_meetings": sum(e["kind"] == "committee_met" for e in snap["events"]),
        "replays": [{"key": r.key, "label": r.label,
                     "decisions": [{"week": d.week, "lever": d.key, "value": _clean(d.value)} for d in r.decisions],
                     "outcomes": _outcomes(r.outcomes, snap["done"]),
                     "adoption_at_week_now": float(r.adoption[min(snap["week"], len(r.adoption) - 1)])}
                    for r in snap["replays"]],
    }


# Outcomes that only mean something at the horizon (the rest are "so far").
_FINAL_ONLY = ("final_adoption", "success", "final_cx_index", "final_buy_in")


def _outcomes(out: dict[str, Any], done: bool) -> dict[str, Any]:
    """Outcomes as JSON; before the horizon without the final ones (a replay's would be a spoiler too)."""
    return {k: _clean(v) for k, v in out.items() if done or k not in _FINAL_ONLY}


def debrief_json(session: Session) -> str:
    """:func:`debrief_payload` as indented JSON text."""
    return json.dumps(debrief_payload(session), indent=2)


def history_csv(session: Session) -> str:
    """The model's history as CSV text, one row per week.

    Columns: every metric, per-department adoption, per-executive true and expressed buy-in, and the decisions
    taken that week.
    """
    with session.lock:
        df = session.model.history()
        decisions = session.decisions
    notes = {}
    for d in decisions:
        notes.setdefault(d.week, []).append(session.decision_text(d.key, d.value))
    df.insert(1, "decisions", [";".join(notes.get(int(t), [])) for t in df["tick"]])
    df = df.rename(columns={"tick": "week"})
    return df.to_csv(index=False, float_format="%.6g")


def debrief_png(session: Session, reveal: bool = True, dpi: int = 130) -> bytes:
    """The debrief figure: curves with decisions and replays, and executives' true vs said buy-in."""
    snap = session.snapshot()
    s, T = snap["series"], snap["ticks"]
    # Figure() rather than pyplot: no global state, so sessions may export from several threads at once
    fig = Figure(figsize=(13, 6), dpi=dpi)
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
    w = np.arange(len(s["adoption"]))
    for i, r in enumerate(snap["replays"]):
        ra = r.adoption[: snap["week"] + 1]  # as far as the team has played
        ax.plot(np.arange(len(ra)), ra, ls="--", lw=1.8, color=REPLAY_COLORS[i % len(REPLAY_COLORS)],
                label=f"if: {r.label}")
    ax.plot(w, s["cx_index"], color=PALETTE[2], lw=2, label="CX index")
    ax.plot(w, s["adoption"], color=PALETTE[0], lw=2.8, label="employees practising CX (you)")
    ax.axhline(snap["threshold"], color="0.45", ls=":", lw=1)
    same_week: dict[int, int] = {}
    for d in snap["decisions"]:
        k = same_week[d["week"]] = same_week.get(d["week"], -1) + 1
        ax.axvline(d["week"], color="0.2", lw=0.8, alpha=0.4)
        ax.annotate(str(d["n"]), (d["week"], 1.06), xytext=(13 * k, 3), textcoords="offset points", ha="center",
                    annotation_clip=False,
                    va="bottom", fontsize=8, color="white", fontweight="bold",
                    bbox=dict(boxstyle="round,pad=0.25", fc="0.15", ec="none"))
    for e in snap["events"]:
        if e["kind"] in ("owner_left", "budget_cut", "resistance_detected", "successor"):
            sym, col, name = EVENT_STYLE[e["kind"]]
            marker = {"owner_left": "v", "successor": "^", "budget_cut": "x"}.get(e["kind"], "o")
            ax.plot([e["week"]], [0.015], marker=marker, color=col, ms=6, ls="none")
    ax.set_xlim(0, T)
    ax.set_ylim(0, 1.06)
    ax.set_xlabel("week")
    ax.set_ylabel("share of employees / CX index")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7.5, frameon=False)
    for i, e in enumerate(snap["execs"]):
        c = PALETTE[i % len(PALETTE)]
        if reveal:
            bx.plot(w, s["true"][:, i], color=c, lw=1.8, label=e["label"] + (" (covert)" if e["covert_weeks"] else ""))
            bx.plot(w, s["expressed"][:, i], color=c, lw=0.9, ls="--")
        else:
            bx.plot(w, s["expressed"][:, i], color=c, lw=1.8, label=e["label"])
    bx.set_xlim(0, T)
    bx.set_ylim(0, 1)
    bx.set_xlabel("week")
    bx.set_ylabel("true buy-in (solid), said (dashed)" if reveal else "expressed buy-in")
    bx.grid(alpha=0.3)
    bx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7, ncol=4, frameon=False)
    for a in (ax, bx):
        for sp in ("top", "right"):
            a.spines[sp].set_visible(False)
    lines = [f"{d['n']}: week {d['week']} {d['text']}" for d in snap["decisions"]]
    fig.suptitle(f"cxsim workshop: {snap['scenario']}, seed {snap['seed']}, week {snap['week']} of {T}: "
                 f"adoption {snap['adoption']:.0%}, CX index {snap['cx_index']:.2f}", x=0.01, ha="left", fontsize=11)
    if lines:
        fig.text(0.01, 0.005, "Decisions  " + "   ".join(lines[:8]) + ("  ..." if len(lines) > 8 else ""),
                 fontsize=7.5, color="0.25")
    # fixed margins: tight_layout would cost a second full draw
    fig.subplots_adjust(left=0.055, right=0.99, top=0.88, bottom=0.25, wspace=0.16)
    buf = io.BytesIO()
    from ..plotting import literal_text

    literal_text(fig)  # scenario names are user text: no mathtext (per text, not rcParams: threads share those)
    fig.savefig(buf, format="png")
    return buf.getvalue()
