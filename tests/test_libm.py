"""cxsim._libm: logarithm, exponential and power in plain arithmetic, against numpy's (the C library's)."""

import numpy as np

from cxsim._libm import exp_row, log_row


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_log_within_a_few_ulps():
    g = np.random.default_rng(0)
    x = np.concatenate([np.exp(g.uniform(-700.0, 700.0, 500_000)), g.uniform(0.5, 2.0, 500_000),
                        [2.2250738585072014e-308, 1e-12, 0.5, np.sqrt(0.5), np.sqrt(2.0), 1.0, 2.0, 1.7e308]])
    got = np.empty_like(x)
    log_row(x, got)
    want = np.log(x)
    far = np.abs(want) > 0.5
    assert _ulps(got[far], want[far]).max() <= 4.0  # measured: 4 (the division in s = (m - 1) / (m + 1))
    assert np.abs(got - want)[~far].max() <= 4 * 2.0**-53  # near log = 0: an absolute error of a few 1e-16
    assert got[np.flatnonzero(x == 1.0)[0]] == 0.0
    log_row(x, x)  # in place
    assert (x == got).all()


def test_exp_within_a_few_ulps_and_its_limits():
    t = np.random.default_rng(1).uniform(-708.0, 709.0, 500_000)
    got = np.empty_like(t)
    exp_row(t, got)
    assert _ulps(got, np.exp(t)).max() <= 3.0  # measured: 2
    edge = np.array([0.0, -0.0, 709.7, 709.8, 1e9, -745.2, -1e9, 1e-300])
    out = np.empty_like(edge)
    exp_row(edge, out)
    assert out[0] == out[1] == 1.0 and out[7] == 1.0
    assert np.isinf(out[3]) and np.isinf(out[4]) and out[5] == 0.0 and out[6] == 0.0
    assert abs(out[2] / np.exp(709.7) - 1.0) < 1e-15


def pow_row(x, y, out):
    """x^y as the journey's power mean computes it: exp(y log x)."""
    log_row(x, out)
    exp_row(out * y, out)


def test_pow_for_power_means():
    # journey's power means: quality in [1e-12, 1], exponents in [-20, 1]. x^y = exp(y log x) carries the
    # rounding of y log x (a few ulps of it) into its relative error: bound it by 4 eps (1 + |y log x|)
    g = np.random.default_rng(2)
    x = g.uniform(1e-12, 1.0, 400_000)
    y = g.uniform(-20.0, 1.0, 400_000)
    got = np.empty_like(x)
    pow_row(x, y, got)
    want = x**y
    eps = 2.0**-52
    assert (np.abs(got / want - 1.0) <= 4.0 * eps * (1.0 + np.abs(y * np.log(x)))).all()  # measured: 2.4 eps
    y[:] = -2.0
    pow_row(x, y, got)
    assert np.abs(got / x**-2.0 - 1.0).max() < 4e-15  # measured: 2e-15
    pow_row(np.array([1.0, 4.0, 0.25]), np.array([-20.0, 0.5, -0.5]), got[:3])
    assert got[0] == 1.0 and abs(got[1] - 2.0) < 1e-15 and abs(got[2] - 2.0) < 1e-15


def test_same_bits_whatever_the_row_length():
    # each element depends on its own input only (no reductions across a row): a row and its pieces agree
    x = np.random.default_rng(3).uniform(1e-9, 5.0, 1001)
    whole, parts = np.empty_like(x), np.empty_like(x)
    log_row(x, whole)
    for a, b in ((0, 7), (7, 500), (500, 1001)):
        log_row(x[a:b].copy(), parts[a:b])
    assert (whole.view(np.int64) == parts.view(np.int64)).all()
