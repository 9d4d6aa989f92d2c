"""Slide-ready figures comparing design points (headless Agg, Okabe-Ito colours, 1600x900 px).

Each builder takes a :class:`~cxsim.compare.analysis.Comparison` and returns a
matplotlib Figure, or ``None`` with a reason when the run lacks the data (for
example per-department columns). :func:`build_figures` runs them all;
:func:`save_figure` writes PNG and SVG.
"""

from __future__ import annotations

import gc
import io
import os
import pickle
import select
import signal
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from ..plotting import LITERAL_TEXT, PALETTE, literal_text  # noqa: E402
from ..safeio import atomic_write  # noqa: E402
from .analysis import Comparison  # noqa: E402
from .effects import factorial_cell_means  # noqa: E402

__all__ = ["FigureSpec", "build_figures", "report_figures", "save_figure", "figure_png", "SIZE", "DPI",
           "METRIC_LABELS"]

SIZE = (16, 9)  # inches; at DPI 100 this is 1600 x 900 px, a 16:9 slide
DPI = 100
GREY = "0.45"

def _interval_dot(ax, y, x, lo, hi, col, marker, size) -> None:
    """One row of an interval plot: a translucent bar from ``lo`` to ``hi`` and a marker at ``x``."""
    ax.plot([lo, hi], [y, y], color=col, lw=6, alpha=0.5, solid_capstyle="butt")
    # The pale yellow of the palette needs a dark outline to be seen on white.
    ax.plot([x], [y], marker, color=col, ms=size, mec="0.2" if col == PALETTE[6] else "white", mew=1.5, zorder=3)


def _finish_panels(axes, used: int) -> None:
    """Hide the unused panels of a grid and label the bottom row's x axis."""
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("week")


def _sentence_case(text: str) -> str:
    """Capitalize the first letter only (str.capitalize would turn "CX" into "cx")."""
    return text[:1].upper() + text[1:]


METRIC_LABELS = {
    "adoption": "employees practising CX",
    "buy_in": "executives' true buy-in (mean)",
    "expressed_buy_in": "executives' expressed buy-in (mean)",
    "covert_resisters": "covert resisters (executives)",
    "jealousy": "jealousy toward the owner (mean)",
    "owner_credibility": "owner's credibility",
    "owner_present": "owner in post (share of replications)",
    "budget_spent": "budget spent per week (k)",
    "readiness": "readiness for change",
    "skill": "CX skill",
    "cx_index": "CX index",
    "results": "visible business results",
    "fatigue": "change fatigue",
}
_SHARE_METRICS = {"adoption", "buy_in", "expressed_buy_in", "jealousy", "owner_credibility", "owner_present",
                  "readiness", "skill", "cx_index"}

RC = {
    "font.size": 17,
    "axes.titlesize": 23,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 18,
    "xtick.labelsize": 16,
    "ytick.labelsize": 16,
    "legend.fontsize": 15,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": "cxsim",  # stable SVG ids: same data, same file
    "font.family": "DejaVu Sans",
    **LITERAL_TEXT,  # point names and descriptions are user text: no mathtext
}


@dataclass
class FigureSpec:
    """A built figure and how to present it.

    Attributes:
        stem: file name without extension.
        title: heading in the report.
        caption: how to read it, in plain language.
        figure: the figure, or ``None`` when the data are missing (or only its PNG is kept).
        missing: why ``figure`` is ``None`` (empty when ``png`` holds the picture).
        png: the figure as PNG bytes, from :func:`report_figures` (which closes the figure itself).
    """

    stem: str
    title: str
    caption: str
    figure: object | None
    missing: str = ""
    png: bytes | None = None


def _contrast(rgb) -> float:
    """WCAG contrast ratio of an RGB colour (0-1 floats) against white."""
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 1.05 / (lum + 0.05)


def _ink(color: str) -> str:
    """Colour for text and thin marks: light colours darkened to 4.5:1 contrast on white (WCAG AA).

    Okabe-Ito yellow, orange and sky blue are too light for text; their hue is kept.
    """
    from matplotlib.colors import to_hex, to_rgb

    rgb = to_rgb(color)
    k = 1.0
    while _contrast([v * k for v in rgb]) < 4.5 and k > 0:
        k -= 0.02
    return to_hex([v * k for v in rgb])


def _outline(color: str, lw: float) -> list:
    """A dark outline for yellow lines (again: light on white)."""
    return [pe.withStroke(linewidth=lw + 2.0, foreground="0.35"), pe.Normal()] if color == PALETTE[6] else []


def _figure(title: str, subtitle: str, nrows: int = 1, ncols: int = 1, **kw):
    """A 16:9 figure with a bold title and grey subtitle on top, laid out by constrained layout."""
    fig, axes = plt.subplots(nrows, ncols, figsize=SIZE, layout="constrained", squeeze=False, **kw)
    fig.get_layout_engine().set(rect=(0.0, 0.0, 1.0, 0.885), h_pad=0.08, w_pad=0.08)
    fig.text(0.012, 0.975, title, fontsize=25, fontweight="bold", va="top", ha="left")
    if subtitle:
        fig.text(0.012, 0.918, subtitle, fontsize=15, color="0.3", va="top", ha="left")
    return fig, axes


def _label(c: Comparison, p: int, width: int = 60) -> str:
    # A legend carries the options' descriptions when they are their own (a shared one describes the
    # organization) and every one is short (long ones squeeze the plot): all of them or none, so that
    # no entry lacks what its neighbours have. The options table has them all.
    d = c.description(p)
    descs = c.summary["description"].astype(str)
    fit = descs.nunique() > 1 and descs.str.len().max() <= 72
    text = f"{c.name(p)}: {d}" if d and fit else c.name(p)
    if p == c.baseline:
        text += " (baseline)"
    return "\n".join(textwrap.wrap(text, width, subsequent_indent="   "))


def _short(c: Comparison, p: int) -> str:
    return c.name(p) + (" (baseline)" if p == c.baseline else "")


def _pct_axis(axis) -> None:
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The fan charts' quantiles over the simulated futures: 90% band, 50% band, median."""


def _fan(ax, q: np.ndarray, ticks: np.ndarray, color: str, label: str, bands: bool = True,
         band_alpha=(0.10, 0.22), lw: float = 3.0, ls: str = "-") -> None:
    """Median line with 50% and 90% bands from ``q``, the :data:`QUANTILES` by tick (see :func:`_bands`)."""
    if bands:
        ax.fill_between(ticks, q[0], q[4], color=color, alpha=band_alpha[0], lw=0)
        ax.fill_between(ticks, q[1], q[3], color=color, alpha=band_alpha[1], lw=0)
    ax.plot(ticks, q[2], color=color, lw=lw, ls=ls, label=label, path_effects=_outline(color, lw))


def _wide(ts: pd.DataFrame, point: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(ticks x replications)`` matrix of ``metric`` for ``point`` (NaN where a week is missing), and the ticks.

    What ``pivot(index="tick", columns="replication")`` gives, placed with numpy (the pivot of a
    million rows was a good part of the report's time). Duplicate (tick, replication) rows are
    refused as the pivot refuses them.
    """
    return _wide_of(_columns(ts, metric), point)


def _columns(ts: pd.DataFrame, metric: str) -> tuple[np.ndarray, ...]:
    return (ts["point"].to_numpy(), ts["tick"].to_numpy(), ts["replication"].to_numpy(),
            ts[metric].to_numpy(dtype=float, na_value=np.nan))


def _wide_of(cols: tuple[np.ndarray, ...], point: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_wide` from the columns (read from the frame once for all points)."""
    sel = cols[0] == point
    tick, rep = cols[1][sel], cols[2][sel]
    values = cols[3][sel]
    # The usual case (RunData.timeseries sorts by replication, then tick; every future has every week):
    # the rows already are the matrix, transposed.
    n = tick.size
    t = int(np.argmax(rep != rep[0])) if n and (rep != rep[0]).any() else n
    if t and n % t == 0:
        grid_t, grid_r = tick.reshape(-1, t), rep.reshape(-1, t)
        if ((grid_t == tick[:t]).all() and (np.diff(tick[:t]) > 0).all() and (grid_r == grid_r[:, :1]).all()
                and (np.diff(grid_r[:, 0]) > 0).all()):
            return values.reshape(-1, t).T, tick[:t]
    ticks, ti = np.unique(tick, return_inverse=True)
    reps, ri = np.unique(rep, return_inverse=True)
    flat = ti * reps.size + ri
    if flat.size and np.bincount(flat, minlength=ticks.size * reps.size).max() > 1:
        raise ValueError(f"point {point}: the time series holds a (tick, replication) twice")
    wide = np.full(ticks.size * reps.size, np.nan)
    wide[flat] = values
    return wide.reshape(ticks.size, reps.size), ticks


def _bands(ts: pd.DataFrame, points: list[int], metric: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per point: its ticks and the :data:`QUANTILES` of ``metric`` over replications at each tick, ``(5, T)``.

    Computed once for both curve figures. Without missing values ``np.quantile`` gives the same
    numbers as ``np.nanquantile``, only faster.
    """
    out = {}
    cols = _columns(ts, metric)
    for p in points:
        wide, ticks = _wide_of(cols, p)
        q = np.quantile(wide, QUANTILES, axis=1) if not np.isnan(wide).any() else \
            np.nanquantile(wide, QUANTILES, axis=1)
        out[p] = ticks, q
    return out


def _linestyles(c: Comparison) -> dict[int, str]:
    # Beyond colour, a second cue for readers who cannot tell two hues apart.
    styles = ["-", (0, (5, 2)), (0, (1, 1.2)), (0, (6, 2, 1.5, 2))]
    return {p: ("-" if p == c.baseline else styles[i % len(styles)]) for i, p in enumerate(c.point_ids)}


def _metric_label(metric: str) -> str:
    text = METRIC_LABELS.get(metric, metric)
    return text[0].upper() + text[1:]


def curves_figure(c: Comparison, ts: pd.DataFrame, bands: dict | None = None) -> plt.Figure:
    """Overlaid fan charts: median with 50% and 90% bands for every selected point (``bands``: from :func:`_bands`)."""
    metric = c.metric
    ids = c.point_ids
    bands = _bands(ts, ids, metric) if bands is None else bands
    n = int(ts["replication"].nunique())
    many = len(ids) > 4
    with plt.rc_context(RC):
        fig, axes = _figure(f"{_metric_label(metric)} over time",
                            f"line: median of {n} simulated futures per option; shading: the middle 50% "
                            "(darker) and 90% (lighter) of them")
        ax = axes[0, 0]
        ncol = 2 if many else 1
        for p in ids:
            ticks, q = bands[p]
            _fan(ax, q, ticks, c.colors[p], _label(c, p, 64 if ncol == 2 else 130),
                 band_alpha=(0.05, 0.12) if many else (0.10, 0.22), ls=_linestyles(c)[p])
        if metric == "adoption":
            ax.axhline(c.threshold, color=GREY, ls=(0, (6, 4)), lw=1.5)
            ax.text(0.005, c.threshold + 0.012, f"success threshold {c.threshold:.0%}", color=GREY,
                    transform=ax.get_yaxis_transform(), fontsize=14, va="bottom")
        ax.set_xlim(0, ts["tick"].max())
        if metric in _SHARE_METRICS:
            ax.set_ylim(0, 1.0)
            _pct_axis(ax.yaxis)
        ax.set_xlabel("week")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        fig.legend(loc="outside lower left", ncol=ncol, fontsize=13.5 if many else 15, handlelength=3.2,
                   columnspacing=2.0, labelspacing=0.6)
    return fig


def curves_panels_figure(c: Comparison, ts: pd.DataFrame, bands: dict | None = None) -> plt.Figure:
    """One small panel per point (its fan chart), with the baseline's median for reference."""
    ids = c.point_ids
    metric = c.metric
    need = [*ids, c.baseline] if c.baseline not in ids else ids
    bands = _bands(ts, need, metric) if bands is None or any(p not in bands for p in need) else bands
    ncol = 4 if len(ids) > 6 else 3
    nrow = -(-len(ids) // ncol)
    with plt.rc_context({**RC, "axes.titlesize": 16, "xtick.labelsize": 13, "ytick.labelsize": 13,
                         "axes.labelsize": 15}):
        fig, axes = _figure(f"{_metric_label(metric)}: one panel per option",
                            "line: median; shading: middle 50% and 90% of simulated futures; "
                            "grey dashes: the baseline's median", nrow, ncol, sharex=True, sharey=True)
        bt, bq = bands[c.baseline]
        for ax, p in zip(axes.flat, ids):
            ticks, q = bands[p]
            if p != c.baseline:
                ax.plot(bt, bq[2], color=GREY, lw=1.8, ls="--")
            _fan(ax, q, ticks, c.colors[p], c.name(p), lw=2.5)
            if metric == "adoption":
                ax.axhline(c.threshold, color=GREY, ls=":", lw=1.2)
            # Narrow panels: wrap long option names at their hyphens so titles never collide.
            width = 34 if ncol <= 3 else 20
            ax.set_title("\n".join(textwrap.wrap(_short(c, p), width, break_on_hyphens=True)), loc="left",
                         fontweight="bold", color=_ink(c.colors[p]), fontsize=None if ncol <= 3 else 11)
            if metric in _SHARE_METRICS:
                ax.set_ylim(0, 1)
                _pct_axis(ax.yaxis)
        _finish_panels(axes, len(ids))
    return fig


def _rows_axis(ax, c: Comparison, ids: list[int] | None = None) -> None:
    """One horizontal row per point, names on the left in their colours (first point on top)."""
    ids = c.point_ids if ids is None else ids
    ax.set_ylim(len(ids) - 0.5, -0.5)
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels([_short(c, p) for p in ids])
    for lab, p in zip(ax.get_yticklabels(), ids):
        lab.set_color(_ink(c.colors[p]))
    ax.grid(axis="y", alpha=0)
    ax.tick_params(axis="y", length=0)


def weeks80_figure(c: Comparison) -> plt.Figure | None:
    """Weeks to 80% adoption per point (box plus dots), with the share that never got there."""
    rp = c.replications
    if "weeks_to_80" not in rp:
        return None
    horizon = c.ticks or int(np.nanmax(rp["weeks_to_80"].to_numpy(dtype=float), initial=1))
    with plt.rc_context(RC):
        fig, axes = _figure("How long until 80% of employees practise CX?",
                            "each dot is one simulated future that got there; box: middle half, thick line: "
                            "median; right: share of futures that never got there")
        ax = axes[0, 0]
        rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
        for i, p in enumerate(c.point_ids):
            w = rp.loc[rp["point"] == p, "weeks_to_80"].to_numpy(dtype=float)
            hit = w[~np.isnan(w)]
            never = 1 - hit.size / w.size
            col = c.colors[p]
            if hit.size:
                ax.boxplot([hit], positions=[i], orientation="horizontal", widths=0.55, showfliers=False,
                           patch_artist=True, manage_ticks=False,
                           boxprops=dict(facecolor=col, alpha=0.25, edgecolor=_ink(col), lw=2),
                           medianprops=dict(color=_ink(col), lw=4), whiskerprops=dict(color=_ink(col), lw=2),
                           capprops=dict(color=_ink(col), lw=2))
                ax.scatter(hit, i + rng.uniform(-0.22, 0.22, hit.size), s=16, color=col, alpha=0.5, lw=0,
                           zorder=3)
            ax.text(1.015, i, f"never: {never:.0%}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=16, fontweight="bold" if never >= 0.5 else "normal", color="0.15")
        _rows_axis(ax, c)
        # The axis spans the weeks that occur (not week 0 to the horizon, which left half of it empty).
        w_all = rp.loc[rp["point"].isin(c.point_ids), "weeks_to_80"].dropna().to_numpy(dtype=float)
        if w_all.size:
            lo, hi = float(w_all.min()), float(w_all.max())
            pad = max(2.0, 0.06 * (hi - lo))
            ax.set_xlim(max(0.0, lo - pad), min(float(horizon), hi + pad))
        else:
            ax.set_xlim(0, horizon)
        ax.set_xlabel(f"week in which adoption first reached 80% (horizon: week {horizon})")
    return fig


def success_figure(c: Comparison) -> plt.Figure:
    """Success probability per point with 95% Wilson intervals."""
    s = c.summary.set_index("point")
    nmin, nmax = int(s["replications"].min()), int(s["replications"].max())
    n_text = f"{nmin}" if nmin == nmax else f"{nmin}-{nmax}"
    with plt.rc_context(RC):
        fig, axes = _figure("Chance of success",
                            f"share of {n_text} simulated futures in which at least {c.threshold:.0%} of employees "
                            "practise CX at the horizon; bar: 95% interval")
        ax = axes[0, 0]
        for i, p in enumerate(c.point_ids):
            r = s.loc[p]
            col = c.colors[p]
            _interval_dot(ax, i, r["success"], r["success_lo"], r["success_hi"], col, "o", 17)
            ax.text(1.02, i, f"{r['success']:.0%}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=18, fontweight="bold", color="0.15")
        ax.axvline(s.loc[c.baseline, "success"], color=GREY, ls=":", lw=1.5)
        _rows_axis(ax, c)
        ax.set_xlim(-0.015, 1.015)  # room for a dot at 0% or 100%
        ax.set_xticks(np.linspace(0, 1, 6))
        _pct_axis(ax.xaxis)
        ax.set_xlabel("chance of success (dotted line: the baseline)")
    return fig


def histogram_figure(c: Comparison) -> plt.Figure:
    """Final adoption histograms, one row per point on a shared axis (two humps = tipping)."""
    rp = c.replications
    ids = c.point_ids
    n = len(ids)
    bins = np.linspace(0, 1, 41)
    with plt.rc_context({**RC, "axes.grid": False}):
        fig, axes = _figure("Where each option ends up",
                            "spread of final adoption over the simulated futures (bar height: share of "
                            "futures); two humps mean the organization tips one way or the other",
                            n, 1, sharex=True, sharey=True)
        axes = axes[:, 0]
        fig.get_layout_engine().set(h_pad=0.01, hspace=0.0)
        for ax, p in zip(axes, ids):
            x = rp.loc[rp["point"] == p, "final_adoption"].to_numpy(dtype=float)
            _bars(ax, x, bins, c.colors[p])
            ax.axvline(c.threshold, color=GREY, ls=(0, (6, 4)), lw=1.5)
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            ax.set_ylabel(_short(c, p), rotation=0, ha="right", va="center", fontsize=15 if n <= 6 else 14,
                          color=_ink(c.colors[p]))
            ax.text(1.01, 0.5, f"{(x >= c.threshold).mean():.0%} succeed", transform=ax.transAxes,
                    ha="left", va="center", fontsize=15 if n <= 6 else 14, color="0.15")
        axes[-1].set_xlim(0, 1)
        _pct_axis(axes[-1].xaxis)
        axes[-1].set_xlabel(f"share of employees practising CX at the horizon "
                            f"(dashed: success threshold {c.threshold:.0%})")
    return fig


def _bars(ax, x: np.ndarray, bins: np.ndarray, color: str) -> None:
    """A histogram of ``x`` (bar height: share of values) as one collection of bars.

    Draws what ``ax.hist(x, bins, weights=1/n, alpha=0.9, edgecolor="white", lw=0.5)`` draws, as one
    artist instead of one patch per bin (forty patches per option were a tenth of the report's time).
    """
    w = np.full(x.size, 1 / max(x.size, 1))
    heights, _ = np.histogram(x, bins=bins, weights=w)
    lo, hi = bins[:-1], bins[1:]
    zero = np.zeros_like(heights)
    verts = np.stack([np.column_stack([lo, zero]), np.column_stack([lo, heights]),
                      np.column_stack([hi, heights]), np.column_stack([hi, zero])], axis=1)
    bars = matplotlib.collections.PolyCollection(verts, closed=True, facecolors=color, edgecolors="white",
                                                 linewidths=0.5, alpha=0.9)
    bars.sticky_edges.y.append(0)  # like hist: the bars stand on the axis, no margin below
    ax.add_collection(bars)


def _pretty(ident: str) -> str:
    if len(ident) <= 4 and "_" not in ident:
        return ident.upper()
    return ident.replace("_", " ").capitalize()


def heatmap_figure(c: Comparison, ts: pd.DataFrame, shown: list[int] | None = None) -> plt.Figure:
    """Median adoption per department (rows) and week (columns), one panel per shown point.

    Every panel lists the departments in the first panel's order (laggards at the bottom), so a
    row reads across panels: the baseline next to the most successful option shows what changes.
    """
    shown = [c.focus] if shown is None else shown
    cols = [k for k in ts.columns if k.startswith("adoption:")]
    meds = {p: ts[ts["point"] == p].groupby("tick")[cols].median() for p in shown}
    n_fut = ts.loc[ts["point"] == shown[0], "replication"].nunique()
    return heatmap_of_medians(c, meds, shown, n_fut)


def heatmap_of_medians(c: Comparison, meds: dict[int, pd.DataFrame], shown: list[int], n_fut: int) -> plt.Figure:
    """:func:`heatmap_figure` from the medians themselves (per point; index: tick; columns: ``adoption:<dept>``)."""
    order = meds[shown[0]].iloc[-1].sort_values(ascending=False, kind="stable").index
    with plt.rc_context({**RC, "axes.grid": False}):
        fig, axes = _figure("Who lags? Adoption by department",
                            f"median over {n_fut} simulated futures; laggards at the bottom; numbers: final value",
                            1, len(shown), sharey=True)
        for ax, p in zip(axes[0], shown):
            med = meds[p]
            mat = med[order].to_numpy(dtype=float).T
            ticks = med.index.to_numpy()
            im = ax.imshow(mat, aspect="auto", cmap="cividis", vmin=0, vmax=1, interpolation="nearest",
                           extent=(ticks[0] - 0.5, ticks[-1] + 0.5, len(order) - 0.5, -0.5))
            ax.set_title("\n".join(textwrap.wrap(_short(c, p), 44)), fontsize=15, loc="left",
                         color=_ink(c.colors[p]))
            ax.set_yticks(range(len(order)))
            ax.set_yticklabels([_pretty(k.split(":", 1)[1]) for k in order])
            ax.tick_params(axis="y", length=0)
            for i, k in enumerate(order):
                ax.text(1.01, i, f"{med[k].iloc[-1]:.0%}", transform=ax.get_yaxis_transform(), va="center",
                        fontsize=14)
            ax.set_xlabel("week")
        cb = fig.colorbar(im, ax=list(axes[0]), fraction=0.03, pad=0.04, aspect=30)
        cb.set_label("employees practising CX")
        _pct_axis(cb.ax.yaxis)
    return fig


def buy_in_figure(c: Comparison, ts: pd.DataFrame, shown: list[int]) -> plt.Figure:
    """Per executive, mean true and expressed buy-in over time; shading where public exceeds private."""
    means = {p: ts[ts["point"] == p].groupby("tick").mean(numeric_only=True) for p in shown}
    return buy_in_of_means(c, means, shown)


def buy_in_of_means(c: Comparison, means: dict[int, pd.DataFrame], shown: list[int]) -> plt.Figure:
    """:func:`buy_in_figure` from the means themselves (per point; index: tick; ``buy_in:<e>``, ``expressed:<e>``)."""
    first = means[shown[0]].columns
    execs = [k.split(":", 1)[1] for k in first if k.startswith("buy_in:")]
    execs = [e for e in execs if f"expressed:{e}" in first]
    ncol = min(4, len(execs))
    nrow = -(-len(execs) // ncol)
    with plt.rc_context({**RC, "axes.titlesize": 18, "xtick.labelsize": 13, "ytick.labelsize": 13,
                         "axes.labelsize": 15}):
        fig, axes = _figure("Hidden politics: what executives say vs what they think",
                            "mean over simulated futures; solid: true (private) buy-in, dashed: expressed "
                            "(public) buy-in; shaded: saying more than they think = playing along",
                            nrow, ncol, sharex=True, sharey=True)
        for ax, e in zip(axes.flat, execs):
            peak_txt = []
            for p in shown:
                m = means[p]
                t = m.index.to_numpy()
                true, expr = m[f"buy_in:{e}"].to_numpy(float), m[f"expressed:{e}"].to_numpy(float)
                col = c.colors[p]
                ax.fill_between(t, true, expr, where=expr > true, color=col, alpha=0.3, lw=0, interpolate=True)
                ax.plot(t, true, color=col, lw=2.6, path_effects=_outline(col, 2.6))
                ax.plot(t, expr, color=col, lw=2.0, ls=(0, (4, 2)))
                gap = expr - true
                if gap.size and gap.max() >= 0.02:
                    peak_txt.append((col, f"+{100 * gap.max():.0f} pts"))
            ax.set_title(_pretty(e), loc="left", fontweight="bold")
            for k, (col, txt) in enumerate(peak_txt):
                ax.text(0.98, 0.06 + 0.13 * k, f"peak gap {txt}", transform=ax.transAxes, ha="right", fontsize=13,
                        color=_ink(col), fontweight="bold")
            ax.set_ylim(0, 1)
            _pct_axis(ax.yaxis)
        _finish_panels(axes, len(execs))
        handles = [matplotlib.lines.Line2D([], [], color=c.colors[p], lw=5, path_effects=_outline(c.colors[p], 5))
                   for p in shown]
        fig.legend(handles, [_label(c, p, 70) for p in shown], loc="outside lower left", ncol=len(shown),
                   fontsize=14)
    return fig


def effects_figure(c: Comparison) -> plt.Figure | None:
    """Forest plot: each point's change vs the baseline in success probability (95% paired CI)."""
    e = c.effects
    if e.empty or e["diff_success"].isna().all():
        return None
    ids = [p for p in c.point_ids if p != c.baseline]
    e = e.set_index("point").loc[ids]
    with plt.rc_context(RC):
        base = c.name(c.baseline)
        # A long baseline name goes into the subtitle: in the title it ran off the figure.
        title = f"What each option changes against {base}" if len(base) <= 28 else \
            "What each option changes against the baseline"
        sub = ("" if len(base) <= 28 else f"baseline: {base}; ") + \
            "diamond: change in the chance of success (points); bar: 95% paired-bootstrap interval"
        fig, axes = _figure(title, sub)
        ax = axes[0, 0]
        for i, p in enumerate(ids):
            r = e.loc[p]
            col = c.colors[p]
            _interval_dot(ax, i, r["diff_success"], r["diff_success_lo"], r["diff_success_hi"], col, "D", 15)
            ax.text(1.015, i, f"{100 * r['diff_success']:+.0f}  [{100 * r['diff_success_lo']:+.0f} to "
                              f"{100 * r['diff_success_hi']:+.0f}]", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=16)
        _rows_axis(ax, c, ids)
        ax.axvline(0, color="0.2", lw=1.5)
        lo = min(-0.05, float(e["diff_success_lo"].min()) - 0.03)
        hi = max(0.05, float(e["diff_success_hi"].max()) + 0.03)
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:+.0f}"))
        ax.set_xlabel("change in the chance of success (percentage points)")
    return fig


def interaction_figure(c: Comparison) -> plt.Figure | None:
    """Interaction plot of the factorial: for each pair of factors, success probability by levels."""
    fac = c.factorial
    if fac is None or len(fac.factors) < 2:
        return None
    pairs = [(i, j) for i in range(len(fac.factors)) for j in range(i + 1, len(fac.factors))]
    rp = c.replications
    with plt.rc_context(RC):
        fig, axes = _figure("Do the governance choices reinforce each other?",
                            "chance of success; each dot averages over the remaining choice; bars: 95% "
                            "paired-bootstrap intervals; lines that are not parallel = interaction",
                            1, len(pairs), sharey=True)
        for ax, (i, j) in zip(axes[0], pairs):
            fi, fj = fac.factors[i], fac.factors[j]
            cm = factorial_cell_means(rp, fac, i, j, "success", c.resamples, c.bootstrap_seed)
            for b, col, mk, ls in ((0, PALETTE[7], "o", "--"), (1, PALETTE[0], "s", "-")):
                d = cm[cm["b"] == b].sort_values("a")
                x = d["a"].to_numpy() + (b - 0.5) * 0.06
                ax.errorbar(x, d["mean"], yerr=[d["mean"] - d["lo"], d["hi"] - d["mean"]], color=col, lw=3,
                            ls=ls, marker=mk, ms=12, capsize=6, label=f"{fj.label}: {(fj.low, fj.high)[b]}")
            ax.set_xticks([0, 1])
            ax.set_xticklabels([fi.low, fi.high])
            ax.set_xlim(-0.3, 1.3)
            ax.set_xlabel(fi.label)
            ax.set_ylim(-0.02, 1.04)
            _pct_axis(ax.yaxis)
            ax.legend(loc="best", fontsize=14)
            ax.grid(axis="x", alpha=0)
        axes[0][0].set_ylabel("chance of success")
    return fig


def _focus_and_best(c: Comparison) -> list[int]:
    """The focus point (the baseline unless chosen), then the most successful other (ties: higher mean adoption)."""
    others = c.summary[c.summary["point"] != c.focus]
    best = others.sort_values(["success", "mean_final_adoption"], ascending=False, kind="stable")
    return [c.focus] + ([int(best["point"].iloc[0])] if len(best) else [])


@dataclass
class _Planned:
    """One figure to make: its presentation and a function that builds it (reading its data when called).

    ``make`` returns the figure, ``None`` (then ``missing`` says why, or the figure is left out when
    ``optional``) or a :class:`_Failed` note.
    """

    stem: str
    title: str
    caption: str
    make: object
    missing: str = ""
    optional: bool = False


def _summary_by_point(run, columns: list[str], shown: list[int], stat: str):
    """The per-agent summary of ``columns`` at the ``shown`` points, and per point a tick x column frame of ``stat``."""
    st = run.agent_summary(columns, shown)
    return st, {p: st[st["point"] == p].pivot(index="tick", columns="column", values=stat)[columns] for p in shown}


def _plan(c: Comparison) -> list[_Planned]:
    """Every figure the comparison supports, in report order, not yet built (data are read by ``make``)."""
    plan: list[_Planned] = []
    run = c.run
    ids = c.point_ids
    ts_cols = run.timeseries_columns
    metric = c.metric
    curves_caption = ("Each line is the median over the simulated futures of one option; the darker band holds "
                      "the middle 50% of futures and the lighter band 90%. Where bands overlap, the options "
                      "cannot be told apart with confidence.")
    if metric in ts_cols:
        curves_data: list = []

        def curves_input():
            """The time series and its bands, read and computed once for both curve figures."""
            if not curves_data:
                ts = run.timeseries([metric], ids)
                bands = _guard(_bands, ts, ids, metric)
                curves_data[:] = [ts, None if isinstance(bands, _Failed) else bands]  # (None: each figure says why)
            return curves_data

        plan.append(_Planned("curves", f"{_sentence_case(METRIC_LABELS.get(metric, metric))} over time",
                             curves_caption, lambda: _guard(curves_figure, c, *curves_input())))
        if len(ids) > 4:
            plan.append(_Planned("curves_panels", "The same, one panel per option",
                                 "Each panel shows one option with its bands; the grey dashed line is the "
                                 "baseline's median, for reference.",
                                 lambda: _guard(curves_panels_figure, c, *curves_input())))
    else:
        why = (f"the run kept no time series of {metric!r}" if ts_cols
               else "the run kept no time series (timeseries.parquet is missing)")
        plan.append(_Planned("curves", "Adoption over time", curves_caption, lambda: None, why))
    plan.append(_Planned(
        "success", "Chance of success",
        f"Share of simulated futures in which at least {c.threshold:.0%} of employees practise CX at the "
        "horizon, with its 95% (Wilson) interval.", lambda: _guard(success_figure, c)))
    if len(ids) > 1:
        plan.append(_Planned(
            "effects", "Change against the baseline",
            f"How much each option raises or lowers the chance of success compared with "
            f"{c.name(c.baseline)}, with a 95% interval. The same simulated futures are run under every "
            "option, so the comparison is like-for-like.", lambda: _guard(effects_figure, c), optional=True))
    plan.append(_Planned(
        "interaction", "How the governance choices combine",
        "Each panel takes two governance choices; each dot averages over the remaining choice. Parallel "
        "lines mean the effects simply add up; lines that come together mean a choice adds less once the "
        "other is made (they partly substitute); lines that fan out mean a choice pays off more when "
        "combined with the other." + _interaction_reading(c), lambda: _guard(interaction_figure, c),
        optional=True))
    plan.append(_Planned(
        "weeks_to_80", "Time to 80% adoption",
        "For the futures that got there, the week in which 80% of employees practised CX (box: middle half, "
        "line: median). The share that never got there within the horizon is on the right.",
        lambda: _guard(weeks80_figure, c),
        "" if "weeks_to_80" in c.replications else "replications.parquet has no weeks_to_80 column"))
    plan.append(_Planned(
        "final_adoption", "Where each option ends up",
        "Distribution of the final share of employees practising CX. Two humps mean the organization tends "
        "to tip: either CX takes hold or it fizzles out.", lambda: _guard(histogram_figure, c)))
    dept_cols = [k for k in ts_cols if k.startswith("adoption:")]
    summarized = run.agent_summary_columns  # (a store that kept per-agent summaries, not rows)
    heat_caption = ("Median adoption per department over time; dark = few employees practising CX, bright = "
                    "most. Departments that stay dark are the laggards to work on; compare a row across the "
                    "panels to see what the better governance changes for that department.")
    dept_summarized = [k for k in summarized if k.startswith("adoption:")]
    shown = _focus_and_best(c)
    if dept_cols or dept_summarized:
        title = (f"Who lags: departments under {c.name(c.focus)}" if len(shown) == 1 else
                 "Who lags: departments under the baseline and under the most successful option")

        def departments():
            if dept_cols:
                return _guard(heatmap_figure, c, run.timeseries(dept_cols, shown), shown)
            st, meds = _summary_by_point(run, dept_summarized, shown, "median")
            return _guard(heatmap_of_medians, c, meds, shown, int(st["replications"].max()))

        plan.append(_Planned("departments", title, heat_caption, departments))
    else:
        plan.append(_Planned("departments", "Who lags: departments", heat_caption, lambda: None,
                             "this run did not keep per-department columns (adoption:<department>); "
                             "rerun the batch keeping per-agent columns to see which departments lag"))
    exec_cols = [k for k in ts_cols if k.startswith(("buy_in:", "expressed:"))]
    exec_summarized = [k for k in summarized if k.startswith(("buy_in:", "expressed:"))]
    buy_caption = ("For each executive, private (true, solid) against public (expressed, dashed) buy-in over time, "
                   "averaged over the simulated futures. A shaded gap is hidden resistance: an executive playing "
                   "along in meetings while slowing CX down in their own departments.")
    if exec_cols or exec_summarized:
        def buy_in():
            if exec_cols:
                return _guard(buy_in_figure, c, run.timeseries(exec_cols, shown), shown)
            return _guard(buy_in_of_means, c, _summary_by_point(run, exec_summarized, shown, "mean")[1], shown)

        plan.append(_Planned("buy_in", "Hidden politics: true vs expressed buy-in", buy_caption, buy_in))
    else:
        plan.append(_Planned("buy_in", "Hidden politics: true vs expressed buy-in", buy_caption, lambda: None,
                             "this run did not keep per-executive columns (buy_in:<executive>, "
                             "expressed:<executive>)"))
    return plan


def _build(item: _Planned) -> FigureSpec | None:
    """Build one planned figure and freeze its layout; ``None`` when an optional figure does not apply."""
    fig = item.make()  # (a figure that fails is a _Failed note; data that cannot be read fail the command)
    if fig is None and item.optional:
        return None
    spec = FigureSpec(item.stem, item.title, item.caption, fig, item.missing)
    if isinstance(spec.figure, _Failed):
        spec.figure, spec.missing = None, f"it could not be drawn ({spec.figure.reason})"
    try:
        freeze_layout(spec.figure)
    except Exception as exc:  # a figure must never cost the tables (see _guard)
        plt.close(spec.figure)
        spec.figure, spec.missing = None, f"it could not be drawn ({_reason(exc)})"
    return spec


def build_figures(c: Comparison) -> list[FigureSpec]:
    """Build every figure the comparison supports (missing data give ``figure=None`` with a reason)."""
    return [s for s in map(_build, _plan(c)) if s is not None]


# The figures a helper process draws when report_figures has two workers: about half of the drawing time.
_HELPER_STEMS = frozenset({"interaction", "weeks_to_80", "final_adoption", "departments", "buy_in"})


def report_figures(c: Comparison, workers: int = 1, timeout: float = 30.0) -> list[FigureSpec]:
    """The figures as the report embeds them: each drawn, encoded as PNG (``png``) and closed.

    Args:
        c: the comparison.
        workers: with 2 (or more) on Linux, a forked helper process builds and draws about half of
            the figures while this process draws the others; the report then takes about half the
            time on two cores. Each figure is drawn on its own from the same data and its own fixed
            seed, so its PNG bytes are the same whichever process drew it (tested). If the helper fails
            or has not answered ``timeout`` seconds after this process finished its share, this
            process draws those figures itself (a process forked from one with threads, such as
            pyarrow's readers, can, rarely, hang on a lock another thread held: it is then
            killed rather than waited for).
        timeout: see ``workers``.

    Returns:
        The same figures, in the same order and with the same notes as :func:`build_figures`.
    """
    # matplotlib makes hundreds of thousands of small objects; the cyclic garbage collector, which
    # would walk them again and again, waits until the figures are done (about a tenth less time;
    # the closed figures' memory is returned by the next collection).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _report_figures(c, workers, timeout)
    finally:
        if collecting:
            gc.enable()


def _report_figures(c: Comparison, workers: int, timeout: float) -> list[FigureSpec]:
    plan = _plan(c)
    away = [i for i, item in enumerate(plan) if item.stem in _HELPER_STEMS]
    helper = _start_helper([plan[i] for i in away]) if workers > 1 and away and _can_fork() else None
    done: dict[int, FigureSpec | None] = {}
    try:
        for i, item in enumerate(plan):
            if helper is None or i not in away:
                done[i] = _rendered(item)
        got = _collect(*helper, timeout) if helper is not None else None
    finally:
        if helper is not None:
            _stop(*helper)
    if helper is not None:
        if got is None or len(got) != len(away):
            got = [_rendered(plan[i]) for i in away]
        done.update(zip(away, got))
    return [done[i] for i in range(len(plan)) if done[i] is not None]


def _rendered(item: _Planned) -> FigureSpec | None:
    """:func:`_build`, then the figure's PNG into ``png`` and the figure closed."""
    spec = _build(item)
    if spec is None or spec.figure is None:
        return spec
    try:
        spec.png = figure_png(spec.figure)
    except Exception as exc:  # the figure's own failure: the report goes out without it, saying so
        spec.missing = f"it could not be drawn ({_reason(exc)})"
    finally:
        plt.close(spec.figure)
        spec.figure = None
    return spec


def _can_fork() -> bool:
    # Linux only: fork is the platform's default there; macOS frameworks are not fork-safe.
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def _start_helper(items: list[_Planned]) -> tuple[int, int]:
    """Fork a process that renders ``items`` and writes them, pickled, into a pipe; returns (pid, read end)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: render, hand over, and leave without running the parent's exit handlers
        code = 1
        try:
            os.close(r)
            data = pickle.dumps([_rendered(item) for item in items], protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as f:
                f.write(data)
            code = 0
        except BaseException:  # noqa: BLE001 (any failure: the parent draws these figures itself)
            pass
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _collect(pid: int, r: int, timeout: float) -> list | None:
    """The helper's figures, or None if it failed or is still silent after ``timeout`` seconds."""
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            return None
        block = os.read(r, 1 << 20)
        if not block:
            break
        chunks.append(block)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:  # a truncated hand-over: draw them here
        return None


def _stop(pid: int, r: int) -> None:
    """Close the pipe and make sure the helper is gone (killed if it is still running) and reaped."""
    os.close(r)
    try:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:  # already reaped by _collect
        pass


def _interaction_reading(c: Comparison) -> str:
    """What the interaction plot shows here, in words, from the factorial's interaction estimates."""
    tab = c.factorial_table
    if tab is None:
        return ""
    inter = tab[tab["kind"] == "interaction"]
    together = [r["term"] for _, r in inter.iterrows() if r["hi"] < 0]
    apart = [r["term"] for _, r in inter.iterrows() if r["lo"] > 0]
    words = []
    if together:
        words.append("the lines come together for " + ", ".join(together))
    if apart:
        words.append("they fan out for " + ", ".join(apart))
    if not words:
        return " Here the lines are parallel within the simulation's precision."
    return " Here " + "; ".join(words) + "."


@dataclass
class _Failed:
    reason: str


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def _guard(build, *args):
    """``build(*args)``, or a :class:`_Failed` note: a figure that fails must not lose the tables."""
    try:
        return build(*args)
    except Exception as exc:
        return _Failed(_reason(exc))





def freeze_layout(fig) -> None:
    """Lay the figure out once, draw it, and keep both: the report's PNG and later saves skip those passes.

    The constrained layout runs as part of a draw. On the Agg canvas (the headless default) this
    draw is the real one: its pixels are what :func:`figure_png` encodes, so a report draws each
    figure once instead of twice (layout pass, then the PNG). The layout is then frozen, so
    ``save_figure`` (PNG and SVG) reuses it.
    """
    if fig is None:
        return
    literal_text(fig)
    with plt.rc_context(LITERAL_TEXT):
        if isinstance(fig.canvas, FigureCanvasAgg):
            fig.canvas.draw()
        elif fig.get_layout_engine() is not None:
            fig.draw_without_rendering()
    if fig.get_layout_engine() is not None:
        fig.set_layout_engine("none")


def save_figure(fig, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    png = _drawn_png(fig)
    literal_text(fig)
    with plt.rc_context({"svg.hashsalt": "cxsim", **LITERAL_TEXT}):
        for path, kw in ((paths[0], {"dpi": DPI, "metadata": {"Software": None}}),
                         (paths[1], {"metadata": {"Date": None}})):
            with atomic_write(path) as tmp:
                if png is not None and path.suffix == ".png":
                    tmp.write_bytes(png)
                else:
                    fig.savefig(tmp, format=path.suffix[1:], **kw)
    return paths


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (for embedding)."""
    png = _drawn_png(fig)
    if png is not None:
        return png
    buf = io.BytesIO()
    literal_text(fig)
    with plt.rc_context(LITERAL_TEXT):
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _drawn_png(fig) -> bytes | None:
    """The PNG of the picture :func:`freeze_layout` drew, if it is still the figure (else None: save it anew).

    The same pixels as ``fig.savefig(format="png", dpi=DPI)``, which draws the same figure on the same
    canvas; an opaque picture is stored as RGB rather than RGBA.
    """
    canvas = fig.canvas
    if fig.stale or fig.dpi != DPI or not isinstance(canvas, FigureCanvasAgg) or canvas._lastKey is None:
        return None
    w, h = canvas.get_width_height(physical=True)
    if canvas._lastKey != (w, h, fig.dpi):
        return None
    rgba = np.asarray(canvas.buffer_rgba())
    buf = io.BytesIO()
    if rgba[..., 3].min() == 255:
        # Opaque (a white figure): the same pixels as RGB, a tenth smaller and a fifth faster to encode.
        from PIL import Image

        Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(buf, format="png", dpi=(fig.dpi, fig.dpi))
    else:
        matplotlib.image.imsave(buf, rgba, format="png", origin="upper", dpi=fig.dpi, metadata={"Software": None})
    return buf.getvalue()
