"""The workshop dashboard: a browser app to pull the CX levers, watch, reveal and replay.

``cxsim dashboard`` serves :mod:`cxsim.dashboard.app`; the game logic lives in
:mod:`cxsim.dashboard.session` (no UI), the live views in
:mod:`cxsim.dashboard.views` (SVG) and the debrief downloads in
:mod:`cxsim.dashboard.export`. Nothing in the model core imports this package.
"""
