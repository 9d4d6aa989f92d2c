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


# Modules allowed to use BLAS/LAPACK: their results are documented as not bit-identical across machines.
BLAS_ALLOWED = {"cxsim/batch/analyze.py"}
BLAS_NAMES = {"dot", "matmul", "einsum", "inner", "vdot", "tensordot", "multi_dot", "linalg", "lstsq"}


def test_nothing_promised_bit_identical_goes_through_blas():
    """No `@`, np.dot, matmul, einsum or np.linalg in the package outside the documented exceptions.

    BLAS kernels pick their blocking and SIMD width by processor, so their sums round differently on
    different machines; results promised bit-identical must sum in a fixed order instead
    (e.g. cxsim.compare.effects.fixed_order_dot).
    """
    import ast

    found = []
    for path in sorted((ROOT / "cxsim").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in BLAS_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.MatMult):
                found.append(f"{rel}:{node.lineno}: @")
            elif isinstance(node, ast.Attribute) and node.attr in BLAS_NAMES:
                found.append(f"{rel}:{node.lineno}: .{node.attr}")
    assert not found, "BLAS in code promised bit-identical:\n" + "\n".join(found)
