"""Display tables (percentages as text) and the plain-language summary, shared by Markdown and HTML."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .analysis import Comparison

__all__ = ["options_table", "effects_table", "factorial_table", "summary_sentences", "pct", "pts"]


def pct(x: float, digits: int = 0) -> str:
    """0.613 -> '61%' (an en dash for a missing value)."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def pts(x: float, digits: int = 0) -> str:
    """0.43 -> '+43' percentage points (signed)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    v = round(100 * x, digits)
    return f"{v:+.{digits}f}" if v != 0 else f"{0:.{digits}f}"


def _ci_pts(lo: float, hi: float) -> str:
    return f"{pts(lo)} to {pts(hi)}"


def options_table(c: Comparison) -> pd.DataFrame:
    """One row per option: what it is, chance of success with its interval, adoption, weeks to 80%."""
    rows = []
    for _, r in c.summary.iterrows():
        p = int(r["point"])
        w80 = "–" if math.isnan(r["median_weeks_to_80"]) else f"{r['median_weeks_to_80']:.0f}"
        rows.append({
            # The chance of success next to the option's name: on a phone the table scrolls sideways,
            # and the number a reader came for must be on the first screen.
            "option": r["name"] + (" (baseline)" if p == c.baseline else ""),
            "chance of success (95% interval)": f"{pct(r['success'])} ({pct(r['success_lo'])} to "
                                                f"{pct(r['success_hi'])})",
            "description": r["description"],
            "mean final adoption": pct(r["mean_final_adoption"]),
            "median weeks to 80% (futures that got there)": w80,
            "never reached 80%": pct(r["share_never_80"]),
            "futures": int(r["replications"]),
        })
    return pd.DataFrame(rows)


def effects_table(c: Comparison) -> pd.DataFrame:
    """Each option against the baseline, in percentage points with 95% paired-bootstrap intervals."""
    rows = []
    for _, r in c.effects.iterrows():
        rows.append({
            "option": r["name"],
            "chance of success (vs baseline)": f"{pct(r['success'])} vs {pct(r['success_baseline'])}",
            "change (points)": pts(r["diff_success"]),
            "95% interval": _ci_pts(r["diff_success_lo"], r["diff_success_hi"]),
            "mean final adoption (vs baseline)": f"{pct(r['final_adoption'])} vs {pct(r['final_adoption_baseline'])}",
            "change in adoption (points)": pts(r["diff_final_adoption"], 1),
            "95% interval (adoption)": f"{pts(r['diff_final_adoption_lo'], 1)} to "
                                       f"{pts(r['diff_final_adoption_hi'], 1)}",
            "pairs": int(r["n_pairs"]),
        })
    return pd.DataFrame(rows)


def factorial_table(c: Comparison) -> pd.DataFrame | None:
    """Main effects and two-way interactions on the chance of success, in percentage points."""
    if c.factorial_table is None:
        return None
    rows = []
    for _, r in c.factorial_table.iterrows():
        rows.append({
            "term": r["term"],
            "kind": r["kind"],
            "what it measures": r["meaning"],
            "effect on chance of success (points)": pts(r["estimate"]),
            "95% interval": _ci_pts(r["lo"], r["hi"]),
        })
    return pd.DataFrame(rows)


def _clear(lo: float, hi: float) -> bool:
    """An interval that excludes zero (to the displayed precision)."""
    return (lo > 0 or hi < 0) and abs(round(100 * lo)) + abs(round(100 * hi)) > 0


def _q(name: str) -> str:
    """An option's name inside a sentence: quoted when it holds commas ("advisory owner, no committee")."""
    return f"\u201c{name}\u201d" if "," in name else name


def _describe(c: Comparison, p: int) -> str:
    """The option's name, with its description in brackets when that is short and says something of its own.

    A description every option shares describes the organization, not the option, and a long
    one (a study's) would bury the sentence: both are left to the options table.
    """
    d = c.description(p).strip().rstrip(".")
    shared = c.summary["description"].astype(str).nunique() == 1
    if not d or shared or len(d) > 70 or ". " in d:
        return _q(c.name(p))
    return f"{_q(c.name(p))} ({d[0].lower() + d[1:]})"


def _speed(c: Comparison, p: int, who: str) -> str:
    # Worded from the same number, rounded the same way, as the table's "never reached 80%" column,
    # so the two can never disagree (2.5% reached is 97.5% never: "98%" in both places).
    r = c.summary.set_index("point").loc[p]
    never = r["share_never_80"]
    within = f"within {c.ticks} weeks" if c.ticks else "within the horizon"
    if never == 1:
        return f"{who}, adoption never reached 80% {within}"
    if never == 0:
        return (f"{who}, adoption reached 80% in every future, after a median of "
                f"{r['median_weeks_to_80']:.0f} weeks")
    return (f"{who}, adoption never reached 80% {within} in {pct(never)} of futures; where it did, it took a "
            f"median of {r['median_weeks_to_80']:.0f} weeks")


def summary_sentences(c: Comparison) -> list[str]:
    """The plain-language summary: short sentences generated from the numbers (plain text)."""
    s = c.summary.set_index("point")
    b = c.baseline
    n = int(s["replications"].min())
    ticks = c.ticks
    horizon = f"{ticks} weeks (about {ticks / 52:.1f} years)" if ticks else "the simulated horizon"
    out = [
        f"We simulated {n} possible futures of the same company under each of {len(s)} governance options, "
        f"over {horizon}. An option counts as a success in a future when at least {c.threshold:.0%} of "
        "employees practise customer-experience management at the end. Every option faces the same futures "
        "(the same luck), so the comparison is like-for-like.",
    ]
    base = s.loc[b]
    out.append(f"Under the baseline, {_describe(c, b)}, CX took hold in {pct(base['success'])} of futures "
               f"(95% interval {pct(base['success_lo'])} to {pct(base['success_hi'])}).")
    fac_tab = c.factorial_table
    fac_out: list[str] = []
    if fac_tab is not None:
        for _, r in fac_tab[fac_tab["kind"] == "main effect"].iterrows():
            change = r["meaning"]
            change = change[0].upper() + change[1:]
            avg = (f"from {pct(r['low_mean'])} to {pct(r['high_mean'])} on average over the other choices "
                   f"({pts(r['estimate'])} points, 95% interval {_ci_pts(r['lo'], r['hi'])})")
            if _clear(r["lo"], r["hi"]):
                verb = "raised" if r["estimate"] > 0 else "lowered"
                fac_out.append(f"{change} {verb} the chance of success {avg}.")
            else:
                fac_out.append(f"{change} made no clear difference to the chance of success: {avg}.")
        inter = fac_tab[fac_tab["kind"] == "interaction"]
        clear = inter[[_clear(lo, hi) for lo, hi in zip(inter["lo"], inter["hi"])]]
        if len(clear):
            r = clear.loc[clear["estimate"].abs().idxmax()]
            phrase = {f.label: f.change.split(" (")[0] for f in c.factorial.factors}
            a, bb = (phrase.get(t, t) for t in r["term"].split(" x "))
            if r["estimate"] > 0:
                fac_out.append(f"The choices reinforce each other: the effect of {a} was {pts(r['estimate'])[1:]} "
                           f"points larger when combined with {bb} (95% interval "
                           f"{_ci_pts(r['lo'], r['hi'])}).")
            else:
                ceiling = float(c.summary["success"].max()) >= 0.95
                fac_out.append(f"The choices partly substitute for each other: the effect of {a} was "
                           f"{pts(r['estimate'])[1:]} points smaller when combined with {bb} (95% interval "
                           f"{_ci_pts(r['lo'], r['hi'])})"
                           + ("; with both, success is already close to 100%, so there is little left to gain."
                              if ceiling else "; each adds less when the other is already in place."))
        elif len(inter):
            fac_out.append("No clear interaction between the choices: within the simulation's precision their "
                       "effects simply add up.")
    e = c.effects
    if len(e):
        best = e.sort_values(["diff_success", "diff_final_adoption"], ascending=False, kind="stable").iloc[0]
        p = int(best["point"])
        ci = _ci_pts(best["diff_success_lo"], best["diff_success_hi"])
        if _clear(best["diff_success_lo"], best["diff_success_hi"]) and best["diff_success"] > 0:
            out.append(f"The best option was {_describe(c, p)}: it raised the chance of success from "
                       f"{pct(best['success_baseline'])} to {pct(best['success'])} "
                       f"({pts(best['diff_success'])} points, 95% interval {ci}).")
        else:
            out.append(f"No option clearly beat the baseline on the chance of success; the highest was "
                       f"{_describe(c, p)} at {pct(best['success'])} against {pct(best['success_baseline'])} "
                       f"({pts(best['diff_success'])} points, 95% interval {ci}).")
        clear_e = np.array([_clear(lo, hi) for lo, hi in zip(e["diff_success_lo"], e["diff_success_hi"])])
        worse = e[(e["diff_success_hi"] < 0).to_numpy() & clear_e]
        if len(worse):
            out.append("Clearly worse than the baseline: " + "; ".join(
                f"{_q(r['name'])} ({pct(r['success'])}, {pts(r['diff_success'])} points)"
                for _, r in worse.iterrows())
                + ".")
        out += fac_out
        out.append("Speed: " + _speed(c, b, "under the baseline") + ". " + _speed(c, p, f"Under {_q(c.name(p))}")
                   + ".")
    out.append("These are results of a simulation model under stated assumptions, not a forecast for a "
               "particular company: read them as how the governance choices shift the odds, and check the "
               "assumptions below against your own organization.")
    return out
