"""Logarithm, exponential and power in plain arithmetic, for loops of compiled kernels.

Why this exists: ``x ** y`` in a numba kernel calls the C library's ``pow`` once per
element. That call cannot be vectorized (it cost a fifth of a replication in the
journey's power mean), and its last bits are the C library's: glibc's ``pow`` is
correctly rounded, other libraries' need not be, so the same scenario could give other
bits on another platform. These functions use only IEEE additions, multiplications,
divisions, comparisons and integer operations on the bits of a float (numba does not
contract them into fused multiply-adds unless asked), so loops over them vectorize and
give the same bits on every processor.

* :func:`log_row`: ``x = 2^k m`` with ``m`` in [sqrt(1/2), sqrt(2)) from the bits of
  ``x``; ``log m = 2 atanh(s)``, ``s = (m - 1) / (m + 1)``, by its series in ``s^2``
  (|s| <= 0.1716: 12 terms leave a truncation error below 1e-18), plus
  ``k ln 2`` in two parts (fdlibm's split).
* :func:`exp_row`: Cody-Waite reduction ``t = k ln 2 + r``, |r| <= ln(2)/2, a degree-13
  Taylor polynomial of ``exp(r)`` (truncation below 1e-17), and the exact scaling by
  ``2^k`` built from exponent bits, in two halves so that results overflow to ``inf``
  and underflow to 0 as they should.
* powers: ``x^y = exp(y log x)`` for ``x > 0``, from the two.
* :func:`log` and :func:`log1p`: one number at a time, for rare events (the same bits as
  :func:`log_row`: ``frexp`` splits a float exactly, as the bit operations do).

The ``_row`` functions take an output array, which may be the input itself; but a loop
whose output is also its input is not vectorized (the compiler's check for overlapping
arrays fails and it takes the one-element-at-a-time path): twice as slow.

Accuracy: :func:`log_row` and :func:`exp_row` are within a few units in the last place
of the correctly rounded results (checked against numpy in ``tests/test_libm.py``);
``x^y`` carries the rounding of ``y log x`` into a relative error of about
``|y log x| * 1e-16``, below 1e-13 for the power means cxsim computes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["log_row", "exp_row", "log", "log1p"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact for |k| < 2**11 (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.uint64(0x3FF0000000000000)  # the bits of 1.0: a mantissa with this exponent is in [1, 2)
_S52 = np.uint64(52)
_EXP_LIMIT = 1000.0  # exp(+-1000) is already inf / 0; beyond it the scaling by 2^k would leave the exponent's range


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def atanh_blocks(x, x2):
    """The series sum_j x^j / (2j + 1) (``atanh(s) / s`` for x = s^2) in blocks of four terms: ``(a0, a1, a2, a3)``.

    Block b holds terms 4b .. 4b + 3 divided by x^(4b), by Estrin's scheme (short dependency
    chains, and no loop over a tuple of coefficients, which would keep the compiler from
    vectorizing), so the series is a0 + a1 x^4 + a2 x^8 + a3 x^12 + ...; ``x2`` is x^2.
    """
    a0 = (1.0 + 0.3333333333333333 * x) + (0.2 + 0.14285714285714285 * x) * x2
    a1 = (0.1111111111111111 + 0.09090909090909091 * x) + (0.07692307692307693 + 0.06666666666666667 * x) * x2
    a2 = (0.058823529411764705 + 0.05263157894736842 * x) + (0.047619047619047616 + 0.043478260869565216 * x) * x2
    a3 = (0.04 + 0.037037037037037035 * x) + (0.034482758620689655 + 0.03225806451612903 * x) * x2
    return a0, a1, a2, a3


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _log_reduced(m, k):
    """``log(m) + k ln 2`` for ``m`` in [sqrt(1/2), sqrt(2)) and a whole ``k``."""
    s = (m - 1.0) / (m + 1.0)
    x = s * s
    x2 = x * x
    x4 = x2 * x2
    x8 = x4 * x4
    a0, a1, a2, _ = atanh_blocks(x, x2)
    series = (a0 + a1 * x4) + a2 * x8  # j = 0..11
    return k * _LN2_HI + (2.0 * s * series + k * _LN2_LO)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def log_row(x, out):
    """``out[i] = log(x[i])`` for finite ``x[i] > 0`` that are normal floats (above 2.2e-308); 1-d arrays.

    ``out`` may be ``x`` itself (the same values; a separate array is faster, see the module notes).
    """
    n = x.size
    k = np.empty(n)
    xb = x.view(np.uint64)
    for i in range(n):  # the exponent, before ``out`` (which may be ``x``) receives the mantissa
        k[i] = float(np.int64(xb[i] >> _S52) - 1023)
    ob = out.view(np.uint64)
    for i in range(n):
        ob[i] = (xb[i] & _MANTISSA) | _ONE_BITS  # the mantissa m, in [1, 2)
    for i in range(n):
        m, e = out[i], k[i]
        high = m >= _SQRT2
        m = m * 0.5 if high else m
        e = e + 1.0 if high else e
        out[i] = _log_reduced(m, e)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def log(x):
    """``log(x)`` of one number, as :func:`log_row` computes it (finite, normal ``x > 0``)."""
    m, e = math.frexp(x)  # x = m 2^e, m in [1/2, 1): exact
    m, e = m * 2.0, e - 1.0  # m in [1, 2), as log_row's mantissa
    high = m >= _SQRT2
    return _log_reduced(m * 0.5 if high else m, e + 1.0 if high else e)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def log1p(x):
    """``log(1 + x)`` for ``x > -1``, accurate where ``x`` is tiny (Kahan's form: ``log(w) x / (w - 1)``, w = 1 + x)."""
    w = 1.0 + x
    return x if w == 1.0 else log(w) * (x / (w - 1.0))


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def exp_reduced(t):
    """``(k, e)`` with ``exp(t) = e 2^k``, ``k`` whole (a float), ``e`` in [0.7, 1.42]: no branch, no library call.

    Cody-Waite reduction ``t = k ln 2 + r``, |r| <= ln(2)/2, and a degree-13 Taylor polynomial
    of ``exp(r)`` (truncation error below 1e-17), by Estrin's scheme.
    """
    k = np.floor(t * _LOG2E + 0.5)
    r = (t - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    # sum_j r^j / j!, j = 0..13
    b0 = (1.0 + 1.0 * r) + (0.5 + 0.16666666666666666 * r) * r2
    b1 = (0.041666666666666664 + 0.008333333333333333 * r) + (0.001388888888888889 + 0.0001984126984126984 * r) * r2
    b2 = (2.48015873015873e-05 + 2.7557319223985893e-06 * r) + (2.755731922398589e-07 + 2.505210838544172e-08 * r) * r2
    return k, (b0 + b1 * r4) + (b2 + (2.08767569878681e-09 + 1.6059043836821613e-10 * r) * r4) * r8


@numba.njit(cache=True, nogil=True, error_model="numpy")
def exp_row(t, out):
    """``out[i] = exp(t[i])`` for finite ``t[i]`` (``inf`` above 709.78, 0 below -745); 1-d arrays.

    ``out`` may be ``t`` itself (the same values; a separate array is faster, see the module notes).
    """
    n = t.size
    half = np.empty(n)
    hb = half.view(np.uint64)
    scale = np.empty(n, dtype=np.int64)
    for i in range(n):
        ti = t[i]
        ti = -_EXP_LIMIT if ti < -_EXP_LIMIT else ti
        ti = _EXP_LIMIT if ti > _EXP_LIMIT else ti
        k, out[i] = exp_reduced(ti)
        scale[i] = np.int64(k)
    for i in range(n):  # 2^k as 2^(k/2) 2^(k - k/2): each half within the exponent's range (|k| <= 1443)
        k1 = scale[i] >> 1
        hb[i] = np.uint64(k1 + 1023) << _S52
        scale[i] = scale[i] - k1 + 1023
    for i in range(n):
        out[i] = out[i] * half[i]
        hb[i] = np.uint64(scale[i]) << _S52
    for i in range(n):
        out[i] = out[i] * half[i]
