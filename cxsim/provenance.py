"""Provenance for manifests: package versions, git commit, the command line."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["package_versions", "git_commit", "now_iso", "command_line"]

_PACKAGES = ("cxsim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "SALib")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that can change results."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the cxsim source tree, when it is a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def now_iso() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def command_line() -> str:
    """This process's command line as a shell-quoted ``cxsim ...`` string."""
    import shlex

    return " ".join(shlex.quote(a) for a in ["cxsim", *sys.argv[1:]])
