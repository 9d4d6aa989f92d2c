"""Scenario files: loading, extends merging, overrides, and one test per kind of user error."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import pytest

import cxsim
from cxsim.errors import ScenarioError
from cxsim.params import PARAMS
from cxsim.scenario import SCENARIO_DIR, load_scenario, scenario_from_dict, shipped_scenarios

SHIPPED = sorted(str(p.relative_to(SCENARIO_DIR).with_suffix("")) for p in SCENARIO_DIR.rglob("*.toml"))

# A valid minimal organization. The owner defaults to "cmo", so there is no [owner] table
# and each error case can add the one table it needs.
EXECS = """
[[executives]]
id = "ceo"
ceo = true
[[executives]]
id = "cmo"
"""
DEPTS = """
[[departments]]
id = "sales"
executive = "cmo"
headcount = 100
[[departments]]
id = "billing"
office = "back"
executive = "ceo"
headcount = 100
"""
STAGES = """
[[stages]]
id = "buy"
departments = ["sales"]
[[stages]]
id = "pay"
departments = ["billing"]
"""
INFLUENCE = """
[[influence]]
listener = "cmo"
speaker = "ceo"
weight = 0.5
"""


def mini(head: str = "", execs: str = EXECS, depts: str = DEPTS, stages: str = STAGES,
         influence: str = INFLUENCE) -> str:
    """TOML text of the minimal organization with ``head`` (tables) in front."""
    return "\n".join([head, execs, depts, stages, influence])


# Each case: files to write (name -> text), the file to load, and fragments the one-line
# message must contain: the file name, the key path, the bad value, and what is allowed.
ERROR_CASES = {
    "unknown_key": (
        {"s.toml": mini("[committee]\ncadense_weeks = 2\n")}, "s.toml",
        ["s.toml", "committee.cadense_weeks", "unknown key", "did you mean 'cadence_weeks'", "allowed in [committee]"],
    ),
    "unknown_section": (
        {"s.toml": mini("[comittee]\nenabled = true\n")}, "s.toml",
        ["s.toml", "comittee", "unknown section", "did you mean 'committee'", "allowed:"],
    ),
    "wrong_type": (
        {"s.toml": mini('[committee]\ncadence_weeks = "four"\n')}, "s.toml",
        ["s.toml", "committee.cadence_weeks", "'four'", "an integer in [1, 520]"],
    ),
    "wrong_type_bool": (
        {"s.toml": mini("[committee]\nenabled = 1\n")}, "s.toml",
        ["s.toml", "committee.enabled", "= 1", "true or false"],
    ),
    "out_of_range": (
        {"s.toml": mini("[committee]\nconvergence = 1.5\n")}, "s.toml",
        ["s.toml", "committee.convergence", "1.5", "a number in [0, 1]"],
    ),
    "out_of_range_field": (
        {"s.toml": mini(depts=DEPTS.replace('executive = "cmo"\nheadcount = 100', 'executive = "cmo"\nheadcount = 0'))}, "s.toml",
        ["s.toml", "departments.sales.headcount", "= 0", "an integer in [1, 1e+07]"],
    ),
    "bad_choice": (
        {"s.toml": mini('[owner]\nmandate = "budgte"\n')}, "s.toml",
        ["s.toml", "owner.mandate", "'budgte'", "one of 'advisory', 'budget'", "did you mean 'budget'"],
    ),
    "unknown_list_field": (
        {"s.toml": mini(execs=EXECS.replace('id = "cmo"', 'id = "cmo"\njealosy = 0.2'))}, "s.toml",
        ["s.toml", "executives.cmo.jealosy", "unknown field", "did you mean 'jealousy'"],
    ),
    "department_executive_missing": (
        {"s.toml": mini(depts=DEPTS.replace('executive = "cmo"', 'executive = "cfo"'))}, "s.toml",
        ["s.toml", "departments.sales.executive", "'cfo'", "no such executive", "ids: ceo, cmo"],
    ),
    "stage_department_missing": (
        {"s.toml": mini(stages=STAGES.replace('["sales"]', '["sale"]'))}, "s.toml",
        ["s.toml", "stages.buy.departments", "'sale'", "no such department", "did you mean 'sales'"],
    ),
    "influence_listener_missing": (
        {"s.toml": mini(influence=INFLUENCE.replace('listener = "cmo"', 'listener = "cfo"'))}, "s.toml",
        ["s.toml", "influence[0].listener", "'cfo'", "no such executive", "ids: ceo, cmo"],
    ),
    "influence_speaker_missing": (
        {"s.toml": mini(influence=INFLUENCE.replace('speaker = "ceo"', 'speaker = "ce0"'))}, "s.toml",
        ["s.toml", "influence[0].speaker", "'ce0'", "no such executive", "did you mean 'ceo'"],
    ),
    "owner_executive_missing": (
        {"s.toml": mini('[owner]\nexecutive = "cxo"\n')}, "s.toml",
        ["s.toml", "owner.executive", "'cxo'", "no such executive", "ids: ceo, cmo"],
    ),
    "extends_cycle": (
        {"a.toml": 'extends = "b.toml"\n' + mini(), "b.toml": 'extends = "a.toml"\n'}, "a.toml",
        ["a.toml", "extends", "extends cycle", "b.toml"],
    ),
    "extends_missing_file": (
        {"s.toml": 'extends = "nope.toml"\n' + mini()}, "s.toml",
        ["s.toml", "extends", "'nope.toml'", "file not found"],
    ),
    "influence_not_normalizable": (
        {"s.toml": mini("[social_influence]\nself_weight = 0.0\n")}, "s.toml",
        ["s.toml", "influence (listener 'ceo')", "cannot be row-normalized", "self_weight > 0"],
    ),
    "influence_row_sum_not_finite": (
        {"s.toml": mini(influence=INFLUENCE.replace("weight = 0.5", "weight = 1e308") + INFLUENCE.replace(
            'speaker = "ceo"', 'speaker = "cmo"').replace("weight = 0.5", "weight = 1e308"))}, "s.toml",
        ["s.toml", "influence (listener 'cmo')", "sum to infinity", "must be finite"],
    ),
    "two_ceos": (
        {"s.toml": mini(execs=EXECS.replace('id = "cmo"', 'id = "cmo"\nceo = true'))}, "s.toml",
        ["s.toml", "executives", "exactly one executive must have ceo = true", "found 2"],
    ),
    "no_ceo": (
        {"s.toml": mini(execs=EXECS.replace("ceo = true", ""))}, "s.toml",
        ["s.toml", "executives", "exactly one executive must have ceo = true", "found 0"],
    ),
    "not_toml": (
        {"s.toml": "this is = = not toml\n"}, "s.toml",
        ["s.toml", "not valid TOML"],
    ),
    "missing_required_field": (
        {"s.toml": mini(depts=DEPTS.replace('executive = "ceo"', ""))}, "s.toml",
        ["s.toml", "departments.billing.executive", "missing"],
    ),
}


def _write_case(write_toml, files):
    for name, text in files.items():
        write_toml(name, text)


def _check_message(msg: str, fragments) -> None:
    assert "\n" not in msg, "error messages are one line"
    for frag in fragments:
        assert frag in msg, f"{frag!r} missing from {msg!r}"


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_scenario_error_message(case, write_toml, tmp_path):
    """Each kind of bad scenario gives one line naming file, key path, bad value and what is allowed."""
    files, main, fragments = ERROR_CASES[case]
    _write_case(write_toml, files)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / main)
    _check_message(str(info.value), fragments)


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_cli_validate_and_run_exit_2_without_traceback(case, write_toml, tmp_path, run_cli):
    """`cxsim validate FILE` and `cxsim run FILE` print one error line and exit with code 2."""
    files, main, fragments = ERROR_CASES[case]
    _write_case(write_toml, files)
    out_dir = tmp_path / "out"
    for args in (["validate", tmp_path / main],
                 ["run", tmp_path / main, "--reps", "2", "--ticks", "2", "--out", out_dir, "--quiet"]):
        code, out, err = run_cli(*args)
        assert code == 2
        assert "Traceback" not in out + err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        _check_message(lines[0], fragments[:2])
    assert not out_dir.exists()


def test_missing_file(tmp_path, run_cli):
    """A missing scenario file is reported in one line with exit code 2."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    _check_message(str(info.value), ["nope.toml", "file not found"])
    code, _, err = run_cli("validate", missing)
    assert code == 2 and "nope.toml" in err and "Traceback" not in err


def test_misspelled_shipped_name_suggests_the_right_one(run_cli):
    """A typo in a shipped scenario name suggests the closest shipped name."""
    with pytest.raises(ScenarioError) as info:
        load_scenario("referense")
    _check_message(str(info.value), ["referense", "file not found", "did you mean 'reference'"])
    code, _, err = run_cli("run", "referense", "--reps", "1")
    assert code == 2 and "did you mean 'reference'" in err


def test_directory_instead_of_file(tmp_path):
    """Passing a directory gives a one-line error, not a traceback."""
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "dir.toml")
    _check_message(str(info.value), ["dir.toml"])


@pytest.mark.parametrize("which", ["executives", "departments", "influence"])
def test_duplicate_id_in_file(which, write_toml, tmp_path):
    """Two items with the same id in one file are reported as a duplicate."""
    if which == "executives":
        text = mini(execs=EXECS + '[[executives]]\nid = "cmo"\nbuy_in = 0.2\n')
        fragments = ["executives", "duplicate", "cmo"]
    elif which == "departments":
        text = mini(depts=DEPTS + '[[departments]]\nid = "sales"\nexecutive = "ceo"\n')
        fragments = ["departments", "duplicate", "sales"]
    else:
        text = mini(influence=INFLUENCE * 2)
        fragments = ["influence", "duplicate"]
    path = write_toml("dup.toml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    _check_message(str(info.value), ["dup.toml", *fragments])


def test_duplicate_id_in_data_is_reported():
    """scenario_from_dict reports duplicate executive ids with the id and the file."""
    data = {"executives": [{"id": "ceo", "ceo": True}, {"id": "ceo"}], "owner": {"executive": "ceo"}}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, file="x.toml")
    _check_message(str(info.value), ["x.toml", "executives.ceo", "'ceo'", "duplicate id"])


# -- overrides (--set) -----------------------------------------------------------------------

SET_ERRORS = {
    "no_equals": (["committee.cadence_weeks"], ["--set", "committee.cadence_weeks", "expected KEY=VALUE"]),
    "unknown_key": (["committee.cadense_weeks=2"],
                    ["--set", "committee.cadense_weeks", "unknown parameter",
                     "did you mean 'committee.cadence_weeks'"]),
    "bad_value": (["committee.cadence_weeks=0"], ["--set", "committee.cadence_weeks", "= 0", "an integer in [1, 520]"]),
    "bad_type": (["committee.enabled=maybe"], ["--set", "committee.enabled", "'maybe'", "true or false"]),
    "bad_choice": (["sponsorship.level=activ"], ["--set", "sponsorship.level", "'activ'", "did you mean 'active'"]),
    "unknown_executive": (["executives.cxo.jealousy=0.5"],
                          ["--set", "executives.cxo.jealousy", "no executive with id 'cxo'"]),
    "unknown_field": (["executives.cfo.jealosy=0.5"], ["--set", "executives.cfo.jealosy", "did you mean 'jealousy'"]),
    "bad_field_value": (["executives.cfo.jealousy=2"],
                        ["--set", "executives.cfo.jealousy", "= 2", "a number in [0, 1]"]),
    "owner_not_executive": (["owner.executive=nobody"], ["--set", "owner.executive", "'nobody'", "no such executive"]),
}


@pytest.mark.parametrize("case", sorted(SET_ERRORS))
def test_bad_override(case, run_cli):
    """A bad --set gives one line naming --set, the key, the value and what is allowed; exit 2."""
    items, fragments = SET_ERRORS[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario("reference", items)
    _check_message(str(info.value), fragments)
    with pytest.raises(ScenarioError):
        load_scenario("reference").with_overrides(items)
    code, out, err = run_cli("validate", "reference", "--set", items[0])
    assert code == 2 and "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_override_executive_field():
    """--set executives.cfo.jealousy=0.6 changes only that field, as text, dict or with_overrides."""
    ref = load_scenario("reference")
    for sc in (load_scenario("reference", ["executives.cfo.jealousy=0.6"]),
               load_scenario("reference", {"executives.cfo.jealousy": 0.6}),
               ref.with_overrides(["executives.cfo.jealousy=0.6"])):
        cfo = next(e for e in sc.executives if e["id"] == "cfo")
        assert cfo["jealousy"] == 0.6
        assert sc.params == ref.params
        others = [e for e in sc.executives if e["id"] != "cfo"]
        assert others == [e for e in ref.executives if e["id"] != "cfo"]
    assert ref.with_overrides({"executives.cfo.jealousy": 0.6}).overrides == {"executives.cfo.jealousy": 0.6}


def test_override_values_are_typed():
    """Override text is read as TOML: numbers, booleans and bare strings get the declared types."""
    sc = load_scenario("reference", ["committee.enabled=true", "committee.cadence_weeks=2",
                                     "owner.mandate=budget", "owner.budget=80"])
    assert sc["committee.enabled"] is True
    assert sc["committee.cadence_weeks"] == 2 and isinstance(sc["committee.cadence_weeks"], int)
    assert sc["owner.mandate"] == "budget"
    assert sc["owner.budget"] == 80.0 and isinstance(sc["owner.budget"], float)


def test_cli_validate_accepts_executive_override(run_cli):
    """`cxsim validate reference --set executives.cfo.jealousy=0.6` succeeds."""
    code, out, _ = run_cli("validate", "reference", "--set", "executives.cfo.jealousy=0.6")
    assert code == 0 and "ok" in out


# -- extends and shipped scenarios --------------------------------------------------------------

def test_governance_file_changes_only_what_it_overrides():
    """A governance file differs from reference.toml only in the keys it sets."""
    ref = load_scenario("reference")
    gov = load_scenario("governance/budget-sponsor-committee")
    raw = tomllib.loads((SCENARIO_DIR / "governance/budget-sponsor-committee.toml").read_text())
    set_here = {f"{sec}.{k}" for sec, table in raw.items() if isinstance(table, dict) for k in table}
    changed = {k for k in PARAMS if gov[k] != ref[k]}
    assert changed and changed <= set_here
    assert gov["owner.mandate"] == "budget" and gov["sponsorship.level"] == "active"
    assert gov["committee.enabled"] is True
    assert (gov.executives, gov.departments, gov.stages, gov.influence) == (
        ref.executives, ref.departments, ref.stages, ref.influence)


def test_extends_merges_list_items_by_id(write_toml):
    """An extending file updates an executive by id, keeps its other fields, and appends new ids."""
    ref = load_scenario("reference")
    path = write_toml("child.toml", f"""\
        extends = "{(SCENARIO_DIR / 'reference.toml').as_posix()}"
        [committee]
        enabled = true
        [[executives]]
        id = "cfo"
        jealousy = 0.9
        [[executives]]
        id = "cco"
        title = "Chief Customer Officer"
        """)
    sc = load_scenario(path)
    ids = [e["id"] for e in sc.executives]
    assert ids == [e["id"] for e in ref.executives] + ["cco"]
    cfo_ref = next(e for e in ref.executives if e["id"] == "cfo")
    cfo = next(e for e in sc.executives if e["id"] == "cfo")
    assert cfo == {**cfo_ref, "jealousy": 0.9}
    assert sc["committee.enabled"] is True
    assert sc["committee.cadence_weeks"] == ref["committee.cadence_weeks"]
    assert sc.name == "reference"  # meta.name inherited from the parent file


def test_extends_error_names_the_file_that_set_the_value(write_toml, tmp_path):
    """A bad value set in a parent file is reported against the parent, not the child."""
    write_toml("parent.toml", mini("[committee]\nconvergence = 3.0\n"))
    child = write_toml("child.toml", 'extends = "parent.toml"\n[committee]\nenabled = true\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    msg = str(info.value)
    assert "parent.toml" in msg and "committee.convergence" in msg


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_and_round_trip(name):
    """Every shipped scenario loads by name and its to_dict loads back to the same scenario."""
    sc = load_scenario(name)
    assert isinstance(sc, cxsim.Scenario)
    assert sc.description
    assert set(sc.params) == set(PARAMS)
    again = scenario_from_dict(sc.to_dict(), default_name=sc.name)
    assert again.params == sc.params
    assert (again.executives, again.departments, again.stages, again.influence) == (
        sc.executives, sc.departments, sc.stages, sc.influence)
    assert again.fingerprint() == sc.fingerprint()


def test_shipped_names_match_files():
    """shipped_scenarios() lists exactly the .toml files in scenarios/, including the limits."""
    assert shipped_scenarios() == SHIPPED
    assert {"reference", "limits/bass", "limits/degroot"} <= set(SHIPPED)
    assert len([s for s in SHIPPED if s.startswith("governance/")]) == 8


def test_fingerprint_changes_with_overrides():
    """The fingerprint identifies the resolved scenario: an override changes it, a reload does not."""
    a, b = load_scenario("reference"), load_scenario("reference")
    assert a.fingerprint() == b.fingerprint()
    assert a.with_overrides({"committee.cadence_weeks": 2}).fingerprint() != a.fingerprint()


def test_defaults_fill_missing_parameters(write_toml):
    """Parameters a file does not set take their documented defaults."""
    sc = load_scenario(write_toml("s.toml", mini()))
    for key, p in PARAMS.items():
        if key not in ("meta.name",):
            assert sc[key] == p.default, key
    assert sc.name == "s"  # name defaults to the file's stem
    dept = sc.departments[0]
    assert dept["readiness"] == 0.5 and dept["office"] == "front"


def test_with_overrides_does_not_mutate_original():
    """with_overrides returns a new scenario and leaves the original untouched."""
    ref = load_scenario("reference")
    before = copy.deepcopy(ref.to_dict())
    ref.with_overrides({"executives.cfo.jealousy": 0.6, "committee.enabled": True})
    assert ref.to_dict() == before


def test_ticks_property():
    """Scenario.ticks reads run.ticks as an int."""
    assert load_scenario("limits/bass").ticks == 40
    assert load_scenario("reference", {"run.ticks": 52}).ticks == 52


def test_paths_and_names(tmp_path):
    """load_scenario accepts a Path, a str path and a shipped name for the same file."""
    path = SCENARIO_DIR / "reference.toml"
    assert load_scenario(path).params == load_scenario(str(path)).params == load_scenario("reference").params
    assert Path(load_scenario("reference").path).name == "reference.toml"


def test_messages_quote_control_characters_and_cut_long_values(write_toml, tmp_path, run_cli):
    """Ids with escape sequences are quoted (never raw) and long ids and id lists are cut; still one line."""
    evil = "x\x1b]0;pwned\x07\x1b[2J\u202e"
    execs = EXECS.replace('id = "cmo"', 'id = "cmo"') + "".join(
        f'[[executives]]\nid = "{"e" * 80}{i}"\n' for i in range(30))
    path = write_toml("s.toml", mini(f"[owner]\nexecutive = {json.dumps(evil)}\n", execs=execs))
    code, out, err = run_cli("validate", path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "\\x1b]0;pwned\\x07" in err and "more)" in err and len(err) < 2100
    code, out, err = run_cli("run", path, "--set", f"meta.name={evil}", "--reps", "1", "--ticks", "1",
                             "--out", tmp_path / "o")
    assert "\x1b" not in out + err


def test_set_problems_name_the_key_and_blame_the_command_line(write_toml, run_cli):
    """`--set =5`, a key without a field, and a bad reference made by --set name the problem and blame --set."""
    code, _, err = run_cli("validate", "reference", "--set", "=5")
    assert code == 2 and "--set: '=5' has no key before '='" in err
    code, _, err = run_cli("validate", "reference", "--set", "executives.cfo=1")
    assert code == 2 and "executives.<id>.<field>" in err and "executives.<id>.id" not in err
    path = write_toml("s.toml", mini())
    for item in ("departments.sales.executive=nobody", "executives.cmo.ceo=true"):
        code, _, err = run_cli("validate", path, "--set", item)
        assert code == 2 and err.startswith("error: --set: "), err


def test_required_fields_and_consequential_omissions(write_toml, run_cli):
    """An empty scenario, a missing owner or headcount are errors; a journey without stages is a warning."""
    cases = {
        "empty.toml": ("", "executives: missing"),
        "owner.toml": ('[owner]\nexecutive = "cxo"\n' + mini(), "owner.executive = 'cxo': no such executive"),
        "head.toml": (mini(depts=DEPTS.replace("headcount = 100\n", "", 1)), "departments.sales.headcount: missing"),
    }
    for name, (text, what) in cases.items():
        code, out, err = run_cli("validate", write_toml(name, text))
        assert code == 2 and what in err and len(err.strip().splitlines()) == 1, err
    code, out, err = run_cli("validate", write_toml("nostages.toml", mini(stages="")))
    assert code == 0 and "0 journey stages" in out
    assert "warning: " in err and "no [[stages]]" in err and "journey.enabled = false" in err
    code, out, err = run_cli("validate", write_toml("off.toml", mini("[journey]\nenabled = false\n", stages="")))
    # (this two-executive test organization still gets the calibration-range warnings of cxsim.extrapolation)
    assert code == 0 and "no [[stages]]" not in err and "journey stage" not in err


def test_numeric_overrides_take_the_fast_path_with_the_same_result():
    """Overriding numbers and switches gives exactly the scenario the full validation gives, and the same errors."""
    from cxsim.scenario import _apply_override, scenario_from_dict

    sc = cxsim.load_scenario("reference")
    extra = {"committee.enabled": True, "committee.cadence_weeks": 2, "politics.jealousy_scale": 1.7,
             "journey.enabled": False}
    fast = sc.with_overrides(extra)
    data = sc.to_dict()
    for k, v in extra.items():
        _apply_override(data, k, v, "--set")
    slow = scenario_from_dict(data, file=sc.path or "<scenario>", override_keys=extra, default_name=sc.name)
    assert fast.fingerprint() == slow.fingerprint()
    assert (fast.name, fast.warnings, fast.overrides) == (slow.name, slow.warnings, extra)
    assert fast.defaulted == [k for k in sc.defaulted if k not in extra]
    with pytest.raises(ScenarioError) as fast_err:
        sc.with_overrides({"committee.cadence_weeks": 0})
    data = sc.to_dict()
    _apply_override(data, "committee.cadence_weeks", 0, "--set")
    with pytest.raises(ScenarioError) as slow_err:
        scenario_from_dict(data, file=sc.path, override_keys={"committee.cadence_weeks": 0})
    assert str(fast_err.value) == str(slow_err.value)
    # the fast path shares the base's (read-only) lists; a key other checks read takes the full path
    assert fast.departments is sc.departments
    assert sc.with_overrides({"social_influence.self_weight": 0.5}).departments is not sc.departments
