"""Tracing overhead, in a guest boot of its own (`make bench`): the same kmod run of
16384 pages traced with every probe (events on), with counts only, and one
group at a time, each as a ratio of wall time to untraced runs, with the
issue's goal where it has one (GOALS).  Then where a traced fault's extra
time goes: each BPF program's own run time per fault (kernel.bpf_stats_enabled).

Under plain TCG the same untraced run took 6.5-16.5 s within one boot
(2026-12), far more than the costs measured here.  So `make bench` runs this
bench in a boot of its own under qemu's icount (python -m lab --icount): guest
time counts instructions, 1 ns each, and the same run took 1.067-1.084 s.  The
ratios are then ratios of instructions executed, the same on any host; on a
real CPU instructions differ in cost (cache misses, indirect calls), so its
ratios differ too.  Each traced row is bracketed by untraced runs right before
and right after it, and its ratio is to their mean.  An unmeasured run comes
first (a boot's first runs are slower).

The BPF program is the same for every configuration (what differs is which
probes are attached and whether events are on), so it is compiled once and
attached per row.  The raw tracepoints of the signal group stay
attached from their first round until the end (tracing.tracer says why),
switched off by a config map: the untraced runs after that pay an early
return in 2 programs per fault.  --quick runs every row on 1024 pages,
once, and leaves out the BPF cost table: a smoke test, not figures.
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

PAGES, REPS = 16384, 2
QUICK_PAGES, QUICK_REPS = 1024, 1
# the goals, as ratios to untraced: rows without one are measured for the record
GOALS = {"all probes, events": 1.3, "all probes, counts only": 1.15, "group gup, events": 1.05,
         "group vma, events": 1.05}
BPF_STATS = Path("/proc/sys/kernel/bpf_stats_enabled")


def configurations():
    """(row name, attach() arguments), in table order."""
    rows = [("all probes, events", dict(groups=probes.GROUPS, events=True)),
            ("all probes, counts only", dict(groups=probes.GROUPS, events=False))]
    # no uffd calls in a kmod run
    return rows + [(f"group {g}, events", dict(groups=(g,), events=True)) for g in probes.GROUPS if g != "uffd"]


def kmod_run(pages):
    """One kmod run, which must lose no page."""
    r = engine.run("kmod", pages, 1, "sequential")
    if not r.ok or r.bad_pages or r.missing_pages:
        sys.exit(f"kmod run failed: {r.error or 'pages lost'}")
    return r


def wall(pages, reps=1):
    """Median wall seconds of reps kmod runs."""
    return statistics.median(kmod_run(pages).wall_s for _ in range(reps))


def measure(tracer, pages, reps):
    """Rows of (name, traced s, untraced s around it, lost events), and every untraced time.  The
    probes are attached once per row: every attachment patches kernel text, and under TCG the
    boot that attached them per run ended in a double fault (one with a patch of __schedule per
    round once in "Oops: int3")."""
    before, rows, untraced = wall(pages), [], []
    untraced.append(before)
    for name, attach in configurations():
        tracer.attach(**attach)
        traced = wall(pages, reps)
        lost = tracer.detach().summary["lost_events"]
        after = wall(pages)
        untraced.append(after)
        rows.append((name, traced, (before + after) / 2, lost))
        before = after
    return rows, untraced


def prog_stats(tracer):
    """{program name: (run count, run ns)} from each loaded BPF program's fdinfo."""
    out = {}
    for name, fn in tracer.bpf.funcs.items():
        text = Path(f"/proc/self/fdinfo/{fn.fd}").read_text()
        info = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        out[name.decode()] = (int(info.get("run_cnt", 0)), int(info.get("run_time_ns", 0)))
    return out


def bpf_cost(tracer, pages):
    """Rows of (program, calls per fault, ns per call) over one run traced with every probe and
    events on, and that run's faults: the kernel counts each program's runs and run time while
    kernel.bpf_stats_enabled is 1.  It reads the clock twice per run, so it comes on after the
    ratios, and it stays on: the sysctl flips a static key, a patch of kernel text, and under TCG
    the boot that flipped it on and off again died in "Oops: int3" at update_prog_stats+0x1 in
    the next test's BPF programs (CI of 8ae4b9f)."""
    tracer.attach(**dict(configurations())["all probes, events"])
    before = prog_stats(tracer)
    BPF_STATS.write_text("1")
    r = kmod_run(pages)
    after = prog_stats(tracer)
    tracer.detach()
    rows = []
    for name, (cnt, ns) in after.items():
        calls, run_ns = cnt - before.get(name, (0, 0))[0], ns - before.get(name, (0, 0))[1]
        if calls:
            rows.append((name, calls / r.faults, run_ns / calls))
    return sorted(rows, key=lambda row: -row[1] * row[2]), r.faults


def clock():
    """What a guest second is in this boot (lab.guest exports the accelerator)."""
    accel = os.environ.get("FA_ACCEL_USED", "unknown")
    return "instructions (icount: 1 ns each)" if accel.endswith("+icount") else f"{accel} guest time"


def print_rows(rows, untraced):
    print(f"{'CONFIGURATION':<28} {'WALL_S':>8} {'UNTRACED_S':>10} {'X_UNTRACED':>10} {'LOST':>6} {'GOAL':>8} MET")
    for name, w, base, lost in rows:
        goal = GOALS.get(name)
        met = "-" if goal is None else "yes" if w / base <= goal else "NO"
        print(f"{name:<28} {w:>8.3f} {base:>10.3f} {w / base:>10.3f} {lost:>6} "
              f"{f'<= {goal:.2f}' if goal else '-':>8} {met}")
    print(f"(seconds of {clock()}; the untraced runs took {min(untraced):.3f}-{max(untraced):.3f} s: "
          f"the drift each row is bracketed against)")


def print_cost(cost, faults, untraced_us):
    total = sum(calls * ns for _, calls, ns in cost)
    print(f"\n{'BPF PROGRAM':<32} {'CALLS/FAULT':>11} {'NS/CALL':>8} {'NS/FAULT':>9}")
    for name, calls, ns in cost:
        print(f"{name:<32} {calls:>11.2f} {ns:>8.0f} {calls * ns:>9.0f}")
    print(f"(every probe, events on, {faults} faults: {total:.0f} ns of BPF per fault, "
          f"{100 * total / (untraced_us * 1e3):.1f} % of an untraced fault's {untraced_us:.1f} us of wall time; "
          f"the rest of a row's cost is the attachment's own entry and exit, and the ring buffer's reader)")


def main(argv=None):
    quick = quick_parser("bench.tracing", __doc__).parse_args(argv).quick
    pages, reps = (QUICK_PAGES, QUICK_REPS) if quick else (PAGES, REPS)
    load_module()
    tracer = Tracer(pids=[os.getpid()]).compile()
    wall(pages)  # unmeasured: the first runs of a boot are slower, which flattered every ratio by ~15%
    try:
        rows, untraced = measure(tracer, pages, reps)
        # not in --quick, which the guest tests run in a boot they share (bpf_cost says why)
        cost, faults = ([], 0) if quick else bpf_cost(tracer, pages)
    finally:
        tracer.close()
    unload_module()
    print_rows(rows, untraced)
    untraced_us = 1e6 * statistics.median(untraced) / pages
    if cost:
        print_cost(cost, faults, untraced_us)
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-tracing.json"
    out.write_text(json.dumps({"quick": quick, "accel": os.environ.get("FA_ACCEL_USED"), "pages": pages,
                               "reps": reps, "untraced_s": untraced,
                               "rows": [dict(config=n, wall_s=w, untraced_s=b, ratio=w / b, lost=lost,
                                             goal=GOALS.get(n)) for n, w, b, lost in rows],
                               "bpf_cost": [dict(program=n, calls_per_fault=c, ns_per_call=ns) for n, c, ns in cost],
                               "untraced_us_per_page": untraced_us}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
