"""Keep numba's on-disk cache of cxsim's compiled kernels in step with the source.

numba caches each compiled function next to its module (``cxsim/__pycache__/*.nbi``
and ``*.nbc``) and checks only that module's own file for changes. A kernel in
``submodels.py`` that calls the binomial sampler of ``rng.py`` carries a compiled copy
of it, so after a change to ``rng.py`` alone (a ``git pull`` in an editable install,
say) numba would load the old sampler with the unchanged kernel: different numbers
for the same version. :func:`refresh` stamps the cache with a digest of every module
that defines or calls kernels and empties it when the digest changes, before any
kernel is loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["refresh", "is_cold", "warm_up"]

# The modules whose kernels call each other (a change in any one can change the others' machine code).
KERNEL_MODULES = ("rng.py", "_ndtri.py", "submodels.py", "metrics.py")


def refresh(package_dir: Path | None = None) -> bool:
    """Empty the package's numba cache if the kernel modules changed since it was filled; True if emptied.

    Silent where the cache directory cannot be written (numba then caches elsewhere,
    and an installed package's files change together).
    """
    here = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    cache = here / "__pycache__"
    digest = hashlib.sha256()
    for name in KERNEL_MODULES:
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            return False
    stamp = cache / "cxsim-kernels.sha256"
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for path in cache.glob("*.nb[ic]"):
            path.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        return False
    return True


def is_cold(package_dir: Path | None = None) -> bool:
    """Whether the kernels still have to be compiled (none cached next to the package yet)."""
    here = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    return not any((here / "__pycache__").glob("submodels._adoption_kernel-*.nbi"))


def warm_up(scenario, say=None) -> None:
    """Compile every kernel (or load it from the cache) with a two-week run of two replications of ``scenario``.

    Called before work whose progress a user watches (batch workers, the dashboard),
    so that the one-off compilation is not a silent stall. ``say`` gets a line to
    show when the kernels are not cached yet.
    """
    import numpy as np

    from .simulate import run_batch

    if say is not None and is_cold():
        say("compiling cxsim's kernels (once after an install or an update, about 20 s) ...")
    run_batch(scenario, np.arange(2), 0, ticks=2, per_agent=True)
