"""Figures of run results (headless: the Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["fan_chart", "adoption_figure", "PALETTE", "LITERAL_TEXT", "literal_text"]

LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}
"""rc settings under which every figure is built and saved: names and descriptions are user text,
drawn as written (``Budget $50k\\month`` must not be parsed as mathtext, which would fail)."""


def literal_text(fig) -> None:
    """Draw every text of ``fig`` literally (no mathtext, no TeX), including texts made before the rc applied."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        t.set_parse_math(False)
        t.set_usetex(False)

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def fan_chart(ax, timeseries: pd.DataFrame, metric: str = "adoption", color: str = PALETTE[0],
              label: str | None = None) -> None:
    """Median of ``metric`` over replications with 50% and 90% bands, by tick."""
    wide = timeseries.pivot(index="tick", columns="replication", values=metric).to_numpy(dtype=float)
    ticks = np.sort(timeseries["tick"].unique())
    q = np.nanquantile(wide, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    ax.fill_between(ticks, q[0], q[4], color=color, alpha=0.15, lw=0, label=None)
    ax.fill_between(ticks, q[1], q[3], color=color, alpha=0.3, lw=0, label=None)
    ax.plot(ticks, q[2], color=color, lw=2.2, label=label)


def adoption_figure(timeseries: pd.DataFrame, replications: pd.DataFrame, title: str, path: str | Path,
                    success_threshold: float | None = None) -> Path:
    """The run's adoption fan chart, with the success rate in the legend; saved to ``path``."""
    with plt.rc_context(LITERAL_TEXT):
        return _adoption_figure(timeseries, replications, title, path, success_threshold)


def _adoption_figure(timeseries, replications, title, path, success_threshold) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=150)
    n = replications.shape[0]
    rate = replications["success"].mean()
    fan_chart(ax, timeseries, "adoption", PALETTE[0], label=f"median of {n} replications")
    ax.fill_between([], [], color=PALETTE[0], alpha=0.3, label="50% band")
    ax.fill_between([], [], color=PALETTE[0], alpha=0.15, label="90% band")
    if success_threshold is not None:
        ax.axhline(success_threshold, color="0.35", ls="--", lw=1,
                   label=f"success threshold ({success_threshold:.0%}); reached by {rate:.0%}")
    ax.set_xlim(0, timeseries["tick"].max())
    ax.set_ylim(0, 1)
    ax.set_xlabel("week")
    ax.set_ylabel("employees practising CX (share)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False, fontsize=8.5)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    literal_text(fig)
    try:
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
