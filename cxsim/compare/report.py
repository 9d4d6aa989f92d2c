"""Outputs of a comparison: figure files and tables (``cxsim compare``) and one self-contained HTML report.

The report embeds every figure as a base64 PNG and its CSS inline; it references no
external script, stylesheet, font or image, so it opens offline and can be mailed.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..errors import ResultsError
from ..provenance import command_line, now_iso, package_versions
from ..safeio import atomic_write, check_new_file, check_new_files
from .analysis import Comparison
from .effects import markdown_table
from .figures import FigureSpec, build_figures, figure_png, save_figure
from .tables import effects_table, factorial_table, options_table, summary_sentences

__all__ = ["write_compare", "render_report", "write_report", "check_report_path", "check_compare_dir", "COMPARE_FILES", "ASSUMPTIONS", "SOURCES"]


# ------------------------------------------------------------------ cxsim compare

FIGURE_STEMS = ("curves", "curves_panels", "success", "effects", "interaction", "weeks_to_80", "final_adoption",
                "departments", "buy_in")
COMPARE_FILES = tuple(f"{stem}.{ext}" for stem in FIGURE_STEMS for ext in ("png", "svg")) + (
    "summary.csv", "effects.csv", "effects.md", "factorial.csv", "factorial.md")
"""Every file ``cxsim compare`` may write (an existing one is replaced only with ``--force``)."""


def check_compare_dir(out: str | Path, force: bool = False) -> Path:
    """Refuse an output directory that is a results directory, or that holds compare's files without ``force``."""
    out = Path(out)
    if (out / "manifest.json").is_file():
        raise ResultsError(f"{out}: is a results directory (it has manifest.json) and its summary.csv would be "
                           f"replaced; write the comparison elsewhere, e.g. --out {out / 'compare'}")
    return check_new_files(out, COMPARE_FILES, force)


def write_compare(c: Comparison, out_dir: str | Path, specs: list[FigureSpec] | None = None,
                  force: bool = False) -> list[Path]:
    """Write ``summary.csv``, ``effects.csv/.md``, for a factorial ``factorial.csv/.md``, then the figures.

    The tables come first and each file is written atomically, so a figure that fails
    (noted in its spec's ``missing``) never costs a table. Existing files of an earlier
    comparison are replaced only with ``force``; then those this comparison does not
    write are removed, so the directory never mixes two comparisons.

    Returns:
        The written paths.
    """
    out = check_compare_dir(out_dir, force)
    specs = build_figures(c) if specs is None else specs
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    # Everything is written into a hidden staging folder first and moved in only when all of it
    # exists, so a full disk or Ctrl-C never leaves a comparison that looks complete.
    stage = Path(tempfile.mkdtemp(prefix=".compare.partial-", dir=out))
    try:
        written = _write_compare(c, stage, specs)
        for path in written:
            os.chmod(path, 0o644)
            os.replace(path, out / path.name)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
    keep = {p.name for p in written}
    for name in COMPARE_FILES:
        if name not in keep:
            (out / name).unlink(missing_ok=True)
    return [out / p.name for p in written]


def _write_compare(c: Comparison, out: Path, specs: list[FigureSpec]) -> list[Path]:
    written: list[Path] = []

    def text(name: str, body: str) -> None:
        (out / name).write_text(body, encoding="utf-8")
        written.append(out / name)

    def csv(name: str, df: pd.DataFrame) -> None:
        df.to_csv(out / name, index=False)
        written.append(out / name)

    csv("summary.csv", c.summary)
    csv("effects.csv", c.effects)
    md = [f"# Effects against the baseline ({c.name(c.baseline)})\n",
          f"Paired by replication; 95% percentile bootstrap intervals from {c.resamples} resamples "
          f"(seed {c.bootstrap_seed}). Differences in percentage points.\n",
          markdown_table(effects_table(c)) if len(c.effects) else "(only one point: nothing to compare)\n",
          "\n## The options\n", markdown_table(options_table(c))]
    text("effects.md", "\n".join(md))
    if c.factorial_table is not None:
        csv("factorial.csv", c.factorial_table)
        text("factorial.md",
             "# Governance factorial: effects on the chance of success\n\n"
             "Main effect: average over the other factors of (high level - low level). Interaction A x B: "
             "(effect of A when B is at its high level) - (effect of A when B is at its low level), averaged "
             f"over the remaining factor. Percentage points; 95% paired bootstrap intervals ({c.resamples} "
             f"resamples, seed {c.bootstrap_seed}).\n\n" + markdown_table(factorial_table(c)))
    for s in specs:
        if s.figure is not None:
            try:
                written += save_figure(s.figure, out, s.stem)
            except OSError:
                raise  # a full disk or a read-only folder is the command's failure, not the figure's
            except Exception as exc:  # the figure's own failure: keep the tables, say what is missing
                first = str(exc).strip().splitlines()
                s.missing = f"it could not be drawn ({type(exc).__name__}: {first[0][:160] if first else ''})"
            finally:
                plt.close(s.figure)
            if s.missing:
                s.figure = None
    return written


# ------------------------------------------------------------------ the HTML report

ASSUMPTIONS = [
    "One simulated week is one tick. The company is a set of executives (each with a private buy-in to CX, "
    "the buy-in they show in public, jealousy toward the CX owner, trust and understanding) and departments "
    "(headcount, readiness for change, CX skill, silo pull, share of employees who have adopted CX practices).",
    "Employees adopt CX practices by push (training, targets) and by imitating colleagues; adoption slips back "
    "where the department's executive does not support it.",
    "A budget-holding owner can fund training, staff and targets; an advisory owner can only persuade. More "
    "status for the owner also breeds more jealousy among peers.",
    "Jealous executives may resist covertly: they keep saying yes in meetings while slowing CX down in their "
    "own departments. In the ordinary case most resisters play along; a CX committee raises the risk of being "
    "seen (fewer play along, and some who do are caught) and builds familiarity.",
    "An active CEO sponsor pulls executives toward co-ownership, protects the owner and the budget, and makes "
    "open resistance costly. Without support, owners leave and budgets get cut.",
    "Visible business results arrive with a delay and feed buy-in; if they do not come within executives' "
    "patience, support erodes, and a programme that has stalled stays stalled rather than recovering with time.",
    "The amount of change grows with headcount, with the number of functions involved and with the hand-offs "
    "between them along the customer journey, not with how finely departments are listed.",
    "Each simulated future draws its own random events (departures, detections, shocks). The same futures are "
    "replayed under every option (common random numbers), so differences come from the options, not from luck.",
]

SOURCES = [
    ("McKinsey & Company (2015), \u201cHow to beat the transformation odds\u201d (global survey)",
     "about 26% of organizational transformations are reported as successful. Calibration target: the "
     "reference organization (advisory owner, passive CEO, no committee) succeeds in 25-35% of futures."),
    ("Hughes, M. (2011), \u201cDo 70 per cent of all organizational change initiatives really fail?\u201d, "
     "Journal of Change Management 11(4)",
     "finds no valid empirical evidence for the popular \u201c70% of change fails\u201d figure; targets are "
     "therefore ranges, not a single well-known number."),
    ("Prosci, Best Practices in Change Management (benchmarking studies)",
     "88-94% of projects with excellent change management and sponsorship met their objectives, against "
     "15-17% with poor change management. Calibration targets: the weakest governance (advisory owner, no "
     "sponsor, no committee) succeeds in 10-20% of futures, the strongest (budget, active sponsor, "
     "committee) in 80-95%, and each choice helps on its own."),
    ("Chief Customer Officer Council, CCO tenure studies",
     "average chief customer officer tenure of about 29 months. Calibration target: the first CX owners of "
     "the reference organization stay 29.4 months on average (within 4 months), every departure observed."),
    ("McKinsey & Company (2018), \u201cUnlocking success in digital transformations\u201d (global survey)",
     "respondents at organizations with fewer than 100 employees are 2.7 times as likely to report success as "
     "those at organizations with more than 50,000. Calibration target: a 150-person firm succeeds about 2.7 "
     "times as often as a 32,000-person company, the reference in between."),
    ("Repenning, N. P. (2002), \u201cA simulation-based approach to understanding the dynamics of innovation "
     "implementation\u201d, Organization Science 13(2)",
     "below a motivation threshold, reversion makes low adoption self-sustaining. Calibration target: run for "
     "ten years, the reference does not converge on success; its outcomes are bimodal, stalled or adopted."),
]

_CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; --bg-soft: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 64px; }
h1 { font-size: 2.0em; line-height: 1.2; margin: 0 0 6px; }
h2 { font-size: 1.4em; margin: 44px 0 10px; padding-top: 10px; border-top: 2px solid var(--rule); }
h3 { font-size: 1.15em; margin: 30px 0 6px; }
.meta { color: var(--muted); margin: 0 0 20px; }
.brief { background: var(--bg-soft); border-left: 6px solid var(--accent); padding: 14px 22px; border-radius: 4px; }
.brief li { margin: 7px 0; }
figure { margin: 10px 0 26px; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.93em; margin-top: 6px; }
.missing { color: var(--muted); font-style: italic; border: 1px dashed var(--rule); padding: 10px 14px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 6px; font-size: 0.9em; }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; }
td.num, td.ci { white-space: nowrap; }
td:first-child { min-width: 12em; }
td.desc { min-width: 22em; }
th.num { min-width: 6.5em; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
.caution { background: #fff6e5; border-left: 6px solid #b35c00; padding: 10px 22px; border-radius: 4px;
  margin: 14px 0; }
.caution li { margin: 6px 0; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border-radius: 2px; margin-right: 6px;
  vertical-align: -0.1em; }
.note { color: var(--muted); font-size: 0.92em; }
pre { margin: 0; background: var(--bg-soft); padding: 8px 12px; border-radius: 4px; overflow-x: auto; font-size: 0.88em;
  white-space: pre-wrap; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 8px 18px; align-items: baseline; }
dt { color: var(--muted); }
dd { margin: 0; }
@media (max-width: 600px) {
  main { padding: 18px 14px 48px; }
  body { font-size: 16px; }
  h1 { font-size: 1.55em; }
  td.desc { min-width: 16em; }
  td:first-child { min-width: 9em; }
  dl { grid-template-columns: minmax(0, 1fr); gap: 2px 0; }
  dd { margin-bottom: 10px; }
}
@media print { main { max-width: none; padding: 0; } h2 { break-before: auto; } figure { break-inside: avoid; } }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _table_html(df: pd.DataFrame, num_cols=(), swatches: dict[str, str] | None = None, cls: str = "") -> str:
    head = "".join(f'<th class="num">{_e(c)}</th>' if c in num_cols else f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for i, col in enumerate(df.columns):
            v = r[col]
            keep_whole = "interval" in str(col) or "vs baseline" in str(col)  # "+21 to +37" on one line
            cell_cls = (' class="num"' if col in num_cols else ' class="ci"' if keep_whole
                        else ' class="desc"' if col == "description" else "")
            sw = ""
            if i == 0 and swatches is not None:
                color = swatches.get(str(v).replace(" (baseline)", ""))
                if color:
                    sw = f'<span class="swatch" style="background:{_e(color)}"></span>'
            cells.append(f"<td{cell_cls}>{sw}{_e(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    klass = f' class="{cls}"' if cls else ""
    # A wide table scrolls inside its own box on a phone, never the whole page.
    return (f'<div class="scroll"><table{klass}><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div>")


def _options_html(c: Comparison, names: dict[str, str]) -> list[str]:
    """The options table; a description or a count of futures shared by every option is said once above it.

    (Said once, not on every row: the table then fits the page's width, 1,080 px, without
    scrolling sideways to its last column.)
    """
    tab = options_table(c)
    out = []
    descs = set(tab["description"].astype(str))
    if len(descs) == 1:
        d = descs.pop()
        tab = tab.drop(columns="description")
        if d:
            out.append(f'<p class="note">Every option applies to the same organization: {_e(d)}</p>')
    futures = set(tab["futures"])
    if len(futures) == 1:
        tab = tab.drop(columns="futures")
        out.append(f'<p class="note">Each option was simulated over the same {futures.pop():,} futures.</p>')
    num = ("futures", "mean final adoption", "median weeks to 80% (futures that got there)", "never reached 80%")
    out.append(_table_html(tab, num_cols=num, swatches=names, cls="options"))
    return out


def _figure_html(spec: FigureSpec) -> str:
    title = f"<h3>{_e(spec.title)}</h3>"
    if spec.figure is None and spec.png is None:
        return title + f'<p class="missing">Not available: {_e(spec.missing)}.</p>'
    try:
        data = base64.b64encode(spec.png if spec.png is not None else figure_png(spec.figure)).decode("ascii")
    except Exception as exc:  # the figure's own failure: the report goes out without it, saying so
        first = str(exc).strip().splitlines()
        spec.missing = f"it could not be drawn ({type(exc).__name__}: {first[0][:160] if first else ''})"
        return title + f'<p class="missing">Not available: {_e(spec.missing)}.</p>'
    return (f'{title}<figure id="fig-{_e(spec.stem)}"><img src="data:image/png;base64,{data}" '
            f'alt="{_e(spec.title)}: {_e(spec.caption)}" width="1600" height="900">'
            f"<figcaption>{_e(spec.caption)}</figcaption></figure>")


def render_report(c: Comparison, specs: list[FigureSpec] | None = None, command: str | None = None) -> str:
    """The report as one HTML string (figures embedded as base64 PNG).

    Args:
        c: the comparison.
        specs: prebuilt figures (default: build them).
        command: the command that made this report (default: this process's command line).
    """
    specs = build_figures(c) if specs is None else specs
    m = c.run.manifest
    exp = m.get("experiment_name") or c.run.path.parent.name
    org = m.get("organization")
    title = f"Which CX governance gives {org} the best odds?" if org else "Which CX governance gives the best odds?"
    current = c.description(c.baseline).startswith("Today's governance")
    finished = m.get("finished") or ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Belt and braces: even if a reader's mail client rewrites the page, forbid network loads.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'">',
        f"<title>{_e(title)} ({_e(exp)})</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Simulation study {"of " if org else ""}<strong>{_e(org or exp)}</strong>, run '
        f"{_e(c.run.path.name)}"
        + (f", finished {_e(finished[:10])}" if finished else "")
        + f". Baseline: <strong>{_e(c.name(c.baseline))}</strong>"
        + (", the organization's current governance" if current else "") + ".</p>",
    ]
    warnings = m.get("calibration_warnings") or []
    if warnings:
        parts += ['<section id="caution" class="caution"><h2 style="border:0;margin:0 0 6px">Read with care</h2>',
                  "<ul>", *[f"<li>{_e(w)}</li>" for w in warnings], "</ul></section>"]
    parts += [
        '<section id="summary"><h2 style="border:0;margin-top:18px">In brief</h2><ul class="brief">',
        *[f"<li>{_e(s)}</li>" for s in summary_sentences(c)],
        "</ul>",
    ]
    if c.notes:
        parts.append("".join(f'<p class="note">Note: {_e(n)}</p>' for n in c.notes))
    parts.append("</section>")
    names = {c.name(p): c.colors[p] for p in c.point_ids}
    parts += [
        '<section id="options"><h2>The options compared</h2>',
        "<p>Each option is one way of governing customer-experience management; all else about the "
        "company is the same. The chance of success is the share of simulated futures in which the target "
        "adoption was reached; the 95% interval shows how precisely the simulation pins it down.</p>",
        *_options_html(c, names),
        "</section>",
        '<section id="figures"><h2>Figures</h2>',
        *[_figure_html(s) for s in specs],
        "</section>",
        '<section id="effects"><h2>Effects against the baseline</h2>',
    ]
    if len(c.effects):
        parts += [
            f"<p>Each option compared with <strong>{_e(c.name(c.baseline))}</strong> on the same simulated "
            "futures. Differences are in percentage points. An interval that does not include 0 means the "
            "difference is not an accident of the simulation's randomness.</p>",
            _table_html(effects_table(c), num_cols=("change (points)", "change in adoption (points)", "pairs"),
                        swatches=names),
            f'<p class="note">Method: paired percentile bootstrap over replications ({c.resamples} resamples, '
            f"fixed seed {c.bootstrap_seed}); each resample draws replication numbers with replacement and keeps "
            "every option's result for that replication together (common random numbers).</p>",
        ]
    else:
        parts.append("<p>Only one option was selected: there is nothing to compare it with.</p>")
    ftab = factorial_table(c)
    if ftab is not None:
        parts += [
            "<h3>The governance factorial</h3>",
            "<p>The options form a full factorial design of the governance choices, so the effect of each "
            "choice can be separated. A <em>main effect</em> is the average change in the chance of success "
            "from making that choice, over all combinations of the other choices. An <em>interaction</em> "
            "says how much larger (positive) or smaller (negative) one choice's effect is when the other choice "
            "is also made.</p>",
            _table_html(ftab, num_cols=("effect on chance of success (points)",)),
        ]
    parts.append("</section>")
    parts += [
        '<section id="model"><h2>What the model assumes</h2><ul>',
        *[f"<li>{_e(a)}</li>" for a in ASSUMPTIONS],
        "</ul><h3>Calibration sources</h3><p>The default parameters are tuned so that the model reproduces "
        "published orders of magnitude (these are targets for plausibility, not measurements of your "
        "company):</p><ul>",
        *[f"<li><strong>{_e(s)}</strong>: {_e(t)}</li>" for s, t in SOURCES],
        "</ul></section>",
    ]
    versions = m.get("versions") or {}
    report_cmd = command or command_line()
    parts += [
        '<section id="reproduce"><h2>How to reproduce these results</h2>',
        "<p>The simulation is reproducible to the bit: the same command, seed and software versions give the "
        "same numbers.</p>",
        "<dl>",
        f"<dt>Simulation command</dt><dd><pre>{_e(m.get('command', 'not recorded'))}</pre></dd>",
        f"<dt>Seed</dt><dd>{_e(m.get('seed', 'not recorded'))}</dd>",
        f"<dt>Futures per option</dt><dd>{_e(m.get('replications', 'not recorded'))}</dd>",
        f"<dt>Weeks simulated</dt><dd>{_e(m.get('ticks', 'not recorded'))}</dd>",
        f"<dt>Experiment file</dt><dd>{_e(m.get('experiment_file', 'not recorded'))}</dd>",
        f"<dt>Source version</dt><dd>cxsim {_e(versions.get('cxsim', '?'))}, git commit "
        f"{_e(m.get('git_commit') or 'not recorded')}</dd>",
        f"<dt>Ran</dt><dd>{_e(m.get('started', '?'))} to {_e(m.get('finished', '?'))}</dd>",
        f"<dt>Results directory</dt><dd>{_e(c.run.path)}</dd>",
        f"<dt>This report</dt><dd><pre>{_e(report_cmd)}</pre></dd>",
        "</dl>",
        f"<details><summary>Software versions</summary><pre>{_e(json.dumps(versions, indent=1))}</pre></details>",
        "</section>",
        f'<p class="note">Generated by cxsim {_e(package_versions().get("cxsim", "?"))} on {_e(now_iso())}.</p>',
        "</main></body></html>",
    ]
    return "\n".join(parts)


def check_report_path(out: str | Path, force: bool = False) -> Path:
    """Refuse a directory, and an existing file without ``force`` (checked before any work is done)."""
    out = Path(out)
    if out.is_dir():
        raise ResultsError(f"{out}: is a directory; --out takes a file name such as report.html")
    return check_new_file(out, force)


def write_report(c: Comparison, out: str | Path, specs: list[FigureSpec] | None = None,
                 command: str | None = None, force: bool = False) -> Path:
    """Write the report atomically: a temporary file in the same directory, then a rename.

    An existing file is replaced only with ``force``.

    Returns:
        The report's path.
    """
    out = check_report_path(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    specs = build_figures(c) if specs is None else specs
    try:
        text = render_report(c, specs, command)
    finally:
        for s in specs:
            if s.figure is not None:
                plt.close(s.figure)
    with atomic_write(out) as tmp:  # (0o644: a report is meant to be shared)
        tmp.write_text(text, encoding="utf-8")
    return out
