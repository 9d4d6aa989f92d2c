"""The workshop dashboard without a browser: session logic, replays, views, exports, CLI, per-session state."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cxsim.cli import cli
from cxsim.dashboard.export import debrief_json, debrief_payload, debrief_png, history_csv
from cxsim.dashboard.session import PRESETS, Session, Setup, short_label
from cxsim.dashboard.views import buyin_svg, curves_svg, org_svg
from cxsim.errors import ScenarioError
from cxsim.model import CXModel, Decision

REF = Setup("reference", seed=3)


def _adoption(model: CXModel) -> np.ndarray:
    rec = model.recorder
    return rec.adoption64[: rec.n, 0].copy()


def test_live_session_equals_replay_of_its_decisions():
    """A played session is bit-identical to CXModel.replay of the decisions it recorded."""
    s = Session(REF)
    s.step(10)
    s.pull("sponsorship.level", "active")
    s.pull("politics.jealousy_scale", 2.0)
    s.step(15)
    s.pull("committee.enabled", True)
    s.pull("owner.executive", "service")
    s.step(20)
    again = CXModel.replay(s.scenario, REF.seed, s.decisions, s.week)
    np.testing.assert_array_equal(_adoption(s.model), _adoption(again))
    np.testing.assert_array_equal(s.model.engine.buy_in, again.engine.buy_in)


def test_pulling_a_lever_twice_in_a_week_keeps_one_decision():
    """Fiddling with a lever within one week leaves one decision, or none when moved back."""
    s = Session(REF)
    s.step(5)
    assert s.pull("owner.executive", "cio")
    assert s.pull("owner.executive", "coo")
    assert [(d.week, d.key, d.value) for d in s.decisions] == [(5, "owner.executive", "coo")]
    s.step(7)
    # owner.executive has side effects (jealousy of the new owner is reset): still equal to a replay
    again = CXModel.replay(s.scenario, REF.seed, s.decisions, s.week)
    np.testing.assert_array_equal(s.model.engine.jealousy, again.engine.jealousy)
    s.pull("committee.cadence_weeks", 2)
    s.pull("committee.cadence_weeks", 4)  # back to the scenario's value
    assert [d.key for d in s.decisions] == ["owner.executive"]
    assert not s.pull("sponsorship.level", "passive")  # already passive: no decision
    assert len(s.decisions) == 1
    # a lever that changes state (jealousy) dragged through several values: the last one counts
    for x in (1.5, 2.5, 0.5):
        s.pull("politics.jealousy_scale", x)
    s.step(5)
    assert [(d.week, d.value) for d in s.decisions if d.key == "politics.jealousy_scale"] == [(12, 0.5)]
    again = CXModel.replay(s.scenario, REF.seed, s.decisions, s.week)
    np.testing.assert_array_equal(s.model.engine.jealousy, again.engine.jealousy)
    np.testing.assert_array_equal(_adoption(s.model), _adoption(again))


def test_bad_lever_value_is_one_line_error():
    """A lever value outside what the parameter allows raises ScenarioError naming the lever."""
    s = Session(REF)
    with pytest.raises(ScenarioError, match="owner.mandate"):
        s.pull("owner.mandate", "dictator")
    with pytest.raises(ScenarioError, match="not a lever"):
        s.pull("run.ticks", 3)
    assert s.decisions == []


def test_step_stops_at_the_horizon():
    """Stepping never runs past the scenario's horizon."""
    s = Session(Setup("limits/bass"))
    assert s.step(1000) == s.ticks
    assert s.done and s.step(1) == 0 and s.week == s.ticks


def test_reset_applies_structure_and_clears_decisions():
    """Reset applies scenario, seed and organization size, and clears decisions and replays."""
    s = Session(REF)
    s.step(3)
    s.pull("committee.enabled", True)
    s.add_replay("none")
    base = s.model.engine.st.total_headcount
    s.reset(Setup("reference", seed=4, size=2.0))
    assert s.week == 0 and s.decisions == [] and s.replays == []
    assert s.model.engine.st.total_headcount == pytest.approx(2 * base, rel=0.01)  # rounding per department
    with pytest.raises(ScenarioError):
        s.reset(Setup("no/such/scenario"))
    assert s.setup.seed == 4  # a failed reset leaves the game as it was


def test_counterfactual_paths():
    """Replay paths: none, one decision removed, presets replacing the same levers only."""
    s = Session(REF)
    s.step(4)
    s.pull("committee.enabled", True)
    s.step(4)
    s.pull("sponsorship.level", "active")
    assert s.decision_path("none") == []
    assert s.decision_path("without:0") == [Decision(8, "sponsorship.level", "active")]
    path = s.decision_path("sponsor0")
    assert Decision(0, "sponsorship.level", "active") in path
    assert Decision(4, "committee.enabled", True) in path
    assert all(d.key != "sponsorship.level" or d.week == 0 for d in path)
    assert set(PRESETS) <= {k for k, _ in s.replay_options()}
    with pytest.raises(ScenarioError):
        s.decision_path("without:7")


def test_replay_shares_the_past_and_diverges_after_the_decision():
    """A counterfactual reruns the same random numbers: equal before the decision, different after."""
    s = Session(REF)
    s.step(20)
    s.pull("owner.mandate", "budget")
    s.pull("owner.budget", 200.0)
    s.step(40)
    rp = s.add_replay("none")
    mine = _adoption(s.model)
    assert len(rp.adoption) == s.ticks + 1
    # the decision applies during week 20, so ticks 0..20 are shared to the bit
    np.testing.assert_array_equal(rp.adoption[:21], mine[:21])
    assert not np.array_equal(rp.adoption[21:61], mine[21:61])
    keep = s.add_replay("mine")
    np.testing.assert_array_equal(keep.adoption[: s.week + 1], mine)


def test_mid_run_budget_and_jealousy_levers_take_effect():
    """owner.budget and politics.jealousy_scale, read at initialization, also act when pulled mid-run."""
    m = CXModel("governance/budget-sponsor-committee", seed=1)
    for _ in range(5):
        m.step()
    m.set_lever("owner.budget", 150.0)
    assert np.all(m.engine.budget == 150.0)
    m.set_lever("politics.jealousy_scale", 0.0)
    assert np.all(m.engine.propensity == 0.0) and np.all(m.engine.jealousy == 0.0)


def test_week0_jealousy_lever_equals_the_override():
    """Pulling the jealousy lever at week 0 gives the same state as loading the scenario with it."""
    a = CXModel("reference", seed=5)
    a.set_lever("politics.jealousy_scale", 1.7)
    b = CXModel("reference", seed=5, overrides={"politics.jealousy_scale": 1.7})
    np.testing.assert_array_equal(a.engine.propensity, b.engine.propensity)
    np.testing.assert_array_equal(a.engine.jealousy, b.engine.jealousy)


@pytest.mark.parametrize("name", ["reference", "limits/bass", "limits/degroot", "governance/budget-sponsor-committee"])
def test_views_are_wellformed_svg(name):
    """Every view parses as XML for shipped scenarios of every shape, hidden and revealed."""
    s = Session(Setup(name))
    s.step(9)
    s.add_replay("none")
    snap = s.snapshot()
    for svg in (curves_svg(snap), buyin_svg(snap, False), buyin_svg(snap, True), org_svg(snap, False),
                org_svg(snap, True)):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
    assert f'data-week="{s.week}"' in curves_svg(snap)


def test_politics_are_hidden_until_revealed():
    """The hidden view carries no true buy-in anywhere in its markup; the revealed one does."""
    s = Session(Setup("governance/advisory-nosponsor-committee", seed=2))
    s.step(30)
    snap = s.snapshot()
    hidden, shown = org_svg(snap, False), org_svg(snap, True)
    assert "data-covert" not in hidden and "true " not in hidden
    assert 'data-view="expressed"' in hidden
    assert "data-covert" in shown and 'data-view="true"' in shown
    for e in snap["execs"]:
        assert f'data-exec="{e["id"]}" data-buyin="{e["true"]:.4f}"' in shown
        assert f'data-exec="{e["id"]}" data-buyin="{e["expressed"]:.4f}"' in hidden


def test_snapshot_is_cached_per_change():
    """The snapshot is rebuilt only after the model changes (views read it several times a frame)."""
    s = Session(REF)
    a = s.snapshot()
    assert s.snapshot() is a
    s.step(1)
    assert s.snapshot() is not a and s.snapshot()["week"] == 1


def test_debrief_exports():
    """PNG, JSON and CSV exports hold the figure, the decisions, the outcomes and every week."""
    s = Session(REF)
    s.step(6)
    s.pull("committee.enabled", True)
    s.step(6)
    s.add_replay("without:0")
    payload = json.loads(debrief_json(s))
    assert payload["week"] == 12 and payload["seed"] == REF.seed
    assert payload["decisions"] == [{"week": 6, "lever": "committee.enabled", "label": "CX committee", "value": True,
                                     "text": "CX committee formed"}]
    assert payload["replays"][0]["decisions"] == []
    # mid-game: what has happened so far, no final adoption and no verdict (not for the replays either)
    assert payload["finished"] is False
    assert set(payload["outcomes"]) >= {"weeks_to_50", "owner_departures"}
    assert not set(payload["outcomes"]) & {"final_adoption", "success"}
    assert not set(payload["replays"][0]["outcomes"]) & {"final_adoption", "success"}
    assert debrief_payload(s)["executives"][0]["id"] == "ceo"
    df = pd.read_csv(io.StringIO(history_csv(s)))
    assert list(df["week"]) == list(range(13))
    assert df.loc[df["week"] == 6, "decisions"].item() == "CX committee formed"
    png = debrief_png(s, dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    s.step(200)
    final = json.loads(debrief_json(s))
    assert final["finished"] is True and {"final_adoption", "success"} <= set(final["outcomes"])


def test_short_labels():
    """Executive titles shrink to box-sized labels."""
    assert short_label("Chief Marketing Officer", "cmo") == "CMO"
    assert short_label("Chief Human Resources Officer", "chro") == "CHRO"
    assert short_label("Head of Sales", "sales") == "Sales"


def test_cli_dashboard_rejects_bad_scenario_and_documents_the_room():
    """`cxsim dashboard` fails in one line on a bad scenario; its help explains serving a room."""
    runner = CliRunner()
    res = runner.invoke(cli, ["dashboard", "--help"])
    assert res.exit_code == 0 and "--host 0.0.0.0" in res.output and "127.0.0.1" in res.output
    from cxsim.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["dashboard", "no/such/scenario"])
    assert exc.value.code == 2


def test_assets_list_comes_from_solara_template():
    """The browser packages to cache are read from Solara's page template (exact versions)."""
    from cxsim.dashboard.assets import required_packages

    names = required_packages()
    assert any(n.startswith("requirejs@") for n in names)
    assert all("@" in n.lstrip("@") for n in names)


def test_play_budget_slows_frames_not_weeks():
    """With many sessions playing, frames get rarer (the loop then steps several weeks per frame)."""
    from cxsim.dashboard.app import PlayBudget

    b = PlayBudget(share=0.5, max_fps=8)
    b.cost = 0.04
    assert b.interval(4) == pytest.approx(0.25)  # alone: one frame per week at 4 weeks/s
    b.active = 25
    assert b.interval(4) == pytest.approx(25 * 0.04 / 0.5)


def test_every_browser_session_gets_its_own_model():
    """Two sessions (two kernels) render the app; each steps its own model from week 0."""
    solara = pytest.importorskip("solara")
    import ipyvuetify as v
    from solara.server import kernel_context

    from cxsim.dashboard import app

    found = []
    contexts = [kernel_context.create_dummy_context() for _ in range(2)]
    renders = []
    for ctx in contexts:
        with ctx:
            renders.append(solara.render(app.Page(), handle_error=False))
    with contexts[0]:
        rc = renders[0][1]
        rc.find(v.Btn, attributes={"data-testid": "step"}).widget.click()
        rc.find(v.Btn, attributes={"data-testid": "step"}).widget.click()
        found.append(_week_from(rc))
    with contexts[1]:
        rc = renders[1][1]
        found.append(_week_from(rc))
        rc.find(v.Btn, attributes={"data-testid": "step"}).widget.click()
        found.append(_week_from(rc))  # 1, not 3: a shared model would have gone on from week 2
    assert found == [2, 0, 1]
    for ctx, (_, rc) in zip(contexts, renders):
        with ctx:
            rc.close()


def _week_from(rc) -> int:
    import solara.widgets

    for w in rc.find(solara.widgets.HTML).widgets:
        text = getattr(w, "unsafe_innerHTML", None) or ""
        if 'data-testid="week"' in text:
            return int(text.split('data-week="')[1].split('"')[0])
    raise AssertionError("no week shown")


def test_default_seed_fails_without_decisions_and_succeeds_with_governance():
    """The default seed teaches the point: the reference stalls untouched, sponsor + committee from week 0 succeed."""
    from cxsim.dashboard.session import DEFAULT_SEED

    def final(overrides):
        m = CXModel("reference", seed=DEFAULT_SEED, overrides=overrides)
        covert_weeks = 0
        for _ in range(156):
            m.step()
            covert_weeks += bool(m.engine.covert.any())
        return float(m.history()["adoption"].iloc[-1]), covert_weeks

    untouched, covert_weeks = final(None)
    governed, _ = final({"sponsorship.level": "active", "committee.enabled": True})
    assert untouched < 0.3 and governed >= 0.6, (untouched, governed)
    assert covert_weeks >= 52  # hidden politics to reveal in the typical case
