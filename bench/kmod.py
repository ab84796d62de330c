"""fault_area.ko figures, measured in one guest boot (run by `make bench`).

1. The hook's cost on unrelated faults: zero-fill first touches of one
   process with the module not loaded, against the module loaded and 1 GiB
   of markers registered by another process; rounds alternate so drift
   falls on both sides.
2. FA_IOC_MAP per page against UFFDIO_MOVE and UFFDIO_COPY per page, the
   three taking turns in blocks of pages (fa_bench place).
3. A 1 GiB area (262144 pages) prepared, then mapped page by page, with
   /proc/self/maps compared before and after.
4. In a FA_PREPARE_KWAIT area, a kernel access that waits for its page
   (read() from a pipe into it; a thread on the event fd maps it) against a
   user fault (SIGBUS; the handler maps it), end to end, pages in turn, and
   the same kernel access to a userfaultfd area (its handler thread
   UFFDIO_COPYs) (fa_bench kwait).

--quick measures the same figures on small sizes, once, in seconds: a
smoke test of the bench (tests/guest/test_bench_smoke.py), not figures.
Pages placed many at a time are bench.batch's, in the icount boot.
"""
import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import quick_parser
from lab.module import REPO, load_module, unload_module

BENCH = REPO / "kmod/selftests/fa_bench"


@dataclass(frozen=True)
class Sizes:
    zero_fill_pages: int = 16384
    zero_fill_reps: int = 5
    rounds: int = 7  # unloaded and loaded take turns: drift falls on both
    hold_bytes: int = 1 << 30  # markers another process holds while zero-fill is timed
    place_pages: int = 16384
    big_pages: int = 262144
    kwait_pages: int = 4096


FULL = Sizes()
QUICK = Sizes(zero_fill_pages=1024, zero_fill_reps=1, rounds=1, hold_bytes=16 << 20, place_pages=1024,
              big_pages=4096, kwait_pages=64)


def size_label(nbytes):
    return f"{nbytes >> 30} GiB" if nbytes >= 1 << 30 else f"{nbytes >> 20} MiB"


def fa_bench(*args):
    out = subprocess.run([str(BENCH), *map(str, args)], capture_output=True, text=True, timeout=900)
    if out.returncode:
        sys.exit(f"fa_bench {' '.join(map(str, args))} failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def zero_fill_with_markers_elsewhere(sz):
    """ns/page of zero-fill faults while another process holds sz.hold_bytes of markers."""
    holder = subprocess.Popen([str(BENCH), "hold", str(sz.hold_bytes)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        if holder.stdout.readline().strip() != "ready":
            sys.exit("fa_bench hold did not get ready")
        return fa_bench("zero-fill", sz.zero_fill_pages, sz.zero_fill_reps)["ns_per_page"]
    finally:
        holder.stdin.close()
        holder.wait(60)


def hook_cost(sz):
    unloaded, loaded = [], []
    for _ in range(sz.rounds):
        unload_module()
        unloaded += fa_bench("zero-fill", sz.zero_fill_pages, sz.zero_fill_reps)["ns_per_page"]
        load_module()
        loaded += zero_fill_with_markers_elsewhere(sz)
    a, b = statistics.median(unloaded), statistics.median(loaded)
    return {"unloaded_ns_per_fault": a, "loaded_ns_per_fault": b, "ratio": b / a,
            "samples_each": len(unloaded)}


def main(argv=None):
    args = quick_parser("bench.kmod", __doc__).parse_args(argv)
    sz = QUICK if args.quick else FULL
    load_module()
    res = {"quick": args.quick, "sizes": asdict(sz), "hook_cost": hook_cost(sz),
           "place": fa_bench("place", sz.place_pages),
           "big": fa_bench("big", sz.big_pages), "kwait": fa_bench("kwait", sz.kwait_pages)}
    unload_module()
    h, p, big, kw = res["hook_cost"], res["place"], res["big"], res["kwait"]
    held, area = size_label(sz.hold_bytes), size_label(sz.big_pages * 4096)
    print(f"{'FIGURE':<52} {'VALUE':>12}  GOAL")
    print(f"{'zero-fill fault, module unloaded (ns, median)':<52} {h['unloaded_ns_per_fault']:>12.0f}")
    print(f"{f'zero-fill fault, loaded + {held} markers (ns)':<52} {h['loaded_ns_per_fault']:>12.0f}")
    print(f"{'  ratio loaded/unloaded':<52} {h['ratio']:>12.3f}  <= 1.03")
    for m in ("fa_map", "uffdio_move", "uffdio_copy"):
        print(f"{m + ' per page (ns, median / p99)':<52} {p[m]['median_ns']:>6} / {p[m]['p99_ns']:<5}")
    ratio_move = p["fa_map"]["median_ns"] / p["uffdio_move"]["median_ns"]
    ratio_copy = p["fa_map"]["median_ns"] / p["uffdio_copy"]["median_ns"]
    print(f"{'  ratio FA_IOC_MAP/UFFDIO_MOVE (median)':<52} {ratio_move:>12.3f}  <= 1.0")
    print(f"{'  ratio FA_IOC_MAP/UFFDIO_COPY (median)':<52} {ratio_copy:>12.3f}")
    print(f"{f'{area}: prepare per page (ns)':<52} {big['prepare_ns_per_page']:>12.1f}")
    print(f"{f'{area}: map per page (ns)':<52} {big['map_ns_per_page']:>12.1f}")
    print(f"{f'{area}: /proc/self/maps unchanged':<52} {str(big['maps_unchanged']):>12}  True")
    for who, what in (("user", "user fault"), ("kernel", "kernel access, KWAIT"),
                      ("uffd_kernel", "kernel access, userfaultfd")):
        print(f"{what + ' end to end (ns, median / p99)':<52} {kw[who + '_median_ns']:>6} / {kw[who + '_p99_ns']:<5}")
    ratio_kwait = kw["kernel_median_ns"] / kw["user_median_ns"]
    print(f"{'  ratio kernel access/user fault (median)':<52} {ratio_kwait:>12.3f}  <= 1.5")
    print(f"{'  ratio KWAIT/userfaultfd kernel access (median)':<52} "
          f"{kw['kernel_median_ns'] / kw['uffd_kernel_median_ns']:>12.3f}")
    res["ratios"] = {"fa_map_vs_uffdio_move": ratio_move, "fa_map_vs_uffdio_copy": ratio_copy,
                     "kwait_kernel_vs_user": ratio_kwait}
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-kmod.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"results: {out}")
    return 0 if big["maps_unchanged"] else 1


if __name__ == "__main__":
    sys.exit(main())
