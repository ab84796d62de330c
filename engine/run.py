"""run(): one post-copy destination run through the C engine (cffi).

Parameters are checked here, before anything is mapped; the C side does the
faulting, placing and timing, and run() turns its arrays into a RunResult.
"""
import dataclasses
import errno
import os
import statistics
import threading

from engine.source import Source

BACKENDS = {"kmod": 0, "kmod-copy": 1, "uffd-copy": 2, "uffd-move": 3, "uffd-sigbus": 4,
            "uffd-sigbus-move": 5, "mprotect": 6}
PATTERNS = {"sequential": 0, "random": 1, "hot-set": 2, "zipf": 3, "stride": 4}
KERNEL_STEPS = {"odirect": 0, "process_vm_readv": 1, "pipe-read": 2, "pipe-write": 3}
AFTER = {"none": 0, "collapse": 1, "ksm": 2, "shared": 3}
# what each after-migration action reports, slot by slot (engine/c/after.c)
AFTER_VALS = {
    "collapse": ("huge_kb_before", "release_errno", "collapse_errno", "huge_kb_after", "huge_kb_possible",
                 "pages_right"),
    "ksm": ("pages_identical", "pages_merged", "waited_ms", "move_errno", "copy_errno", "copy_right"),
    "shared": ("move_errno", "copy_errno", "copy_right"),
}
MAX_KERNEL_STEPS = 16
UNSUPPORTED = "unsupported on this kernel"


@dataclasses.dataclass
class SourceSpec:
    transport: str = "unix"  # unix | tcp (through a veth pair between network namespaces)
    delay_us: int = 0  # netem one-way delay, tcp only
    rate_mbit: int = 0  # netem rate, tcp only; 0 = unlimited
    push: bool = False  # background push stream of every page, in order


@dataclasses.dataclass
class KernelStep:
    kind: str  # one of KERNEL_STEPS
    page: int  # area page it reaches while still missing


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
    resolve_ns: list  # per fault: handler entry (or event read) to the place ioctl's return
    fault_addr: list  # per fault, the page address
    fault_tid: list  # per fault, the faulting thread
    fault_t_ns: list  # per fault, CLOCK_MONOTONIC at handler entry (the clock of the trace)
    e2e_ns: list  # per first touch, as the vCPU thread saw it
    wall_s: float  # first access to last access
    pages_per_s: float
    pages_placed: int
    pages_pushed: int
    eexist: int  # places that lost a race (benign)
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
    pfn_checked: int  # record_pfn: places whose pfn was read before and after
    pfn_kept: int  # of them, places that kept the filled page's pfn (moves)
    after: dict  # the after-migration action's figures, by name (AFTER_VALS)
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


PER_FAULT = ("resolve_ns", "fault_addr", "fault_tid", "fault_t_ns", "e2e_ns")


def p99(values):
    """The 99th percentile (nearest rank below) of a non-empty list."""
    return sorted(values)[int(0.99 * (len(values) - 1))]


def _errname(e):
    """'0', or the errno's symbolic name (EFAULT), as the kernel-step results report it."""
    return "0" if not e else errno.errorcode.get(e, os.strerror(e))


def check_params(backend, pages, threads, pattern, kernel_steps, params):
    """Refuse bad parameters with a message that says what is allowed."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if not isinstance(pages, int) or pages <= 0:
        raise ValueError(f"pages must be a positive integer, not {pages!r}")
    if not isinstance(threads, int) or not 1 <= threads <= 256:
        raise ValueError(f"threads must be between 1 and 256, not {threads!r}")
    if threads > pages:
        raise ValueError(f"threads ({threads}) must not exceed pages ({pages})")
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}: use one of {', '.join(PATTERNS)}")
    if not 0 < params["hot_fraction"] <= 1 or not 0 <= params["hot_probability"] <= 1:
        raise ValueError("hot_fraction must be in (0, 1] and hot_probability in [0, 1]")
    if params["zipf_s"] <= 0 or params["stride"] < 1 or params["accesses"] < 0:
        raise ValueError("zipf_s must be > 0, stride >= 1 and accesses >= 0")
    if len(kernel_steps) > MAX_KERNEL_STEPS:
        raise ValueError(f"at most {MAX_KERNEL_STEPS} kernel steps")
    for step in kernel_steps:
        if step.kind not in KERNEL_STEPS:
            raise ValueError(f"unknown kernel step {step.kind!r}: use one of {', '.join(KERNEL_STEPS)}")
        if not 0 <= step.page < pages:
            raise ValueError(f"kernel step page {step.page} is outside the area (0..{pages - 1})")


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


def run(backend, pages, threads=1, pattern="sequential", *, seed=1, source=None, kernel_steps=(),
        thp=False, area="anon", hot_fraction=0.1, hot_probability=0.9, zipf_s=1.0, accesses=0,
        stride=7, timeout_s=30.0, odirect_path=None, progress=None, on_source=None, record_pfn=False,
        after="none", progress_fd=-1):
    """One destination run against a fresh source; returns a RunResult.

    progress(placed, pages) is called now and then from another thread;
    progress_fd instead gets the raw 8-byte counts (no thread here);
    on_source(Source) is called once the source runs (a test can kill it).
    """
    from engine._engine import ffi, lib

    source = source or SourceSpec()
    params = dict(hot_fraction=hot_fraction, hot_probability=hot_probability, zipf_s=zipf_s,
                  accesses=accesses, stride=stride)
    check_params(backend, pages, threads, pattern, kernel_steps, params)
    if area not in ("anon", "dev-zero"):
        raise ValueError(f"area must be 'anon' or 'dev-zero', not {area!r}")
    if after not in AFTER:
        raise ValueError(f"unknown after-migration action {after!r}: use one of {', '.join(AFTER)}")
    with Source(pages, seed, source.transport, source.delay_us, source.rate_mbit) as src:
        if on_source:
            on_source(src)
        keep = [ffi.new("char[]", src.addr.encode())]
        cfg = ffi.new("struct fa_cfg *", dict(
            backend=BACKENDS[backend], pages=pages, threads=threads, pattern=PATTERNS[pattern], seed=seed,
            thp=int(thp), dev_zero=int(area == "dev-zero"), source_addr=keep[0], push=int(source.push),
            timeout_ms=int(timeout_s * 1000), nksteps=len(kernel_steps), progress_fd=progress_fd,
            record_pfn=int(record_pfn), after=AFTER[after], **params))
        for i, step in enumerate(kernel_steps):
            cfg.ksteps[i] = KERNEL_STEPS[step.kind]
            cfg.kstep_pages[i] = step.page
        if odirect_path:
            keep.append(ffi.new("char[]", str(odirect_path).encode()))
            cfg.odirect_path = keep[-1]
        reader = None
        if progress:
            rfd, wfd = os.pipe()
            os.set_blocking(wfd, False)
            cfg.progress_fd = wfd
            reader = threading.Thread(target=_progress_reader, args=(rfd, pages, progress), daemon=True)
            reader.start()
        res = ffi.new("struct fa_result *")
        lib.fa_engine_run(cfg, res)  # cffi releases the GIL for the call
        if reader:
            os.close(wfd)
            reader.join(5)
            os.close(rfd)
    try:
        return _result(ffi, res, backend, pages, threads, pattern, after)
    finally:
        lib.fa_engine_free(res)


def _result(ffi, res, backend, pages, threads, pattern, after):
    faults = [res.faults[i] for i in range(res.nfaults)]
    error = ffi.string(res.error).decode(errors="replace")
    wall = res.wall_ns / 1e9
    steps = [KernelStepResult(kind=next(k for k, v in KERNEL_STEPS.items() if v == s.kind), page=s.page,
                              before_ret=s.before_ret, before_errno=_errname(s.before_errno),
                              after_ret=s.after_ret, after_errno=_errname(s.after_errno),
                              before_tid=s.before_tid, before_window=(s.before_t0, s.before_t1),
                              after_tid=s.after_tid, after_window=(s.after_t0, s.after_t1))
             for s in (res.ksteps[i] for i in range(res.nksteps))]
    return RunResult(
        backend=backend, pages=pages, threads=threads, pattern=pattern, ok=bool(res.ok), error=error,
        unsupported=error.startswith(UNSUPPORTED), faults=len(faults),
        resolve_ns=[f.resolve_ns for f in faults], fault_addr=[f.addr for f in faults],
        fault_tid=[f.tid for f in faults], fault_t_ns=[f.t_start_ns for f in faults],
        e2e_ns=[res.e2e_ns[i] for i in range(res.ne2e)],
        wall_s=wall, pages_per_s=res.pages_placed / wall if wall > 0 else 0.0,
        pages_placed=res.pages_placed, pages_pushed=res.pages_pushed, eexist=res.eexist,
        vmas_before=res.vmas_before, vmas_after=res.vmas_after, rss_kb=res.rss_kb,
        bad_pages=res.bad_pages, first_bad=list(res.first_bad)[:min(res.bad_pages, 8)],
        missing_pages=res.missing_pages, first_missing=list(res.first_missing)[:min(res.missing_pages, 8)],
        vma_limit_pages=res.vma_limit_pages, area_start=res.area_start, t_start_ns=res.t_start_ns,
        t_end_ns=res.t_end_ns,
        maps_same=res.maps_hash_before == res.maps_hash_after, maps_lines_before=res.maps_lines_before,
        maps_lines_after=res.maps_lines_after, pfn_checked=res.pfn_checked, pfn_kept=res.pfn_kept,
        after=dict(zip(AFTER_VALS.get(after, ()), res.after_vals)), kernel_steps=steps)
