"""A fault in phases: trap, fetch, place, return, from the engine's own timestamps.

Every boundary is a clock_gettime(CLOCK_MONOTONIC) read by the engine (engine/c):

    access start   the vCPU thread, just before its first touch of the page (touch_t_ns)
    handler entry  the first instruction of the SIGBUS/SIGSEGV handler in the faulting thread, or,
                   for the handler-thread modes (uffd-copy, uffd-move), just after the handler
                   thread's read() of the uffd message returned (fault_t_ns)
    fetched        the page is whole in the temporary page: socket read, or the local memcpy
                   (fault_t_ns + fetch_ns)
    placed         the placement returned: FA_IOC_MAP, UFFDIO_COPY/MOVE, or mprotect + memcpy
                   (fault_t_ns + resolve_ns)
    access end     the vCPU thread, once its access completed (touch_t_ns + e2e_ns): for the
                   signal modes after the handler returned and the access was retried, for the
                   handler-thread modes after the kernel woke the faulting thread

    trap = handler entry - access start;  fetch = fetched - handler entry;
    place = placed - fetched;             return = access end - placed.

The vCPU side knows (page, thread, access start, access end) of first touches; the handler side
(page, faulting thread, entry, fetched, placed) of every fault.  They are joined per page on the
placement that won (a page two threads raced for has one EEXIST loser), when the faulting thread
is the touching thread and the handler entered after the access started.  First touches that
another path satisfied (push, another thread's fault) have no join and are left out; `joined`
and `first_touches` say how many.

In the handler-thread modes UFFDIO_COPY/MOVE wakes the faulting thread inside the ioctl, before it
returns to the handler: the woken vCPU thread can complete its access before the handler thread
reads the clock again, and then that fault's return phase is negative.  It is kept as measured
(a negative median return says the wake-up is faster than the rest of the ioctl).

One fault's four phases add up to its end-to-end time by construction (the boundaries are
shared), so the check is made at the median: the median fault (the faults whose end-to-end time
ranks in the middle MEDIAN_BAND of all) is split into the median of each phase over those faults,
and the four must sum to their median end-to-end time within ADD_UP_PCT.  It fails when faults of
the same length are made of different phases (one trap-heavy, one return-heavy): then no single
split describes the median fault.  That split is what the stacked bars draw.  Over all faults
the sum of the phase medians is reported too (`all_off_pct`): medians do not add, and skewed
phases (a long trap tail under load) take it well past 5 %, which is why it is not the check.
"""
import statistics

from analysis.stats import p99

PHASES = ("trap", "fetch", "place", "return")
ADD_UP_PCT = 5.0
MEDIAN_BAND = (0.45, 0.55)  # ranks of end-to-end time that make the median fault
NEEDS = ("fetch_ns", "fault_won", "touch_addr", "touch_tid", "touch_t_ns")


def join(r):
    """Per joined fault: (trap, fetch, place, return, e2e) in ns, from a RunResult dict."""
    won = {}
    for addr, tid, t, fetch, resolve, w in zip(r["fault_addr"], r["fault_tid"], r["fault_t_ns"], r["fetch_ns"],
                                               r["resolve_ns"], r["fault_won"]):
        if w:
            won[addr] = (tid, t, fetch, resolve)
    out = []
    for addr, tid, t0, e2e in zip(r["touch_addr"], r["touch_tid"], r["touch_t_ns"], r["e2e_ns"]):
        h = won.get(addr)
        if not h or h[0] != tid or h[1] < t0:
            continue
        _, entry, fetch, resolve = h
        out.append((entry - t0, fetch, resolve - fetch, t0 + e2e - entry - resolve, e2e))
    return out


def of_run(r):
    """Phase medians and p99 (us) of one run, and the add-up check; None for results without the
    per-fault phase arrays (recorded before they existed)."""
    if any(k not in r for k in NEEDS):
        return None
    rows = join(r)
    out = {"joined": len(rows), "first_touches": len(r["e2e_ns"]), "phases": {}, "median_fault": {}}
    if not rows:
        return out | {"e2e_median_us": None, "sum_of_medians_us": None, "all_off_pct": None, "add_up_pct": None,
                      "adds_up": None}
    for i, name in enumerate(PHASES):
        col = [row[i] for row in rows]
        out["phases"][name] = {"median_us": round(statistics.median(col) / 1e3, 2),
                               "p99_us": round(p99(col) / 1e3, 2)}
    e2e, total, _ = _split(rows)
    ranked = sorted(rows, key=lambda row: row[4])
    lo = int(MEDIAN_BAND[0] * (len(rows) - 1))
    band = ranked[lo:max(lo + 1, int(MEDIAN_BAND[1] * (len(rows) - 1)) + 1)]
    band_e2e, band_total, split = _split(band)
    pct = 100 * abs(band_total - band_e2e) / band_e2e if band_e2e else 0.0
    out["median_fault"] = {"faults": len(band), **{p: round(v / 1e3, 2) for p, v in zip(PHASES, split)},
                           "sum_us": round(band_total / 1e3, 2), "e2e_us": round(band_e2e / 1e3, 2)}
    return out | {"e2e_median_us": round(e2e / 1e3, 2), "sum_of_medians_us": round(total / 1e3, 2),
                  "all_off_pct": round(100 * abs(total - e2e) / e2e if e2e else 0.0, 2),
                  "add_up_pct": round(pct, 2), "adds_up": pct <= ADD_UP_PCT}


def _split(rows):
    """(median e2e, sum of the phase medians, the phase medians) of joined faults, in ns."""
    split = [statistics.median(row[i] for row in rows) for i in range(len(PHASES))]
    return statistics.median(row[4] for row in rows), sum(split), split


def markdown(by_label):
    """The report's phase table: one row per run with phases."""
    rows = {k: v for k, v in by_label.items() if v and v["phases"]}
    if not rows:
        return []
    head = ["run", "joined / first touches"] + [f"{p} median / p99 (us)" for p in PHASES] + \
        ["e2e median (us)", "all faults: sum of medians off by (%)", "median fault: " +
         " + ".join(PHASES) + " (us)", f"median fault: off by (%, goal <= {ADD_UP_PCT:g})"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, v in rows.items():
        m = v["median_fault"]
        cells = [label, f"{v['joined']} / {v['first_touches']}"]
        cells += [f"{v['phases'][p]['median_us']} / {v['phases'][p]['p99_us']}" for p in PHASES]
        cells += [str(v["e2e_median_us"]), str(v["all_off_pct"]),
                  " + ".join(str(m[p]) for p in PHASES) + f" = {m['sum_us']} of {m['e2e_us']}", str(v["add_up_pct"])]
        out.append("| " + " | ".join(cells) + " |")
    return out
