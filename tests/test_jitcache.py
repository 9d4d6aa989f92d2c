"""The numba cache of the kernels is emptied when a kernel module changes (cxsim._jitcache)."""

from __future__ import annotations

from pathlib import Path

import cxsim
from cxsim._jitcache import kernel_files, refresh

SUBMODELS = ("__init__.py", "_common.py", "employee_adoption.py", "journey.py")


def _package(tmp_path):
    for name in ("rng.py", "_ndtri.py", "_libm.py", "metrics.py", "engine.py"):
        (tmp_path / name).write_text(f"# {name}\n")
    (tmp_path / "submodels").mkdir()
    for name in SUBMODELS:
        (tmp_path / "submodels" / name).write_text(f"# submodels/{name}\n")
    for cache in (tmp_path / "__pycache__", tmp_path / "submodels" / "__pycache__"):
        cache.mkdir()
    return tmp_path / "__pycache__", tmp_path / "submodels" / "__pycache__"


def _fill(top, sub):
    for name in ("rng._binomial_hashed-2.py311.nbi", "metrics._record_kernel-257.py311.1.nbc"):
        (top / name).write_bytes(b"machine code")
    for name in ("employee_adoption._adoption_kernel-43.py311.nbi", "employee_adoption._adoption_kernel-43.py311.1.nbc",
                 "_common._adopters_total-120.py311.nbi"):
        (sub / name).write_bytes(b"machine code")
    (top / "rng.cpython-311.pyc").write_bytes(b"bytecode")
    (sub / "journey.cpython-311.pyc").write_bytes(b"bytecode")


def _cached(top, sub):
    return len(list(top.glob("*.nb?"))) + len(list(sub.glob("*.nb?")))


def test_cache_kept_while_sources_unchanged_and_emptied_when_one_changes(tmp_path):
    top, sub = _package(tmp_path)
    _fill(top, sub)
    assert refresh(tmp_path)  # no stamp yet: whatever is cached may be stale
    assert _cached(top, sub) == 0  # (both directories)
    assert (top / "rng.cpython-311.pyc").exists() and (sub / "journey.cpython-311.pyc").exists()  # (bytecode stays)
    _fill(top, sub)
    assert not refresh(tmp_path)  # same sources: the cache stays
    assert _cached(top, sub) == 5
    (tmp_path / "rng.py").write_text("# rng.py, edited\n")  # a callee changes, its callers' files do not
    assert refresh(tmp_path)
    assert _cached(top, sub) == 0  # the submodels' kernels, which inline the sampler, go too
    assert not refresh(tmp_path)
    _fill(top, sub)
    (tmp_path / "submodels" / "_common.py").write_text("# submodels/_common.py, edited\n")  # a shared helper
    assert refresh(tmp_path)
    assert _cached(top, sub) == 0
    _fill(top, sub)
    (tmp_path / "submodels" / "mandate.py").write_text("# a module the list never named\n")  # globbed, not listed
    assert refresh(tmp_path)
    assert _cached(top, sub) == 0
    _fill(top, sub)
    (tmp_path / "engine.py").write_text("# engine.py, edited (no kernels)\n")
    assert not refresh(tmp_path)
    assert _cached(top, sub) == 5


def test_moving_code_between_submodel_modules_changes_the_stamp(tmp_path):
    top, sub = _package(tmp_path)
    refresh(tmp_path)
    (tmp_path / "submodels" / "journey.py").write_text("")
    (tmp_path / "submodels" / "employee_adoption.py").write_text("# submodels/employee_adoption.py\n# submodels/journey.py\n")
    _fill(top, sub)
    assert refresh(tmp_path)  # (same bytes in the same order, in other files)


def test_missing_module_leaves_the_cache_alone(tmp_path):
    top, sub = _package(tmp_path)
    _fill(top, sub)
    (tmp_path / "metrics.py").unlink()
    assert not refresh(tmp_path)
    assert _cached(top, sub) == 5


def test_every_module_with_kernels_is_covered():
    """Each module of cxsim that defines a numba kernel is one whose change empties the cache."""
    package = Path(cxsim.__file__).resolve().parent
    with_kernels = {path for path in package.rglob("*.py") if "@numba.njit" in path.read_text()}
    assert {"rng.py", "_ndtri.py", "_libm.py", "metrics.py", "submodels/employee_adoption.py", "submodels/_common.py"} <= {
        path.relative_to(package).as_posix() for path in with_kernels}
    assert with_kernels <= set(kernel_files(package))


def test_a_cold_cache_is_filled_by_two_processes_with_a_message(tmp_path):
    """warm_up on a cold cache says so, has a second process compile the side rules, and leaves every kernel cached."""
    import os
    import subprocess
    import sys

    import pytest

    if (os.cpu_count() or 1) < 2:
        pytest.skip("the second compiling process runs only with two cores or more")
    probe = ("import cxsim\nfrom cxsim._jitcache import is_cold, warm_up\nassert is_cold()\n"
             "warm_up(cxsim.load_scenario('reference'), print)\nprint('cold after:', is_cold())\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "compiling cxsim's kernels" in out.stdout and "cold after: False" in out.stdout
    cached = {p.name.split("-")[0] for p in (tmp_path / "cache").rglob("*.nbi")}
    for kernel in ("employee_adoption._adoption_kernel", "journey._journey_kernel", "politics._politics_kernel",
                   "social_influence._influence_kernel", "metrics._record_kernel"):
        assert kernel in cached


def test_the_side_process_engine_runs_its_rules():
    """warm_up's second process (whose errors nobody sees) builds an engine without journey stages and runs its rules."""
    from cxsim._jitcache import _SIDE_RULES, compile_rules
    from cxsim.engine import SCHEDULE

    assert set(_SIDE_RULES) < {r.__name__ for r in SCHEDULE} and "journey" not in _SIDE_RULES
    compile_rules(cxsim.load_scenario("reference"), _SIDE_RULES, journey=False)
