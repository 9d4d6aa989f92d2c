"""cxsim report: one self-contained HTML file that parses, embeds every figure and loads nothing external."""

from __future__ import annotations

import base64
import contextlib
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from results_fixture import GOVERNANCE, simulated_results, synthetic_results

from cxsim.cli import main
from cxsim.compare.analysis import compare_run
from cxsim.compare.report import write_report
from cxsim.compare.tables import summary_sentences
from cxsim.errors import ResultsError

CHROMIUM = Path("/usr/bin/chromium")
FOUR = [f"governance/{m}-{s}-nocommittee" for m in ("advisory", "budget") for s in ("nosponsor", "sponsor")]


class _Collect(HTMLParser):
    """Collects tags, attributes that can load something, and text."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.imgs: list[dict] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(a)
        for k in ("src", "href", "srcset", "poster", "data", "action", "background"):
            if a.get(k):
                self.urls.append(a[k])
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"unbalanced </{tag}> after {self.open[-3:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


# A 2x2 factorial with per-agent columns: every figure but the per-point panels (more than 4 points).
EXPECTED = ["curves", "success", "effects", "interaction", "weeks_to_80", "final_adoption", "departments", "buy_in"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """`cxsim report` on a short real run of four governance scenarios (all figures available)."""
    base = tmp_path_factory.mktemp("rep")
    run = simulated_results(base / "run", FOUR, reps=30, ticks=52, seed=9)
    out = base / "out" / "report.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run), "--out", str(out), "--resamples", "500"])
    assert exc.value.code == 0
    return out, EXPECTED


def test_report_parses_and_embeds_every_figure(report):
    """The report is well-formed HTML with one embedded, decodable PNG per figure."""
    path, expected = report
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert p.open == [], f"unclosed tags: {p.open}"
    ids = [img for img in p.imgs]
    assert len(ids) == len(expected) >= 8
    for img in ids:
        src = img["src"]
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as im:
            assert im.size == (1600, 900)
        assert img.get("alt")
    html = path.read_text(encoding="utf-8")
    for stem in expected:
        assert f'id="fig-{stem}"' in html


def test_report_requests_nothing_external(report):
    """No scripts, no stylesheet links, no iframes, and every src/href is inline data or an anchor."""
    path, _ = report
    html = path.read_text(encoding="utf-8")
    p = _Collect()
    p.feed(html)
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(p.tags)
    assert all(u.startswith(("data:", "#")) for u in p.urls), [u[:40] for u in p.urls]
    # No URL anywhere, not even in CSS (url(...), @import) or plain text.
    assert not re.search(r"https?://|@import|url\(", html)


def test_report_has_summary_sources_and_reproduction(report):
    """The strategist's sections are there: summary, options, effects, assumptions, sources, command and seed."""
    path, _ = report
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    text = " ".join(" ".join(p.text).split())
    for needle in ("In brief", "The options compared", "Effects against the baseline", "What the model assumes",
                   "McKinsey", "Hughes", "Prosci", "29 months", "cxsim batch experiments/test-experiment.toml",
                   "Seed 9", "--resamples 500 --out", "governance factorial"):
        assert needle in text, needle


def test_report_written_atomically_and_replaced(report, tmp_path):
    """Writing leaves no temporary file behind and replaces an existing report only with force."""
    path, _ = report
    assert [f.name for f in path.parent.iterdir()] == ["report.html"]
    run = synthetic_results(tmp_path / "r", {"a": 0.3, "b": 0.7}, reps=80)
    c = compare_run(run, resamples=300)
    out = tmp_path / "report.html"
    out.write_text("old")
    with pytest.raises(ResultsError, match="already exists"):
        write_report(c, out, specs=[], command="cxsim report r --out report.html")
    assert out.read_text() == "old"
    write_report(c, out, specs=[], command="cxsim report r --out report.html", force=True)  # no figures: fast
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(f.name for f in tmp_path.iterdir() if f.is_file()) == ["report.html"]
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others: meant to be shared


def test_summary_states_known_effect_in_plain_words(tmp_path):
    """On a synthetic factorial with a large mandate effect, the summary says it raised the chance of success."""
    p = {g: 0.1 + 0.6 * g.startswith("budget") for g in GOVERNANCE}
    run = synthetic_results(tmp_path / "r", p, reps=300)
    c = compare_run(run, resamples=500)
    text = " ".join(summary_sentences(c))
    assert "A budget-holding CX owner (instead of an advisory one) raised the chance of success from" in text
    assert re.search(r"CX committee \(instead of none\) made no clear difference", text)
    assert "Under the baseline, advisory-nosponsor-nocommittee" in text


def test_report_rejects_directory_as_out(report, capsys):
    """--out pointing at a directory is one line and exit code 2."""
    path, _ = report
    run = path.parent.parent / "run"
    with pytest.raises(SystemExit) as exc:
        main(["report", str(run), "--out", str(path.parent), "--resamples", "200"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a directory" in err[0]


@contextlib.contextmanager
def _chromium():
    """Debian's headless chromium through playwright, offline (the test is skipped without either)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report, tmp_path):
    """Debian's chromium opens the report offline, makes no network request, and a screenshot is saved."""
    path, expected = report
    shot = tmp_path / "report.png"
    requests: list[str] = []
    with _chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        loaded = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        page.screenshot(path=str(shot), full_page=True)
    assert loaded == len(expected)
    assert overflow <= 0  # nothing wider than the window: no sideways scrolling
    assert [u for u in requests if not u.startswith(("data:", "file:"))] == []
    with Image.open(shot) as im:
        assert im.size[0] == 1280 and im.size[1] > 3000


def test_report_reads_consistently_for_a_non_technical_reader(report):
    """Issue 11's report fixes: the speed sentence and the table use one number; weeks to 80% say what they count."""
    from cxsim.compare.figures import build_figures
    from cxsim.compare.tables import _speed, options_table

    path, _ = report
    c = compare_run(path.parent.parent / "run", resamples=200)
    b = c.baseline
    c.summary.loc[c.summary["point"] == b, "share_never_80"] = 0.975  # 2.5% reached: once shown as "3%" vs "98%"
    c.summary.loc[c.summary["point"] == b, "median_weeks_to_80"] = 120.0
    row = options_table(c).iloc[c.point_ids.index(b)]
    assert row["never reached 80%"] == "98%"
    assert "never reached 80% within 52 weeks in 98% of futures; where it did, it took a median of 120 weeks" in _speed(c, b, "x")
    assert "median weeks to 80% (futures that got there)" in options_table(c).columns
    html = path.read_text()
    assert "having one matters more than having both" not in html
    assert "futures that got there" in html
    inter = next(s for s in build_figures(c) if s.stem == "interaction")
    assert "lines that come together mean a choice adds less" in inter.caption and " Here " in inter.caption


@pytest.mark.browser
def test_report_fits_a_phone_screen(report, tmp_path):
    """At 420 px wide the page never scrolls sideways (wide tables scroll inside their own box)."""
    path, _ = report
    with _chromium() as browser:
        page = browser.new_page(viewport={"width": 420, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


def test_report_figures_same_bytes_with_a_helper_process(report, monkeypatch):
    """Figures drawn by the forked helper are byte for byte those drawn alone; a helper that dies costs nothing."""
    import os

    from cxsim.compare import figures as F

    path, expected = report
    c = compare_run(path.parent.parent / "run", resamples=500)
    alone = F.report_figures(c, workers=1)
    assert [s.stem for s in alone] == expected
    assert all(s.png and s.figure is None and not s.missing for s in alone)
    with Image.open(io.BytesIO(alone[0].png)) as im:
        assert im.size == (1600, 900)
    helped = F.report_figures(c, workers=2)
    assert [(s.stem, s.title, s.caption, s.missing, s.png) for s in helped] == \
        [(s.stem, s.title, s.caption, s.missing, s.png) for s in alone]
    parent, rendered = os.getpid(), F._rendered

    def dies_in_helper(item):
        if os.getpid() != parent:
            os._exit(3)
        return rendered(item)

    monkeypatch.setattr(F, "_rendered", dies_in_helper)
    again = F.report_figures(c, workers=2)
    assert [(s.stem, s.png) for s in again] == [(s.stem, s.png) for s in alone]


def test_options_table_and_legends_say_shared_things_once_and_describe_every_option_or_none(report):
    """A count of futures shared by every option is said once above the table (which then fits the page).

    A legend gives every option its description, or (if one is too long for it) none: no entry lacks what
    its neighbours have.
    """
    from cxsim.compare.figures import _label

    path, _ = report
    html = path.read_text()
    assert "Each option was simulated over the same 30 futures." in html
    assert ">futures</th>" not in html
    c = compare_run(path.parent.parent / "run", resamples=200)
    names = [c.name(p) for p in c.point_ids]
    c.summary["description"] = [f"option {i}: " + "x" * 50 for i in range(len(names))]  # 60 characters each
    c.summary.loc[c.summary.index[-1], "description"] = "a" * 66  # (once dropped from the legend alone)
    assert all(":" in _label(c, p, 200) for p in c.point_ids)
    c.summary.loc[c.summary.index[-1], "description"] = "a" * 90  # too long for a legend: none has one
    assert not any(":" in _label(c, p, 200) for p in c.point_ids)


@pytest.mark.browser
def test_report_options_table_fits_a_laptop_screen(report):
    """At 1280 px wide the options table shows every column without scrolling sideways in its box."""
    path, _ = report
    with _chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        spare = page.evaluate("(() => { const box = document.querySelector('table.options').parentElement;"
                              " return box.clientWidth - box.scrollWidth; })()")
    assert spare >= 0
