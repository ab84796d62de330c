"""Tracing overhead, in one guest boot (`make bench`): the same kmod run of
16384 pages untraced, traced with every probe (events on), traced with
counts only, and traced one group at a time, as ratios of wall time."""
import json
import os
import statistics
import sys
from pathlib import Path

import engine
from lab.module import load_module, unload_module
from tracing import probes
from tracing.tracer import Tracer

PAGES, REPS = 16384, 3


def wall(tracer_opts=None):
    """Median wall seconds of REPS runs, traced by one tracer (compiled once)."""
    walls, tracer, lost = [], None, 0
    if tracer_opts is not None:
        tracer = Tracer(pids=[os.getpid()], **tracer_opts).start()
    for _ in range(REPS):
        r = engine.run("kmod", PAGES, 1, "sequential")
        if not r.ok or r.bad_pages or r.missing_pages:
            sys.exit(f"kmod run failed: {r.error or 'pages lost'}")
        walls.append(r.wall_s)
    if tracer:
        lost = tracer.stop().summary["lost_events"]
    return statistics.median(walls), lost


def main():
    load_module()
    base, _ = wall()
    rows = [("untraced", base, 0)]
    rows.append(("all probes, events", *wall(dict())))
    rows.append(("all probes, counts only", *wall(dict(events=False))))
    for group in probes.GROUPS:
        if group != "uffd":  # no uffd calls in a kmod run
            rows.append((f"group {group}, events", *wall(dict(groups=(group,)))))
    unload_module()
    print(f"{'CONFIGURATION':<28} {'WALL_S':>8} {'X_UNTRACED':>10} {'LOST':>6}   goal: all probes <= 1.5x")
    for name, w, lost in rows:
        print(f"{name:<28} {w:>8.3f} {w / base:>10.2f} {lost:>6}")
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-tracing.json"
    out.write_text(json.dumps([dict(config=n, wall_s=w, ratio=w / base, lost=lost) for n, w, lost in rows],
                              indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
