"""Figures of a discovery: the peeling trajectory, the robustness of each choice, the CART tree."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..plotting import LITERAL_TEXT, PALETTE, literal_text  # noqa: E402
from .core import Discovery  # noqa: E402

__all__ = ["trajectory_figure", "robustness_figure", "cart_figure"]


def _save(fig, path: str | Path) -> Path:
    from ..safeio import atomic_write

    path = Path(path)
    literal_text(fig)
    try:
        with atomic_write(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def trajectory_figure(d: Discovery, path: str | Path) -> Path:
    """Coverage against density along PRIM's peeling trajectory, the described box marked."""
    with plt.rc_context(LITERAL_TEXT):
        t = d.trajectory
        fig, ax = plt.subplots(figsize=(7.5, 5), dpi=150)
        sc = ax.scatter(t["coverage"], t["density"], c=t["restricted"], cmap="viridis", s=36, zorder=3)
        ax.plot(t["coverage"], t["density"], color="#999999", lw=1, zorder=2)
        b = d.box
        ax.scatter([b.coverage], [b.density], s=220, facecolors="none", edgecolors=PALETTE[5], lw=2.2, zorder=4,
                   label=f"box {d.chosen} (described)")
        last = None
        for i in range(len(t)):  # number the boxes, skipping those that would overprint a neighbour's number
            here = np.array([t["coverage"][i], t["density"][i]])
            if last is None or np.abs(here - last).max() > 0.03 or i == len(t) - 1:
                ax.annotate(str(int(t["box"][i])), here, textcoords="offset points", xytext=(5, 4), fontsize=7,
                            color="#444444")
                last = here
        ax.axhline(d.base_rate, color="#999999", ls=":", lw=1)
        ax.text(0.02, d.base_rate, f" overall: {d.base_rate:.0%}", va="bottom", fontsize=8, color="#555555",
                transform=ax.get_yaxis_transform())
        ax.set_xlim(0, 1.02)
        ax.set_ylim(max(0.0, d.base_rate - 0.1), 1.0)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel(f"coverage: share of all futures that {d.outcome_name} that lie in the box")
        ax.set_ylabel(f"density: share of the box's futures that {d.outcome_name}")
        ax.set_title("PRIM peeling trajectory: each dot a box; narrower boxes to the upper left", loc="left",
                     fontsize=11)
        fig.colorbar(sc, ax=ax, label="inputs restricted", shrink=0.8)
        ax.legend(loc="lower left", fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        return _save(fig, path)


def robustness_figure(d: Discovery, path: str | Path, top: int = 12) -> Path:
    """Each choice's success across the sampled futures: mean, 10th percentile and worst regret."""
    if d.robustness is None:
        raise ValueError("this discovery has no choices (not a discovery design)")
    with plt.rc_context(LITERAL_TEXT):
        r = d.robustness.head(top).iloc[::-1]
        n = len(r)
        fig, ax = plt.subplots(figsize=(9, 0.42 * n + 1.4), dpi=150)
        y = np.arange(n)
        ax.hlines(y, r["p10"], r["mean"], color=PALETTE[0], lw=3, alpha=0.5)
        ax.scatter(r["mean"], y, color=PALETTE[0], s=40, zorder=3, label="mean over futures")
        ax.scatter(r["p10"], y, color=PALETTE[5], marker="|", s=160, zorder=3, label="10th percentile (bad futures)")
        for yi, (_, row) in zip(y, r.iterrows()):
            ax.text(1.01, yi, f"worst regret {row['max_regret']:.0%}", va="center", fontsize=7.5,
                    transform=ax.get_yaxis_transform())
        ax.set_yticks(y)
        ax.set_yticklabels(["\n".join(textwrap.wrap(c, 70)) for c in r["choice"]], fontsize=7)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel("chance of success in a sampled future")
        ax.set_title("Robust choices (most robust at the top: smallest worst-case regret)", loc="left", fontsize=11)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.grid(axis="x", alpha=0.3)
        return _save(fig, path)


def cart_figure(d: Discovery, path: str | Path) -> Path:
    """CART's depth-3 decision tree (scikit-learn's drawing), leaves coloured by their success share."""
    from sklearn.tree import plot_tree

    with plt.rc_context(LITERAL_TEXT):
        fig, ax = plt.subplots(figsize=(13, 6.5), dpi=150)
        plot_tree(d.cart_tree, feature_names=d.cart_tree.feature_names_, class_names=["fails", "succeeds"],
                  filled=True, impurity=False, proportion=True, rounded=True, fontsize=7, ax=ax)
        ax.set_title("CART cross-check: a depth-3 decision tree on the same futures", loc="left", fontsize=11)
        return _save(fig, path)
