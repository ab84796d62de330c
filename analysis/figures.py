"""Figures of one run, each with its unit, for the report's comparison table."""
import statistics

import numpy as np

from analysis.invariants import PLACEMENTS, in_phase
from analysis.stats import p99

# (key, column header, unit)
COLUMNS = (
    ("pages", "pages", "pages"),
    ("faults", "faults", "faults"),
    ("pages_per_s", "rate", "pages/s"),
    ("e2e_median_us", "e2e median", "us"),
    ("e2e_p99_us", "e2e p99", "us"),
    ("resolve_median_us", "resolve median", "us"),
    ("eexist", "EEXIST", "races"),
    ("vmas_added", "VMAs added", "VMAs"),
    ("pfn_kept_pct", "pfn kept", "%"),
    ("prefetched", "prefetched", "pages"),
    ("stream_calls", "stream calls", "calls"),
    ("stream_place_us", "stream place", "us/page"),
    ("tlb_per_page", "TLB flushes", "per page"),
    ("lost_events", "lost", "events"),
)


def _us(values, fn):
    return round(fn(values) / 1000, 1) if values else None


def of_run(run):
    r = run.result
    placed = r["pages_placed"] or 1
    tlb = None
    if "tlb" in run.trace.get("groups", ()):
        if run.events is not None:
            evs = run.events
            flushes = evs.of("flush_tlb_mm_range") & in_phase(run, evs)
            # only flushes a placement call asked for (the tracer names them, flush_caller()): not those of
            # the process's copy-on-write after it forked its source, nor of its own munmap; mprotect's
            # placement is an mprotect, which the tracer names by stack
            if run.backend != "mprotect":
                placing = [i for i, name in enumerate(evs.strings) if name in PLACEMENTS]
                flushes &= np.isin(evs["caller"], placing)
            tlb = round(int(flushes.sum()) / placed, 3)
        else:
            tlb = round(run.trace["counts"].get("flush_tlb_mm_range", 0) / placed, 3)
    return {
        "pages": r["pages"], "faults": r["faults"], "pages_per_s": round(r["pages_per_s"]),
        "e2e_median_us": _us(r["e2e_ns"], statistics.median), "e2e_p99_us": _us(r["e2e_ns"], p99),
        "resolve_median_us": _us(r["resolve_ns"], statistics.median), "eexist": r["eexist"],
        "vmas_added": r["maps_lines_after"] - r["maps_lines_before"],
        "pfn_kept_pct": round(100 * r["pfn_kept"] / r["pfn_checked"], 1) if r["pfn_checked"] else None,
        "prefetched": r.get("pages_prefetched", 0), "stream_calls": r.get("push_calls", 0),
        "stream_place_us": round(r["stream_place_ns"] / 1000 / r["stream_pages"], 2)
        if r.get("stream_pages") else None,
        "tlb_per_page": tlb, "lost_events": run.trace.get("lost_events", 0),
    }
