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

import functools

import numpy as np
from scipy.special import ndtri

try:  # the ufunc np.clip calls, without np.clip's Python-level argument handling
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip_ufunc

__all__ = ["Streams", "replication_keys", "binomial"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 2.0**-53
_BELOW_ONE = np.nextafter(1.0, 0.0)

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


def _fmix_inplace(z: np.ndarray) -> np.ndarray:
    """:func:`_fmix` in place: the same integer operations without the temporaries."""
    t = np.empty_like(z)
    for shift, mult in ((_S30, _M1), (_S27, _M2)):
        np.right_shift(z, shift, out=t)
        z ^= t
        z *= mult
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


def _to_unit(b: np.ndarray) -> np.ndarray:
    """Top 53 bits of each (scratch) word to a float in (0, 1): ((b >> 11) + 1/2) * 2**-53."""
    np.right_shift(b, _S11, out=b)
    f = b.astype(np.float64)
    f += 0.5
    f *= _TO_UNIT
    # (2**53 - 1 + 1/2) * 2**-53 rounds to exactly 1.0; keep the interval open.
    np.minimum(f, _BELOW_ONE, out=f)
    return f


# numpy's SeedSequence constants (numpy/random/bit_generator.pyx; pool of 4 uint32 words).
_SS_INIT_A, _SS_MULT_A = 0x43B0D7E5, 0x931E8875
_SS_INIT_B, _SS_MULT_B = 0x8B51F9DD, 0x58F38DED
_SS_MIX_L, _SS_MIX_R = 0xCA01F9DD, 0x4973F715
_M32 = 0xFFFFFFFF


def _spawned_keys(seed: int, reps: np.ndarray) -> np.ndarray:
    """Spawned keys, vectorized: ``SeedSequence(seed, spawn_key=(k,)).generate_state(1, np.uint64)[0]``.

    For every k in ``reps`` (all below 2**32), the same uint32 mixing, in uint64 lanes.
    """
    words = []
    while True:  # the seed as little-endian uint32 words, then padded to the pool size
        words.append(seed & _M32)
        seed >>= 32
        if not seed:
            break
    words += [0] * (4 - len(words))
    entropy = [np.full(reps.size, w, dtype=np.uint64) for w in words] + [reps.astype(np.uint64)]
    const = _SS_INIT_A

    def hashmix(value):
        nonlocal const
        value = value ^ np.uint64(const)
        const = (const * _SS_MULT_A) & _M32
        value = (value * np.uint64(const)) & np.uint64(_M32)
        return value ^ (value >> np.uint64(16))

    def mix(x, y):
        r = (np.uint64(_SS_MIX_L) * x
             + (np.uint64(1 << 32) - ((np.uint64(_SS_MIX_R) * y) & np.uint64(_M32)))) & np.uint64(_M32)
        return r ^ (r >> np.uint64(16))

    pool = [hashmix(entropy[i]) for i in range(4)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(4, len(entropy)):
        for dst in range(4):
            pool[dst] = mix(pool[dst], hashmix(entropy[src]))
    const, out = _SS_INIT_B, []
    for word in pool[:2]:  # generate_state: two uint32 words, low word first
        word = word ^ np.uint64(const)
        const = (const * _SS_MULT_B) & _M32
        word = (word * np.uint64(const)) & np.uint64(_M32)
        out.append(word ^ (word >> np.uint64(16)))
    return out[0] | (out[1] << np.uint64(32))


@functools.lru_cache(maxsize=64)
def _keys(seed: int, reps: tuple[int, ...]) -> np.ndarray:
    arr = np.array(reps, dtype=np.int64)
    if seed >= 0 and (arr.size == 0 or (arr.min() >= 0 and arr.max() < 2**32)):
        keys = _spawned_keys(seed, arr)
    else:  # (negative values: let SeedSequence raise its own error)
        keys = np.array([np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1, np.uint64)[0] for k in reps],
                        dtype=np.uint64)
    keys.flags.writeable = False
    return keys


def replication_keys(seed: int, replications: np.ndarray) -> np.ndarray:
    """64-bit keys for the given replication indices under ``seed``.

    Key k is ``SeedSequence(seed, spawn_key=(k,)).generate_state(1, np.uint64)[0]``,
    computed for all k at once (a SeedSequence object costs ~25 us per
    replication) and cached per (seed, indices): an experiment runs the same
    replications at every design point.
    """
    reps = np.asarray(replications, dtype=np.int64).ravel()
    return _keys(int(seed), tuple(reps.tolist())).copy()


class Streams:
    """Random numbers for a batch of replications, addressed by (week, stream, index).

    Arrays come back shaped ``(n, R)``: ``n`` items (agents, or 1) by ``R``
    replications, matching the engine's agents-first layout.
    """

    def __init__(self, keys: np.ndarray):
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)

    @staticmethod
    @functools.lru_cache(maxsize=8192)
    def _mixed(week: int, stream: str, lo: int, hi: int) -> np.ndarray:
        """The item half of the hash for indices ``lo .. hi - 1`` of (week, stream).

        Cached: every design point and replication batch of a run reuses them.
        """
        sid = STREAM_IDS[stream]
        counter = (np.uint64(week) << np.uint64(32)) | np.uint64(sid << 24)
        mixed = _fmix((counter + np.arange(lo + 1, hi + 1, dtype=np.uint64)) * _GAMMA)
        mixed.flags.writeable = False
        return mixed

    def bits(self, week: int, stream: str, n: int) -> np.ndarray:
        """Raw 64-bit hashes, shape ``(n, R)``."""
        mixed = self._mixed(week, stream, 0, n)
        return _fmix_inplace(self.keys[None, :] ^ mixed[:, None])

    def uniform(self, week: int, stream: str, n: int, offset: int = 0) -> np.ndarray:
        """Uniform numbers in the open interval (0, 1), shape ``(n, R)``.

        ``offset`` selects a disjoint block of indices within the same stream
        (used when one decision needs several numbers per item).
        """
        return _to_unit(self.bits(week, stream, n + offset)[offset:])

    def normal(self, week: int, stream: str, n: int, offset: int = 0) -> np.ndarray:
        """Standard normal numbers by inversion of the uniforms, shape ``(n, R)``."""
        return ndtri(self.uniform(week, stream, n, offset))

    def _uniform_at(self, week: int, stream: str, lo: int, hi: int, flat: np.ndarray) -> np.ndarray:
        """Uniforms of items ``lo .. hi - 1`` of (week, stream) at flat positions of that ``(hi - lo, R)`` block."""
        R = self.keys.size
        mixed = self._mixed(week, stream, lo, hi)
        if 2 * flat.size > mixed.size * R:  # most of the block: hash it all, no index arithmetic
            z = _fmix_inplace(self.keys[None, :] ^ mixed[:, None]).reshape(-1).take(flat)
        else:
            row = flat // R
            z = self.keys.take(flat - row * R)
            z ^= mixed.take(row)
            _fmix_inplace(z)
        return _to_unit(z)

    def binomials(self, week: int, draws) -> list[np.ndarray]:
        """Several binomial draws of one week in one pass; ``draws`` is a list of ``(stream, n, p)``.

        With ``n`` and ``p`` shaped ``(k, R)``, each result equals
        ``binomial(n, p, u[:k], u[k:])`` for ``u = uniform(week, stream, 2 * k)``,
        but only the uniforms the sampler reads are hashed, and the CDF walks of
        all draws run together.
        """
        R = self.keys.size
        parts = []
        for stream, n, p in draws:
            k = np.shape(n)[0]

            def draw(flat, second, stream=stream, k=k):
                return self._uniform_at(week, stream, k if second else 0, 2 * k if second else k, flat)

            parts.append((np.broadcast_to(np.asarray(n, dtype=np.float64), (k, R)), p, draw))
        return _binomials(parts)


_SMALL_MEAN = 30.0
# The CDF walk goes this many terms at a time, dropping finished elements in between.
_BLOCKS = (4, 8, 24, 64)


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
    n, p, u, v = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(p, dtype=np.float64), u, v)
    uf = np.asarray(u, dtype=np.float64).reshape(-1)
    vf = np.asarray(v, dtype=np.float64).reshape(-1)
    return _binomials([(n, p, lambda flat, second: (vf if second else uf).take(flat))])[0]


def _binomials(parts) -> list[np.ndarray]:
    """The sampler of :func:`binomial` for a list of ``(n, p, draw)`` of one shape each.

    ``draw(flat, second)`` gives the ``u`` (``second`` false) or ``v`` uniforms of
    the elements at the given flat indices, so that only numbers in use are
    computed. Integer-index ``take`` throughout: boolean-mask indexing is
    several times slower.
    """
    sizes = [np.size(n) for n, _, _ in parts]
    flat_out = np.zeros(sum(sizes))
    walk, flips, start = [], [], 0
    for (n, p, draw), size in zip(parts, sizes):
        p = _clip_ufunc(p, 0.0, 1.0)
        flip = p > 0.5
        if flip.any():
            flips.append((start, size, flip, n))
            p = np.where(flip, 1.0 - p, p)  # draw the rarer outcome, flip back at the end
        q = p
        live = np.flatnonzero((q > 0.0) & (n > 0.0))
        if live.size:
            nf, qf = n.reshape(-1).take(live), q.reshape(-1).take(live)
            mean = nf * qf
            large = mean >= _SMALL_MEAN
            if large.any():
                il = np.flatnonzero(large)
                nl, ql, il = nf.take(il), qf.take(il), live.take(il)
                sd = np.sqrt(nl * ql * (1.0 - ql))
                z = ndtri(draw(il, True))
                # Cornish-Fisher: correct the normal quantile for the binomial's skewness.
                skew = (1.0 - 2.0 * ql) / sd
                z = z + skew * (z * z - 1.0) / 6.0
                flat_out[start + il] = np.clip(np.floor(nl * ql + sd * z + 0.5), 0.0, nl)
                small = np.flatnonzero(~large)
                live, nf, qf, mean = live.take(small), nf.take(small), qf.take(small), mean.take(small)
            us = draw(live, False)
            # X = 0 where u <= pmf(0) = (1 - q)^n. A cheap lower bound settles most of those
            # without exp and log1p: with y = n q / (1 - q) >= -n log1p(-q), (1 - q)^n >=
            # exp(-y) >= 1 - y + y^2/2 - y^3/6. The 1e-12 margin is far above the rounding
            # error of the computed pmf(0) and of the bound (a few 1e-16), so the elements
            # it settles are exactly those the full inversion gives 0 (bit-identical).
            y = mean / (1.0 - qf)
            bound = y / 6.0
            np.subtract(0.5, bound, out=bound)
            bound *= y
            np.subtract(1.0, bound, out=bound)
            bound *= y
            np.subtract(1.0 - 1e-12, bound, out=bound)
            rest = np.flatnonzero(us > bound)
            if rest.size:
                walk.append((live.take(rest) + start, nf.take(rest), qf.take(rest), us.take(rest)))
        start += size
    if walk:
        _walk_cdf(flat_out, *(np.concatenate(a) if len(walk) > 1 else a[0] for a in zip(*walk)))
    for start, size, flip, n in flips:
        block = flat_out[start:start + size].reshape(n.shape)
        block[...] = np.where(flip, n - block, block)
    out, start = [], 0
    for (n, _, _), size in zip(parts, sizes):
        out.append(flat_out[start:start + size].reshape(n.shape))
        start += size
    return out


def _walk_cdf(flat_out, idx, ns, qs, us) -> None:
    """Exact CDF inversion: ``flat_out[idx] = min(n, #{k : cdf(k) < u})``.

    Each element gets exactly the floating-point operations of walking one term
    at a time: pmf(0) = exp(n log1p(-q)), r = q / (1 - q), then in sequence
    pmf(k+1) = pmf(k) * ((n - k) / (k + 1) * r) and cdf(k+1) = cdf(k) + pmf(k+1).
    The walk advances a block of terms at a time and drops an element once
    u <= cdf (the CDF only grows) or k >= n.
    """
    pmf = np.exp(ns * np.log1p(-qs))
    ratio = qs / (1.0 - qs)
    cdf = pmf
    count = (us > pmf).astype(np.float64)  # elements with u <= pmf(0) stay at 0 and drop out
    k, b = 0, 0
    while idx.size:
        B = _BLOCKS[min(b, len(_BLOCKS) - 1)]
        b += 1
        ks = np.arange(k, k + B, dtype=np.float64)
        if idx.size >= 40 * B:
            # Terms first: row r of t holds term k + r of every element, so each operation
            # runs along a contiguous row; row 0 carries the running pmf (then the cdf).
            t = np.empty((B + 1, idx.size))
            np.subtract(ns, ks[:, None], out=t[1:])
            t[1:] /= ks[:, None] + 1.0
            t[1:] *= ratio
            t[0] = pmf
            for r in range(1, B + 1):
                np.multiply(t[r - 1], t[r], out=t[r])
            pmf = t[B].copy()
            t[0] = cdf
            for r in range(1, B + 1):
                np.add(t[r - 1], t[r], out=t[r])
            cdf = t[B]
            count += np.add.reduce(np.greater(us, t[1:]).view(np.uint8), axis=0, dtype=np.uint8)
        else:
            # Few elements: elements first, and accumulate (sequential) along each row.
            t = np.empty((idx.size, B + 1))
            np.subtract(ns[:, None], ks, out=t[:, 1:])
            t[:, 1:] /= ks + 1.0
            t[:, 1:] *= ratio[:, None]
            t[:, 0] = pmf
            np.multiply.accumulate(t, axis=1, out=t)
            pmf = t[:, B].copy()
            t[:, 0] = cdf
            np.add.accumulate(t, axis=1, out=t)
            cdf = t[:, B].copy()
            count += (us[:, None] > t[:, 1:]).sum(axis=1)
        k += B
        # Write every element's count so far (those still walking are overwritten later),
        # then keep the ones still walking.
        flat_out[idx] = np.minimum(count, ns)
        open_ = us > cdf
        open_ &= k < ns
        keep = np.flatnonzero(open_)
        if keep.size < idx.size:
            idx, ns, us, ratio, count, pmf, cdf = (a.take(keep) for a in (idx, ns, us, ratio, count, pmf, cdf))
