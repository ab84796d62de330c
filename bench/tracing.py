"""Tracing overhead, in one guest boot (`make bench`): the same kmod run of
16384 pages untraced, traced with every probe (events on), traced with
counts only, and traced one group at a time, as ratios of wall time, each
with the issue's goal where it has one (GOALS).  An unmeasured run comes
first (a boot's first runs are slower) and the untraced run is measured
again last, to show the baseline's drift.

The BPF program is the same for every configuration (what differs is which
probes are attached and whether events are on), so it is compiled once
and attached per configuration.  --quick runs every row on 1024 pages,
once: a smoke test, not figures.
"""
import json
import os
import statistics
import sys
from pathlib import Path

import engine
from bench import quick_parser
from lab.module import load_module, unload_module
from tracing import probes
from tracing.tracer import Tracer

PAGES, REPS = 16384, 3
QUICK_PAGES, QUICK_REPS = 1024, 1
# the goals, as ratios to untraced: rows without one are measured for the record
GOALS = {"all probes, events": 1.3, "all probes, counts only": 1.15, "group gup, events": 1.05,
         "group vma, events": 1.05}


def configurations():
    """(row name, attach() arguments or None), in table order; untraced has the program loaded, no probe on."""
    rows = [("untraced", None), ("all probes, events", dict(groups=probes.GROUPS, events=True)),
            ("all probes, counts only", dict(groups=probes.GROUPS, events=False))]
    # no uffd calls in a kmod run
    return rows + [(f"group {g}, events", dict(groups=(g,), events=True)) for g in probes.GROUPS if g != "uffd"]


def wall(pages, reps, tracer=None, attach=None):
    """Median wall seconds of reps kmod runs, with tracer attached as attach says (if given), and lost events."""
    walls, lost = [], 0
    if attach is not None:
        tracer.attach(**attach)
    for _ in range(reps):
        r = engine.run("kmod", pages, 1, "sequential")
        if not r.ok or r.bad_pages or r.missing_pages:
            sys.exit(f"kmod run failed: {r.error or 'pages lost'}")
        walls.append(r.wall_s)
    if attach is not None:
        lost = tracer.detach().summary["lost_events"]
    return statistics.median(walls), lost


def main(argv=None):
    quick = quick_parser("bench.tracing", __doc__).parse_args(argv).quick
    pages, reps = (QUICK_PAGES, QUICK_REPS) if quick else (PAGES, REPS)
    load_module()
    tracer = Tracer(pids=[os.getpid()]).compile()
    wall(pages, 1)  # unmeasured: the first runs of a boot are slower, which flattered every ratio by ~15%
    try:
        rows = [(name, *wall(pages, reps, tracer, attach)) for name, attach in configurations()]
        again = wall(pages, reps)[0]  # untraced once more: how far the baseline drifted over the table
    finally:
        tracer.close()
    unload_module()
    base = rows[0][1]
    print(f"{'CONFIGURATION':<28} {'WALL_S':>8} {'X_UNTRACED':>10} {'LOST':>6}")
    for name, w, lost in rows:
        print(f"{name:<28} {w:>8.3f} {w / base:>10.2f} {lost:>6}")
    print(f"(untraced again at the end: {again:.3f} s, {again / base:.2f}x the first)")
    print(f"\n{'CONFIGURATION':<28} {'X_UNTRACED':>10} {'GOAL':>8} MET")
    for name, w, _ in rows:
        goal = GOALS.get(name)
        met = "-" if goal is None else "yes" if w / base <= goal else "NO"
        print(f"{name:<28} {w / base:>10.2f} {f'<= {goal:.2f}' if goal else '-':>8} {met}")
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-tracing.json"
    out.write_text(json.dumps({"quick": quick, "pages": pages, "reps": reps, "untraced_again_s": again,
                               "rows": [dict(config=n, wall_s=w, ratio=w / base, lost=lost, goal=GOALS.get(n))
                                        for n, w, lost in rows]}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
