"""`cxsim study`: the governance factorial on one's own organization, its current governance as the baseline."""

from __future__ import annotations

import json

import pandas as pd

from cxsim.compare.study import governance_options, option_label
from cxsim.orgchart import TEMPLATE_DIR
from cxsim.scenario import load_scenario


def test_option_labels_are_words():
    """Options are named in words, the committee by its cadence."""
    assert option_label("budget", "active", True, 4) == "budget-holding owner, active CEO sponsor, monthly committee"
    assert option_label("advisory", "none", False, 4) == "advisory owner, no CEO sponsor, no committee"
    assert option_label("advisory", "passive", True, 6) == "advisory owner, passive CEO sponsor, committee every 6 weeks"


def test_current_governance_is_added_when_outside_the_factorial():
    """A passive sponsor today is a ninth option, first and the baseline; each option has its own description."""
    opts, baseline = governance_options(load_scenario("reference"))
    assert len(opts) == 9 and opts[0].name == baseline == "advisory owner, passive CEO sponsor, no committee"
    assert opts[0].description.startswith("Today's governance. The Chief Marketing Officer owns CX")
    assert len({o.description for o in opts}) == 9
    opts, baseline = governance_options(load_scenario("governance/budget-sponsor-committee"))
    assert len(opts) == 8 and baseline == "budget-holding owner, active CEO sponsor, monthly committee"
    assert sum(o.current for o in opts) == 1


def test_study_from_the_csv_template_and_from_new(run_cli, tmp_path):
    """Org chart -> scenario -> study -> report: labels in words, the current governance as baseline, the warning."""
    org = tmp_path / "acme.toml"
    assert run_cli("import", TEMPLATE_DIR / "org_chart.csv", "--name", "acme", "--out", org)[0] == 0
    out = tmp_path / "study"
    code, stdout, err = run_cli("study", org, "--reps", "4", "--ticks", "12", "--seed", "3", "--workers", "1",
                                "--quiet", "--out", out)
    assert code == 0, err
    assert "left at the model's defaults (the owner's mandate" in err  # the CLI's warning
    m = json.loads((out / "manifest.json").read_text())
    assert m["organization"] == "acme" and m["points"] == 9 and m["replications"] == 4 and m["ticks"] == 12
    assert any("the owner's mandate" in w for w in m["calibration_warnings"])
    points = pd.read_parquet(out / "points.parquet")
    assert points["name"].iloc[0] == "advisory owner, passive CEO sponsor, no committee"
    assert "budget-holding owner, active CEO sponsor, monthly committee" in set(points["name"])
    assert points["description"].nunique() == 9
    html = (out / "report.html").read_text()
    assert "Which CX governance gives acme the best odds?" in html
    assert ("Baseline: <strong>advisory owner, passive CEO sponsor, no committee</strong>, the organization's "
            "current governance") in html
    assert 'id="caution"' in html and "Read with care" in html
    assert "mandate=" not in html and "enabled=" not in html
    assert "The governance factorial" in html  # the eight factorial options are recognized beside the ninth
    # and from `cxsim new` flags, in range and fully stated: no warning box
    org2 = tmp_path / "new.toml"
    assert run_cli("new", "beta", "--employees", "600", "--executives", "CMO, Head of Sales, COO, CTO, CFO",
                   "--owner", "COO", "--mandate", "budget", "--sponsor", "active", "--committee-weeks", "4",
                   "--out", org2, "--yes")[0] == 0
    sc = load_scenario(org2)
    assert sc["owner.mandate"] == "budget" and run_cli("validate", org2)[0] == 0
    opts, baseline = governance_options(sc)  # (its study runs as above; the options are what differs)
    assert len(opts) == 8 and baseline == "budget-holding owner, active CEO sponsor, monthly committee"
    assert next(o for o in opts if o.current).description.startswith("Today's governance. The COO owns CX with")


def test_study_warns_outside_the_calibrated_range(run_cli, tmp_path):
    """An organization outside the calibrated range is named in one sentence per finding, before anything runs."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep").write_text("")  # the study stops at the existing results, after its warnings
    code, _, err = run_cli("study", "limits/bass", "--reps", "2", "--ticks", "2", "--out", tmp_path / "s")
    assert code == 2 and "already holds files" in err
    assert "warning: bass has 1 executive, below the calibrated range (5 to 12 executives)" in err
    assert "warning: bass has 1 journey stage, below the calibrated range (7 to 11 journey stages)" in err
    code, _, err = run_cli("validate", "limits/bass")
    assert code == 0 and err.count("warning: ") == 4 and all(line.endswith(".") for line in err.splitlines())


def test_study_never_writes_into_existing_results(run_cli, tmp_path):
    """--out that already holds files is refused in one line."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x").write_text("keep")
    code, _, err = run_cli("study", "reference", "--reps", "2", "--ticks", "2", "--out", tmp_path / "s")
    assert code == 2 and "already holds files" in err


def test_factorial_point_names_are_said_in_words_in_reports():
    """A factorial design's `key=value` names become words; other parts and scenario names stay as they are."""
    from cxsim.compare.analysis import display_name

    row = pd.Series({"owner.mandate": "budget", "sponsorship.level": "none", "committee.enabled": True,
                     "committee.cadence_weeks": 2, "organization.readiness_shift": 0.1})
    assert display_name("mandate=budget level=none enabled=true", row) == \
        "budget-holding owner, no CEO sponsor, fortnightly committee"
    assert display_name("mandate=advisory readiness_shift=0.1", row) == "advisory owner, readiness_shift=0.1"
    assert display_name("readiness_shift=0.1", row) == "readiness_shift=0.1"
    assert display_name("advisory-nosponsor-nocommittee", row) == "advisory-nosponsor-nocommittee"


def test_study_can_try_other_owners(run_cli, tmp_path):
    """--owner repeats the eight options with another executive owning CX; labels say who; a bad id is one line."""
    opts, baseline = governance_options(load_scenario("sizes/small"), ("coo",))
    assert len(opts) == 17 and baseline == "advisory owner (CMO), passive CEO sponsor, no committee"
    assert "budget-holding owner (COO), active CEO sponsor, monthly committee" in {o.name for o in opts}
    coo = next(o for o in opts if o.name.startswith("advisory owner (COO), no CEO"))
    assert coo.overrides["owner.executive"] == "coo" and coo.description.startswith("The Chief Operating Officer")
    code, _, err = run_cli("study", "sizes/small", "--owner", "chro", "--out", tmp_path / "s")
    assert code == 2 and err.count("\n") == 1 and "--owner = 'chro': no such executive in small; executives: ceo, cmo" in err
    assert not (tmp_path / "s").exists()
