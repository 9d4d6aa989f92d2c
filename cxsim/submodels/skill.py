"""skill (docs/ODD.md 7): learning by doing; rule and kernel."""

from __future__ import annotations

import numba

from ._common import _columns, _flags, _head, _mask, on


def skill(m) -> None:
    """Learning by doing: skill grows with the department's adoption."""
    p = m.params
    enabled = _mask(on(m, "skill.enabled"))
    if enabled is False or m.D == 0:
        return
    _skill_kernel(m.skill, m.adopters, _head(m), _columns(m.R)(p["skill.learning_rate"]),
                  _flags(enabled, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _skill_kernel(skill, adopters, head, rate, enabled):
    """Skill += ((adopted share) * rate) * (1 - skill), clipped, where ``enabled``."""
    D, R = skill.shape
    for d in range(D):
        for r in range(R):  # (new value, then kept where enabled: no branch, so the loop vectorizes)
            s0 = skill[d, r]
            x = s0 + adopters[d, r] / head[d, r] * rate[r] * (1.0 - s0)
            x = 0.0 if x < 0.0 else x
            x = 1.0 if x > 1.0 else x
            skill[d, r] = x if enabled[r] else s0
