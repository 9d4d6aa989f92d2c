"""The browser assets Solara's page loads, made available offline.

Solara's server proxies a few npm packages (the Vuetify app bundle, RequireJS,
Font Awesome) from a public CDN and caches them in
``solara.server.settings.assets.proxy_cache_dir``. A workshop room often has poor
internet, and some machines reach only package registries; so before serving we
make sure those packages are in the cache, fetching any missing one with npm's
ordinary client (``npm pack``), which only needs the npm registry.

Run ``python -m cxsim.dashboard.assets`` once (CI does) to prepare a machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["required_packages", "missing_packages", "ensure_assets", "cache_dir"]


def cache_dir() -> Path:
    """Where Solara's CDN proxy looks for cached packages."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def required_packages() -> list[str]:
    """``name@version`` of every npm package the page template loads, read from Solara itself.

    Reading the template (rather than hard-coding versions) keeps this right when
    Solara is upgraded.
    """
    import solara.server

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    text = template.read_text(encoding="utf-8")
    found = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+)/", text)
    names = list(dict.fromkeys(found))
    if "font-awesome@4.5.0" not in names:  # loaded through settings.assets.fontawesome_path
        names.append("font-awesome@4.5.0")
    return names


def missing_packages(root: Path | None = None) -> list[str]:
    """The required packages not yet in the cache."""
    root = cache_dir() if root is None else root
    return [p for p in required_packages() if not (root / p / "package.json").exists()]


def ensure_assets(quiet: bool = False) -> list[str]:
    """Fetch missing packages into Solara's cache with ``npm pack``; returns what is still missing.

    Never raises: if npm is missing or the registry is unreachable, the Solara proxy
    may still fetch from the CDN at page load (a machine with internet needs nothing).
    """
    root = cache_dir()
    missing = missing_packages(root)
    if not missing:
        return []
    npm = shutil.which("npm")
    if npm is None:
        if not quiet:
            print("cxsim dashboard: npm not found; browser assets will be fetched from the CDN at page load "
                  "(offline machines: install npm, or run `python -m cxsim.dashboard.assets`)", file=sys.stderr)
        return missing
    if not quiet:
        print(f"cxsim dashboard: fetching browser assets once ({', '.join(missing)}) into {root}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([npm, "pack", "--silent", *missing], cwd=tmp, check=True, timeout=300,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (subprocess.SubprocessError, OSError) as exc:
            if not quiet:
                print(f"cxsim dashboard: npm pack failed ({exc}); assets will be fetched at page load", file=sys.stderr)
            return missing
        for spec in missing:
            name, version = spec.rsplit("@", 1)
            tgz = Path(tmp) / (name.lstrip("@").replace("/", "-") + f"-{version}.tgz")
            if not tgz.exists():
                continue
            dest = root / spec
            staging = Path(tmp) / "x" / spec
            staging.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz) as tar:
                tar.extractall(staging, filter="data")
            # npm tarballs hold everything under "package/"; the CDN serves it at the root
            inner = staging / "package"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(inner), str(dest))
    return missing_packages(root)


if __name__ == "__main__":
    left = ensure_assets()
    if left:
        print("still missing: " + ", ".join(left), file=sys.stderr)
        sys.exit(1)
    print(f"browser assets ready in {cache_dir()}")
