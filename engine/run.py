"""run(): one post-copy destination run through the C engine (cffi).

The options are a RunConfig (engine/config.py), validated before anything is
mapped; the C side does the faulting, placing and timing, and run() turns
its arrays into a RunResult.
"""
import dataclasses
import errno
import os
import statistics
import threading

from engine._engine import ffi, lib
from engine.config import AFTER_VALS, KERNEL_STEPS, RunConfig, validate
from engine.source import Source
from workloads import fawl

UNSUPPORTED = "unsupported on this kernel"


@dataclasses.dataclass
class KernelStepResult:
    kind: str
    page: int
    before_ret: int  # bytes, or -1, while the page was missing
    before_errno: str
    after_ret: int  # once the page was placed
    after_errno: str
    before_tid: int  # the thread that made the access (the helper's, for a remote read)
    before_window: tuple  # CLOCK_MONOTONIC ns (start, end) of the access
    after_tid: int
    after_window: tuple


@dataclasses.dataclass
class RunResult:
    backend: str
    pages: int
    threads: int
    pattern: str
    ok: bool
    error: str  # empty when ok
    unsupported: bool  # the backend needs what this kernel lacks (see error)
    faults: int  # faults resolved (signals or uffd events)
    resolve_ns: list  # per fault: handler entry (or event read) to the place call's return
    fault_addr: list  # per fault, the page address
    fault_tid: list  # per fault, the faulting thread
    fault_t_ns: list  # per fault, CLOCK_MONOTONIC at handler entry (the clock of the trace)
    fetch_ns: list  # per fault: handler entry to the page in the temporary page
    fault_won: list  # per fault: 1 when its placement put the page in, 0 when it lost a race (EEXIST)
    e2e_ns: list  # per first touch, as the vCPU thread saw it
    touch_addr: list  # per first touch (same order): the page address
    touch_tid: list  # the vCPU thread
    touch_t_ns: list  # CLOCK_MONOTONIC just before the access (it completed e2e_ns later)
    push_t_ns: list  # per pushed page, CLOCK_MONOTONIC once placed
    wall_s: float  # first access to last access
    pages_per_s: float
    pages_placed: int
    pages_pushed: int
    push_calls: int  # placement calls of the push stream and prefill (kmod: one FA_IOC_MAPV a batch)
    stream_pages: int  # pages the push stream and prefill placed
    stream_place_ns: int  # their time inside placement calls
    pages_prefetched: int  # pages placed as a fault's neighbours (prefetch.around)
    kwait_events: int  # workload.kernel_wait: fault events read (kernel accesses that waited for a page)
    prefill_t0_ns: int  # CLOCK_MONOTONIC: prefill's start and end (0 without prefill)
    prefill_t1_ns: int
    huge_batches: int  # stream batches of 2 MiB, aligned at dst, read into a THP and placed
    huge_kb_placed: int  # the area's AnonHugePages right after the stream (-1: no stream)
    khugepaged_collapsed: int  # pages khugepaged collapsed (any process) from the stream's start to then; -1
    eexist: int  # places that lost a race (benign)
    user_copy_bytes: int  # bytes placement copied in user space (the mprotect backend's memcpy), exactly
    vmas_before: int  # VMAs overlapping the area, before the first touch
    vmas_after: int  # and after the last
    rss_kb: int  # the area's resident set after the run
    bad_pages: int
    first_bad: list
    missing_pages: int  # never arrived
    first_missing: list
    vma_limit_pages: int  # mprotect: pages placed when vm.max_map_count stopped it, else -1
    area_start: int  # the area's address
    t_start_ns: int  # CLOCK_MONOTONIC: the fault phase (first access to last)
    t_end_ns: int
    maps_same: bool  # /proc/self/maps identical at the start and the end of the fault phase
    maps_lines_before: int  # VMAs of the whole process
    maps_lines_after: int
    area_map: str  # the /proc/self/maps line of the VMA at the area's start, after the run
    area_thp_eligible: int  # its smaps THPeligible (1: THP may back it), -1 if not read
    area_huge_kb: int  # its smaps AnonHugePages after the run, -1 if not read
    pfn_checked: int  # record_pfn: places whose pfn was read before and after
    pfn_kept: int  # of them, places that kept the filled page's pfn (moves)
    replay_compute_ns: int  # a replay: the time its threads spent between accesses, in all
    replay: dict  # a replay: the workload's name, sha256, touches, threads and recorded compute_ns; else {}
    after: dict  # the after-migration action's figures, by name (engine.config.AFTER_VALS)
    kernel_steps: list

    def summary(self):
        """The figures without the per-fault arrays, for tables and JSON."""
        d = {k: v for k, v in dataclasses.asdict(self).items()
             if k not in PER_FAULT}
        for name in ("resolve_ns", "e2e_ns"):
            v = getattr(self, name)
            d[f"{name}_median"] = statistics.median(v) if v else None
            d[f"{name}_p99"] = p99(v) if v else None
        return d


PER_FAULT = ("resolve_ns", "fault_addr", "fault_tid", "fault_t_ns", "fetch_ns", "fault_won", "e2e_ns", "touch_addr",
             "touch_tid", "touch_t_ns", "push_t_ns")


def p99(values):
    """The 99th percentile (nearest rank below) of a non-empty list."""
    return sorted(values)[int(0.99 * (len(values) - 1))]


def _errname(e):
    """'0', or the errno's symbolic name (EFAULT), as the kernel-step results report it."""
    return "0" if not e else errno.errorcode.get(e, os.strerror(e))


def _progress_reader(fd, pages, progress):
    buf = b""
    while True:
        chunk = os.read(fd, 8 * 64)
        if not chunk:
            return
        buf += chunk
        whole = len(buf) // 8 * 8
        if whole:
            progress(int.from_bytes(buf[whole - 8:whole], "little"), pages)
            buf = buf[whole:]


def run(*args, progress=None, on_source=None, progress_fd=-1, **options):
    """One destination run against a fresh source; returns a RunResult.

    args and options are RunConfig's fields (backend, pages, threads, pattern, ...
    positionally), or a RunConfig alone.  progress(placed, pages) is called now
    and then from another thread; progress_fd instead gets the raw 8-byte counts
    (no thread here); on_source(Source) is called once the source runs (a test
    can kill it).
    """
    config = args[0] if len(args) == 1 and isinstance(args[0], RunConfig) and not options else \
        RunConfig(*args, **options)
    validate(config)
    wl, replayed = None, {}
    if config.replay:
        path = fawl.find(config.replay)
        wl = fawl.load(path)
        replayed = {"name": wl.name, "sha256": fawl.digest(path), "touches": len(wl.touches), "threads": wl.threads,
                    "compute_ns": wl.compute_ns(), "duration_ns": wl.duration_ns}
        config = validate(dataclasses.replace(config, pages=wl.pages, threads=wl.threads))
    with Source(config.pages, config.seed, config.transport, config.delay_us, config.rate_mbit) as src:
        if on_source:
            on_source(src)
        fields, keep = config.to_c()
        if wl:
            replay = replay_fields(wl, config.push_order == "recorded")
            keep += list(replay.values())
            fields.update(replay)
        keep.append(ffi.new("char[]", src.addr.encode()))
        cfg = ffi.new("struct fa_cfg *", dict(fields, source_addr=keep[-1], progress_fd=progress_fd))
        reader = None
        if progress:
            rfd, wfd = os.pipe()
            os.set_blocking(wfd, False)
            cfg.progress_fd = wfd
            reader = threading.Thread(target=_progress_reader, args=(rfd, config.pages, progress), daemon=True)
            reader.start()
        res = ffi.new("struct fa_result *")
        lib.fa_engine_run(cfg, res)  # cffi releases the GIL for the call
        if reader:
            os.close(wfd)
            reader.join(5)
            os.close(rfd)
    try:
        return dataclasses.replace(_result(res, config), replay=replayed)
    finally:
        lib.fa_engine_free(res)


def replay_fields(wl, recorded_push):
    """The struct fa_cfg fields of a replay of workload wl: its touches grouped by thread, and the
    recorded push order (first touches first, then the pages never touched) when asked."""
    per = wl.per_thread()
    flat = [touch for seq in per for touch in seq]
    first = [0]
    for seq in per:
        first.append(first[-1] + len(seq))
    out = {"replay_touches": len(flat), "replay_page": ffi.new("long[]", [p for p, _, _ in flat]),
           "replay_gap_ns": ffi.new("unsigned long long[]", [g for _, g, _ in flat]),
           "replay_write": ffi.new("unsigned char[]", [int(w) for _, _, w in flat]),
           "replay_first": ffi.new("long[]", first)}
    if recorded_push:
        out["push_order"] = ffi.new("long[]", push_order(wl))
    return out


def push_order(wl):
    """Every page of wl's area once: in first-touch order (all threads, by time), then the others."""
    bases = wl.bases()
    touched = [bases[t.region] + t.page for t in wl.touches]
    seen = set(touched)
    return touched + [p for p in range(wl.pages) if p not in seen]


KIND_NAME = {v: k for k, v in KERNEL_STEPS.items()}


def _result(res, config):
    faults = [res.faults[i] for i in range(res.nfaults)]
    touches = [res.touches[i] for i in range(res.ntouches)]
    error = ffi.string(res.error).decode(errors="replace")
    wall = res.wall_ns / 1e9
    steps = [KernelStepResult(kind=KIND_NAME[s.kind], page=s.page,
                              before_ret=s.before_ret, before_errno=_errname(s.before_errno),
                              after_ret=s.after_ret, after_errno=_errname(s.after_errno),
                              before_tid=s.before_tid, before_window=(s.before_t0, s.before_t1),
                              after_tid=s.after_tid, after_window=(s.after_t0, s.after_t1))
             for s in (res.ksteps[i] for i in range(res.nksteps))]
    return RunResult(
        backend=config.backend, pages=config.pages, threads=config.threads, pattern=config.pattern, ok=bool(res.ok),
        error=error,
        unsupported=error.startswith(UNSUPPORTED), faults=len(faults),
        resolve_ns=[f.resolve_ns for f in faults], fault_addr=[f.addr for f in faults],
        fault_tid=[f.tid for f in faults], fault_t_ns=[f.t_start_ns for f in faults],
        fetch_ns=[f.fetch_ns for f in faults], fault_won=[f.won for f in faults],
        e2e_ns=[t.t1_ns - t.t0_ns for t in touches], touch_addr=[t.addr for t in touches],
        touch_tid=[t.tid for t in touches], touch_t_ns=[t.t0_ns for t in touches],
        push_t_ns=list(res.push_t_ns[0:res.npushes]),
        wall_s=wall, pages_per_s=res.pages_placed / wall if wall > 0 else 0.0,
        pages_placed=res.pages_placed, pages_pushed=res.pages_pushed, push_calls=res.push_calls,
        stream_pages=res.stream_pages, stream_place_ns=res.stream_place_ns,
        pages_prefetched=res.pages_prefetched, kwait_events=res.kwait_events, prefill_t0_ns=res.prefill_t0_ns,
        prefill_t1_ns=res.prefill_t1_ns,
        huge_batches=res.huge_batches, huge_kb_placed=res.huge_kb_placed,
        khugepaged_collapsed=res.khugepaged_collapsed,
        eexist=res.eexist,
        user_copy_bytes=res.user_copy_bytes,
        vmas_before=res.vmas_before, vmas_after=res.vmas_after, rss_kb=res.rss_kb,
        bad_pages=res.bad_pages, first_bad=list(res.first_bad)[:min(res.bad_pages, lib.FA_MAX_FIRST)],
        missing_pages=res.missing_pages,
        first_missing=list(res.first_missing)[:min(res.missing_pages, lib.FA_MAX_FIRST)],
        vma_limit_pages=res.vma_limit_pages, area_start=res.area_start, t_start_ns=res.t_start_ns,
        t_end_ns=res.t_end_ns,
        maps_same=res.maps_hash_before == res.maps_hash_after, maps_lines_before=res.maps_lines_before,
        maps_lines_after=res.maps_lines_after, area_map=ffi.string(res.area_map).decode(errors="replace"),
        area_thp_eligible=res.area_thp_eligible, area_huge_kb=res.area_huge_kb, pfn_checked=res.pfn_checked,
        pfn_kept=res.pfn_kept, replay_compute_ns=res.replay_compute_ns, replay={},
        after={name: res.after_vals[slot] for name, slot in AFTER_VALS.get(config.after, {}).items()},
        kernel_steps=steps)
