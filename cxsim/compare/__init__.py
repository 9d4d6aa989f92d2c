"""Compare design points of a batch run: figures, paired effect estimates, and an HTML report.

Faces: ``cxsim compare`` and ``cxsim report`` (:mod:`cxsim.compare.cli`). Library use::

    from cxsim.compare import compare_run, build_figures, write_report
    c = compare_run("results/governance/<run-id>")
    c.effects            # paired differences vs the baseline with 95% bootstrap CIs
    c.factorial_table    # main effects and interactions of the governance factorial
    write_report(c, "report.html")

The names below are imported on first use (PEP 562): the command line imports
:mod:`cxsim.compare.cli` for every command, and ``cxsim batch`` should not pay for
matplotlib, which the figures need.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "Comparison": "analysis",
    "compare_run": "analysis",
    "detect_factorial": "effects",
    "factorial_effects": "effects",
    "paired_effects": "effects",
    "wilson_interval": "effects",
    "build_figures": "figures",
    "report_figures": "figures",
    "save_figure": "figures",
    "render_report": "report",
    "write_compare": "report",
    "write_report": "report",
    "RunData": "store",
    "read_run": "store",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
