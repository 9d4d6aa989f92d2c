"""mandate (docs/ODD.md 7): a budget-holding owner's spending and its effects; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from ._common import _and, _columns, _flags, _mask, _pick, choice, on


def _spending(m):
    """Where a budget-holding owner's spending acts: True, False or a (R,) mask."""
    return _and(_mask(choice(m, "owner.mandate", "budget")), _mask(on(m, "mandate.enabled")))


def _intensity(m) -> np.ndarray:
    """Spending this week relative to the reference intensity (0 for an advisory owner)."""
    p = m.params
    spending = _spending(m)
    if spending is False or m.D == 0:
        return np.zeros(m.R)
    per_thousand = m.spent / (m.st.total_headcount / 1000.0)
    return _pick(spending, per_thousand / p["mandate.reference_intensity"], 0.0)


def mandate(m) -> None:
    """A budget-holding owner spends: training raises skill, staff raise readiness, targets weaken silos."""
    p = m.params
    m.spent = np.where(m.owner_present & (p["owner.mandate"] == "budget"), m.budget, 0.0)
    spending = _spending(m)
    if spending is False or m.D == 0:
        return
    col = _columns(m.R)
    _mandate_kernel(m.skill, m.readiness, m.silo, col(_intensity(m)), col(p["mandate.training_rate"]),
                    col(p["mandate.staff_rate"]), col(p["mandate.targets_rate"]), _flags(spending, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _mandate_kernel(skill, readiness, silo, intensity, training, staff, targets, spending):
    """Skill and readiness += min(rate * intensity, 1) * (1 - x); silo -= silo * min(targets * intensity, 1)."""
    D, R = skill.shape
    gains = np.empty((3, R))
    for r in range(R):
        gains[0, r] = min(training[r] * intensity[r], 1.0)
        gains[1, r] = min(staff[r] * intensity[r], 1.0)
        gains[2, r] = min(targets[r] * intensity[r], 1.0)
    for d in range(D):  # (one array per loop, new values kept where spending: the loops vectorize)
        x, g = skill[d], gains[0]
        for r in range(R):
            x[r] = x[r] + (1.0 - x[r]) * g[r] if spending[r] else x[r]
        x, g = readiness[d], gains[1]
        for r in range(R):
            x[r] = x[r] + (1.0 - x[r]) * g[r] if spending[r] else x[r]
        x, g = silo[d], gains[2]
        for r in range(R):
            x[r] = x[r] - x[r] * g[r] if spending[r] else x[r]
