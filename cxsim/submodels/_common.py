"""Helpers the submodels share: switches and masks, parameter columns, views of the state.

See the notes in ``cxsim/submodels/__init__.py`` on how the rules handle stacked design points
(:func:`on`, :func:`choice`, :func:`_mask`, :func:`_pick`) and hand their arithmetic to kernels
(:func:`_columns`, :func:`_flags`).
"""

from __future__ import annotations

import numba
import numpy as np

try:  # the ufunc np.clip calls, without np.clip's Python-level argument handling
    from numpy._core.umath import clip as _clip_ufunc
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip_ufunc


def on(m, key: str):
    """A switch: ``True``/``False``, or a ``(R,)`` bool mask when stacked points differ."""
    return m.params[key]


def choice(m, key: str, value: str):
    """Whether choice parameter ``key`` equals ``value``: a bool, or a ``(R,)`` mask."""
    return m.params[key] == value


def _mask(x):
    """``True`` / ``False`` if the condition holds for all / no replications, else the ``(R,)`` mask."""
    if x is True or x is False:
        return x
    if np.ndim(x) == 0:
        return bool(x)
    if x.all():
        return True
    if not x.any():
        return False
    return x


def _and(a, b):
    """Combine two results of :func:`_mask`."""
    if a is True:
        return b
    if b is True:
        return a
    if a is False or b is False:
        return False
    return _mask(a & b)


def _pick(cond, a, b):
    """``a`` where ``cond`` holds, else ``b`` (scalars stay scalars)."""
    cond = _mask(cond)
    if cond is True:
        return a
    if cond is False:
        return b
    return np.where(cond, a, b)


def _min(a, b):
    return np.minimum(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else min(a, b)


def _per_value(x, fn):
    """``fn(x)`` for a scalar; for a per-replication array, ``fn`` of each distinct value (as a Python scalar)."""
    if not isinstance(x, np.ndarray):
        return fn(x)
    values, inverse = np.unique(x, return_inverse=True)
    return np.array([fn(v.item()) for v in values], dtype=np.float64)[inverse]


def _agent_sum(a):
    from ..engine import agent_sum

    return agent_sum(a)


def _clip01(a: np.ndarray, where=True) -> np.ndarray:
    return _clip_ufunc(a, 0.0, 1.0, out=a, where=where)


_COLUMNS: dict = {}  # (R, scalar) -> its (R,) column, shared: kernels never write to a parameter column
# (id of a float object, R) -> (the object, its column): a parameter's value is the same object every week, and
# looking it up by identity skips the exact key of _COLUMNS (holding the object keeps its id from being reused)
_BY_OBJECT: dict = {}


def _columns(R: int):
    """A function giving a parameter (scalar or per-replication) as a contiguous float64 ``(R,)`` column."""
    def col(x):
        if type(x) is float:
            hit = _BY_OBJECT.get((id(x), R))
            if hit is not None and hit[0] is x:
                return hit[1]
            column = _scalar_column(x, R)
            if len(_BY_OBJECT) > 4096:
                _BY_OBJECT.clear()
            _BY_OBJECT[id(x), R] = (x, column)
            return column
        if isinstance(x, np.ndarray):
            if x.shape == (R,) and x.dtype == np.float64 and x.flags.c_contiguous:
                return x
            return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (R,)))
        return _scalar_column(x, R)
    return col


def _scalar_column(x, R: int) -> np.ndarray:
    """The shared ``(R,)`` column of the number ``x``."""
    value = float(x)
    key = (R, value.hex())  # (the hex form tells -0.0 from 0.0)
    column = _COLUMNS.get(key)
    if column is None:
        if len(_COLUMNS) > 4096:
            _COLUMNS.clear()
        column = _COLUMNS[key] = np.full(R, value)
    return column


def _head(m) -> np.ndarray:
    """Department headcounts as a contiguous float64 ``(D, R)`` array (kept on the engine)."""
    head = getattr(m, "_head_full", None)
    if head is None or head.shape != (m.D, m.R):
        head = np.broadcast_to(np.asarray(m.st.head, dtype=np.float64), (m.D, m.R))
        head = m._head_full = np.ascontiguousarray(head)
    return head


def _function_head(m) -> np.ndarray:
    """Headcount of each function (an executive's departments together), ``(E, R)``, summed in department order.

    Kept on the engine: it is structure, the same every week.
    """
    fh = getattr(m, "_function_head", None)
    if fh is None or fh.shape != (m.E, m.R):
        head = _head(m)
        fh = np.zeros((m.E, m.R))
        for d, e in enumerate(m.st.dept_exec.tolist()):
            fh[e] += head[d]
        m._function_head = fh
    return fh


def _flags(mask, R: int) -> np.ndarray:
    """A result of :func:`_mask` as a ``(R,)`` bool array."""
    if mask is True or mask is False:
        return np.full(R, mask)
    return np.ascontiguousarray(mask, dtype=np.bool_)


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _adopters_total(adopters):
    """Adopters summed over departments per replication, ((0 + a[0]) + a[1]) + ... as :func:`agent_sum` does."""
    total = np.zeros(adopters.shape[1])
    for d in range(adopters.shape[0]):
        for r in range(adopters.shape[1]):
            total[r] += adopters[d, r]
    return total


def expressed_view(m) -> np.ndarray:
    """Expressed buy-in as colleagues see it now, ``(E, R)``.

    ``politics`` sets what each executive shows at the start of the week; true
    buy-in moves after that (influence, persuasion, results). An executive who is
    not playing along shows their current true buy-in; one who is shows at least
    the week's public pressure. Metrics and the Mesa agents read this view.
    """
    if not m.covert.any():
        return m.buy_in.copy()
    return np.where(m.covert, np.maximum(m.buy_in, m.pressure), m.buy_in)


def adoption_share(m) -> np.ndarray:
    """Headcount-weighted share of employees who have adopted, ``(R,)``."""
    if m.D == 0:
        return np.zeros(m.R)
    return _agent_sum(m.adopters) / m.st.total_headcount
