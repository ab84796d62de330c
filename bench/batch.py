"""Pages placed many at a time, per page placed, in `make bench`'s icount boot
(python -m lab --icount: guest time counts instructions, so the ratios are
ratios of instructions; bench.tracing says why plain TCG's wall time is no
figure here).

Two modes of fa_bench, the methods taking turns in blocks:
- batch, 64 pages a call: FA_IOC_MAPV of one 64-page element, FA_IOC_MAPV
  of 64 one-page elements in a shuffled order (src inside one page table),
  64 FA_IOC_MAP calls, and one 64-page UFFDIO_MOVE (6.12 flushes per page);
- huge, 2 MiB a call from a THP (a fresh mapping each call, so every src
  is one): FA_IOC_MAPV of one 2 MiB element and one 2 MiB FA_IOC_MAP (each
  moves the huge pmd), 512 FA_IOC_MAP calls (the THP split, then a page at a
  time), and one 2 MiB UFFDIO_MOVE (6.12 moves the huge pmd too).
Then each method alone with the tracer on (groups kmod, uffd and tlb, every
process; fa_bench's events kept): flush_tlb_mm_range calls per page placed,
counting the flushes named by the placement they are in (fa_map_page,
move_pages).  SRC_THP is the share of calls whose src was a THP, DST_HUGE
the share of the area that ended PMD-mapped (smaps AnonHugePages).

--quick measures the same rows on small sizes: a smoke test, not figures.
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import quick_parser
from bench.kmod import BENCH, fa_bench
from bench.tracing import clock
from lab.module import load_module, unload_module
from tracing.tracer import Tracer


@dataclass(frozen=True)
class Mode:
    name: str  # fa_bench's
    title: str
    per: int  # pages a call
    methods: tuple
    flush_goals: dict  # method -> most flushes per page
    ratio_goals: tuple  # (name, method, over method, most)


MODES = (
    Mode("batch", "64 PAGES A CALL", 64, ("fa_mapv", "fa_mapv_shuffled", "fa_map", "uffdio_move"),
         {"fa_mapv": 1 / 64, "fa_mapv_shuffled": 1 / 64},
         (("FA_IOC_MAPV/FA_IOC_MAP", "fa_mapv", "fa_map", 0.25),
          ("FA_IOC_MAPV/UFFDIO_MOVE", "fa_mapv", "uffdio_move", 0.3))),
    Mode("huge", "2 MIB A CALL, FROM A THP", 512, ("fa_mapv", "fa_map_2m", "fa_map", "uffdio_move"),
         {"fa_mapv": 1 / 512, "fa_map_2m": 1 / 512},
         (("2 MiB FA_IOC_MAPV/FA_IOC_MAP", "fa_mapv", "fa_map", 0.02),
          ("2 MiB FA_IOC_MAPV/UFFDIO_MOVE", "fa_mapv", "uffdio_move", 1.0))),
)
PAGES, QUICK_PAGES = 16384, 1024
TRACED_PAGES, QUICK_TRACED_PAGES = 4096, 1024
PLACERS = ("fa_map_page", "move_pages")


def flushes_per_page(tracer, mode, method, pages):
    """(flushes per page placed, events lost) of one fa_bench run of method alone, traced."""
    tracer.attach()
    proc = subprocess.Popen([str(BENCH), mode.name, str(pages), method], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    trace = tracer.detach()
    if proc.returncode:
        sys.exit(f"fa_bench {mode.name} {pages} {method} failed: {err.strip()}")
    placed = json.loads(out)["pages"]
    flushes = sum(1 for e in trace.events if e["tgid"] == proc.pid and e["probe"] == "flush_tlb_mm_range"
                  and e["caller"] in PLACERS)
    return flushes / placed, trace.summary["lost_events"]


def met(value, goal):
    return "-" if goal is None else "met" if value <= goal * (1 + 1e-9) else "MISSED"


def measure(mode, pages, traced_pages, tracer):
    """One mode's figures: fa_bench's timed race, and each method's flushes per page."""
    timed = fa_bench(mode.name, pages)
    flushes = {m: flushes_per_page(tracer, mode, m, traced_pages) for m in mode.methods}
    ratios = {name: timed[a]["median_ns"] / timed[b]["median_ns"] for name, a, b, _ in mode.ratio_goals}
    return {"timed": timed, "flushes_per_page": {m: f for m, (f, _) in flushes.items()},
            "lost_events": {m: lost for m, (_, lost) in flushes.items()}, "ratios": ratios}


def print_mode(mode, res):
    timed, calls = res["timed"], res["timed"]["pages"] // mode.per
    print(f"{'METHOD (' + mode.title + ')':<34} {'NS/PAGE':>9} {'FLUSHES/PAGE':>13} {'GOAL':>9} {'MET':>6} "
          f"{'SRC_THP':>8} {'DST_HUGE':>8} {'LOST':>5}")
    for m in mode.methods:
        f, goal, t = res["flushes_per_page"][m], mode.flush_goals.get(m), timed[m]
        src_thp = f"{t['src_thp_calls'] / calls:.0%}" if mode.name == "huge" else "-"
        dst_huge = f"{t['dst_huge_kb'] / (timed['pages'] * 4):.0%}"
        print(f"{m:<34} {t['median_ns']:>9} {f:>13.4f} {f'<= {goal:.4f}' if goal else '-':>9} {met(f, goal):>6} "
              f"{src_thp:>8} {dst_huge:>8} {res['lost_events'][m]:>5}")
    for name, _, _, goal in mode.ratio_goals:
        r = res["ratios"][name]
        print(f"ratio {name} (median): {r:.3f} (goal <= {goal:g}) {met(r, goal)}")


def main(argv=None):
    quick = quick_parser("bench.batch", __doc__).parse_args(argv).quick
    pages, traced_pages = (QUICK_PAGES, QUICK_TRACED_PAGES) if quick else (PAGES, TRACED_PAGES)
    load_module()
    tracer = Tracer(groups=("kmod", "uffd", "tlb"), filter_tgid=False).compile()
    try:
        results = {mode.name: measure(mode, pages, traced_pages, tracer) for mode in MODES}
    finally:
        tracer.close()
    unload_module()
    for mode in MODES:
        print_mode(mode, results[mode.name])
        print()
    print(f"(ns of {clock()}, median per call / pages a call; flushes over {traced_pages} pages per method)")
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-batch.json"
    out.write_text(json.dumps({"quick": quick, "accel": os.environ.get("FA_ACCEL_USED"), **results}, indent=1)
                   + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
