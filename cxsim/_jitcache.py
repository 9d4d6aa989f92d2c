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

__all__ = ["refresh"]

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
