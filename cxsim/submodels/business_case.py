"""business_case (docs/ODD.md 7): visible results build or erode commitment; rule and kernel."""

from __future__ import annotations

import numba
import numpy as np

from ._common import _columns, _flags, _mask, on


def business_case(m) -> None:
    """Visible results (the CX index's gain, seen with a lag) build or erode commitment around a threshold."""
    p = m.params
    enabled = _mask(on(m, "business_case.enabled"))
    if enabled is False:
        return
    R = m.R
    col = _columns(R)
    theta = p["business_case.threshold"]
    impatient = _mask((m.week >= p["business_case.patience_weeks"]) & (theta > 0.0))
    _business_case_kernel(m.results, m.cx, col(p["journey.baseline_quality"]), m.credibility, m.buy_in, m.understanding,
                          col(p["business_case.lag_weeks"]), col(theta), _flags(impatient, R),
                          col(p["business_case.gain"]), col(p["business_case.erosion"]),
                          col(p["business_case.understanding_gain"]), _flags(enabled, R))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _business_case_kernel(results, cx, base, credibility, buy_in, understanding, lag, theta, impatient, gain,
                          erosion, understanding_gain, enabled):
    """The arithmetic of :func:`business_case` per replication (where ``enabled``).

    seen gain g = (cx - base) / (1 - base) (0 when base = 1); results += (g - results) / lag;
    up = gain * max(results - theta, 0); down = erosion * max(theta - results, 0) / theta once impatient;
    buy_in += up (1 - buy_in) - down buy_in and understanding += (understanding_gain * max(results, 0))
    (1 - understanding), clipped; credibility += up (1 - credibility) - down credibility, clipped.
    """
    E, R = buy_in.shape
    up = np.zeros(R)
    down = np.zeros(R)
    learn = np.zeros(R)
    for r in range(R):
        if not enabled[r]:
            continue
        g = _gain(cx[r], base[r])
        res = results[r] + (g - results[r]) / lag[r]
        results[r] = res
        up[r] = gain[r] * max(res - theta[r], 0.0)
        if impatient[r]:
            down[r] = erosion[r] * (max(theta[r] - res, 0.0) / theta[r])
        else:
            down[r] = erosion[r] * 0.0
        learn[r] = understanding_gain[r] * max(res, 0.0)
        c = credibility[r] + up[r] * (1.0 - credibility[r]) - down[r] * credibility[r]
        c = 0.0 if c < 0.0 else c
        credibility[r] = 1.0 if c > 1.0 else c
    for i in range(E):
        for r in range(R):  # (new values, then kept where enabled: no branch, so the loop vectorizes)
            b0, u0 = buy_in[i, r], understanding[i, r]
            b = b0 + ((1.0 - b0) * up[r] - b0 * down[r])
            b = 0.0 if b < 0.0 else b
            b = 1.0 if b > 1.0 else b
            u = u0 + (1.0 - u0) * learn[r]
            u = 0.0 if u < 0.0 else u
            u = 1.0 if u > 1.0 else u
            buy_in[i, r] = b if enabled[r] else b0
            understanding[i, r] = u if enabled[r] else u0


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _gain(cx, base):
    """What results show: the CX index above the no-adoption baseline, as a share of the possible gain."""
    return (cx - base) / (1.0 - base) if base < 1.0 else 0.0


def seen_gain(cx, base):
    """:func:`_gain` for ``(R,)`` arrays (the results already visible at week 0)."""
    base = np.broadcast_to(np.asarray(base, dtype=np.float64), cx.shape)
    return np.array([_gain(c, b) for c, b in zip(cx.tolist(), base.tolist())])
