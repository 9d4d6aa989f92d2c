"""Counter-based random streams and the binomial sampler (cxsim.rng)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cxsim.rng import STREAM_IDS, Streams, binomial, replication_keys

M = 20_000  # draws per distribution check


def _streams(seed=2024, reps=(0,)):
    return Streams(replication_keys(seed, np.asarray(reps)))


def test_uniform_open_interval_and_moments():
    """Uniforms lie in (0, 1) with mean 1/2 and variance 1/12 within 4 standard errors."""
    u = _streams(reps=range(5)).uniform(3, "adopt", M).ravel()
    n = u.size
    assert u.min() > 0.0 and u.max() < 1.0
    # se of the mean of U(0,1) is sqrt(1/12 / n); 4 se gives a 6e-5 two-sided false alarm rate.
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    # se of the sample variance is sqrt((mu4 - sigma^4) / n) with mu4 = 1/80 for U(0,1).
    assert abs(u.var() - 1 / 12) < 4 * np.sqrt((1 / 80 - 1 / 144) / n)
    # Kolmogorov-Smirnov at significance 0.001.
    assert stats.kstest(u, "uniform").pvalue > 1e-3


class _ExtremeBits(Streams):
    """Streams whose raw words are the extremes 0 and 2**64 - 1."""

    def bits(self, week, stream, n):
        return np.array([[0], [np.iinfo(np.uint64).max]], dtype=np.uint64)[:n]


def _extreme_uniforms():
    u = _ExtremeBits(np.zeros(1, dtype=np.uint64)).uniform(0, "adopt", 2)
    if not u[0, 0] < 1e-10:
        pytest.skip("Streams.uniform no longer draws through Streams.bits; cannot inject extreme words")
    return u


def test_uniform_of_all_zero_bits_is_above_zero():
    """The bit-to-float map sends the all-zero 64-bit word strictly above 0."""
    u = _extreme_uniforms()
    assert 0.0 < u[0, 0] < 1e-15


def test_uniform_of_all_one_bits_is_below_one():
    """The bit-to-float map sends the all-ones 64-bit word strictly below 1."""
    u = _extreme_uniforms()
    assert u[1, 0] < 1.0


def test_normal_moments():
    """Normals from inversion have mean 0 and sd 1 within 4 standard errors."""
    z = _streams(reps=range(4)).normal(1, "buy_in_noise", M).ravel()
    n = z.size
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 4 / np.sqrt(n)  # se of the mean is 1/sqrt(n)
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2 / n)  # se of the variance is sqrt(2/n)


def test_streams_differ_across_weeks_names_and_replications():
    """Changing the week, the stream name or the replication gives unrelated numbers."""
    s = _streams(reps=(0, 1))
    base = s.uniform(5, "adopt", M)
    others = [s.uniform(6, "adopt", M)[:, 0], s.uniform(5, "revert", M)[:, 0], base[:, 1]]
    for other in others:
        assert not np.array_equal(base[:, 0], other)
        # Independent uniforms: correlation ~ N(0, 1/M); 4/sqrt(M) is a 4-sigma bound.
        assert abs(np.corrcoef(base[:, 0], other)[0, 1]) < 4 / np.sqrt(M)
    # Different seeds too.
    assert not np.array_equal(_streams(seed=1).uniform(5, "adopt", 10), _streams(seed=2).uniform(5, "adopt", 10))


def test_every_stream_id_is_unique():
    """No two random decisions share a stream identifier."""
    assert len(set(STREAM_IDS.values())) == len(STREAM_IDS)


def test_stream_column_independent_of_batch():
    """Replication k's numbers are the same alone or inside a batch."""
    keys = replication_keys(7, np.arange(10))
    batch = Streams(keys).uniform(11, "adopt", 50)
    alone = Streams(keys[[6]]).uniform(11, "adopt", 50)
    np.testing.assert_array_equal(batch[:, 6], alone[:, 0])


def test_offset_selects_later_block():
    """An offset picks the later indices of the same stream."""
    s = _streams()
    np.testing.assert_array_equal(s.uniform(2, "init_exec", 5, offset=3), s.uniform(2, "init_exec", 8)[3:])


@pytest.mark.parametrize("seed", [0, 1, 123456789])
def test_replication_keys_are_spawned_children(seed):
    """replication_keys(seed, [k]) is the k-th child of SeedSequence(seed).spawn."""
    children = np.random.SeedSequence(seed).spawn(50)
    for k in (0, 1, 7, 49):
        expected = children[k].generate_state(1, np.uint64)[0]
        assert replication_keys(seed, [k])[0] == expected


# (n, p) pairs covering each branch of the sampler: exact inversion (min(np, n(1-p)) < 30),
# means just below and above 30, the normal/Cornish-Fisher branch, and p > 0.5 (flipped).
BINOMIAL_CASES = [
    (5, 0.5),
    (20, 0.1),
    (1000, 0.01),
    (200, 0.14),  # mean 28: inversion, near the switch
    (61, 0.5),  # mean 30.5: approximation, just above the switch
    (200, 0.16),  # mean 32
    (100, 0.35),
    (10_000, 0.3),  # large mean
    (50, 0.8),  # flipped, inversion
    (40, 0.75),  # flipped, min mean exactly 30
    (1000, 0.9),  # flipped, approximation
]


@pytest.mark.parametrize("case", range(len(BINOMIAL_CASES)))
def test_binomial_matches_scipy(case):
    """Binomial draws pass a chi-square goodness-of-fit test against scipy.stats.binom."""
    n, p = BINOMIAL_CASES[case]
    s = _streams(seed=99)
    u, v = s.uniform(case, "adopt", M)[:, 0], s.uniform(case, "revert", M)[:, 0]
    x = binomial(np.full(M, float(n)), np.full(M, p), u, v)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0 and x.max() <= n
    observed = np.bincount(x.astype(np.int64), minlength=n + 1)
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * M
    # Pool adjacent cells until each expects at least 5 draws (the usual chi-square rule).
    obs_bins, exp_bins, o_acc, e_acc = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= 5:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    obs_bins[-1] += o_acc
    exp_bins[-1] += e_acc
    obs_bins, exp_bins = np.array(obs_bins), np.array(exp_bins)
    chi2 = ((obs_bins - exp_bins) ** 2 / exp_bins).sum()
    pvalue = stats.chi2.sf(chi2, len(exp_bins) - 1)
    # Significance 0.001 per case (11 cases: family-wise error about 1%); the draws are
    # deterministic, so this either always passes or flags a real discrepancy.
    assert pvalue > 1e-3, f"chi2={chi2:.1f} df={len(exp_bins) - 1} p={pvalue:.2g}"
    # Mean within 4 standard errors of n p.
    assert abs(x.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / M)


def test_binomial_degenerate_cases():
    """The binomial draw is 0 for n = 0 or p = 0 and n for p = 1, whatever the uniforms."""
    u = _streams().uniform(0, "adopt", 100)[:, 0]
    v = _streams().uniform(0, "revert", 100)[:, 0]
    assert (binomial(np.zeros(100), np.full(100, 0.4), u, v) == 0).all()
    assert (binomial(np.full(100, 37.0), np.zeros(100), u, v) == 0).all()
    assert (binomial(np.full(100, 37.0), np.ones(100), u, v) == 37).all()
    assert (binomial(np.full(100, 5000.0), np.ones(100), u, v) == 5000).all()
    # Probabilities outside [0, 1] are clipped, not propagated as NaN.
    assert (binomial(np.full(100, 10.0), np.full(100, 1.5), u, v) == 10).all()


def test_binomial_elementwise_independent_of_batch():
    """Each draw depends only on its own (n, p, u, v): slicing the batch changes nothing."""
    s = _streams(reps=range(3))
    u, v = s.uniform(0, "adopt", 200), s.uniform(0, "revert", 200)
    n = np.tile(np.array([0.0, 3.0, 40.0, 900.0, 10_000.0])[:, None], (40, 3))
    p = np.tile(np.array([0.2, 0.03, 0.6, 0.5, 0.001])[:, None], (40, 3))
    full = binomial(n, p, u, v)
    for r in range(3):
        np.testing.assert_array_equal(full[:, r], binomial(n[:, r], p[:, r], u[:, r], v[:, r]))
    np.testing.assert_array_equal(full[7], binomial(n[7], p[7], u[7], v[7]))


def test_binomial_inversion_is_monotone_in_u():
    """In the inversion branch a larger u never gives fewer successes (common random numbers)."""
    u = np.linspace(1e-6, 1 - 1e-6, 2001)
    x = binomial(np.full(u.size, 40.0), np.full(u.size, 0.3), u, np.full(u.size, 0.5))
    assert (np.diff(x) >= 0).all()
    assert x[0] <= 3 and x[-1] >= 22  # spans the distribution's range


def test_hashed_draws_equal_draws_from_the_uniforms():
    """Streams.binomials (uniforms hashed inside the kernel) gives binomial(n, p, u[:k], u[k:]) exactly."""
    s = _streams(reps=range(64))
    n = np.tile(np.array([0.0, 1.0, 3.0, 40.0, 300.0, 900.0, 10_000.0, 57.0])[:, None], (3, 64))
    p = np.tile(np.array([0.2, 0.9, 0.03, 0.6, 0.01, 0.5, 0.001, 0.45])[:, None], (3, 64))
    p[::5] = np.nan  # (NaN probabilities give 0, as clipping leaves them NaN)
    k = n.shape[0]
    for week in (0, 3, 11):
        (hashed,) = s.binomials(week, [("adopt", n, p)])
        u = s.uniform(week, "adopt", 2 * k)
        np.testing.assert_array_equal(hashed, binomial(n, p, u[:k], u[k:]))


def test_pmf0_matches_the_c_library():
    """The plain-arithmetic (1 - q)^n agrees with exp(n log1p(-q)) to ~1e-14 over the sampler's whole domain."""
    from cxsim.rng import _pmf0

    q = np.concatenate([np.geomspace(1e-12, 0.5, 400), np.linspace(0.01, 0.5, 400)])
    for n in (1.0, 2.0, 7.0, 60.0, 999.0, 29_999.0):
        for qi in q[n * q < 30.0]:
            exact = math.exp(n * math.log1p(-qi))
            # n log(1 - q) carries a rounding error of ~|n log(1 - q)| * 1.1e-16 <= 60 * 1.1e-16 in any
            # evaluation, so the two agree to a few 1e-15, far from the 5e-14 allowed here.
            assert abs(_pmf0(n, qi) - exact) <= 5e-14 * exact, (n, qi)
