"""Limiting cases: the model reduces to discrete Bass diffusion and to DeGroot averaging."""

from __future__ import annotations

import numpy as np
import pytest

import cxsim
from cxsim.engine import Structure
from cxsim.simulate import run_batch

N, P, Q = 10_000, 0.03, 0.38  # scenarios/limits/bass.toml
BASS_REPS = 200


@pytest.fixture(scope="module")
def bass_adopters():
    """Adopter counts (T + 1, R) of the Bass limit scenario, 200 replications, seed 0."""
    sc = cxsim.load_scenario("limits/bass")
    assert sc["adoption.p"] == P and sc["adoption.q"] == Q and sc.departments[0]["headcount"] == N
    batch = run_batch(sc, np.arange(BASS_REPS), seed=0, per_agent=False)
    return np.rint(batch.recorder.adoption64 * N)


def _bass_recursion(ticks: int) -> np.ndarray:
    a = [0.0]
    for _ in range(ticks):
        a.append(a[-1] + (N - a[-1]) * (P + Q * a[-1] / N))
    return np.array(a)


def test_bass_one_step_conditional_mean_and_variance(bass_adopters):
    """Standardized one-step residuals of new adopters have mean 0 and variance 1."""
    A = bass_adopters
    a_now, new = A[:-1], A[1:] - A[:-1]
    h = P + Q * a_now / N
    var = (N - a_now) * h * (1 - h)
    # Keep steps whose conditional variance is at least 5 (a predictable selection, so the
    # residuals stay martingale differences); below that the binomial is too discrete for
    # its moments to be a useful check and the count of such steps is small anyway.
    keep = var >= 5
    z = (new - (N - a_now) * h)[keep] / np.sqrt(var[keep])
    n = z.size
    assert n > 4000
    # Martingale differences with unit conditional variance: the mean has se 1/sqrt(n).
    assert abs(z.mean()) < 4 / np.sqrt(n)
    # se of the sample variance is sqrt((m4 - 1) / n); m4 is estimated from the residuals (~3).
    m4 = np.mean(z ** 4)
    assert abs(z.var() - 1.0) < 4 * np.sqrt((m4 - 1) / n)
    assert (new >= 0).all() and (A <= N).all()


def test_bass_mean_trajectory_matches_recursion(bass_adopters):
    """The mean adopter path over 200 replications follows A_{t+1} = A_t + (N - A_t)(p + q A_t / N)."""
    A = bass_adopters
    T = A.shape[0] - 1
    det = _bass_recursion(T)
    mean = A.mean(axis=1)
    se = A.std(axis=1, ddof=1) / np.sqrt(BASS_REPS)
    var = A.var(axis=1, ddof=1)
    # Jensen gap: the one-step map f(A) = A + (N - A)(p + qA/N) is quadratic with f'' = -2q/N,
    # so E f(A) = f(E A) - q Var(A)/N exactly. Propagating that gap along the deterministic
    # path with f' gives the allowance J_t (computed from the sampled variances); it peaks at
    # about 2 adopters out of 10,000 and the test requires it to stay below 0.05% of N.
    jensen = np.zeros(T + 1)
    for t in range(T):
        jensen[t + 1] = abs(1 + Q - P - 2 * Q * det[t] / N) * jensen[t] + Q * var[t] / N
    assert jensen.max() < 5e-4 * N
    assert mean[0] == 0.0
    # Compare while the recursion still has at least one non-adopter left; after that the
    # integer process is absorbed at N, which the continuous recursion only approaches.
    live = np.flatnonzero((N - det >= 1) & (np.arange(T + 1) > 0))
    assert live.size > 20
    # 4 standard errors per tick (two-sided 6e-5 each; about 0.2% family-wise over ~26 ticks).
    tol = 4 * se[live] + jensen[live]
    bad = np.abs(mean[live] - det[live]) > tol
    assert not bad.any(), f"ticks {live[bad]}: mean {mean[live][bad]}, recursion {det[live][bad]}"
    late = np.setdiff1d(np.arange(1, T + 1), live)
    assert (np.abs(mean[late] - det[late]) < 1.0).all()


def test_bass_single_replication_is_a_bass_path():
    """One Bass replication rises monotonically to everyone within the 40-week horizon."""
    model = cxsim.CXModel("limits/bass", seed=3)
    for _ in range(40):
        model.step()
    a = model.history()["adoption"].to_numpy()
    assert (np.diff(a) >= 0).all()
    assert a[0] == 0 and a[-1] > 0.999


def test_degroot_converges_to_eigenvector_consensus():
    """Buy-in converges to pi . b0, pi the stationary distribution of the row-normalized influence matrix."""
    sc = cxsim.load_scenario("limits/degroot")
    W = Structure.from_scenario(sc).influence_matrix
    vals, vecs = np.linalg.eig(W.T)
    i = np.argmin(np.abs(vals - 1.0))
    assert abs(vals[i] - 1.0) < 1e-12
    pi = np.real(vecs[:, i])
    pi = pi / pi.sum()
    assert (pi > 0).all()
    np.testing.assert_allclose(pi @ W, pi, atol=1e-14)
    b0 = np.array([e["buy_in"] for e in sc.executives])
    consensus = pi @ b0
    model = cxsim.CXModel(sc, seed=0)
    for _ in range(sc.ticks):
        model.step()
    final = np.array([a.buy_in for a in model.executives])
    # The second eigenvalue modulus is 0.58 here, so 200 weeks leave ~1e-47 of the initial
    # disagreement; 1e-9 only has to absorb float rounding of 200 averaging steps.
    assert np.abs(final - consensus).max() < 1e-9
    # The consensus is the eigenvector weighting, not the plain mean of initial views.
    assert abs(consensus - b0.mean()) > 0.01


def test_degroot_path_is_matrix_powers():
    """Each week buy-in is W^t b0 as DeGroot prescribes, identical in every replication."""
    sc = cxsim.load_scenario("limits/degroot")
    W = Structure.from_scenario(sc).influence_matrix
    b = np.array([e["buy_in"] for e in sc.executives])
    batch = run_batch(sc, np.arange(3), seed=5, ticks=10)
    rec = batch.recorder
    for t in range(11):
        np.testing.assert_allclose(rec.exec_true[t, :, 0], b, atol=1e-6)  # recorded as float32
        np.testing.assert_array_equal(rec.exec_true[t], rec.exec_true[t, :, :1] * np.ones((1, 3)))
        b = W @ b


def test_degroot_with_partial_rate_reaches_same_consensus():
    """With rate < 1 (lazy DeGroot) the consensus is the same pi . b0."""
    sc = cxsim.load_scenario("limits/degroot", {"social_influence.rate": 0.5, "run.ticks": 400})
    W = Structure.from_scenario(sc).influence_matrix
    vals, vecs = np.linalg.eig(W.T)
    pi = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    pi = pi / pi.sum()
    consensus = pi @ np.array([e["buy_in"] for e in sc.executives])
    batch = run_batch(sc, [0], seed=0)
    # The lazy chain's slowest mode decays like (1 - 0.5 (1 - |lambda_2|))^t: < 1e-9 by week 400.
    assert np.abs(batch.recorder.m.buy_in[:, 0] - consensus).max() < 1e-9
