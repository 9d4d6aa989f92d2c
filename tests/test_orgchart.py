"""Your own organization: `cxsim import` of an org chart spreadsheet, `cxsim new`, templates, and their errors."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from cxsim.extrapolation import calibration_warnings
from cxsim.orgchart import TEMPLATE_DIR, survey_share
from cxsim.scenario import load_scenario

TEMPLATE = TEMPLATE_DIR / "org_chart.csv"


def _rows() -> list[list[str]]:
    return list(csv.reader(TEMPLATE.open()))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_survey_scores_map_to_shares():
    """A 1-to-5 score s maps to (s - 1) / 4; a percentage to its share."""
    assert [survey_share(x) for x in ("1", "3", "5", "3.5", "40%")] == [0.0, 0.5, 1.0, 0.625, 0.4]
    for bad in ("0", "6", "x", "120%"):
        with pytest.raises(ValueError):
            survey_share(bad)


def test_import_of_the_template_gives_a_valid_commented_scenario(run_cli, tmp_path):
    """The shipped template imports into a scenario that validates, with the survey values and the governance flags."""
    out = tmp_path / "acme.toml"
    code, stdout, err = run_cli("import", TEMPLATE, "--out", out, "--name", "acme", "--mandate", "advisory",
                                "--sponsor", "passive", "--committee-weeks", "0")
    assert code == 0, err
    text = out.read_text()
    assert "# survey 4.5 of 5" in text and text.startswith("# acme: a cxsim scenario")
    sc = load_scenario(out)
    assert (len(sc.executives), len(sc.departments), len(sc.stages)) == (6, 6, 7)
    assert sum(d["headcount"] for d in sc.departments) == 400
    assert sc["owner.executive"] == "coo" and [e["id"] for e in sc.executives if e["ceo"]] == ["ceo"]
    coo = next(e for e in sc.executives if e["id"] == "coo")
    assert coo["buy_in"] == 0.875  # 4.5 of 5
    assert sc.defaulted == [] and calibration_warnings(sc) == []
    assert "warning" not in err
    code, _, _ = run_cli("validate", out)
    assert code == 0


def test_import_without_governance_warns_which_inputs_are_defaults(run_cli, tmp_path):
    """Governance not given is left out of the file, and the warning names it."""
    out = tmp_path / "acme.toml"
    code, _, err = run_cli("import", TEMPLATE, "--out", out)
    assert code == 0
    assert "left at the model's defaults (the owner's mandate, CEO sponsorship, whether a CX committee exists)" in err
    assert err.count("warning:") == 1


def test_import_never_overwrites_without_force(run_cli, tmp_path):
    """An existing output is refused in one line; --force replaces it."""
    out = tmp_path / "acme.toml"
    out.write_text("keep me")
    code, _, err = run_cli("import", TEMPLATE, "--out", out)
    assert code == 2 and "already exists" in err and out.read_text() == "keep me"
    assert run_cli("import", TEMPLATE, "--out", out, "--force")[0] == 0


def test_import_xlsx(run_cli, tmp_path):
    """An .xlsx org chart imports like its CSV."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for row in _rows():
        wb.active.append([float(c) if c.replace(".", "", 1).isdigit() else c for c in row])
    wb.save(tmp_path / "org.xlsx")
    code, _, err = run_cli("import", tmp_path / "org.xlsx", "--name", "acme", "--out", tmp_path / "x.toml")
    assert code == 0, err
    code, _, _ = run_cli("import", TEMPLATE, "--name", "acme", "--out", tmp_path / "c.toml")
    strip = lambda p: [ln for ln in p.read_text().splitlines() if not ln.startswith("# Made by")]  # noqa: E731
    assert strip(tmp_path / "x.toml")[1:] == strip(tmp_path / "c.toml")[1:]


def test_import_xlsx_without_openpyxl_names_the_extra(run_cli, tmp_path, monkeypatch):
    """Without openpyxl, an .xlsx file gives one line naming the extra to install."""
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    (tmp_path / "org.xlsx").write_bytes(b"PK")
    code, _, err = run_cli("import", tmp_path / "org.xlsx")
    assert code == 2 and err.count("\n") == 1 and "pip install 'cxsim[xlsx]'" in err


def _edit(row: int, col: str, value: str):
    def f(rows):
        rows[row][rows[0].index(col)] = value
        return rows
    return f


def _drop_col(col: str):
    def f(rows):
        i = rows[0].index(col)
        return [r[:i] + r[i + 1:] for r in rows]
    return f


def _rename_col(col: str, new: str):
    def f(rows):
        rows[0][rows[0].index(col)] = new
        return rows
    return f


def _dup_row(i: int):
    def f(rows):
        return rows + [list(rows[i])]
    return f


def _no_departments(rows):
    i = rows[0].index("department")
    return [rows[0]] + [r[:i] + [""] * (len(r) - i) for r in rows[1:]]


# (case id, change to the template rows, fragment of the one-line message)
BAD = [
    ("unknown-column", _rename_col("silo", "silos"), "row 1, column 17 = 'silos': unknown column (did you mean 'silo'?)"),
    ("missing-executive-column", _drop_col("executive"), "row 1: no column 'executive' (required)"),
    ("empty-executive", _edit(3, "executive", ""), "row 4, column executive = '': empty; every row names the executive"),
    ("headcount-not-a-number", _edit(2, "headcount", "sixty"), "row 3, column headcount = 'sixty': expected a whole number"),
    ("headcount-zero", _edit(2, "headcount", "0"), "row 3, column headcount = '0': expected a whole number of employees, at least 1"),
    ("headcount-missing", _edit(2, "headcount", ""), "row 3, column headcount: empty; every department needs"),
    ("office", _edit(4, "office", "frnt"), "row 5, column office = 'frnt': expected front or back"),
    ("survey-out-of-range", _edit(2, "buy_in", "7"), "row 3, column buy_in = '7': expected a score from 1 to 5"),
    ("department-survey-bad", _edit(4, "skill", "lots"), "row 5, column skill = 'lots': expected a score from 1 to 5"),
    ("owns-cx-not-yes-no", _edit(2, "owns_cx", "maybe"), "row 3, column owns_cx = 'maybe': expected yes or no"),
    ("two-owners", _edit(4, "owns_cx", "yes"), "column owns_cx: exactly one executive owns CX"),
    ("no-owner", _edit(2, "owns_cx", ""), "column owns_cx: exactly one executive owns CX: mark one row's owns_cx yes or pass --owner ID; found 0"),
    ("reports-to-unknown", _edit(4, "reports_to", "boss"), "row 5, column reports_to = 'boss': no such executive; executives: ceo, coo"),
    ("reports-to-self", _edit(4, "reports_to", "cmo"), "row 5, column reports_to = 'cmo': an executive cannot report to themselves"),
    ("two-ceos", _edit(4, "reports_to", ""), "column reports_to: exactly one executive (the CEO) has no reports_to; found 2"),
    ("conflicting-title", _edit(3, "title", "Chief Ops"), "row 4, column title = 'Chief Ops': differs from row 3 of the same executive"),
    ("duplicate-department", _dup_row(5), "column department = 'sales': the same department is on row 6"),
    ("department-fields-without-department", _edit(1, "headcount", "3"), "row 2, column department: empty, but the row gives headcount"),
    ("no-departments", _no_departments, "no department rows"),
]


@pytest.mark.parametrize("change,fragment", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_org_chart_gives_one_line_naming_file_row_column(run_cli, tmp_path, change, fragment):
    """Each validation message: one line naming the file, the row and column, the bad value, what is allowed; exit 2."""
    path = _write(tmp_path / "org.csv", change(_rows()))
    code, _, err = run_cli("import", path, "--out", tmp_path / "o.toml")
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ")
    assert fragment in err, err
    assert not (tmp_path / "o.toml").exists()


def test_import_owner_flag_replaces_the_column_and_is_checked(run_cli, tmp_path):
    """--owner names the CX owner; an unknown one is one line with a suggestion."""
    path = _write(tmp_path / "org.csv", _edit(2, "owns_cx", "")(_rows()))
    assert run_cli("import", path, "--owner", "cmo", "--out", tmp_path / "a.toml")[0] == 0
    assert load_scenario(tmp_path / "a.toml")["owner.executive"] == "cmo"
    code, _, err = run_cli("import", path, "--owner", "chro", "--out", tmp_path / "b.toml")
    assert code == 2 and "--owner = 'chro': no such executive; executives: ceo, coo" in err


def test_semicolon_csv_from_a_european_excel(run_cli, tmp_path):
    """A semicolon-separated CSV with a byte-order mark imports too."""
    text = TEMPLATE.read_text().replace(",", ";").replace("; ", "| ")
    # stages were separated by '; ' in the template: use '|' inside the cell instead
    (tmp_path / "org.csv").write_text("\ufeff" + text, encoding="utf-8")
    code, _, err = run_cli("import", tmp_path / "org.csv", "--out", tmp_path / "o.toml")
    assert code == 0, err
    assert len(load_scenario(tmp_path / "o.toml").stages) == 7


def test_templates_are_installed_and_copied(run_cli, tmp_path):
    """`cxsim templates DIR` writes the org chart and the survey; never over existing files."""
    code, out, _ = run_cli("templates", tmp_path)
    assert code == 0 and (tmp_path / "org_chart.csv").read_bytes() == TEMPLATE.read_bytes()
    survey = list(csv.DictReader((tmp_path / "executive_survey.csv").open()))
    assert {r["field"] for r in survey} == {"buy_in", "understanding", "trust", "jealousy", "influence",
                                            "readiness", "skill", "silo"}
    assert run_cli("templates", tmp_path)[0] == 2


def test_new_from_flags_gives_a_valid_scenario(run_cli, tmp_path):
    """`cxsim new` with flags (no questions) writes a valid scenario with the answers in it."""
    out = tmp_path / "acme.toml"
    code, _, err = run_cli("new", "acme", "--employees", "400", "--executives", "CMO, Head of Sales, COO, CTO, CFO",
                           "--owner", "COO", "--mandate", "budget", "--sponsor", "none", "--committee-weeks", "2",
                           "--buy-in", "3.5", "--readiness", "3", "--out", out, "--yes")
    assert code == 0, err
    sc = load_scenario(out)
    assert sc["owner.executive"] == "coo" and sc["owner.mandate"] == "budget"
    assert sc["sponsorship.level"] == "none" and sc["committee.enabled"] and sc["committee.cadence_weeks"] == 2
    assert sum(d["headcount"] for d in sc.departments) == 400 and len(sc.executives) == 6
    assert all(e["buy_in"] == 0.625 for e in sc.executives)
    assert {d["office"] for d in sc.departments} == {"front", "back"}
    assert all(s["departments"] for s in sc.stages)
    assert "jealousy of 6 of 6 executives" in err  # what was not answered is named


def test_new_yes_leaves_governance_unstated_and_says_so(run_cli, tmp_path, monkeypatch):
    """`cxsim new NAME --yes` writes NAME.toml from defaults; unstated governance is named in the warning."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("new", "Acme Corp", "--yes")
    assert code == 0, err
    sc = load_scenario(tmp_path / "acme-corp.toml")
    assert sc.name == "Acme Corp" and "owner.mandate" in sc.defaulted
    assert "the owner's mandate, CEO sponsorship" in err
    assert run_cli("new", "Acme Corp", "--yes")[0] == 2  # never over an existing file


def test_new_asks_the_questions_it_was_not_given(tmp_path):
    """Without --yes, the questionnaire asks in the terminal (answers from stdin; empty takes the default)."""
    from click.testing import CliRunner

    from cxsim.cli import cli

    answers = "\n".join(["A test firm", "250", "CMO, COO, CFO, CIO", "COO", "budget", "active", "4",
                         "", "4", ""]) + "\n"
    res = CliRunner().invoke(cli, ["new", "t", "--out", str(tmp_path / "t.toml")], input=answers)
    assert res.exit_code == 0, res.output
    sc = load_scenario(tmp_path / "t.toml")
    assert sc.description == "A test firm" and sc["owner.mandate"] == "budget" and sc["committee.enabled"]
    assert sum(d["headcount"] for d in sc.departments) == 250 and len(sc.stages) == 7


@pytest.mark.parametrize("args,fragment", [
    (["--owner", "CHRO"], "--owner = 'CHRO': not one of the executives"),
    (["--executives", " , "], "--executives = ' , ': give at least one executive"),
    (["--executives", "COO, coo"], "names the same executive twice"),
    (["--stages", "Buy, buy"], "--stages = 'Buy, buy': expected distinct stage names"),
    (["--employees", "2"], "--employees = 2: fewer employees than departments"),
    (["--buy-in", "9"], "--buy-in = 9.0: expected a score from 1 to 5"),
    (["--readiness", "high"], "--readiness = 'high': expected a score from 1 to 5"),
], ids=["owner", "no-executives", "duplicate-executive", "duplicate-stage", "too-few-employees", "score-range",
        "score-not-a-number"])
def test_bad_new_answer_gives_one_line(run_cli, tmp_path, args, fragment):
    """Each `cxsim new` validation message: one line naming the option, the value and what is allowed; exit 2."""
    code, _, err = run_cli("new", "x", "--yes", "--out", tmp_path / "x.toml", *args)
    assert code == 2 and err.count("\n") == 1 and fragment in err, err


def test_params_lists_the_fields_of_each_list(run_cli):
    """`cxsim params executives|departments|stages|influence` lists their fields."""
    for lname, field in (("executives", "jealousy"), ("departments", "silo_strength"), ("stages", "departments"),
                         ("influence", "speaker")):
        code, out, _ = run_cli("params", lname)
        assert code == 0 and field in out and "organization-format.md" in out


def test_shipped_org_chart_template_matches_the_docs_example_size():
    """The template is the 400-person software firm of the docs (5 executives with departments plus the CEO)."""
    rows = _rows()
    assert sum(int(r[rows[0].index("headcount")]) for r in rows[1:] if r[rows[0].index("headcount")]) == 400


def test_calibration_warnings_one_sentence_each(make_scenario):
    """Outside the calibrated range: one sentence per feature, naming the value and the range."""
    sc = make_scenario()  # 3 executives, 2 functions, 500 employees, 2 stages
    w = calibration_warnings(sc)
    assert [s.split(" has ")[1].split(",")[0] for s in w if " has " in s] == ["2 functions", "3 executives",
                                                                              "2 journey stages"]
    assert all(s.count(". ") == 0 and s.endswith(".") for s in w)
    big = make_scenario({"organization.headcount_scale": 20.0})
    big = big.with_overrides({"departments.sales.headcount": 2000})
    assert any("42,000 employees, above the calibrated range (150 to 32,000 employees)" in s
               for s in calibration_warnings(big))
