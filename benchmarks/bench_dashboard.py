"""Load check of the workshop dashboard: a room of sessions stepping (and playing) at once.

Each simulated participant is a real dashboard page (the app's Solara components,
rendered server-side in its own kernel context, as the server does for a browser
tab), driven from its own thread: it clicks "Step 1 week" at a human pace, and a
share of them also press Play. We time every click from the handler to the end
of the re-render, which is what the server spends before it can answer. The
websocket transfer to browsers is not included (it is small: a few HTML strings
per week).

    python benchmarks/bench_dashboard.py                 # 25 sessions, 5 playing, 20 s
    python benchmarks/bench_dashboard.py --sessions 40 --playing 10 --seconds 30
    python benchmarks/bench_dashboard.py --room          # a room: 30 teams stepping, the console open

With ``--room`` the sessions are teams that joined one workshop room (as
``/?room=CODE`` pages do), and the facilitator's console is rendered too and
refreshed every half second (as its poll does); its render time is reported, so
"the console shows a team's step within" is the poll interval plus that.

Targets: a step answers in under 200 ms with 25 sessions at once (issue 5); with
30 teams in a room, step p95 under 200 ms and the console within a second (issue 13).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")


def main() -> None:
    """Render the sessions, let them click for the set time, and print click latency and server CPU."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=25)
    ap.add_argument("--playing", type=int, default=5, help="sessions that also press Play (4 weeks/s)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--think", type=float, nargs=2, default=(0.5, 2.0), metavar=("MIN", "MAX"),
                    help="seconds between a participant's clicks")
    ap.add_argument("--scenario", default="reference")
    ap.add_argument("--room", action="store_true",
                    help="teams in one room (default 30 sessions, 0 playing) with the facilitator's console open")
    args = ap.parse_args()
    if args.room and "--sessions" not in os.sys.argv:
        args.sessions = 30
    if args.room and "--playing" not in os.sys.argv:
        args.playing = 0
    os.environ["CXSIM_DASHBOARD_SCENARIO"] = args.scenario

    import ipyvuetify as v
    import solara
    from solara.server import kernel_context

    from cxsim.dashboard import app, console
    from cxsim.dashboard.room import REGISTRY
    from cxsim.dashboard.session import Setup, default_setup

    t0 = time.perf_counter()
    pages = []
    room = REGISTRY.create_room(Setup(args.scenario, default_setup().seed)) if args.room else None
    for i in range(args.sessions):
        ctx = kernel_context.create_dummy_context()
        with ctx:
            if room is not None:
                team = room.join(f"Team {i + 1}")
                _, rc = solara.render(app.Game(team.session, room, team), handle_error=False)
            else:
                _, rc = solara.render(app.Page(), handle_error=False)
        pages.append((ctx, rc))
    kind = f"teams in room {room.code}" if room is not None else "sessions"
    print(f"{args.sessions} {kind} rendered in {time.perf_counter() - t0:.1f} s")

    console_ms: list[float] = []
    console_stop = threading.Event()
    console_thread = None
    if room is not None:
        cctx = kernel_context.create_dummy_context()
        tick = solara.reactive(0)

        @solara.component
        def ConsoleView():
            console.RoomPanel(room, tick.value)

        with cctx:
            _, crc = solara.render(ConsoleView(), handle_error=False)

        def refresh():  # what the console's poll does
            while not console_stop.wait(console.CONSOLE_POLL_S):
                with cctx:
                    t = time.perf_counter()
                    tick.set(tick.value + 1)
                    console_ms.append(1000 * (time.perf_counter() - t))

        console_thread = threading.Thread(target=refresh)

    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + args.seconds
    cpu0 = time.process_time()

    def participant(i: int, ctx, rc) -> None:
        rnd = random.Random(i)
        with ctx:
            if i < args.playing:
                rc.find(v.Btn, attributes={"data-testid": "play"}).widget.click()
            step = rc.find(v.Btn, attributes={"data-testid": "step"}).widget
            while time.perf_counter() < stop:
                time.sleep(rnd.uniform(*args.think))
                if step.disabled:  # reached the horizon: start over (a team in a room cannot: it stops)
                    if room is not None:
                        break
                    rc.find(v.Btn, attributes={"data-testid": "reset"}).widget.click()
                    continue
                t = time.perf_counter()
                step.click()
                with lock:
                    latencies.append(time.perf_counter() - t)
            if i < args.playing:
                pause = rc.find(v.Btn, attributes={"data-testid": "pause"})
                if pause.widgets:
                    pause.widget.click()

    threads = [threading.Thread(target=participant, args=(i, ctx, rc)) for i, (ctx, rc) in enumerate(pages)]
    wall = time.perf_counter()
    if console_thread is not None:
        console_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    console_stop.set()
    if console_thread is not None:
        console_thread.join()
        with cctx:
            crc.close()
    cpu = time.process_time() - cpu0
    for ctx, rc in pages:
        with ctx:
            rc.close()

    ms = sorted(1000 * x for x in latencies)
    q = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]  # noqa: E731
    print(f"{len(ms)} step clicks in {wall:.1f} s by {args.sessions} sessions ({args.playing} also playing)")
    print(f"  click-to-rendered latency: median {statistics.median(ms):.0f} ms, p95 {q(0.95):.0f} ms, "
          f"p99 {q(0.99):.0f} ms, max {ms[-1]:.0f} ms")
    print(f"  server CPU: {cpu / wall:.0%} of one core; play frame cost {1000 * app.PLAY_BUDGET.cost:.0f} ms")
    verdict = "OK" if q(0.95) < 200 else "SLOW"
    print(f"  target p95 < 200 ms: {verdict}")
    if console_ms:
        cm = sorted(console_ms)
        worst = cm[min(len(cm) - 1, int(0.95 * len(cm)))]
        print(f"  console ({args.sessions} teams): {len(cm)} refreshes, render median {statistics.median(cm):.0f} ms, "
              f"p95 {worst:.0f} ms; a step shows within {1000 * console.CONSOLE_POLL_S + worst:.0f} ms "
              f"(poll {1000 * console.CONSOLE_POLL_S:.0f} ms + render): "
              + ("OK" if 1000 * console.CONSOLE_POLL_S + worst < 1000 else "SLOW"))


if __name__ == "__main__":
    main()
