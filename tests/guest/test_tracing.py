"""The tracer counts right: known workloads with a prime number of events,
checked exactly (bcc's rule).  One BPF compile serves all four workloads;
each test reads the events of its own time window."""
import ctypes
import fcntl
import mmap
import os
import time
from errno import EFAULT

import pytest

from lab import uapi
from tracing import probes
from tracing.probes import FAULT_FLAG_USER, VM_FAULT_SIGBUS
from tracing.tracer import Tracer

PAGE = mmap.PAGESIZE
VMA_PROBES = probes.names(group="vma")
libc = ctypes.CDLL(None, use_errno=True)


def anon(pages):
    area = mmap.mmap(-1, pages * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    area.madvise(mmap.MADV_NOHUGEPAGE)
    return area, ctypes.addressof(ctypes.c_char.from_buffer(area))


def area_vmas(lo, hi):
    n = 0
    with open("/proc/self/maps") as f:
        for line in f:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            n += start < hi and end > lo
    return n


class Window:
    """CLOCK_MONOTONIC bounds, the clock of bpf_ktime_get_ns()."""

    def __init__(self):
        self.t0 = self.t1 = 0

    def __enter__(self):
        self.t0 = time.monotonic_ns()
        return self

    def __exit__(self, *exc):
        self.t1 = time.monotonic_ns()


@pytest.fixture(scope="module")
def traced(fa_module):
    w, keep = {}, []
    fd = os.open("/dev/fault_area", os.O_RDWR)
    touch, touch_addr = anon(1013)
    split, split_addr = anon(512)
    split[:] = b"\1" * len(split)
    marker, marker_addr = anon(1)
    dst, dst_addr = anon(257)
    src, src_addr = anon(257)
    src[:] = b"\2" * len(src)
    for addr, n in ((marker_addr, 1), (dst_addr, 257)):
        fcntl.ioctl(fd, uapi.IOC_PREPARE, uapi.Prepare(start=addr, len=n * PAGE))
    gup, fmap = uapi.Gup(start=marker_addr, npages=1), uapi.Map(dst=dst_addr, src=src_addr, len=257 * PAGE)
    vdst, vdst_addr = anon(1024)
    fcntl.ioctl(fd, uapi.IOC_PREPARE, uapi.Prepare(start=vdst_addr, len=1024 * PAGE))
    vsrc, vsrc_addr = anon(2 * 512)  # 61 pages inside its one whole page table
    vsrc_addr = -(-vsrc_addr // (512 * PAGE)) * 512 * PAGE
    vec = (uapi.Iovec * 61)(*(uapi.Iovec(dst=vdst_addr + (i * 97) % 1024 * PAGE,
                                         src=vsrc_addr + (60 - i) * PAGE, len=PAGE) for i in range(61)))
    for v in vec:
        ctypes.memset(v.src, 3, PAGE)
    fmapv = uapi.Mapv(vec=ctypes.addressof(vec), count=61)
    with Tracer(pids=[os.getpid()]) as t:
        with Window() as w["touch"]:
            for i in range(1013):
                touch[i * PAGE] = 1
        vmas_before = area_vmas(split_addr, split_addr + 512 * PAGE)
        with Window() as w["mprotect"]:
            for i in range(101):
                libc.mprotect(ctypes.c_void_p(split_addr + (10 + 4 * i) * PAGE), PAGE, mmap.PROT_READ)
        vmas_after = area_vmas(split_addr, split_addr + 512 * PAGE)
        with Window() as w["gup"]:
            fcntl.ioctl(fd, uapi.IOC_GUP, gup)
        with Window() as w["map"]:
            fcntl.ioctl(fd, uapi.IOC_MAP, fmap)
        with Window() as w["mapv"]:
            fcntl.ioctl(fd, uapi.IOC_MAPV, fmapv)
    os.close(fd)
    keep += [touch, split, marker, dst, src, vdst, vsrc]
    return dict(trace=t.trace, w=w, touch=touch_addr, vma_growth=vmas_after - vmas_before, gup=gup,
                marker=marker_addr, map=fmap, mapv=fmapv)


def events(traced, window, probe=None):
    w = traced["w"][window]
    return [e for e in traced["trace"].events
            if w.t0 <= e["ts_ns"] <= w.t1 and e["tgid"] == os.getpid() and (probe is None or e["probe"] == probe)]


def test_nothing_lost(traced):
    assert traced["trace"].summary["lost_events"] == 0


def test_touch_1013_pages_gives_1013_user_faults(traced):
    lo, hi = traced["touch"], traced["touch"] + 1013 * PAGE
    faults = [e for e in events(traced, "touch", "handle_mm_fault")
              if lo <= e["address"] < hi and e["fault_flags"] & FAULT_FLAG_USER]
    assert len(faults) == 1013
    assert len({e["address"] & ~(PAGE - 1) for e in faults}) == 1013


def test_mprotect_101_pages_splits_match_vma_growth(traced):
    assert traced["vma_growth"] == 202, "each isolated page makes one VMA into three"
    assert len(events(traced, "mprotect", "__split_vma")) == traced["vma_growth"]
    assert len(events(traced, "mprotect", "vm_area_dup")) == traced["vma_growth"]


def span(e):
    return e["ts_ns"] - e.get("lat_ns", 0), e["ts_ns"]


def only(traced, probe, tid):
    calls = [e for e in events(traced, "gup", probe) if e["tid"] == tid]
    assert len(calls) == 1, f"{len(calls)} {probe} calls on thread {tid}"
    return calls[0]


def test_gup_on_a_marker_falls_back_and_fails_in_order(traced):
    assert traced["gup"].pinned == -EFAULT
    faults = [e for e in events(traced, "gup", "handle_mm_fault") if e["address"] == traced["marker"]]
    assert len(faults) == 1, faults
    fault = faults[0]
    assert fault["gup"] == 1, "the fault came from gup (regs == NULL)"
    assert fault["vm_fault"] & VM_FAULT_SIGBUS
    tid = fault["tid"]
    fast, fallback, slow = (only(traced, p, tid) for p in ("get_user_pages_fast", "gup_fast_fallback",
                                                            "__get_user_pages"))
    # gup_fast itself is inlined; the slow path running at all means it came back short.
    assert span(fast)[0] < span(fallback)[0] < span(slow)[0] < span(fault)[0], "entries, outermost first"
    assert span(fault)[1] < span(slow)[1] < span(fallback)[1] < span(fast)[1], "returns, innermost first"
    assert slow["pages_returned"] == -EFAULT and fast["pages_returned"] == -EFAULT


def inside(traced, window, probe, call):
    """Events of probe on call's thread between call's entry and return."""
    lo, hi = span(call)
    return [e for e in events(traced, window, probe) if e["tid"] == call["tid"] and lo <= e["ts_ns"] <= hi]


def test_a_flush_outside_a_traced_operation_is_named_by_its_stack(traced):
    flushes = events(traced, "mprotect", "flush_tlb_mm_range")
    assert len(flushes) >= 101, "making a written page read-only flushes it"
    callers = {e["caller"] for e in flushes}
    assert "?" not in callers and not callers & set(probes.names()), f"kernel functions, not probes: {callers}"


def test_map_257_pages_gives_257_page_events_and_no_vma_event(traced):
    assert traced["map"].mapped == 257 * PAGE
    call = next(e for e in events(traced, "map", "fa_map"))
    pages = inside(traced, "map", "fa_map_page", call)
    assert len(pages) == 257 and all(e["ret"] == 0 for e in pages)
    # the thread may take ordinary faults (and COW reuses) around the call: count inside it
    assert len(inside(traced, "map", "folio_move_anon_rmap", call)) == 257
    assert [e for e in events(traced, "map") if e["probe"] in VMA_PROBES] == []
    assert inside(traced, "map", "vma_alloc_folio_noprof", call) == [], "a move allocated a page"
    flushes = inside(traced, "map", "flush_tlb_mm_range", call)
    assert len(flushes) == 257, "a move flushes once per page"
    assert {e["caller"] for e in flushes} == {"fa_map_page"}, "each flush is named by the page move it is in"


def test_mapv_of_61_scattered_pages_flushes_once(traced):
    """61 one-page elements, src in one page table, dst spread over 4 MiB: one run, one TLB flush."""
    assert traced["mapv"].mapped == 61 * PAGE
    flushes = events(traced, "mapv", "flush_tlb_mm_range")
    assert len(flushes) == 1, f"{len(flushes)} flushes for one run"
    assert flushes[0]["caller"] == "fa_map_page"
    call = next(e for e in events(traced, "mapv", "fa_map"))
    assert call["length"] == 61 * PAGE, "one fa_map event for the call, every element's bytes"
    assert len(inside(traced, "mapv", "folio_move_anon_rmap", call)) == 61
    runs = inside(traced, "mapv", "fa_map_page", call)
    assert len(runs) == 1 and runs[0]["ret"] == 0, runs
    assert inside(traced, "mapv", "flush_tlb_mm_range", call) == flushes
