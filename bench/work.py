"""Counted kernel work per fault, per backend, in one guest boot (`make bench`).

Every backend on 16384 pages, random order, 2 threads, with the tracer's
work counters attached (no probe group): syscalls, placement ioctls,
signals, context switches, TLB flushes and flush IPIs, pages allocated,
freed and allocated inside the placement call, and bytes copied, all per
fault (analysis/work.py says how each is counted).  Unlike times, these
figures are the same under TCG, KVM and on bare metal.  The source is the
local page image, so that no socket call counts as the mechanism's.
--quick runs every backend on 512 pages: a smoke test, not figures.
"""
import json
import os
import sys
from pathlib import Path

import engine
from analysis.work import per_fault, text
from bench import quick_parser
from lab.module import load_module, unload_module
from tracing.tracer import Tracer

PAGES, QUICK_PAGES, THREADS, PATTERN, TRANSPORT = 16384, 512, 2, "random", "local"


def counted(tracer, backend, pages):
    """(per-fault work, RunResult) of one run of backend."""
    tracer.attach(groups=(), events=False, work=True)
    try:
        r = engine.run(backend, pages, THREADS, PATTERN, transport=TRANSPORT)
    finally:
        trace = tracer.detach()
    if not r.ok or r.bad_pages or r.missing_pages:
        sys.exit(f"{backend}: {r.error or 'pages lost'}")
    w = trace.summary["work"][str(os.getpid())]
    return per_fault(w, r.faults, r.user_copy_bytes), w, r


def main(argv=None):
    quick = quick_parser("bench.work", __doc__).parse_args(argv).quick
    pages = QUICK_PAGES if quick else PAGES
    load_module()
    tracer = Tracer(pids=[os.getpid()]).compile()
    rows, raw = {}, {}
    try:
        for backend in engine.BACKENDS:
            rows[backend], raw[backend], r = counted(tracer, backend, pages)
            raw[backend]["faults"] = r.faults
    finally:
        tracer.close()
        unload_module()
    print(f"counted kernel work per fault: {pages} pages, {PATTERN}, {THREADS} threads, source {TRANSPORT}\n")
    print(text(rows))
    out = Path(os.environ.get("FA_RESULTS", ".")) / "bench-work.json"
    out.write_text(json.dumps({"quick": quick, "pages": pages, "threads": THREADS, "pattern": PATTERN,
                               "transport": TRANSPORT, "per_fault": rows, "counters": raw}, indent=1) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
