"""The documentation stays in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from cxsim import docgen
from cxsim.engine import SCHEDULE

ROOT = Path(__file__).resolve().parent.parent


def test_odd_parameter_table_is_current():
    """docs/ODD.md's parameter table matches cxsim/params.py (regenerate with python -m cxsim.docgen)."""
    text = docgen.ODD.read_text()
    assert docgen.render(text) == text


def test_odd_submodel_headings_match_schedule():
    """Every submodel in the schedule has an ODD section 7 heading of the same name, in order."""
    text = (ROOT / "docs" / "ODD.md").read_text()
    headings = re.findall(r"^### (\w+)", text, flags=re.M)
    names = [f.__name__ for f in SCHEDULE]
    assert [h for h in headings if h in names] == names


def test_each_submodel_is_in_the_module_of_its_heading():
    """cxsim/submodels/ has one module per submodel, named as the function and its ODD heading."""
    assert [f.__module__ for f in SCHEDULE] == [f"cxsim.submodels.{f.__name__}" for f in SCHEDULE]


def test_readme_test_command_is_what_ci_runs():
    """.ci/run runs the README's test command verbatim: its Chromium part and its install-and-test part."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line for line in readme.splitlines() if line.endswith(".venv/bin/python -m pytest")]
    assert len(lines) == 1, "the README has one test command"
    chromium, tests = (part.strip() for part in lines[0].split(";", 1))
    assert chromium.startswith("apt-get update && ")  # a fresh machine has no package lists
    assert chromium in ci and tests in ci


def test_organization_format_tables_are_current():
    """docs/organization-format.md's field and column tables match cxsim/params.py and cxsim/orgchart.py."""
    text = docgen.ORG_FORMAT.read_text()
    assert docgen.render_org_format(text) == text


def test_organization_format_covers_every_field():
    """Every section, list field and spreadsheet column appears in docs/organization-format.md."""
    from cxsim.orgchart import COLUMNS
    from cxsim.params import LISTS, PARAMS

    text = docgen.ORG_FORMAT.read_text()
    for key in PARAMS:
        section, name = key.split(".", 1)
        assert f"`{name}`" in text and f"`[{section}]`" in text, key
    for lname, (fields, _) in LISTS.items():
        assert f"`[[{lname}]]`" in text
        for f in fields:
            assert f"`{f}`" in text, (lname, f)
    for col in COLUMNS:
        assert f"`{col}`" in text, col


def test_organization_format_example_is_a_valid_scenario(tmp_path):
    """The complete small example in docs/organization-format.md loads and validates."""
    from cxsim.scenario import load_scenario

    text = docgen.ORG_FORMAT.read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks, "the document has a ```toml example"
    path = tmp_path / "example.toml"
    path.write_text(blocks[0])
    sc = load_scenario(path)
    assert len(sc.executives) == 5 and len(sc.departments) == 6 and sc["owner.executive"] == "coo"
    assert sc.defaulted == []  # complete: nothing left at a default
