"""readiness (docs/ODD.md 7): departments' readiness and change fatigue; rule and kernel."""

from __future__ import annotations

import numba

from ._common import _adopters_total, _columns, _flags, _mask, on


def readiness(m) -> None:
    """Readiness follows the owning executive's true buy-in; change fatigue wears it down."""
    p = m.params
    enabled = _mask(on(m, "readiness.enabled"))
    if enabled is False or m.D == 0:
        return
    col = _columns(m.R)
    _readiness_kernel(m.readiness, m.fatigue, m.buy_in, m.st.dept_exec, m.adopters, col(m.st.total_headcount),
                      col(m.st.load), col(p["readiness.alignment_rate"]), col(p["readiness.fatigue_rate"]),
                      col(p["readiness.fatigue_recovery"]), col(p["readiness.fatigue_effect"]), _flags(enabled, m.R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _readiness_kernel(readiness, fatigue, buy_in, dept_exec, adopters, total, load, alignment, fatigue_rate,
                      recovery, fatigue_effect, enabled):
    """The arithmetic of :func:`readiness` per department and replication (where ``enabled``).

    readiness += alignment * (buy_in[e(d)] - readiness); with a the adopted share,
    fatigue = max(fatigue + ((rate * load) (1 - a) - (recovery * a) fatigue), 0);
    readiness -= readiness (effect * fatigue), clipped.
    """
    D, R = readiness.shape
    share = _adopters_total(adopters)
    for r in range(R):
        if enabled[r]:
            a = share[r] / total[r]
            f = fatigue[r] + (fatigue_rate[r] * load[r] * (1.0 - a) - recovery[r] * a * fatigue[r])
            fatigue[r] = 0.0 if f < 0.0 else f
    for d in range(D):
        e = dept_exec[d]
        for r in range(R):  # (new values, then kept where enabled: no branch, so the loop vectorizes)
            x0 = readiness[d, r]
            x = x0 + (buy_in[e, r] - x0) * alignment[r]
            x = x - x * (fatigue_effect[r] * fatigue[r])
            x = 0.0 if x < 0.0 else x
            x = 1.0 if x > 1.0 else x
            readiness[d, r] = x if enabled[r] else x0
