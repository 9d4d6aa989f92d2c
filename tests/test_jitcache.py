"""The numba cache of the kernels is emptied when a kernel module changes (cxsim._jitcache)."""

from __future__ import annotations

from cxsim._jitcache import KERNEL_MODULES, refresh


def _package(tmp_path):
    for name in KERNEL_MODULES:
        (tmp_path / name).write_text(f"# {name}\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    return cache


def _fill(cache):
    for name in ("submodels._adoption_kernel-1.py311.nbi", "submodels._adoption_kernel-1.py311.1.nbc",
                 "rng._binomial_hashed-2.py311.nbi"):
        (cache / name).write_bytes(b"machine code")
    (cache / "submodels.cpython-311.pyc").write_bytes(b"bytecode")


def test_cache_kept_while_sources_unchanged_and_emptied_when_one_changes(tmp_path):
    cache = _package(tmp_path)
    _fill(cache)
    assert refresh(tmp_path)  # no stamp yet: whatever is cached may be stale
    assert not list(cache.glob("*.nb?"))
    assert (cache / "submodels.cpython-311.pyc").exists()  # (Python's own bytecode is left alone)
    _fill(cache)
    assert not refresh(tmp_path)  # same sources: the cache stays
    assert len(list(cache.glob("*.nb?"))) == 3
    (tmp_path / "rng.py").write_text("# rng.py, edited\n")  # a callee changes, its callers' files do not
    assert refresh(tmp_path)
    assert not list(cache.glob("*.nb?"))
    assert not refresh(tmp_path)


def test_missing_module_leaves_the_cache_alone(tmp_path):
    cache = _package(tmp_path)
    _fill(cache)
    (tmp_path / "metrics.py").unlink()
    assert not refresh(tmp_path)
    assert len(list(cache.glob("*.nb?"))) == 3
