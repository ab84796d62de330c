"""Tracing overhead, in one guest boot (`make bench`): the same kmod run of
16384 pages traced with every probe (events on), with counts only, and one
group at a time, each as a ratio of wall time to untraced runs, with the
issue's goal where it has one (GOALS).

Under TCG a boot's untraced runs drift over minutes by more than the costs
measured here (6.97-9.22 s for the same run in one boot, 2026-12), so every
traced row is bracketed: untraced runs come right before and right after
it, and its ratio is to their mean.  An
unmeasured run comes first (a boot's first runs are slower).

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

PAGES, REPS, UNTRACED_REPS = 16384, 3, 2
QUICK_PAGES, QUICK_REPS = 1024, 1
# the goals, as ratios to untraced: rows without one are measured for the record
GOALS = {"all probes, events": 1.3, "all probes, counts only": 1.15, "group gup, events": 1.05,
         "group vma, events": 1.05}


def configurations():
    """(row name, attach() arguments), in table order."""
    rows = [("all probes, events", dict(groups=probes.GROUPS, events=True)),
            ("all probes, counts only", dict(groups=probes.GROUPS, events=False))]
    # no uffd calls in a kmod run
    return rows + [(f"group {g}, events", dict(groups=(g,), events=True)) for g in probes.GROUPS if g != "uffd"]


def wall(pages, reps):
    """Median wall seconds of reps kmod runs."""
    walls = []
    for _ in range(reps):
        r = engine.run("kmod", pages, 1, "sequential")
        if not r.ok or r.bad_pages or r.missing_pages:
            sys.exit(f"kmod run failed: {r.error or 'pages lost'}")
        walls.append(r.wall_s)
    return statistics.median(walls)


def measure(tracer, pages, reps, untraced_reps):
    """Rows of (name, traced s, untraced s around it, lost events), and every untraced median."""
    before, rows, untraced = wall(pages, untraced_reps), [], []
    untraced.append(before)
    for name, attach in configurations():
        tracer.attach(**attach)
        traced = wall(pages, reps)
        lost = tracer.detach().summary["lost_events"]
        after = wall(pages, untraced_reps)
        untraced.append(after)
        rows.append((name, traced, (before + after) / 2, lost))
        before = after
    return rows, untraced


def main(argv=None):
    quick = quick_parser("bench.tracing", __doc__).parse_args(argv).quick
    pages, reps, untraced_reps = (QUICK_PAGES, QUICK_REPS, QUICK_REPS) if quick else (PAGES, REPS, UNTRACED_REPS)
    load_module()
    tracer = Tracer(pids=[os.getpid()]).compile()
    wall(pages, 1)  # unmeasured: the first runs of a boot are slower, which flattered every ratio by ~15%
    try:
        rows, untraced = measure(tracer, pages, reps, untraced_reps)
    finally:
        tracer.close()
    unload_module()
    print(f"{'CONFIGURATION':<28} {'WALL_S':>8} {'UNTRACED_S':>10} {'X_UNTRACED':>10} {'LOST':>6} {'GOAL':>8} MET")
    for name, w, base, lost in rows:
        goal = GOALS.get(name)
        met = "-" if goal is None else "yes" if w / base <= goal else "NO"
        print(f"{name:<28} {w:>8.3f} {base:>10.3f} {w / base:>10.2f} {lost:>6} "
              f"{f'<= {goal:.2f}' if goal else '-':>8} {met}")
    print(f"(untraced: {len(untraced)} medians of {untraced_reps} runs, {min(untraced):.3f}-{max(untraced):.3f} s: "
          f"the drift each row is bracketed against)")
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-tracing.json"
    out.write_text(json.dumps({"quick": quick, "pages": pages, "reps": reps, "untraced_reps": untraced_reps,
                               "untraced_s": untraced,
                               "rows": [dict(config=n, wall_s=w, untraced_s=b, ratio=w / b, lost=lost,
                                             goal=GOALS.get(n)) for n, w, b, lost in rows]}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
