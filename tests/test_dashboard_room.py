"""Workshop rooms without a browser: joining, rounds, the end, luck versus judgement, exports, reloads, the CLI."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from cxsim.cli import cli
from cxsim.dashboard.room import Registry, luck, room_csv, room_payload, token_ok
from cxsim.dashboard.session import DEFAULT_SEED, GameOver, Session, Setup, decision_text
from cxsim.dashboard.views import curves_svg, room_svg
from cxsim.model import CXModel

REF = Setup("reference", seed=DEFAULT_SEED)


def test_teams_join_with_the_rooms_settings_and_unique_names():
    """Every team plays the room's scenario and seed; names are made unique; codes avoid look-alike letters."""
    reg = Registry()
    room = reg.create_room(Setup("reference", seed=11, jealousy=2.0))
    assert len(room.code) == 4 and not set(room.code) & set("0O1IL")
    a, b = room.join("  Blue  team "), room.join("Blue team")
    assert (a.name, b.name) == ("Blue team", "Blue team (2)")
    assert a.session.setup.seed == 11 and a.session.scenario["politics.jealousy_scale"] == 2.0
    assert reg.room(room.code.lower()) is room and reg.team(room.code, a.token) == (room, a)
    assert reg.team(room.code, "nope") == (room, None) and reg.room("ZZZZ") is None


def test_hold_advance_and_end():
    """A hold stops every team at a week; advancing brings the late ones there; the end stops decisions."""
    room = Registry().create_room(REF)
    fast, slow = room.join("fast"), room.join("slow")
    room.hold_at(10)
    assert fast.session.step(50) == 10 and fast.session.held
    room.advance_all(30)
    assert fast.session.week == slow.session.week == 30 and slow.session.held
    late = room.join("late")  # joins during a hold: held too
    assert late.session.step(100) == 30
    room.hold_at(None)
    assert slow.session.step(2) == 2
    room.end()
    assert fast.session.step(5) == 0
    with pytest.raises(GameOver, match="ended"):
        fast.session.pull("committee.enabled", True)
    with pytest.raises(Exception, match="ended"):
        room.join("too late")
    fast.session.add_replay("sponsor0")  # replays stay open for the debrief
    assert room.reveal_allowed


def test_luck_replication_k_is_the_replay_with_replication_k():
    """The luck distribution's replications are CXModel.replay(..., replication=k); replication 0 is the team's game."""
    s = Session(REF)
    s.pull("sponsorship.level", "active")
    s.step(20)
    s.pull("committee.enabled", True)
    s.step(20)
    lk = luck(s.scenario, REF.seed, s.decisions, s.week, s.snapshot()["adoption"], replications=24)
    assert lk.adoption[0] == s.snapshot()["adoption"]
    for k in (3, 17):
        m = CXModel.replay(s.scenario, REF.seed, s.decisions, s.week, replication=k)
        assert lk.adoption[k] == m.recorder.adoption64[m.recorder.n - 1, 0]
    assert 0 <= lk.percentile <= 100 and lk.band()[0] <= lk.median <= lk.band()[1]
    # the percentile is the share of replications below the team (ties count half)
    below = (lk.adoption < lk.team).mean() + 0.5 * (lk.adoption == lk.team).mean()
    assert lk.percentile == pytest.approx(100 * below)


def test_leaderboard_and_exports_hold_every_team():
    """The leaderboard ranks by adoption; CSV and JSON hold every team's weeks, decisions and luck."""
    room = Registry().create_room(REF)
    a, b = room.join("A"), room.join("B")
    a.session.pull("sponsorship.level", "active")
    a.session.pull("committee.enabled", True)
    a.session.step(60)
    b.session.step(60)
    room.compute_luck(replications=16)
    board = room.leaderboard()
    assert [r["rank"] for r in board] == [1, 2]
    assert board[0]["adoption"] >= board[1]["adoption"]
    assert all(r["luck"]["replications"] == 16 for r in board)
    rows = list(csv.DictReader(io.StringIO(room_csv(room))))
    assert len(rows) == 2 * 61 and {r["team"] for r in rows} == {"A", "B"}
    assert [r["decisions"] for r in rows if r["team"] == "A" and r["week"] == "0"] == [
        "CEO sponsorship → active; CX committee formed"]
    payload = json.loads(json.dumps(room_payload(room)))
    assert {t["team"] for t in payload["teams"]} == {"A", "B"}
    assert all(len(t["adoption_by_week"]) == 61 and "final_adoption" not in t["outcomes"] for t in payload["teams"])
    svg = room_svg([{"team": t.name, "adoption_series": t.session.snapshot()["series"]["adoption"]}
                    for t in room.team_list()], 156, 0.6)
    assert 'data-teams="2"' in svg and 'data-team="A"' in svg


def test_solo_sessions_survive_a_reload_and_are_bounded():
    """A solo page's token finds its game again; the oldest are dropped beyond the limit."""
    reg = Registry(max_solo=2)
    tok, s = reg.solo_session(None, REF)
    s.step(5)
    assert reg.solo_session(tok, REF) == (tok, s)
    reg.solo_session(None, REF)
    reg.solo_session(None, REF)
    new_tok, fresh = reg.solo_session(tok, REF)  # evicted: a new game, a new token
    assert new_tok != tok and fresh.week == 0


def test_facilitator_token_check():
    """Only the exact token opens the console."""
    assert token_ok("abc", "abc")
    assert not token_ok("abd", "abc") and not token_ok("", "abc") and not token_ok("abc", None)


def test_decisions_read_as_words():
    """Decisions show titles and words, never codes such as 'coo' or 'True'."""
    titles = {"coo": "Chief Operating Officer"}
    assert decision_text("owner.executive", "coo", titles) == "CX owner → Chief Operating Officer"
    assert decision_text("committee.enabled", True) == "CX committee formed"
    assert decision_text("committee.enabled", False) == "CX committee disbanded"
    assert decision_text("owner.budget", 120.0) == "Budget → 120k per week"
    s = Session(REF)
    s.pull("owner.executive", "coo")
    assert "coo" not in s.snapshot()["decisions"][0]["text"]
    assert "Chief Operating Officer" in dict(s.replay_options())["without:0"]


def test_sponsor_since_is_the_week_the_sponsor_was_appointed():
    """A sponsor appointed at week 32 reads 'since week 32', not the start-week parameter's 0."""
    s = Session(REF)
    s.step(32)
    s.pull("sponsorship.level", "active")
    assert s.sponsor_since() == 32 and s.snapshot()["sponsor_since"] == 32
    s.pull("sponsorship.level", "none")
    assert s.sponsor_since() is None


def test_jealousy_is_a_setup_not_a_lever_in_the_app():
    """Jealousy is set with the organization (on start-over or by the room), and the sidebar offers no such lever."""
    s = Session(Setup("reference", seed=3, jealousy=2.0))
    m = CXModel("reference", seed=3, overrides={"politics.jealousy_scale": 2.0})
    np.testing.assert_array_equal(s.model.engine.jealousy, m.engine.jealousy)
    import inspect

    from cxsim.dashboard import app

    assert '"politics.jealousy_scale"' not in inspect.getsource(app.Controls)


def test_same_week_decisions_do_not_overlap_and_replays_stop_at_the_teams_week():
    """Markers of decisions in one week sit side by side; replays are drawn only up to the current week."""
    s = Session(REF)
    s.step(10)
    for key, value in (("sponsorship.level", "active"), ("committee.enabled", True), ("owner.mandate", "budget")):
        s.pull(key, value)
    s.add_replay("none")
    s.step(10)
    svg = curves_svg(s.snapshot())
    xs = [float(part.split('x="')[1].split('"')[0]) for part in svg.split("<g data-decision=")[1:]]
    assert len(xs) == 3 and all(b - a >= 16 for a, b in zip(xs, xs[1:]))
    assert 'data-upto="20"' in svg


def test_cli_on_every_interface_prints_an_address_and_a_warning(monkeypatch):
    """--host 0.0.0.0 prints an address people can type (not 0.0.0.0), a warning and the console's link."""
    import uvicorn

    from cxsim.dashboard import cli as dcli

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(dcli, "lan_addresses", lambda: ["192.168.1.23", "10.0.0.5"])
    monkeypatch.setattr("cxsim._jitcache.warm_up", lambda *a, **k: None)
    monkeypatch.setenv("CXSIM_FACILITATOR_TOKEN", "t0k")
    for var in ("CXSIM_DASHBOARD_URL", "CXSIM_DASHBOARD_SCENARIO", "CXSIM_DASHBOARD_SEED", "SOLARA_APP", "SOLARA_MODE",
                "SOLARA_TELEMETRY_MIXPANEL_ENABLE", "SOLARA_THEME_VARIANT", "SOLARA_THEME_SHOW_BANNER"):
        monkeypatch.delenv(var, raising=False)  # the command sets them for its server: restored afterwards
    res = CliRunner().invoke(cli, ["dashboard", "--host", "0.0.0.0", "--port", "18765", "--no-assets"])
    assert res.exit_code == 0, res.output
    assert "http://192.168.1.23:18765" in res.output and "http://0.0.0.0" not in res.output
    assert "warning: anyone" in res.output
    assert "/facilitator?token=t0k" in res.output


def _html_of(rc) -> str:
    import solara.widgets

    return "".join(getattr(w, "unsafe_innerHTML", "") or "" for w in rc.find(solara.widgets.HTML).widgets)


def test_end_of_game_moment_and_locked_reveal_in_a_room():
    """At week 156 the page says whether the programme succeeded and invites a replay; a room locks the reveal."""
    solara = pytest.importorskip("solara")
    from solara.server import kernel_context

    from cxsim.dashboard import app

    room = Registry().create_room(REF)
    team = room.join("T")
    team.session.pull("sponsorship.level", "active")
    team.session.pull("committee.enabled", True)
    team.session.step(156)
    ctx = kernel_context.create_dummy_context()
    with ctx:
        _, rc = solara.render(app.Game(team.session, room, team), handle_error=False)
        html = _html_of(rc)
        assert 'data-testid="outcome" data-success="1"' in html and "The programme succeeded" in html
        assert "replay the same" in html.lower() and "Your goal:" in html
        assert "revealed by the facilitator at the debrief" in html
        rc.close()
    lone = Session(REF)
    lone.step(156)
    ctx = kernel_context.create_dummy_context()
    with ctx:
        _, rc = solara.render(app.Game(lone, None, None), handle_error=False)
        html = _html_of(rc)
        assert 'data-success="0"' in html and "fell short" in html and "switch the reveal on" in html
        rc.close()
