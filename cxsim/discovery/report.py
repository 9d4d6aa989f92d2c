"""The HTML report of a discovery run: "what it takes", robust choices, how to read them."""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

import pandas as pd

from ..compare.report import _CSS, ASSUMPTIONS, SOURCES, _e, _table_html
from ..provenance import now_iso, package_versions
from ..safeio import atomic_write, check_new_file
from .core import Discovery, discover
from .figures import cart_figure, robustness_figure, trajectory_figure

__all__ = ["is_discovery_run", "write_discovery_report", "render_discovery_report", "brief"]


def is_discovery_run(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a finished run of a ``discovery`` design (levers x sampled futures)."""
    from ..batch.store import read_manifest

    try:
        m = read_manifest(Path(run_dir))
    except Exception:  # the report command reports a damaged run itself
        return False
    return ((m.get("experiment") or {}).get("design") or {}).get("type") == "discovery"


def brief(d: Discovery) -> list[str]:
    """The discovery in a few sentences a non-technical reader can act on."""
    from .cli import robust_failure_sentence

    out = [f"Across {len(d.prim.y):,} simulated futures (every governance choice in the same sampled "
           f"conditions), CX took hold in {d.base_rate:.0%}.",
           f"What it takes: {d.summary()}"]
    if len(d.cart_rules):
        top = d.cart_rules.iloc[0]
        out.append(f"Cross-check with a decision tree: the best leaf is \"{top['rule']}\" ({top['density']:.0%} "
                   f"succeed, {top['share of futures']:.0%} of all futures).")
    if d.robustness is not None:
        r = d.robustness.iloc[0]
        regret = ("it is the best choice in every sampled future" if r["max_regret"] <= 0 else
                  f"in no future does another choice beat it by more than {100 * r['max_regret']:.0f} points")
        out.append(f"Most robust choice: {r['choice']}. It succeeds in {r['mean']:.0%} of futures on average and "
                   f"in at least {r['p10']:.0%} in nine futures out of ten; {regret}.")
        out.append(robust_failure_sentence(d))
    out.append("These are results of a simulation model under stated assumptions, not a forecast: read them as "
               "which choices shift the odds, and in which conditions.")
    return out


def _img(fig_fn, d: Discovery, alt: str, caption: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = fig_fn(d, Path(tmp) / "f.png")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}" style="max-width:100%">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _pct(df: pd.DataFrame, cols) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        df[c] = df[c].map(lambda v: f"{v:.0%}")
    return df


def render_discovery_report(run_dir: str | Path, d: Discovery, command: str = "") -> str:
    """The report as one self-contained HTML string."""
    from ..batch.store import read_manifest

    m = read_manifest(Path(run_dir))
    title = "What it takes for CX to take hold"
    r = d.restrictions
    restr = r[r["restricted"]][["label", "role", "limits", "full range", "quasi_p", "resample_share"]].copy()
    restr["quasi_p"] = restr["quasi_p"].map(lambda v: f"{v:.2g}")
    restr["resample_share"] = restr["resample_share"].map(lambda v: f"{v:.0%}")
    restr = restr.rename(columns={"label": "input", "limits": "in the box", "quasi_p": "quasi-p-value",
                                  "resample_share": "reappears in resamples"})
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'">',
        f"<title>{_e(title)} ({_e(m.get('experiment_name', ''))})</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Scenario discovery on <strong>{_e(m.get("experiment_name", ""))}</strong>, run '
        f"{_e(Path(run_dir).name)}: levers (what the company chooses) against uncertainties (what it cannot "
        "choose).</p>",
        '<section id="summary"><h2 style="border:0;margin-top:18px">In brief</h2><ul class="brief">',
        *[f"<li>{_e(s)}</li>" for s in brief(d)], "</ul></section>",
        '<section id="what-it-takes"><h2>What it takes</h2>',
        f"<p><strong>{_e(d.rule)}</strong>: {d.box.density:.0%} of these futures {_e(d.outcome_name)} "
        f"(<em>density</em>), and they hold {d.box.coverage:.0%} of all futures that {_e(d.outcome_name)} "
        f"(<em>coverage</em>); overall {d.base_rate:.0%} do.</p>",
        _table_html(restr) if len(restr) else "<p>The box restricts nothing.</p>",
        '<p class="note">PRIM (Friedman and Fisher 1999) peels away the futures where success is rarest, a '
        "slice at a time; each dot of the trajectory below is one box. The box described is the knee of the "
        "trajectory (largest coverage x lift, at most three restrictions). A small quasi-p-value says the "
        "restriction matters (a binomial test against the same box without it); the last column says how often "
        "the restriction reappears when PRIM is run on resampled futures.</p>",
        _img(trajectory_figure, d, "PRIM peeling trajectory", "Coverage against density of every box on the "
             "peeling trajectory; the ring marks the box described above."),
        "<h3>Cross-check: a decision tree</h3>",
        _table_html(_pct(d.cart_rules.head(6), ["share of futures", "density"]).drop(columns=["n"])),
        _img(cart_figure, d, "CART decision tree", "A depth-3 decision tree (CART) on the same futures; each "
             "leaf shows its share of futures and the share that fail and succeed."),
        "</section>",
    ]
    if d.robustness is not None:
        rob = d.robustness[["choice", "mean", "p10", "mean_regret", "max_regret"]].head(12)
        rob = _pct(rob, ["mean", "p10", "mean_regret", "max_regret"]).rename(columns={
            "mean": "success, mean over futures", "p10": "success in a bad future (10th percentile)",
            "mean_regret": "mean regret", "max_regret": "worst regret"})
        from .cli import robust_failure_sentence

        parts += [
            '<section id="robust"><h2>Robust choices</h2>',
            "<p>Every combination of the levers was run in the same sampled futures, so each choice can be "
            "compared with the best choice <em>for that future</em>: its <em>regret</em> is how many points of "
            "success it gives up there. The most robust choice has the smallest worst-case regret.</p>",
            _table_html(rob),
            _img(robustness_figure, d, "Robust choices", "Each choice's success over the sampled futures: mean "
                 "(dot) and 10th percentile (bar); the worst regret on the right."),
            f"<p>{_e(robust_failure_sentence(d))}</p>",
            "</section>",
        ]
    versions = m.get("versions") or {}
    parts += [
        '<section id="model"><h2>What the model assumes</h2><ul>',
        *[f"<li>{_e(a)}</li>" for a in ASSUMPTIONS],
        "</ul><h3>Calibration sources</h3><ul>",
        *[f"<li><strong>{_e(s)}</strong>: {_e(t)}</li>" for s, t in SOURCES],
        "</ul></section>",
        '<section id="reproduce"><h2>How to reproduce these results</h2><dl>',
        f"<dt>Simulation command</dt><dd><pre>{_e(m.get('command', 'not recorded'))}</pre></dd>",
        f"<dt>Seed</dt><dd>{_e(m.get('seed', 'not recorded'))}</dd>",
        f"<dt>Design</dt><dd><pre>{_e(json.dumps((m.get('experiment') or {}).get('design'), indent=1))}</pre></dd>",
        f"<dt>This report</dt><dd><pre>{_e(command)}</pre></dd>",
        f"<dt>Source version</dt><dd>cxsim {_e(versions.get('cxsim', '?'))}, git commit "
        f"{_e(m.get('git_commit') or 'not recorded')}</dd>",
        "</dl></section>",
        f'<p class="note">Generated by cxsim {_e(package_versions().get("cxsim", "?"))} on {_e(now_iso())}.</p>',
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write_discovery_report(run_dir: str | Path, out: str | Path, force: bool = False, command: str = "",
                           resamples: int = 50) -> tuple[Path, Discovery]:
    """Run the discovery and write its report atomically (an existing file only with ``force``)."""
    out = check_new_file(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    d = discover(run_dir, resamples=resamples)
    text = render_discovery_report(run_dir, d, command)
    with atomic_write(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out, d
