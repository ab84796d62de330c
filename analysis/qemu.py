"""QEMU's post-copy figures, from a run's per-fault intervals, so that a run can be laid beside
QEMU's own `query-migrate` output.

QEMU (migration/postcopy-ram.c, qapi/migration.json, 10.1) reports, with the postcopy-blocktime
capability on:
- postcopy-vcpu-blocktime: per vCPU, the time it was blocked in remote faults (ms);
- postcopy-blocktime: the time ALL vCPUs were blocked at once (ms);
- postcopy-latency: the mean latency of a remote fault (ns);
- postcopy-latency-dist: 24 counts; "For the N-th bucket (N>=0), the latency window is
  [2^N us, 2^(N+1) us)" (qapi/migration.json).  blocktime_latency_account() takes the latency in
  whole us (ns / 1000, truncated), puts 0 us into bucket 0 (so bucket 0 holds [0, 2) us), and
  everything from 2^23 us on into the top bucket 23 (BLOCKTIME_LATENCY_BUCKET_N = 24).

Here a vCPU is an engine vCPU thread and a fault's interval is its first touch as that thread saw
it, [access start, access end] (touch_t_ns, touch_t_ns + e2e_ns): trap, fetch, place and return.
QEMU's interval starts at the uffd message its fault thread reads and ends at the wake-up; ours
includes the trap as well, so it is the larger by the trap phase (analysis.phases).  Blocktimes are
given in ms as floats (QEMU rounds to whole ms, which a short run would round to 0).
"""
BUCKETS = 24


def _merged(intervals):
    """The union of [start, end] intervals as sorted, disjoint intervals."""
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def blocktime(intervals, threads=None):
    """intervals: {thread: [(start, end), ...]} (any unit).  Returns ({thread: time blocked}, time
    all threads were blocked at once).  threads: how many vCPU threads the run had; one without any
    interval was never blocked, so nothing is overlapped (default: the threads in intervals)."""
    merged = {t: _merged(iv) for t, iv in intervals.items()}
    per_thread = {t: sum(e - s for s, e in iv) for t, iv in merged.items()}
    n = len(merged) if threads is None else threads
    if n == 0 or len(merged) < n:
        return per_thread, 0
    # sweep: within a thread the intervals are disjoint, so the count says how many threads are blocked
    edges = sorted([(s, 1) for iv in merged.values() for s, _ in iv] + [(e, -1) for iv in merged.values() for _, e in iv])
    overlapped, blocked, since = 0, 0, None
    for t, step in edges:
        if blocked == n:
            overlapped += t - since
        blocked += step
        since = t
    return per_thread, overlapped


def bucket(ns):
    """QEMU's postcopy-latency-dist bucket of a latency in ns."""
    us = int(ns) // 1000
    return min(us.bit_length() - 1, BUCKETS - 1) if us else 0


def latency_dist(latencies_ns):
    """Counts of latencies in QEMU's 24 power-of-two us buckets."""
    counts = [0] * BUCKETS
    for ns in latencies_ns:
        counts[bucket(ns)] += 1
    return counts


def of_run(r):
    """QEMU's figures of one run (a RunResult dict); None for results without per-touch threads."""
    if "touch_tid" not in r:
        return None
    intervals = {}
    for tid, t0, e2e in zip(r["touch_tid"], r["touch_t_ns"], r["e2e_ns"]):
        intervals.setdefault(tid, []).append((t0, t0 + e2e))
    per_thread, overlapped = blocktime(intervals, r["threads"])
    e2e = r["e2e_ns"]
    return {"postcopy-blocktime": round(overlapped / 1e6, 3),
            "postcopy-vcpu-blocktime": [round(per_thread[t] / 1e6, 3) for t in sorted(per_thread)],
            "postcopy-latency": round(sum(e2e) / len(e2e)) if e2e else 0,
            "postcopy-latency-dist": latency_dist(e2e),
            "units": {"postcopy-blocktime": "ms", "postcopy-vcpu-blocktime": "ms", "postcopy-latency": "ns",
                      "postcopy-latency-dist": "faults per bucket [2^N, 2^(N+1)) us"}}


def markdown(by_label):
    """The report's QEMU table: blocktimes, mean latency, and the non-empty buckets."""
    rows = {k: v for k, v in by_label.items() if v}
    if not rows:
        return []
    out = ["| run | blocktime, all vCPU threads (ms) | blocktime per vCPU thread (ms) | mean latency (us) | "
           "latency-dist: faults per bucket (us) |", "|---|---|---|---|---|"]
    for label, v in rows.items():
        dist = ", ".join(f"[{2 ** n if n else 0}, {2 ** (n + 1)}): {c}"
                         for n, c in enumerate(v["postcopy-latency-dist"]) if c)
        out.append(f"| {label} | {v['postcopy-blocktime']} | {', '.join(map(str, v['postcopy-vcpu-blocktime']))} | "
                   f"{v['postcopy-latency'] / 1e3:.1f} | {dist} |")
    return out
