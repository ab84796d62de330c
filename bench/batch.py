"""Pages placed many at a time, per page placed, in `make bench`'s icount boot
(python -m lab --icount: guest time counts instructions, so the ratios are
ratios of instructions; bench.tracing says why plain TCG's wall time is no
figure here).

1. fa_bench batch: 64 pages a call, the methods taking turns in blocks:
   FA_IOC_MAPV of one 64-page element, FA_IOC_MAPV of 64 one-page elements
   in a shuffled order (src inside one page table), 64 FA_IOC_MAP calls, and
   one 64-page UFFDIO_MOVE (6.12 flushes per page).
2. Each method alone with the tracer on (groups kmod, uffd and tlb, every
   process; fa_bench's events kept): flush_tlb_mm_range calls per page
   placed, counting the flushes named by the placement they are in
   (fa_map_page, move_pages).

--quick measures the same rows on small sizes: a smoke test, not figures.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from bench import quick_parser
from bench.kmod import BENCH, fa_bench
from bench.tracing import clock
from lab.module import load_module, unload_module
from tracing.tracer import Tracer

PER = 64  # pages a call: fa_bench.c's BATCH
PAGES, QUICK_PAGES = 16384, 1024
TRACED_PAGES, QUICK_TRACED_PAGES = 4096, 256
METHODS = ("fa_mapv", "fa_mapv_shuffled", "fa_map", "uffdio_move")
RATIO_GOALS = (("FA_IOC_MAPV/FA_IOC_MAP", "fa_mapv", "fa_map", 0.25),
               ("FA_IOC_MAPV/UFFDIO_MOVE", "fa_mapv", "uffdio_move", 0.3))
FLUSH_GOALS = {"fa_mapv": 1 / PER, "fa_mapv_shuffled": 1 / PER}  # one flush per call
PLACERS = ("fa_map_page", "move_pages")


def flushes_per_page(tracer, method, pages):
    """(flushes per page placed, events lost) of one fa_bench run of method alone, traced."""
    tracer.attach()
    proc = subprocess.Popen([str(BENCH), "batch", str(pages), method], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    trace = tracer.detach()
    if proc.returncode:
        sys.exit(f"fa_bench batch {pages} {method} failed: {err.strip()}")
    placed = json.loads(out)["pages"]
    flushes = sum(1 for e in trace.events if e["tgid"] == proc.pid and e["probe"] == "flush_tlb_mm_range"
                  and e["caller"] in PLACERS)
    return flushes / placed, trace.summary["lost_events"]


def met(value, goal):
    return "-" if goal is None else "met" if value <= goal * (1 + 1e-9) else "MISSED"


def main(argv=None):
    quick = quick_parser("bench.batch", __doc__).parse_args(argv).quick
    pages, traced_pages = (QUICK_PAGES, QUICK_TRACED_PAGES) if quick else (PAGES, TRACED_PAGES)
    load_module()
    timed = fa_bench("batch", pages)
    tracer = Tracer(groups=("kmod", "uffd", "tlb"), filter_tgid=False).compile()
    try:
        flushes = {m: flushes_per_page(tracer, m, traced_pages) for m in METHODS}
    finally:
        tracer.close()
    unload_module()
    print(f"{'METHOD (64 PAGES A CALL)':<26} {'NS/PAGE':>9} {'FLUSHES/PAGE':>13} {'GOAL':>9} {'MET':>6} {'LOST':>5}")
    for m in METHODS:
        f, lost = flushes[m]
        goal = FLUSH_GOALS.get(m)
        print(f"{m:<26} {timed[m]['median_ns']:>9} {f:>13.4f} {f'<= {goal:.4f}' if goal else '-':>9} "
              f"{met(f, goal):>6} {lost:>5}")
    ratios = {}
    for name, a, b, goal in RATIO_GOALS:
        ratios[name] = timed[a]["median_ns"] / timed[b]["median_ns"]
        print(f"ratio {name} (median): {ratios[name]:.3f} (goal <= {goal}) {met(ratios[name], goal)}")
    print(f"(ns of {clock()}, median per call / {PER}; flushes over {traced_pages} pages per method)")
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-batch.json"
    out.write_text(json.dumps({"quick": quick, "accel": os.environ.get("FA_ACCEL_USED"), "timed": timed,
                               "flushes_per_page": {m: f for m, (f, _) in flushes.items()},
                               "lost_events": {m: lost for m, (_, lost) in flushes.items()},
                               "ratios": ratios}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
