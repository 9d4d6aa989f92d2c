"""Keep numba's on-disk cache of cxsim's compiled kernels in step with the source.

numba caches each compiled function next to its module (``cxsim/__pycache__/*.nbi``
and ``*.nbc``, ``cxsim/submodels/__pycache__/...`` for the submodels) and checks only
that module's own file for changes. A kernel in ``submodels/employee_adoption.py``
that calls the binomial sampler of ``rng.py`` carries a compiled copy of it, so after
a change to ``rng.py`` alone (a ``git pull`` in an editable install, say) numba would
load the old sampler with the unchanged kernel: different numbers for the same
version. :func:`refresh` stamps the cache with a digest of every module that defines
or calls kernels and empties the cache directories of all of them when the digest
changes, before any kernel is loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["refresh", "is_cold", "warm_up"]

# The modules whose kernels call each other (a change in any one can change the others' machine code), as
# patterns relative to the package: every module of the submodels package, whatever its modules are.
KERNEL_MODULES = ("rng.py", "_ndtri.py", "_libm.py", "metrics.py", "submodels/*.py")


def kernel_files(package_dir: Path) -> list[Path] | None:
    """The files of :data:`KERNEL_MODULES` under ``package_dir``, in a fixed order; None if a pattern matches none."""
    files = []
    for pattern in KERNEL_MODULES:
        found = sorted(Path(package_dir).glob(pattern))
        if not found:
            return None
        files += found
    return files


def refresh(package_dir: Path | None = None) -> bool:
    """Empty the package's numba caches if the kernel modules changed since they were filled; True if emptied.

    Silent where the cache directory cannot be written (numba then caches elsewhere,
    and an installed package's files change together).
    """
    here = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    cache = here / "__pycache__"
    files = kernel_files(here)
    if files is None:
        return False
    digest = hashlib.sha256()
    for path in files:
        try:
            source = path.read_bytes()
        except OSError:
            return False
        name = path.relative_to(here).as_posix().encode()
        digest.update(b"%d:%s%d:" % (len(name), name, len(source)))  # (a file's name and length, then its bytes)
        digest.update(source)
    stamp = cache / "cxsim-kernels.sha256"
    try:
        if stamp.read_text() == digest.hexdigest():
            return False
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for directory in sorted({cache} | {path.parent / "__pycache__" for path in files}):
            for path in directory.glob("*.nb[ic]"):
                path.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        return False
    return True


def is_cold(package_dir: Path | None = None) -> bool:
    """Whether the kernels still have to be compiled (none cached next to the package yet)."""
    import os

    index = "employee_adoption._adoption_kernel-*.nbi"
    elsewhere = os.environ.get("NUMBA_CACHE_DIR")  # (numba then caches there, in folders named after the sources)
    if elsewhere:
        return not any(Path(elsewhere).rglob(index))
    here = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    return not any((here / "submodels" / "__pycache__").glob(index))


# When the cache is cold, a second process compiles these rules' kernels (employee adoption with the
# binomial sampler it inlines, politics, attrition: about half the compile time) while this one
# compiles the others and the journey's, so a first run on two or more cores waits about half as long.
_SIDE_RULES = ("employee_adoption", "politics", "attrition")


def compile_rules(scenario, names, record: bool = False, journey: bool = True) -> None:
    """Compile (or load from the cache) the kernels of the schedule's rules named in ``names``.

    Runs each named rule once on a fresh engine of two replications (the numbers are
    thrown away; the kernels' argument types are those of every run), and with
    ``record`` the recorder's kernel too. Every engine computes its journey when it
    starts; with ``journey=False`` the engine has no journey stages, so that its start
    does not compile the journey's kernel (the other process of :func:`warm_up` does).
    """
    import dataclasses

    import numpy as np

    from .engine import SCHEDULE, Engine
    from .metrics import Recorder

    m = Engine(scenario if journey else dataclasses.replace(scenario, stages=[]), np.arange(2), 0)
    m.begin_week()
    for rule in SCHEDULE:
        if rule.__name__ in names:
            rule(m)
    if record:
        Recorder(m, 1, per_agent=True).record()


def warm_up(scenario, say=None) -> None:
    """Compile every kernel (or load it from the cache) with a two-week run of two replications of ``scenario``.

    Called before work whose progress a user watches (batch workers, the dashboard),
    so that the one-off compilation is not a silent stall. ``say`` gets a line to
    show when the kernels are not cached yet. A cold cache is filled by two processes
    at once where there are two cores or more (:data:`_SIDE_RULES`).
    """
    import os
    import subprocess
    import sys

    import numpy as np

    from .engine import SCHEDULE
    from .simulate import run_batch

    cold = is_cold()
    if say is not None and cold:
        say("compiling cxsim's kernels (once after an install or an update, about 10 s) ...")
    if cold and (os.cpu_count() or 1) > 1:
        side = subprocess.Popen(
            [sys.executable, "-c", "import sys, cxsim; from cxsim._jitcache import compile_rules; "
             "compile_rules(cxsim.load_scenario('reference'), sys.argv[1:], journey=False)", *_SIDE_RULES],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            compile_rules(scenario, [r.__name__ for r in SCHEDULE if r.__name__ not in _SIDE_RULES], record=True)
            side.wait()
        finally:
            if side.poll() is None:  # (an error or Ctrl-C here: the helper's work is not needed)
                side.kill()
                side.wait()
    # (loads what the second process compiled; compiles anything still missing, e.g. if it failed)
    run_batch(scenario, np.arange(2), 0, ticks=2, per_agent=True)
