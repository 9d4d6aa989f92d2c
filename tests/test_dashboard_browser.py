"""The workshop dashboard in headless Chromium: starts, steps, obeys levers, reveals, replays, runs a room, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
LOAD_TIMEOUT_MS = 90_000  # the first page load compiles and ships the Vuetify bundle; bounded anyway
WAIT_MS = 20_000
TOKEN = "test-facilitator-token"
# Screenshots are kept here for a person to look at (results/ is not in git).
SHOTS = ROOT / "results" / "screenshots" / "room"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """`cxsim dashboard` in a subprocess on a free localhost port; stopped with SIGINT (Ctrl-C) at the end."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    pytest.importorskip("solara", reason="solara is not installed (pip install -e '.[dashboard]')")
    from cxsim.dashboard.assets import ensure_assets

    missing = ensure_assets(quiet=True)
    if missing:
        pytest.skip("Solara's browser assets are missing and npm could not fetch them: " + ", ".join(missing))
    port = _free_port()
    env = {**os.environ, "CXSIM_FACILITATOR_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "cxsim", "dashboard", "--port", str(port), "--no-assets"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"dashboard did not answer on {url} within 90 s; output:\n{out[-2000:]}")
        time.sleep(0.3)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C (SIGINT) did not stop the dashboard within 20 s")
    assert code in (0, 130, -signal.SIGINT), f"unexpected exit code {code} after Ctrl-C"


@pytest.fixture(scope="module")
def browser(server):
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser session (its own model) with the dashboard loaded at week 0."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.goto(server)
    pg.wait_for_selector("[data-testid=week][data-week='0']", timeout=LOAD_TIMEOUT_MS)
    yield pg
    ctx.close()


def _week(pg) -> int:
    return int(pg.get_attribute("[data-testid=week]", "data-week"))


def _adoption(pg) -> float:
    return float(pg.get_attribute("[data-testid=adoption]", "data-value"))


def test_step_advances_the_week(page, tmp_path):
    """A click on step advances the week shown by one; a quarter by thirteen; a screenshot is saved."""
    page.click("[data-testid=step]")
    page.wait_for_selector("[data-testid=week][data-week='1']")
    page.click("[data-testid=step-quarter]")
    page.wait_for_selector("[data-testid=week][data-week='14']")
    assert _week(page) == 14
    assert "week" in page.inner_text("[data-testid=week]").lower()
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_lever_changes_the_next_weeks(page):
    """An active sponsor appointed at week 0 gives exactly the in-process model's numbers, not the baseline's."""
    from cxsim.dashboard.session import DEFAULT_SEED, Session, Setup

    page.click("[data-testid=sponsor-active]")
    page.wait_for_selector("[data-testid=view-decisions] >> text=CEO sponsorship")
    for w in (13, 26):
        page.click("[data-testid=step-quarter]")
        page.wait_for_selector(f"[data-testid=week][data-week='{w}']")
    shown = _adoption(page)

    with_lever, baseline = Session(Setup("reference", DEFAULT_SEED)), Session(Setup("reference", DEFAULT_SEED))
    with_lever.pull("sponsorship.level", "active")
    with_lever.step(26)
    baseline.step(26)
    assert shown == pytest.approx(with_lever.snapshot()["adoption"], abs=1e-6)  # 6 decimals on the page
    assert shown != pytest.approx(baseline.snapshot()["adoption"], abs=1e-6)
    assert "week 0: CEO sponsorship" in page.inner_text("[data-testid=view-decisions]")


def test_reveal_shows_true_buy_in(page, tmp_path):
    """Politics are hidden by default; the reveal switch shows true buy-in and who resisted covertly."""
    page.click("[data-testid=step-quarter]")
    page.wait_for_selector("[data-testid=week][data-week='13']")
    org = "[data-testid=view-org] svg"
    assert page.get_attribute(org, "data-view") == "expressed"
    assert page.locator("[data-testid=view-politics]").count() == 0
    page.click(".cx-reveal input")
    page.wait_for_selector("[data-testid=view-org] svg[data-view='true']")
    assert "true" in page.inner_text("[data-testid=view-org]")
    assert page.locator("[data-testid=view-org] [data-covert]").count() > 0
    page.wait_for_selector("[data-testid=view-politics] >> text=weeks covert")
    page.wait_for_selector("[data-testid=covert-count]")
    page.screenshot(path=str(tmp_path / "revealed.png"), full_page=True)


def test_replay_overlay_and_export(page):
    """A replay overlays the same seed under another decision path; the debrief JSON downloads."""
    page.click("[data-testid=mandate-budget]")
    page.wait_for_selector("[data-testid=view-decisions] >> text=Mandate")
    page.click("[data-testid=step-quarter]")
    page.wait_for_selector("[data-testid=week][data-week='13']")
    page.click("[data-testid=replay]")
    page.wait_for_selector("[data-testid=view-curves] svg[data-replays='1']")
    assert page.locator("[data-testid=view-curves] polyline[data-replay='none']").count() == 1
    assert "No decisions" in page.inner_text("[data-testid=view-replays]")
    with page.expect_download(timeout=WAIT_MS) as dl:
        page.click("text=Decisions and outcomes (JSON)")
    import json

    payload = json.loads(Path(dl.value.path()).read_text())
    assert payload["week"] == 13
    assert payload["decisions"][0]["lever"] == "owner.mandate"


def _open(browser, url: str, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.goto(url)
    return ctx, pg


def _shot(pg, name: str) -> None:
    """A screenshot of the whole page (the app scrolls inside its main area, so grow the window to fit it)."""
    w = pg.viewport_size["width"]
    h = pg.evaluate("() => Math.max(900, ...Array.from(document.querySelectorAll('.v-main > div, .v-navigation-drawer"
                    " > div > div')).map(e => e.scrollHeight))")
    pg.set_viewport_size({"width": w, "height": min(int(h) + 80, 6000)})
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(SHOTS / name))
    pg.set_viewport_size({"width": w, "height": 900})


def _wait_week(pg, week: int) -> None:
    pg.wait_for_selector(f"[data-testid=week][data-week='{week}']")


def test_a_room_from_creation_to_debrief(browser, server):
    """A facilitator creates a room; three teams join by code, play, reload; the console advances, reveals and ends.

    The console's numbers are checked against in-process sessions with the same decisions;
    screenshots at 1400 and 400 px are saved under results/screenshots/room/.
    """
    from cxsim.dashboard.session import DEFAULT_SEED, Session, Setup

    SHOTS.mkdir(parents=True, exist_ok=True)
    contexts = []
    fctx, fac = _open(browser, f"{server}facilitator?token=wrong", 1400)
    contexts.append(fctx)
    fac.wait_for_selector("text=That token is not this server's", timeout=LOAD_TIMEOUT_MS)
    fac.goto(f"{server}facilitator?token={TOKEN}")
    fac.click("[data-testid=create-room]", timeout=LOAD_TIMEOUT_MS)
    code = fac.inner_text("[data-testid=room-code]").strip()
    assert len(code) == 4 and f"?room={code}" in fac.inner_text("[data-testid=join-url]")
    assert fac.locator("[data-testid=join-qr] svg").count() == 1  # the join link as a QR code

    teams = {}
    for i, (name, width) in enumerate((("Alpha", 1400), ("Beta", 400), ("Gamma", 1400))):
        if i == 0:  # types the code on the start page
            ctx, pg = _open(browser, server, width)
            pg.wait_for_selector("[data-testid=week]", timeout=LOAD_TIMEOUT_MS)
            if not pg.locator(".cx-code input").is_visible():
                pg.click(".v-app-bar-nav-icon")
            pg.fill(".cx-code input", code.lower())
            pg.click("[data-testid=join-code]")
        else:  # opens the link
            ctx, pg = _open(browser, f"{server}?room={code}", width)
        pg.fill(".cx-team-name input", name, timeout=LOAD_TIMEOUT_MS)
        pg.click("[data-testid=join]")
        _wait_week(pg, 0)
        assert f"room {code}" in pg.text_content(".v-app-bar") and "team=" in pg.url
        contexts.append(ctx)
        teams[name] = pg

    alpha, beta, gamma = teams["Alpha"], teams["Beta"], teams["Gamma"]
    # the room's settings are fixed and the reveal waits for the facilitator
    assert alpha.locator("[data-testid=reveal-locked]").count() == 1
    assert alpha.locator(".cx-reveal").count() == 0
    assert alpha.locator("[data-testid=reset-setup]").count() == 0 and alpha.locator("[data-testid=reset]").count() == 0
    assert "seed 7" in alpha.inner_text("[data-testid=room-settings]")
    assert "runs on" not in alpha.inner_text("body")  # no Solara banner over the org chart
    _shot(alpha, "team-1400-week0.png")
    _shot(beta, "team-400-week0.png")
    # on a phone: nothing wider than the screen, the levers behind the menu button
    assert beta.evaluate("document.documentElement.scrollWidth") <= 400
    drawer = beta.locator(".v-navigation-drawer")
    assert drawer.bounding_box()["x"] < 0  # folded away, off the left edge
    beta.click(".v-app-bar-nav-icon")
    beta.wait_for_function("document.querySelector('.v-navigation-drawer').getBoundingClientRect().x >= 0")
    beta.wait_for_timeout(400)  # the slide-in
    _shot(beta, "team-400-levers.png")
    beta.mouse.click(390, 450)  # the uncovered strip: folds the sidebar away
    beta.wait_for_function("document.querySelector('.v-navigation-drawer').getBoundingClientRect().right <= 0")

    alpha.click("[data-testid=sponsor-active]")
    alpha.wait_for_selector("[data-testid=view-decisions] >> text=CEO sponsorship")
    for w in (13, 26):
        alpha.click("[data-testid=step-quarter]")
        _wait_week(alpha, w)
    beta.click("[data-testid=step-quarter]")
    _wait_week(beta, 13)
    gamma.click(".cx-committee input")
    gamma.wait_for_selector("[data-testid=view-decisions] >> text=CX committee formed")
    gamma.click("[data-testid=step]")
    _wait_week(gamma, 1)

    # the console follows within a second or two
    for name, week in (("Alpha", 26), ("Beta", 13), ("Gamma", 1)):
        fac.wait_for_selector(f"[data-testid=leaderboard] tr[data-team='{name}'][data-week='{week}']")
    assert fac.get_attribute("[data-testid=view-room] svg", "data-teams") == "3"

    # a reload finds the same game
    alpha.reload()
    _wait_week(alpha, 26)
    assert "CEO sponsorship → active" in alpha.inner_text("[data-testid=view-decisions]")

    # a round: everyone to week 52, held there
    fac.fill(".cx-round-week input", "52")
    fac.press(".cx-round-week input", "Enter")
    fac.click("[data-testid=advance]")
    for pg in teams.values():
        _wait_week(pg, 52)
        pg.wait_for_selector("[data-testid=held]")
        # (the button follows in the same or the next render: wait for it rather than race it)
        pg.wait_for_selector("[data-testid=step]:disabled", timeout=5_000)
        assert pg.is_disabled("[data-testid=step]")

    # the reveal, released
    fac.click(".cx-release input")
    fac.wait_for_selector("[data-testid=room-state][data-reveal='1']")
    alpha.wait_for_selector(".cx-reveal input")
    alpha.click(".cx-reveal input")
    alpha.wait_for_selector("[data-testid=view-org] svg[data-view='true']")
    _shot(alpha, "team-1400-revealed.png")

    # the end: teams see it, the console ranks luck against judgement
    fac.click("[data-testid=end-game]")
    fac.wait_for_selector("[data-testid=room-state][data-ended='1']")
    for pg in teams.values():
        pg.wait_for_selector("[data-testid=outcome][data-ended='1']")
    _shot(beta, "team-400-ended.png")
    fac.wait_for_selector("[data-testid=leaderboard] tr[data-team='Gamma']:not([data-percentile=''])",
                          timeout=60_000)

    # the console's numbers are the model's: in-process sessions with the same decisions
    expected = {}
    for name, decisions in (("Alpha", [("sponsorship.level", "active")]), ("Beta", []),
                            ("Gamma", [("committee.enabled", True)])):
        s = Session(Setup("reference", DEFAULT_SEED))
        for k, v in decisions:
            s.pull(k, v)
        s.step(52)
        expected[name] = s.snapshot()["adoption"]
    for name, pg in teams.items():
        row = fac.locator(f"[data-testid=leaderboard] tr[data-team='{name}']")
        assert row.get_attribute("data-week") == "52"
        assert float(row.get_attribute("data-adoption")) == pytest.approx(expected[name], abs=1e-6)
        assert float(pg.get_attribute("[data-testid=adoption]", "data-value")) == pytest.approx(expected[name], abs=1e-6)
        assert 0.0 <= float(row.get_attribute("data-percentile")) <= 100.0
    _shot(fac, "console-1400.png")
    fctx2, fac_phone = _open(browser, f"{server}facilitator?token={TOKEN}&room={code}", 400)
    contexts.append(fctx2)
    fac_phone.wait_for_selector("[data-testid=leaderboard] tr[data-team='Alpha']", timeout=LOAD_TIMEOUT_MS)
    _shot(fac_phone, "console-400.png")

    with fac.expect_download(timeout=WAIT_MS) as dl:
        fac.click("text=Every team, week by week (CSV)")
    import csv

    rows = list(csv.DictReader(Path(dl.value.path()).read_text().splitlines()))
    assert {r["team"] for r in rows} == {"Alpha", "Beta", "Gamma"}
    assert len(rows) == 3 * 53
    for ctx in contexts:
        ctx.close()
