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

The sampler and the hash also run inside compiled (numba) kernels of other modules;
:mod:`cxsim._jitcache` empties numba's cache when this file changes, since numba
itself checks only each kernel's own file.

The hash is SplitMix64's finalizer (Steele, Lea & Flood 2014) applied to the key
xor a mixed counter; SplitMix64 passes BigCrush as a sequence generator.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from scipy.special import ndtri

from ._libm import atanh_blocks, exp_reduced

try:  # the ufunc np.clip calls, without np.clip's Python-level argument handling
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip_ufunc

__all__ = ["Streams", "replication_keys", "binomial", "binomial_row", "scratch", "uniform_of", "LARGE"]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11, _S43 = (np.uint64(s) for s in (30, 27, 31, 11, 43))
_LOW32 = np.uint64(0xFFFFFFFF)
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
    "temperament": 10,
    "culture": 11,
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

    def item_hashes(self, week: int, stream: str, k: int) -> np.ndarray:
        """The item half of the hash for items ``0 .. k - 1`` of (week, stream), for compiled kernels."""
        return self._mixed(week, stream, 0, k)

    def binomials(self, week: int, draws) -> list[np.ndarray]:
        """Binomial draws of one week; ``draws`` is a list of ``(stream, n, p)`` with ``n`` and ``p`` shaped ``(k, R)``.

        Each result equals ``binomial(n, p, u[:k], u[k:])`` for
        ``u = uniform(week, stream, 2 * k)``, but a compiled kernel hashes only
        the uniforms the sampler reads.
        """
        R = self.keys.size
        out = []
        for stream, n, p in draws:
            k = np.shape(n)[0]
            n = np.ascontiguousarray(np.broadcast_to(np.asarray(n, dtype=np.float64), (k, R)))
            p = np.ascontiguousarray(np.broadcast_to(np.asarray(p, dtype=np.float64), (k, R)))
            x = np.empty((k, R))
            if _binomial_hashed(self.keys, self._mixed(week, stream, 0, k), n, p, x):
                self.finish_large(week, stream, x, n, p)
            out.append(x)
        return out

    def finish_large(self, week: int, stream: str, x: np.ndarray, n: np.ndarray, p: np.ndarray) -> None:
        """Replace the :data:`LARGE` marks in the ``(k, R)`` draws ``x`` by normal-approximation draws.

        Element (i, r) uses uniform ``k + i`` of (week, stream) for replication r, as :func:`binomial` uses ``v``.
        """
        k = x.shape[0]
        il = np.flatnonzero(x.reshape(-1) == LARGE)
        v = self._uniform_at(week, stream, k, 2 * k, il)
        x.reshape(-1)[il] = _normal_approximation(np.asarray(n).reshape(-1)[il], np.asarray(p).reshape(-1)[il], v)


_SMALL_MEAN = 30.0
LARGE = -1.0  # marks an element the kernels leave to the normal approximation (counts are never negative)
_WALK = 8  # CDF terms every open draw takes without a branch; longer walks continue one term at a time

# log(1 - q) = 2 atanh(s), s = q / (q - 2): the series in s^2 has coefficients 1 / (2j + 1); 17 terms
# leave a truncation error below 1e-17 for |s| <= 1/3 (q <= 1/2) (in :func:`_pmf0`).
_POW2_NEG = np.array([2.0**-i for i in range(128)])  # 2^-i, exact (a constant of the compiled code)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def uniform_of(z):
    """:func:`_fmix` then :func:`_to_unit` for one word: the same integer and float operations.

    The top 53 bits go to float64 as two exact halves (21 and 32 bits), which vectorizes
    where a 64-bit integer conversion would not; the sum is the same exact integer.
    """
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    top = float(np.int32(z >> _S43)) * 4294967296.0 + float(np.int64((z >> _S11) & _LOW32))
    return min((top + 0.5) * _TO_UNIT, _BELOW_ONE)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pmf0(n, q):
    """(1 - q)^n = exp(n log(1 - q)) for 0 < q <= 1/2 and -n log(1 - q) at most 60, in plain arithmetic.

    (The callers' draws have n q < 30, so -n log(1 - q) <= n q / (1 - q) < 60.) No library
    calls and no branches, so that loops over many draws vectorize and the result is the
    same on every machine: log(1 - q) by the atanh series, exp by
    :func:`cxsim._libm.exp_reduced` and an exact scaling by 2^k. Against
    exp(n log1p(-q)) from the C library the relative difference is at most ~1.5e-14
    (n log(1 - q) itself is only that well conditioned): a draw could come out
    differently only if its uniform fell that close to a CDF value.
    """
    s = q / (q - 2.0)
    x = s * s
    x2 = x * x
    x4 = x2 * x2
    x8 = x4 * x4
    a0, a1, a2, a3 = atanh_blocks(x, x2)  # sum_j x^j / (2j + 1), j = 0..16:
    series = (a0 + a1 * x4) + ((a2 + a3 * x4) + 0.030303030303030304 * x8) * x8
    t = n * (2.0 * s * series)  # n log(1 - q), in [-60, 0]
    k, e = exp_reduced(t)
    # times 2^k (0 <= -k <= 87 here) from a table of exact powers of two: one exact scaling
    return e * _POW2_NEG[np.int64(-k)]


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _settled(n, q, u):
    """Whether X = 0 is certain from a cheap bound: u at most a lower bound of pmf(0) = (1 - q)^n.

    With y = n q / (1 - q) >= -n log1p(-q), (1 - q)^n >= exp(-y) >= 1 - y + y^2/2 - y^3/6.
    The 1e-12 margin is far above the error of the computed pmf(0) (below 2e-14, see
    :func:`_pmf0`) and of the bound (a few 1e-16), so the elements it settles are
    exactly those the full inversion gives 0.
    """
    y = n * q / (1.0 - q)
    return u <= (1.0 - 1e-12) - (1.0 - (0.5 - y / 6.0) * y) * y


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rarer(p):
    """Clip ``p`` to [0, 1] (NaN stays NaN); return (q, flip): draw the rarer outcome q <= 1/2, flip back after."""
    p = 0.0 if p < 0.0 else p
    p = 1.0 if p > 1.0 else p
    flip = p > 0.5
    return (1.0 - p if flip else p), flip


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _first_terms(n, q, u):
    """pmf(0) and the first :data:`_WALK` terms of the inversion (see :func:`_invert_open`): (count, pmf, cdf)."""
    f = _pmf0(n, q)
    ratio = q / (1.0 - q)
    c = f
    k = 1.0 if u > c else 0.0
    for t in range(_WALK):
        f = f * ((n - t) / (t + 1.0) * ratio)
        c = c + f
        k += 1.0 if u > c else 0.0
    return k, f, c


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _invert_open(n, q, u, x):
    """Exact CDF inversion of the open draws (0 < q <= 1/2, n > 0 whole, n q < 30): ``min(n, #{k : cdf(k) < u})``.

    pmf(0) = :func:`_pmf0`, r = q / (1 - q), pmf(k+1) = pmf(k) * ((n - k) / (k + 1) * r),
    cdf(k+1) = cdf(k) + pmf(k+1). Every draw takes the first :data:`_WALK` terms without
    a branch, counting u > cdf (the CDF never decreases, and past k = n the terms are 0,
    the count capped at n): this loop reads three arrays and writes one, and vectorizes;
    most draws end there. The few still open (marked -1) redo those terms with the same
    operations and continue one term at a time until u <= cdf or k = n.
    """
    m = n.size
    for j in range(m):
        nn, uu = n[j], u[j]
        k, _, c = _first_terms(nn, q[j], uu)
        x[j] = -1.0 if (uu > c) & (nn > _WALK) else min(k, nn)
    for j in range(m):
        if x[j] < 0.0:
            nn, qq, uu = n[j], q[j], u[j]
            k, f, c = _first_terms(nn, qq, uu)
            ratio = qq / (1.0 - qq)
            t = float(_WALK)
            while t < nn:
                f = f * ((nn - t) / (t + 1.0) * ratio)
                c = c + f
                if uu <= c:
                    break
                k += 1.0
                t += 1.0
            x[j] = min(k, nn)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def scratch(R):
    """Work arrays for :func:`binomial_row` over rows of ``R`` replications."""
    return np.empty((5, R)), np.empty(R, dtype=np.int8), np.empty(R, dtype=np.int64)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def binomial_row(n, p, keys, mixed, out, work):
    """Binomial(n[r], p[r]) draws for one item over all replications r; returns how many are :data:`LARGE`.

    Replication r's uniform is hashed from ``keys[r] ^ mixed`` (``mixed`` from
    :meth:`Streams.item_hashes`) in a loop that vectorizes, then :func:`_draws`.
    ``work`` is :func:`scratch`.
    """
    u = work[0][0]
    for r in range(n.size):
        u[r] = uniform_of(keys[r] ^ mixed)
    return _draws(n, p, u, out, work)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _draws(n, p, u, out, work):
    """Binomial(n, p) draws from the uniforms ``u`` (1-d arrays of one size); returns how many are :data:`LARGE`.

    A pass without branches (it vectorizes) settles the draws that are certainly 0
    (:func:`_settled`; flipped: n) and marks means of 30 or more :data:`LARGE` for the
    normal approximation; the open draws are then gathered and inverted together
    (:func:`_invert_open`). ``work`` is :func:`scratch` (its first row may be ``u``).
    """
    f, state, need = work
    nn, qq, uu, x = f[1], f[2], f[3], f[4]
    R = n.size
    large = 0
    for r in range(R):  # X = 0 (flipped: n) unless open or large
        qr, flip = _rarer(p[r])
        nr, ur = n[r], u[r]
        live = (qr > 0.0) & (nr > 0.0)
        big = live & (nr * qr >= _SMALL_MEAN)
        state[r] = live & (not big) & (not _settled(nr, qr, ur))
        x[r] = qr  # (x holds each q until the open draws' counts replace it)
        out[r] = LARGE if big else (nr if flip else 0.0)
        large += big
    m = 0
    for r in range(R):  # gather the open draws
        need[m] = r
        nn[m] = n[r]
        qq[m] = x[r]
        uu[m] = u[r]
        m += state[r]
    _invert_open(nn[:m], qq[:m], uu[:m], x[:m])
    for j in range(m):
        r = need[j]
        out[r] = n[r] - x[j] if p[r] > 0.5 else x[j]  # (open draws have 0 < p < 1: flipped where p > 1/2)
    return large


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _binomial_hashed(keys, mixed, n, p, out):
    """:func:`binomial_row` over ``(k, R)`` arrays; returns how many elements were left as :data:`LARGE`."""
    k, R = out.shape
    work = scratch(R)
    large = 0
    for i in range(k):
        large += binomial_row(n[i], p[i], keys, mixed[i], out[i], work)
    return large


def _normal_approximation(n: np.ndarray, p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Draws for large means: continuity-corrected normal quantile with a Cornish-Fisher skewness correction."""
    p = _clip_ufunc(p, 0.0, 1.0)
    flip = p > 0.5
    q = np.where(flip, 1.0 - p, p)
    sd = np.sqrt(n * q * (1.0 - q))
    z = ndtri(v)
    skew = (1.0 - 2.0 * q) / sd
    z = z + skew * (z * z - 1.0) / 6.0
    x = np.clip(np.floor(n * q + sd * z + 0.5), 0.0, n)
    return np.where(flip, n - x, x)


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
    n, p, u, v = (np.ascontiguousarray(a, dtype=np.float64) for a in
                  np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(p, dtype=np.float64), u, v))
    out = np.empty(n.shape)
    if _draws(n.reshape(-1), p.reshape(-1), u.reshape(-1), out.reshape(-1), scratch(n.size)):
        il = np.flatnonzero(out.reshape(-1) == LARGE)
        out.reshape(-1)[il] = _normal_approximation(n.reshape(-1)[il], p.reshape(-1)[il], v.reshape(-1)[il])
    return out
