"""Files in and out, safely: capped reads of regular files, atomic writes, no silent overwrites.

Every command that writes goes through these helpers, so each output either appears
complete (written to a temporary name beside it, then renamed: ``os.replace`` is
atomic) or not at all, and an existing file is replaced only with ``--force``.
Every input file goes through :func:`read_bytes`, so a named pipe, a device such as
``/dev/zero`` or a huge file is refused in one line instead of hanging or filling
memory.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import ResultsError

__all__ = ["MAX_INPUT_BYTES", "read_bytes", "atomic_write", "check_new_file", "check_new_files", "is_inside",
           "os_error_line", "naming", "check_parents"]

MAX_INPUT_BYTES = 16 * 2**20
"""Largest scenario or experiment file read (16 MiB; the shipped ones are a few KiB)."""


def read_bytes(path: str | Path, error: Callable[[str], Exception], limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; otherwise ``error(problem)`` is raised.

    Opens with ``O_NONBLOCK`` so that a named pipe cannot block the open, then checks the
    opened file (not the name, which could change in between) is a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error("file not found") from None
    except IsADirectoryError:
        raise error("is a directory, expected a .toml file") from None
    except OSError as exc:
        raise error(_strerror(exc)) from None
    except ValueError:  # a NUL byte in the name
        raise error("the file name contains a NUL byte") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error("is a directory, expected a .toml file")
        if not stat.S_ISREG(st.st_mode):
            raise error("not a regular file (a pipe, socket or device); expected a .toml file")
        if st.st_size > limit:
            raise error(f"is {st.st_size / 2**20:.1f} MiB; at most {limit // 2**20} MiB is read")
        chunks, total = [], 0
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            total += len(block)
            if total > limit:  # (the file grew while being read)
                raise error(f"is larger than {limit // 2**20} MiB; at most that is read")
            chunks.append(block)
        return b"".join(chunks)
    except OSError as exc:
        raise error(_strerror(exc)) from None
    finally:
        os.close(fd)


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower() if exc.errno is not None else str(exc)


def os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: the path and what went wrong (like git's ``fatal:`` lines)."""
    what = exc.strerror or type(exc).__name__
    if exc.filename is not None:
        where = _quote_path(exc.filename)
        if exc.filename2 is not None:
            where += f" -> {_quote_path(exc.filename2)}"
        return f"{where}: {what}"
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else what


def _quote_path(name) -> str:
    text = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= 200 else text[:100] + "..." + text[-60:]


def is_inside(path: str | Path, other: str | Path) -> bool:
    """Whether ``other`` is ``path`` or lies below it (after resolving symlinks)."""
    p, o = Path(path).resolve(), Path(other).resolve()
    return o == p or p in o.parents


def check_parents(path: str | Path, option: str = "--out") -> None:
    """Refuse a path below an existing file (``report.html/x``): one line naming that file."""
    for parent in Path(path).parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ResultsError(f"{parent}: is a file, so {path} cannot be created below it; choose another "
                                   f"{option}")
            return


def check_new_file(path: str | Path, force: bool, option: str = "--out") -> Path:
    """Refuse to replace an existing file without ``force``, and never replace a directory."""
    path = Path(path)
    check_parents(path, option)
    if path.is_dir():
        raise ResultsError(f"{path}: is a directory; {option} takes a file name")
    if path.exists() and not force:
        raise ResultsError(f"{path}: already exists; choose another {option} or pass --force to replace it")
    return path


def check_new_files(directory: str | Path, names, force: bool, option: str = "--out") -> Path:
    """Refuse a directory that is a file, or that holds any of ``names`` without ``force``."""
    directory = Path(directory)
    check_parents(directory, option)
    if directory.exists() and not directory.is_dir():
        raise ResultsError(f"{directory}: exists and is not a directory; choose another {option}")
    if directory.is_dir() and not force:
        clash = sorted(n for n in names if (directory / n).exists())
        if clash:
            more = f" (and {len(clash) - 1} more)" if len(clash) > 1 else ""
            raise ResultsError(f"{directory / clash[0]}: already exists{more}; choose another {option} or pass "
                               "--force to replace")
    return directory


@contextmanager
def atomic_write(path: str | Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed onto ``path``.

    On any failure (full disk, Ctrl-C, an exception while writing) the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with naming(path):
            yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def naming(path: str | Path) -> Iterator[None]:
    """Give an ``OSError`` raised without a file name (pyarrow's, for one) the ``path`` being written."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        errno = exc.errno
        text = os.strerror(errno) if errno else (str(exc).strip().splitlines() or ["input/output error"])[0]
        raise OSError(errno, text, str(path)) from exc
