"""Which levers lead to success, under which conditions: scenario discovery and robust choices.

:func:`discover` runs PRIM (:mod:`cxsim.discovery.prim`) and a CART cross-check on a
finished run, and, for a ``discovery`` design (levers crossed with sampled futures),
ranks the choices by robustness. ``cxsim discover RUN_DIR`` is its command line;
``cxsim report`` adds a "What it takes" section for such runs.
"""

from .core import Discovery, describe_box, discover, label, outcome_of
from .prim import Box, PrimResult, box_mask, prim

__all__ = ["Discovery", "discover", "describe_box", "label", "outcome_of", "Box", "PrimResult", "box_mask", "prim"]
