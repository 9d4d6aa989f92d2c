"""Shared fixtures for the test suite: small synthetic organizations and a CLI runner."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest

from cxsim.scenario import scenario_from_dict

# A tiny organization: a CEO, an owner (cmo) and a jealous CFO; one front-office and
# one back-office department; two journey stages. Small enough to reason about by hand.
TINY = {
    "meta": {"name": "tiny"},
    "owner": {"executive": "cmo", "budget": 60.0, "initial_credibility": 0.5},
    "executives": [
        {"id": "ceo", "ceo": True, "influence": 1.0, "buy_in": 0.6, "jealousy": 0.0, "understanding": 0.4,
         "trust": 0.5},
        {"id": "cmo", "influence": 0.6, "buy_in": 0.9, "jealousy": 0.0, "understanding": 0.8, "trust": 1.0},
        {"id": "cfo", "influence": 0.7, "buy_in": 0.3, "jealousy": 0.6, "understanding": 0.3, "trust": 0.4},
    ],
    "departments": [
        {"id": "sales", "office": "front", "headcount": 400, "executive": "cmo", "skill": 0.5, "readiness": 0.5,
         "silo_strength": 0.4},
        {"id": "billing", "office": "back", "headcount": 100, "executive": "cfo", "skill": 0.2, "readiness": 0.5,
         "silo_strength": 0.4},
    ],
    "stages": [
        {"id": "buy", "departments": ["sales"]},
        {"id": "pay", "departments": ["billing"]},
    ],
    "influence": [
        {"listener": "cfo", "speaker": "ceo", "weight": 0.5},
        {"listener": "cmo", "speaker": "ceo", "weight": 0.2},
    ],
}


@pytest.fixture
def make_scenario():
    """Build a validated Scenario from the tiny organization plus dotted-key params."""

    def build(params: dict | None = None, **lists):
        data = copy.deepcopy(TINY)
        for key, value in (params or {}).items():
            section, name = key.split(".", 1)
            data.setdefault(section, {})[name] = value
        data.update(copy.deepcopy(lists))
        return scenario_from_dict(data, file="tiny.toml")

    return build


@pytest.fixture
def write_toml(tmp_path: Path):
    """Write dedented TOML text to a file under tmp_path and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def run_cli(capsys):
    """Call ``cxsim.cli.main(args)`` in-process; return (exit code, stdout, stderr)."""
    from cxsim.cli import main

    def run(*args: str):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:  # main() always ends with sys.exit
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
