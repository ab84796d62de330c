"""The engine's backend table, measured in one guest boot (`make bench`).

Every backend on 16384 pages, sequential and random, 1 and 2 vCPU threads:
median and p99 of the per-fault latency as the vCPU thread sees it (first
touch to the access completing) and of the handler's resolve time, pages/s,
and ratios to a plain zero-fill first touch and to uffd-copy in this boot.
--quick runs every backend once (random, 2 threads) on 512 pages: a smoke test, not figures.
"""
import json
import os
import statistics
import sys
from pathlib import Path

import engine
from bench import quick_parser
from bench.kmod import fa_bench
from engine.run import p99
from lab.module import load_module, unload_module

PAGES, QUICK_PAGES = 16384, 512
CASES = [(pattern, threads) for pattern in ("sequential", "random") for threads in (1, 2)]
QUICK_CASES = [("random", 2)]  # the case with most going on: racing threads, no order


def main(argv=None):
    quick = quick_parser("bench.backends", __doc__).parse_args(argv).quick
    pages = QUICK_PAGES if quick else PAGES
    load_module()
    zero_fill = statistics.median(fa_bench("zero-fill", pages, 1 if quick else 5)["ns_per_page"])
    cases = QUICK_CASES if quick else CASES
    rows = []
    for pattern, threads in cases:
        for backend in engine.BACKENDS:
            r = engine.run(backend, pages, threads, pattern)
            if not r.ok or r.bad_pages or r.missing_pages:
                sys.exit(f"{backend} {pattern} x{threads}: {r.error or 'pages lost'}")
            rows.append(dict(backend=backend, pattern=pattern, threads=threads,
                             e2e_median_ns=statistics.median(r.e2e_ns), e2e_p99_ns=p99(r.e2e_ns),
                             resolve_median_ns=statistics.median(r.resolve_ns),
                             resolve_p99_ns=p99(r.resolve_ns), pages_per_s=r.pages_per_s,
                             vmas_after=r.vmas_after))
    unload_module()
    base = {(r["pattern"], r["threads"]): r for r in rows if r["backend"] == "uffd-copy"}
    print(f"zero-fill first touch: {zero_fill:.0f} ns/page (median)\n")
    print(f"{'BACKEND':<17} {'PATTERN':<10} {'T':>1} {'E2E_MED_US':>10} {'E2E_P99_US':>10} "
          f"{'RESOLVE_US':>10} {'PAGES/S':>9} {'X_ZEROFILL':>10} {'X_UFFDCOPY':>10} {'VMAS':>5}")
    for r in rows:
        r["x_zero_fill"] = r["e2e_median_ns"] / zero_fill
        r["x_uffd_copy"] = r["e2e_median_ns"] / base[(r["pattern"], r["threads"])]["e2e_median_ns"]
        print(f"{r['backend']:<17} {r['pattern']:<10} {r['threads']:>1} {r['e2e_median_ns'] / 1e3:>10.1f} "
              f"{r['e2e_p99_ns'] / 1e3:>10.1f} {r['resolve_median_ns'] / 1e3:>10.1f} {r['pages_per_s']:>9.0f} "
              f"{r['x_zero_fill']:>10.2f} {r['x_uffd_copy']:>10.2f} {r['vmas_after']:>5}")
    goals = []
    for pattern, threads in cases:
        by = {r["backend"]: r for r in rows if (r["pattern"], r["threads"]) == (pattern, threads)}
        vs_copy = by["kmod"]["e2e_median_ns"] / by["uffd-copy"]["e2e_median_ns"]
        vs_sigbus = by["kmod"]["e2e_median_ns"] / by["uffd-sigbus"]["e2e_median_ns"]
        goals.append(dict(pattern=pattern, threads=threads, kmod_vs_uffd_copy=vs_copy,
                          kmod_vs_uffd_sigbus=vs_sigbus))
        print(f"\nkmod/uffd-copy {pattern} x{threads}: {vs_copy:.2f} (goal <= 0.5)   "
              f"kmod/uffd-sigbus: {vs_sigbus:.2f} (goal <= 1.0)", end="")
    print()
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-backends.json"
    out.write_text(json.dumps({"quick": quick, "pages": pages, "zero_fill_ns": zero_fill, "rows": rows,
                               "goals": goals}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
