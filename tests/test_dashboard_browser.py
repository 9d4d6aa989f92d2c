"""The workshop dashboard in headless Chromium: starts, steps, obeys levers, reveals, replays, stops on Ctrl-C."""

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
    proc = subprocess.Popen([sys.executable, "-m", "cxsim", "dashboard", "--port", str(port), "--no-assets"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
