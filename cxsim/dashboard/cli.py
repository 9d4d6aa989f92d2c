"""``cxsim dashboard``: serve the workshop app (Solara on uvicorn) until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import socket

import click

from .session import DEFAULT_SEED, ENV_SCENARIO, ENV_SEED

EPILOG = """
\b
Examples:
  cxsim dashboard                      # reference scenario, http://127.0.0.1:8765
  cxsim dashboard governance/advisory-nosponsor-nocommittee --port 9000
  cxsim dashboard my_company.toml --seed 7

\b
Running a room (see docs/workshop.md):
  1. On the facilitator's laptop:  cxsim dashboard --host 0.0.0.0 --port 8765
     (0.0.0.0 listens on every network interface; the default 127.0.0.1
     accepts this laptop only).
  2. Find the laptop's address on the room's network (e.g. `hostname -I` on
     Linux, `ipconfig getifaddr en0` on macOS, `ipconfig` on Windows).
  3. Open the facilitator's console with the link printed at start-up
     (http://localhost:8765/facilitator?token=...), create a room and write its
     4-letter code and the printed address on the flip chart. Teams open the
     address, type the code and a team name; 30 teams are fine on a 2-core laptop.
  Stop the server with Ctrl-C. Only serve on 0.0.0.0 on a network you trust:
  anyone who can reach the port can use the app.

\b
Offline rooms: the page needs a few browser assets (the Vuetify bundle,
RequireJS, Font Awesome). They are fetched once with npm into Solara's cache
when missing; run `python -m cxsim.dashboard.assets` beforehand with internet
access (or access to the npm registry) to prepare the laptop.
"""


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on its networks (not loopback), best guess first.

    The first is the address of the interface the default route leaves by (a UDP
    "connect" sends nothing); the rest come from the host name's addresses.
    """
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(info[4][0])
    except OSError:
        pass
    out = []
    for a in found:
        if a not in out and not a.startswith("127.") and a != "0.0.0.0":
            out.append(a)
    return out


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@click.command(epilog=EPILOG, context_settings={"max_content_width": 100})
@click.argument("scenario", required=False, default="reference")
@click.option("--port", "-p", default=8765, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind. 127.0.0.1: this computer only; 0.0.0.0: everyone on the network "
                   "(a workshop room).")
@click.option("--seed", "-s", default=DEFAULT_SEED, show_default=True, type=click.IntRange(min=0),
              help="Seed new sessions start with (participants can change it). The default is one where "
                   "the reference fails unless the team acts.")
@click.option("--no-assets", is_flag=True,
              help="Do not fetch missing browser assets with npm before serving.")
def dashboard(scenario, port, host, seed, no_assets):
    """Serve the workshop dashboard for SCENARIO (a .toml file or a shipped name; default: reference).

    Participants pull the CX governance levers (owner and mandate, CEO sponsorship,
    committee, jealousy), play the organization week by week, reveal the hidden
    politics at the debrief, and replay the same seed with other decisions.
    """
    import importlib.util

    from ..errors import CXSimError
    from ..scenario import load_scenario

    if importlib.util.find_spec("solara") is None or importlib.util.find_spec("uvicorn") is None:
        raise CXSimError("dashboard: needs Solara, which the `dashboard` extra installs: "
                         "pip install -e '.[dashboard]' (or pip install 'cxsim[dashboard]')")
    sc = load_scenario(scenario)  # a bad scenario is one line and exit 2 before anything starts
    if not _port_free(host, port):
        raise click.UsageError(f"--port {port}: already in use on {host}; choose another port")
    # The server imports the app module; the scenario and seed reach it through the environment.
    os.environ[ENV_SCENARIO] = scenario
    os.environ[ENV_SEED] = str(seed)
    from .room import ENV_TOKEN, ENV_URL

    token = os.environ.get(ENV_TOKEN) or secrets.token_urlsafe(12)
    os.environ[ENV_TOKEN] = token
    everyone = host in ("0.0.0.0", "::", "")
    addresses = lan_addresses() if everyone else []
    public = f"http://{addresses[0]}:{port}" if addresses else (
        f"http://localhost:{port}" if host in ("127.0.0.1", "localhost") or everyone else f"http://{host}:{port}")
    os.environ[ENV_URL] = public
    os.environ["SOLARA_APP"] = "cxsim.dashboard.app"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ.setdefault("SOLARA_THEME_VARIANT", "light")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # it would sit on the org chart
    if not no_assets:
        from .assets import ensure_assets

        ensure_assets()
    import uvicorn

    from .._jitcache import warm_up

    warm_up(sc, click.echo)  # (the first participant should not wait for the compiler)
    click.echo(f"cxsim dashboard: {scenario} at {public}  (Ctrl-C stops it)")
    if everyone:
        if len(addresses) > 1:
            click.echo("  other addresses of this computer: " + ", ".join(f"http://{a}:{port}" for a in addresses[1:]))
        elif not addresses:
            click.echo("  no network address found: participants need this computer's address (hostname -I)")
        click.echo("  warning: anyone who can reach this network can open the app and join a room;"
                   " serve on 0.0.0.0 only on a network you trust")
    local = "localhost" if everyone or host in ("127.0.0.1", "localhost") else host
    click.echo(f"  facilitator's console: http://{local}:{port}/facilitator?token={token}"
               "  (keep the token to yourself)")
    # uvicorn handles SIGINT/SIGTERM: Ctrl-C closes the sessions and returns here.
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning", access_log=False,
                ws_max_size=16 * 1024 * 1024)
