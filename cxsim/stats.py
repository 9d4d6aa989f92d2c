"""Small statistics shared by the batch summary, the comparison and the report."""

from __future__ import annotations

import numpy as np

__all__ = ["wilson_interval", "Z95"]

Z95 = 1.959963984540054
"""``scipy.stats.norm.ppf(0.975)``, the z of a two-sided 95% interval, exactly (checked by the tests).

Written out so the common case does not import ``scipy.stats``, which takes about a second and
would be most of the time a report or a batch summary spends on statistics."""


def wilson_interval(successes, n, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Agresti & Coull 1998).

    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps its coverage
    near 0 and 1, where the success rates of weak governance variants live.

    Args:
        successes: number of successes (scalar or array).
        n: number of trials (scalar or array, > 0).
        conf: two-sided confidence level.

    Returns:
        ``(lo, hi)`` arrays.
    """
    if conf == 0.95:
        z = Z95
    else:
        from scipy.special import ndtri  # (= scipy.stats.norm.ppf, bit for bit, without importing scipy.stats)

        z = ndtri(0.5 + conf / 2)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        center = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
