"""Tune glibc's allocator for processes that simulate batch after batch (cxsim's CLI and batch workers).

A batch of replications records its metrics into arrays of tens of megabytes (about
120 MB for 4,000 replications of the reference with per-agent data), written one week
at a time, and frees them when its tables are made. With glibc's default, adaptive
thresholds the freed memory at the top of the heap is soon above the trim threshold
(at most 64 MiB) and goes back to the system, so the next batch's arrays are faulted in
again, page by page, while the kernels write them: a sixth of a replication's cost.
Dask's nanny makes it worse: it starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``,
which also switches the adaptive mmap threshold off, so every temporary array above
128 KiB, which a week of a batch makes by the dozen, is mapped and unmapped again (a
task took 1.7 s of CPU on a Dask worker against 0.9 s on the local pool).

:func:`tune` fixes the mmap threshold at glibc's ceiling (32 MiB: arrays up to that
size come from the heap and are reused) and the trim threshold at 256 MiB (the heap keeps
up to that much freed memory for the next batch). A process's resident memory then
stays near its peak between batches instead of falling and rising again. Linux (glibc)
only; elsewhere nothing. Library users calling :func:`cxsim.simulate.run_batch` keep
their own allocator settings unless they call :func:`tune` themselves.
"""

from __future__ import annotations

import sys

__all__ = ["tune"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_tuned = False


def tune() -> bool:
    """Set the thresholds above, once per process; True if glibc took them."""
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        _tuned = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # (not glibc: musl has no mallopt)
        return False
    return _tuned
