"""Inverse standard normal CDF for numba kernels, bit-identical to ``scipy.special.ndtri``.

Why this exists: numba kernels elsewhere in cxsim turn uniforms into standard normals inside compiled loops, but
``scipy.special.ndtri`` is a numpy ufunc, which cannot be called from a ``cache=True`` numba function. Routing those
draws back through Python would cost a call per batch and, worse, a different normal quantile would change the
simulated numbers. So this module ports scipy's implementation, the Cephes ``ndtri`` algorithm (Stephen L. Moshier,
Cephes Math Library 2.1, now the C++ header ``xsf/cephes/ndtri.h`` used by scipy 1.17), operation for operation:

* ``y`` above ``1 - exp(-2)`` is reflected to ``1 - y`` and the result negated at the end;
* for ``exp(-2) < y <= 1 - exp(-2)`` (i.e. ``|y - 0.5| <= 3/8``) it uses ``w = y - 0.5`` and
  ``sqrt(2 pi) * (w + w * (w**2 P0(w**2) / Q0(w**2)))``;
* otherwise ``x = sqrt(-2 log y)`` and ``x - log(x)/x - (1/x) P(1/x) / Q(1/x)``, with ``P1/Q1`` for ``x < 8``
  (``y > exp(-32)``) and ``P2/Q2`` beyond;
* ``y == 0`` gives ``-inf``, ``y == 1`` gives ``+inf`` and ``y`` outside ``[0, 1]`` gives NaN (a NaN input
  propagates through the arithmetic, as in the C code).

Polynomials are evaluated by Horner's rule in the same order as Cephes ``polevl`` / ``p1evl`` and no fast-math flags
are used, so every intermediate rounds exactly as in the compiled C and the results match ``scipy.special.ndtri``
bit for bit (checked by ``tests/test_ndtri.py``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._libm import log_row

__all__ = ["ndtri", "ndtri_scalar", "ndtri_central", "is_central", "ndtri_row"]

# Coefficients copied verbatim from xsf/cephes/ndtri.h (highest power first, as polevl expects). Global numpy arrays
# are frozen into the compiled code as constants by numba.

# Approximation for 0 <= |y - 0.5| <= 3/8.
_P0 = np.array(
    [
        -5.99633501014107895267e1,
        9.80010754185999661536e1,
        -5.66762857469070293439e1,
        1.39312609387279679503e1,
        -1.23916583867381258016e0,
    ]
)
_Q0 = np.array(  # leading coefficient 1.0 omitted (p1evl)
    [
        1.95448858338141759834e0,
        4.67627912898881538453e0,
        8.63602421390890590575e1,
        -2.25462687854119370527e2,
        2.00260212380060660359e2,
        -8.20372256168333339912e1,
        1.59056225126211695515e1,
        -1.18331621121330003142e0,
    ]
)

# Approximation for z = sqrt(-2 log y) between 2 and 8, i.e. y between exp(-2) = .135 and exp(-32) = 1.27e-14.
_P1 = np.array(
    [
        4.05544892305962419923e0,
        3.15251094599893866154e1,
        5.71628192246421288162e1,
        4.40805073893200834700e1,
        1.46849561928858024014e1,
        2.18663306850790267539e0,
        -1.40256079171354495875e-1,
        -3.50424626827848203418e-2,
        -8.57456785154685413611e-4,
    ]
)
_Q1 = np.array(  # leading coefficient 1.0 omitted (p1evl)
    [
        1.57799883256466749731e1,
        4.53907635128879210584e1,
        4.13172038254672030440e1,
        1.50425385692907503408e1,
        2.50464946208309415979e0,
        -1.42182922854787788574e-1,
        -3.80806407691578277194e-2,
        -9.33259480895457427372e-4,
    ]
)

# Approximation for z = sqrt(-2 log y) between 8 and 64, i.e. y between exp(-32) = 1.27e-14 and exp(-2048).
_P2 = np.array(
    [
        3.23774891776946035970e0,
        6.91522889068984211695e0,
        3.93881025292474443415e0,
        1.33303460815807542389e0,
        2.01485389549179081538e-1,
        1.23716634817820021358e-2,
        3.01581553508235416007e-4,
        2.65806974686737550832e-6,
        6.23974539184983293730e-9,
    ]
)
_Q2 = np.array(  # leading coefficient 1.0 omitted (p1evl)
    [
        6.02427039364742014255e0,
        3.67983563856160859403e0,
        1.37702099489081330271e0,
        2.16236993594496635890e-1,
        1.34204006088543189037e-2,
        3.28014464682127739104e-4,
        2.89247864745380683936e-6,
        6.79019408009981274425e-9,
    ]
)

for _c in (_P0, _Q0, _P1, _Q1, _P2, _Q2):
    _c.flags.writeable = False
del _c

_SQRT2PI = 2.506628274631000502415765284811045253007  # sqrt(2 pi), xsf/cephes/const.h
_EXPM2 = 0.13533528323661269189  # exp(-2)
_ONE_MINUS_EXPM2 = 1.0 - _EXPM2  # folded at import exactly as the C compiler folds (1.0 - 0.135...)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _polevl(x: float, coef: np.ndarray) -> float:
    """Cephes ``polevl``: Horner's rule, ``coef[0]`` the highest power."""
    ans = coef[0]
    for i in range(1, coef.size):
        ans = ans * x + coef[i]
    return ans


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _p1evl(x: float, coef: np.ndarray) -> float:
    """Cephes ``p1evl``: as :func:`_polevl` with an implicit leading coefficient of 1.0."""
    ans = x + coef[0]
    for i in range(1, coef.size):
        ans = ans * x + coef[i]
    return ans


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def is_central(y: float) -> bool:
    """Whether ``ndtri_scalar(y)`` is :func:`ndtri_central` (``exp(-2) < y <= 1 - exp(-2)``; false for NaN)."""
    return (y > _EXPM2) & (y <= _ONE_MINUS_EXPM2)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def ndtri_central(y: float) -> float:
    """The central branch of :func:`ndtri_scalar`, for :func:`is_central` ``y``: no branch, no library call.

    A loop over many probabilities can take this for all of them (it vectorizes) and
    call :func:`ndtri_scalar` only where ``is_central`` is false: the same operations,
    so the same bits.
    """
    y = y - 0.5
    y2 = y * y
    x = y + y * (y2 * _polevl(y2, _P0) / _p1evl(y2, _Q0))
    return x * _SQRT2PI


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def ndtri_scalar(y0: float) -> float:
    """Inverse of the standard normal CDF, bit-identical to ``scipy.special.ndtri``.

    Args:
        y0: A probability.

    Returns:
        The ``x`` with ``Phi(x) == y0``: ``-inf`` for 0, ``+inf`` for 1 and NaN outside ``[0, 1]`` or for NaN.
    """
    if y0 == 0.0:
        return -np.inf
    if y0 == 1.0:
        return np.inf
    if y0 < 0.0 or y0 > 1.0:
        return np.nan
    negate = True
    y = y0
    if y > _ONE_MINUS_EXPM2:
        y = 1.0 - y
        negate = False

    if y > _EXPM2:
        return ndtri_central(y)

    x = math.sqrt(-2.0 * math.log(y))
    x0 = x - math.log(x) / x
    z = 1.0 / x
    if x < 8.0:  # y > exp(-32) = 1.2664165549e-14
        x1 = z * _polevl(z, _P1) / _p1evl(z, _Q1)
    else:
        x1 = z * _polevl(z, _P2) / _p1evl(z, _Q2)
    x = x0 - x1
    if negate:
        x = -x
    return x


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ndtri_row(u: np.ndarray, out: np.ndarray) -> None:
    """:func:`ndtri_scalar` of each element of ``u`` (1-d, every element strictly between 0 and 1), into ``out``.

    For loops over many uniforms, in passes that vectorize: central elements get
    :func:`ndtri_central`, bit for bit as scipy; the tails (about a quarter of uniform
    draws) take the same Cephes formula with :func:`cxsim._libm.log_row` in place of the
    C library's ``log`` (the far tail's polynomial, below exp(-32), in a second pass over those few).
    The tails therefore agree with ``scipy.special.ndtri`` to a few units in the last place
    (not bit for bit, checked in ``tests/test_ndtri.py``), with the same bits on every
    platform. ``out`` may be ``u`` (the same values; a separate array is faster, see :mod:`cxsim._libm`).
    """
    n = u.size
    y, x = np.empty(n), np.empty(n)
    for i in range(n):  # the tail's argument (reflected above 1 - exp(-2)); central elements take a stand-in
        v = u[i]
        v = 1.0 - v if v > _ONE_MINUS_EXPM2 else v
        y[i] = _EXPM2 if v > _EXPM2 else v
    log_row(y, x)
    for i in range(n):
        x[i] = np.sqrt(-2.0 * x[i])
    log_row(x, y)  # log(x)
    far = 0
    for i in range(n):
        v, xi = u[i], x[i]
        z = 1.0 / xi
        tail = (xi - y[i] / xi) - z * _polevl(z, _P1) / _p1evl(z, _Q1)
        tail = tail if v > _ONE_MINUS_EXPM2 else -tail
        out[i] = ndtri_central(v) if is_central(v) else tail
        far += xi >= 8.0
    if far:  # (y below exp(-32): about once in 4e13 uniforms) the other tail polynomial
        for i in range(n):
            v, xi = u[i], x[i]
            if xi >= 8.0 and not is_central(v):
                z = 1.0 / xi
                tail = (xi - y[i] / xi) - z * _polevl(z, _P2) / _p1evl(z, _Q2)
                out[i] = tail if v > _ONE_MINUS_EXPM2 else -tail


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _ndtri_flat(flat: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` with :func:`ndtri_scalar` of each element of the 1-d array ``flat``."""
    for i in range(flat.size):
        out[i] = ndtri_scalar(flat[i])


def ndtri(a) -> np.ndarray:
    """Array version of :func:`ndtri_scalar`, mainly for tests against ``scipy.special.ndtri``.

    Args:
        a: Probabilities, any shape (anything ``np.asarray`` accepts).

    Returns:
        A new float64 array of the same shape with the standard normal quantile of each element.
    """
    arr = np.asarray(a, dtype=np.float64)
    flat = np.ascontiguousarray(arr).ravel()
    out = np.empty_like(flat)
    _ndtri_flat(flat, out)
    return out.reshape(arr.shape)
