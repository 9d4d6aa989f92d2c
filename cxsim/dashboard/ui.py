"""What the participant's page and the facilitator's console share: styles and small helpers (no components)."""

from __future__ import annotations

import math
import urllib.parse
from typing import Any

__all__ = ["CSS", "PRIMARY"]

PRIMARY = "#0072B2"  # Okabe-Ito blue

CSS = """
.v-app-bar, .v-app-bar.v-toolbar { background-color: #0072B2 !important; color: #fff !important; }
.cx-appbar-sub { font-size: 13px; opacity: .85; margin-left: 14px; font-weight: 400; }
.cx-root { font-size: 15px; }
.cx-card { border-radius: 10px !important; }
/* titles and subtitles wrap instead of being cut with an ellipsis */
.cx-card .v-card-title, .cx-card .v-card-subtitle { white-space: normal !important; overflow: visible !important; }
.cx-kpis { display:flex; gap:22px; align-items:flex-end; flex-wrap:wrap; }
.cx-kpi .v { font-size: 26px; font-weight: 700; line-height: 1.1; }
.cx-kpi .l { font-size: 12px; color: #6b7280; text-transform: uppercase; letter-spacing: .04em; }
.cx-week .v { font-size: 38px; }
.cx-progress { height: 6px; background: #e5e7eb; border-radius: 3px; margin-top: 8px; }
.cx-progress > div { height: 6px; background: #0072B2; border-radius: 3px; }
.cx-log { max-height: 300px; overflow-y: auto; font-size: 13.5px; }
.cx-log div { padding: 3px 0; border-bottom: 1px solid #f0f0f0; }
.cx-log .wk { display:inline-block; min-width: 58px; color:#6b7280; font-variant-numeric: tabular-nums; }
.cx-log .decision { font-weight: 600; }
.cx-dec { font-size: 13.5px; }
.cx-dec .n { display:inline-block; width:20px; height:20px; border-radius:4px; background:#1f2430; color:#fff;
             text-align:center; font-size:12px; font-weight:700; line-height:20px; margin-right:6px; }
.cx-table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
.cx-table th, .cx-table td { padding: 4px 6px; border-bottom: 1px solid #eee; text-align: right; }
.cx-table th:first-child, .cx-table td:first-child { text-align: left; }
.cx-reveal-on { color: #D55E00; font-weight: 700; }
.cx-hint { color: #6b7280; font-size: 12.5px; }
/* the menu (sidebar) button and every icon on the blue bar: white, so the levers stay reachable on a narrow
   screen once the sidebar folds away */
.v-app-bar .v-btn, .v-app-bar .v-icon, .v-app-bar .v-app-bar__nav-icon { color: #fff !important; }
/* the menu button's icon glyph does not render in Solara's Vuetify 3 bundle: draw one */
.v-app-bar-nav-icon .v-btn__content::before { content: ""; display: block; width: 22px; height: 16px;
  background: linear-gradient(#fff 0 0) top / 100% 2.5px no-repeat,
    linear-gradient(#fff 0 0) center / 100% 2.5px no-repeat,
  linear-gradient(#fff 0 0) bottom / 100% 2.5px no-repeat; }
/* Solara's "made with" badge would sit on the org chart */
.solara-watermark, a[href="https://solara.dev"], .v-footer a[href*="solara.dev"] { display: none !important; }
.cx-effect { color: #6b7280; font-size: 11.5px; line-height: 1.3; margin: 2px 0 8px 0; }
.cx-since { font-size: 12.5px; margin: 2px 0; }
.cx-goal { font-size: 15px; }
.cx-brief { font-size: 13.5px; max-width: 1100px; }
.cx-brief p { margin: 6px 0; }
.cx-gloss { display: grid; grid-template-columns: minmax(140px, 240px) 1fr; gap: 4px 14px; margin: 6px 0; }
.cx-gloss dt { font-weight: 700; }
.cx-gloss dd { margin: 0; }
.cx-scroll { overflow-x: auto; max-width: 100%; }
@media (max-width: 900px) { .cx-scroll { max-width: calc(100vw - 84px); } }
/* a phone: the sidebar leaves a strip of the page uncovered; a tap there folds it away */
@media (max-width: 700px) { .v-navigation-drawer { width: 84vw !important; min-width: 0 !important; } }
/* a phone: the org chart keeps a readable size and scrolls sideways */
@media (max-width: 900px) { [data-testid=view-org] { overflow-x: auto; max-width: calc(100vw - 84px); }
  [data-testid=view-org] svg { min-width: 760px; } }
/* a phone: cards one under the other, never wider than the screen */
@media (max-width: 900px) { .cx-root .v-row > .v-col, .cx-root .v-row > [class*="v-col"] { flex: 0 0 100% !important;
  max-width: 100% !important; } .cx-replay-choice { min-width: 0 !important; } }
@media (max-width: 700px) { .cx-gloss { grid-template-columns: 1fr; } .cx-gloss dd { margin-bottom: 6px; } }
.cx-end { margin-top: 10px; padding: 10px 14px; border-radius: 8px; font-size: 14px; }
.cx-end .h { font-size: 18px; font-weight: 700; margin-bottom: 2px; }
.cx-end.ok { background: #e6f4ef; border-left: 5px solid #009E73; }
.cx-end.short { background: #fdf0e6; border-left: 5px solid #D55E00; }
.cx-held { margin-top: 10px; padding: 8px 12px; border-radius: 8px; background: #eef4fb; font-size: 14px; }
.cx-code-big { font-size: 44px; font-weight: 800; letter-spacing: .12em; font-variant-numeric: tabular-nums; }
.cx-appbar-sub { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
@media (max-width: 700px) { .cx-appbar-sub { display: none; } .cx-kpis { gap: 12px; }
  .cx-kpi .v { font-size: 20px; } .cx-week .v { font-size: 28px; } }
.cx-section { font-size: 12px; font-weight: 700; color: #6b7280; text-transform: uppercase; letter-spacing: .05em;
              margin: 10px 0 2px 0; }
"""


def _items(pairs) -> list[dict[str, Any]]:
    """Select items; Vuetify 2 reads text/value, Vuetify 3 title/value."""
    return [{"text": t, "title": t, "value": v} for v, t in pairs]


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _query(search: str | None) -> dict[str, str]:
    """The page URL's query parameters (first value of each)."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(search or "").items() if v}


def _push(router, path: str) -> None:
    """Change the page's URL (no-op outside a served page, e.g. in tests and the benchmark)."""
    if router.set_path is not None:
        router.push(path)
