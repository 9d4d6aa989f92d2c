"""Every error a user can cause, under one base class.

The CLI turns any :class:`CXSimError` into one line on stderr and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CXSimError",
    "ScenarioError",
    "ExperimentError",
    "ResultsError",
    "OrgChartError",
    "printable",
]


MAX_SHOWN = 60
"""Longest echoed value in a message (longer ones are cut, with '...')."""


def printable(text: str, limit: int | None = None) -> str:
    r"""``text`` with every control or format character escaped as Python does (``\x1b``, ``\n``, ``\u202e``).

    Like git's quoting of paths: an id or a file name can never clear the screen, retitle
    the terminal, reorder text or break a message onto two lines. With ``limit``, the
    result is cut to that many characters (ending in ``...``).
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if limit is not None and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def _show(value: Any) -> str:
    text = repr(value)
    return printable(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "...")


class CXSimError(Exception):
    """Base class of errors caused by user input; the message is one line."""

    exit_code = 2

    def __str__(self) -> str:
        # Every message is one printable line, whatever ids or paths it echoes.
        return printable(super().__str__(), 2000)


class ScenarioError(CXSimError):
    """A scenario file (or an override) is invalid.

    Args:
        file: the file the bad value came from ("--set" for command-line overrides).
        key: dotted key path of the bad value (may be empty for whole-file problems).
        problem: what is wrong and what is allowed.
        value: the offending value, shown when given.
    """

    _NO_VALUE = object()

    def __init__(self, file: str, key: str, problem: str, value: Any = _NO_VALUE):
        self.file, self.key, self.problem = str(file), key, problem
        self.value = None if value is self._NO_VALUE else value
        where = f"{self.file}: {key}" if key else self.file
        shown = "" if value is self._NO_VALUE else f" = {_show(value)}"
        super().__init__(f"{where}{shown}: {problem}")


class ExperimentError(ScenarioError):
    """An experiment file is invalid (same one-line shape as scenario errors)."""


class ResultsError(CXSimError):
    """A results directory is missing, incomplete, or would be overwritten."""


class OrgChartError(CXSimError):
    """An org chart spreadsheet (``cxsim import``) or a ``cxsim new`` answer is invalid.

    Args:
        file: the spreadsheet (or ``cxsim new``).
        where: ``row 4, column headcount`` or ``--owner``; empty for whole-file problems.
        problem: what is wrong and what is allowed.
        value: the offending value, shown when given.
    """

    _NO_VALUE = object()

    def __init__(self, file: str, where: str, problem: str, value: Any = _NO_VALUE):
        self.file, self.where, self.problem = str(file), where, problem
        place = f"{self.file}: {where}" if where else self.file
        shown = "" if value is self._NO_VALUE else f" = {_show(value)}"
        super().__init__(f"{place}{shown}: {problem}")
