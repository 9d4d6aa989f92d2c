"""The submodels, one function each, in the order of the weekly schedule.

Each function takes the :class:`~cxsim.engine.Engine` ``m`` and updates its state
arrays in place, elementwise over replications. Each has a neutral setting (its
section's ``enabled = false``, or zero weights) that removes the mechanism. The
headings of docs/ODD.md section 7 ("Submodels") are these function names, and each
function lives, with its compiled kernel(s), in the module of the same name
(``cxsim/submodels/sponsorship.py``, ...); :func:`initialize` is in
``initialize.py`` and the helpers the rules share in ``_common.py``.

State, agents-first and replications-last:

* executives ``(E, R)``: ``buy_in`` (true, private), ``expressed`` (what colleagues
  see), ``jealousy``, ``propensity`` (to jealousy), ``understanding``, ``trust`` (in
  the owner), ``exposed`` (weeks left of exposure after being caught), ``covert``, ``resist_u`` and
  ``covert_u`` (the temperament, fixed for the run);
* departments ``(D, R)``: ``adopters``, ``readiness``, ``skill``, ``silo``;
* organization ``(R,)``: ``owner_present``, ``credibility``, ``vacancy``,
  ``tenure``, ``departures``, ``first_tenure``, ``budget``, ``spent``,
  ``fatigue``, ``results``, ``cx``, ``culture`` (receptiveness), and ``sponsor`` (a scalar, or ``(R,)``).

Parameters: ``m.params[key]`` is a Python scalar when every replication shares it
(one scenario, the interactive model), or an array with one value per replication
when the engine stacks several design points (:class:`~cxsim.engine.Engine`). The
rules read switches and choices through :func:`on` and :func:`choice`, which give
a bool or a per-replication mask, and apply a mechanism that is on for only some
replications with ``where=`` masks, so that every replication gets exactly the
operations it gets alone (see the notes below).
"""

# Performance notes. The rules update state in place and reuse their temporaries
# (fewer, cheaper numpy calls), but each keeps the floating-point operations of its
# plain formula (given in a comment) in the same order: only the exact commutative
# swaps a*b = b*a and a+b = b+a are used, so the results are bit-for-bit those of the
# formulas. Terms that are exactly neutral are skipped (a factor of exactly 1.0; the
# sabotage and credibility erosion when nobody resists covertly, which are exactly 0).
#
# Compiled kernels. The rules (all but committee and attrition, which touch little
# data) hand their arithmetic to a numba kernel, a compiled loop over (agent,
# replication) that takes every parameter as a (R,) column. A kernel does each
# element's operations in the formula's order (no fast-math: no reassociation, no
# fused multiply-add), computes exactly neutral terms instead of skipping them
# (x * 1.0 and x - 0.0 are x), and treats each replication on its own, so a
# replication's numbers are the same alone or in any batch and are those of the
# numpy formulation it replaced, bit for bit. Inner loops run over replications
# (contiguous), read a few arrays, write one and choose with selects rather than
# branches where they can, so that the compiler vectorizes them.
#
# Stacked design points. A parameter is a scalar or a per-replication array; every
# elementwise operation gives the same bits either way. Where the scalar code skips
# a mechanism (a switch is off, a week condition fails), the stacked code skips it
# only when it is off for every replication; otherwise it computes the update for all
# and applies it with ``where=mask`` (the replications where it is off keep their
# state untouched, exactly as if skipped). ``mask`` is ``True`` when the mechanism is
# on everywhere, which makes ``where=`` a no-op: the single-scenario path runs the
# same calls as before. Functions with no exact elementwise form for an array
# argument (exp, log, power of a parameter) are evaluated per distinct value
# (:func:`_per_value`, :func:`journey`) with the scalar code.

from __future__ import annotations

from ._common import adoption_share as adoption_share
from ._common import choice as choice
from ._common import expressed_view as expressed_view
from ._common import on as on
from .attrition import attrition
from .business_case import business_case
from .committee import committee
from .employee_adoption import employee_adoption
from .initialize import initialize
from .journey import journey
from .mandate import mandate
from .persuasion import persuasion
from .politics import politics
from .readiness import readiness
from .skill import skill
from .social_influence import social_influence
from .sponsorship import sponsorship

# Each rule's module has the rule's name; the names imported above are the functions (the
# package attribute a submodule import sets is replaced by the function imported
# from it); reach a module itself through sys.modules["cxsim.submodels.<name>"].

__all__ = [
    "initialize",
    "sponsorship",
    "committee",
    "politics",
    "social_influence",
    "persuasion",
    "business_case",
    "attrition",
    "mandate",
    "readiness",
    "employee_adoption",
    "skill",
    "journey",
]
