"""The code follows the project's style: ruff with the Google docstring convention (pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str] | None:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    return [found] if found else None


def test_ruff_is_clean():
    """`ruff check cxsim tests benchmarks` reports nothing (docstrings, imports, line length)."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the `test` extra: pip install -e '.[test]')")
    out = subprocess.run([*ruff, "check", "cxsim", "tests", "benchmarks", "--output-format", "concise"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
