"""Counter-based random streams, one per replication, vectorized over a batch.

Why not one ``numpy.random.Generator`` per replication: drawing from R generators
costs R Python calls per draw, which would dominate a 10,000-replication batch.
Instead each replication k gets a 64-bit key spawned from the run's seed with
``numpy.random.SeedSequence(seed, spawn_key=(k,))`` (exactly the k-th child of
``SeedSequence(seed).spawn``), and every random number is a hash of
(key, week, stream, index). A replication's numbers therefore depend only on the
seed and its own index k: replication k is bit-identical alone or inside any
batch, on any worker, and the same week's numbers are reused by every design
point (common random numbers) and by every replay of a dashboard session.

The hash is SplitMix64's finalizer (Steele, Lea & Flood 2014) applied to the key
xor a mixed counter; SplitMix64 passes BigCrush as a sequence generator.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["Streams", "replication_keys", "binomial"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 2.0**-53

# Stream identifiers: one per random decision in the schedule. Never renumber an
# existing stream; add new ones at the end so old results stay reproducible.
STREAM_IDS = {
    "init_exec": 1,
    "init_dept": 2,
    "committee_detect": 3,
    "buy_in_noise": 4,
    "owner_departure": 5,
    "vacancy": 6,
    "budget_cut": 7,
    "adopt": 8,
    "revert": 9,
}


def _fmix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def replication_keys(seed: int, replications: np.ndarray) -> np.ndarray:
    """64-bit keys for the given replication indices under ``seed``."""
    reps = np.asarray(replications, dtype=np.int64).ravel()
    keys = np.empty(reps.size, dtype=np.uint64)
    for i, k in enumerate(reps):
        keys[i] = np.random.SeedSequence(int(seed), spawn_key=(int(k),)).generate_state(
            1, np.uint64
        )[0]
    return keys


class Streams:
    """Random numbers for a batch of replications, addressed by (week, stream, index).

    Arrays come back shaped ``(n, R)``: ``n`` items (agents, or 1) by ``R``
    replications, matching the engine's agents-first layout.
    """

    def __init__(self, keys: np.ndarray):
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)

    def bits(self, week: int, stream: str, n: int) -> np.ndarray:
        """Raw 64-bit hashes, shape ``(n, R)``."""
        sid = STREAM_IDS[stream]
        counter = (np.uint64(week) << np.uint64(32)) | np.uint64(sid << 24)
        idx = counter + np.arange(1, n + 1, dtype=np.uint64)
        mixed = _fmix(idx * _GAMMA)
        return _fmix(self.keys[None, :] ^ mixed[:, None])

    def uniform(self, week: int, stream: str, n: int, offset: int = 0) -> np.ndarray:
        """Uniform numbers in the open interval (0, 1), shape ``(n, R)``.

        ``offset`` selects a disjoint block of indices within the same stream
        (used when one decision needs several numbers per item).
        """
        b = self.bits(week, stream, n + offset)[offset:]
        return ((b >> _S11).astype(np.float64) + 0.5) * _TO_UNIT

    def normal(self, week: int, stream: str, n: int, offset: int = 0) -> np.ndarray:
        """Standard normal numbers by inversion of the uniforms, shape ``(n, R)``."""
        return ndtri(self.uniform(week, stream, n, offset))


_SMALL_MEAN = 30.0


def binomial(n: np.ndarray, p: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Binomial(n, p) draws from two independent uniforms ``u`` and ``v`` per element.

    Exact inversion of the binomial CDF (with ``u``) where the smaller of n*p and
    n*(1-p) is below 30; above that a continuity-corrected normal approximation
    with a Cornish-Fisher skewness correction (from the normal quantile of
    ``v``), whose error in any point probability is then a small fraction of a
    percent (checked against scipy in tests/test_rng.py). Each element depends only on its own
    (n, p, u, v), which keeps replications independent of their batch. Counts
    come back as float64 holding whole numbers.
    """
    n = np.asarray(n, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n, p, u, v = np.broadcast_arrays(n, p, u, v)
    out = np.zeros(n.shape, dtype=np.float64)
    flip = p > 0.5
    q = np.where(flip, 1.0 - p, p)  # draw the rarer outcome, flip back at the end
    mean = n * q
    live = (q > 0.0) & (n > 0.0)
    large = live & (mean >= _SMALL_MEAN)

    if large.any():
        nl, ql = n[large], q[large]
        sd = np.sqrt(nl * ql * (1.0 - ql))
        z = ndtri(v[large])
        # Cornish-Fisher: correct the normal quantile for the binomial's skewness.
        skew = (1.0 - 2.0 * ql) / sd
        z = z + skew * (z * z - 1.0) / 6.0
        out[large] = np.clip(np.floor(nl * ql + sd * z + 0.5), 0.0, nl)

    small = np.flatnonzero(live & ~large)
    if small.size:
        ns, qs, us = n.ravel()[small], q.ravel()[small], u.ravel()[small]
        pmf = np.exp(ns * np.log1p(-qs))
        # X = number of k with CDF(k) < u. Elements whose u falls under CDF(0) are
        # done at once; the rest walk up the CDF together. Finished elements stop
        # counting by themselves (the CDF only grows), so the arrays are compacted
        # only when most of them are done.
        go = us > pmf
        idx, ns, qs, us, pmf = small[go], ns[go], qs[go], us[go], pmf[go]
        ratio = qs / (1.0 - qs)
        cdf = pmf.copy()
        count = np.ones(idx.size)
        k = 0.0
        flat = out.reshape(-1)
        while idx.size:
            pmf *= (ns - k) / (k + 1.0) * ratio
            cdf += pmf
            k += 1.0
            above = us > cdf
            count += above
            if k % 4.0 == 0.0 or k > 200.0:
                open_ = above & (k < ns)
                if not open_.any():
                    break
                if open_.sum() * 2 < idx.size:
                    done = ~open_
                    flat[idx[done]] = np.minimum(count[done], ns[done])
                    idx, ns, us, pmf, cdf, ratio, count = (
                        a[open_] for a in (idx, ns, us, pmf, cdf, ratio, count))
        if idx.size:
            flat[idx] = np.minimum(count, ns)
        out = flat.reshape(n.shape)

    return np.where(flip, n - out, out)
