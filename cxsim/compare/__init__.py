"""Compare design points of a batch run: figures, paired effect estimates, and an HTML report.

Faces: ``cxsim compare`` and ``cxsim report`` (:mod:`cxsim.compare.cli`). Library use::

    from cxsim.compare import compare_run, build_figures, write_report
    c = compare_run("results/governance/<run-id>")
    c.effects            # paired differences vs the baseline with 95% bootstrap CIs
    c.factorial_table    # main effects and interactions of the governance factorial
    write_report(c, "report.html")
"""

from .analysis import Comparison, compare_run
from .effects import detect_factorial, factorial_effects, paired_effects, wilson_interval
from .figures import build_figures, save_figure
from .report import render_report, write_compare, write_report
from .store import RunData, read_run

__all__ = [
    "Comparison",
    "RunData",
    "build_figures",
    "compare_run",
    "detect_factorial",
    "factorial_effects",
    "paired_effects",
    "read_run",
    "render_report",
    "save_figure",
    "wilson_interval",
    "write_compare",
    "write_report",
]
