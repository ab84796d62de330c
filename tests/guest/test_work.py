"""The work counters count exactly: engine runs of 256 faults (1 thread,
sequential) under Tracer(work=True), each backend's counted kernel work
checked against what its mechanism must do per fault.  One BPF compile."""
import os

import pytest

import engine
from analysis.work import per_fault
from tracing.tracer import Tracer

FAULTS, PAGE = 256, 4096


@pytest.fixture(scope="module")
def tracer(fa_module):
    t = Tracer(pids=[os.getpid()]).compile()
    yield t
    t.close()


def counted(tracer, backend):
    tracer.attach(groups=(), events=False, work=True)
    try:
        r = engine.run(backend, FAULTS, 1, "sequential")
    finally:
        trace = tracer.detach()
    assert r.ok and r.faults == FAULTS and not r.bad_pages and not r.missing_pages, r.error
    return trace.summary["work"][str(os.getpid())]


def test_kmod_moves_each_page_on_one_signal_and_one_map_ioctl(tracer):
    w = counted(tracer, "kmod")
    assert w["signals_generated"].get("SIGBUS") == FAULTS and w["signals_delivered"] == {"SIGBUS": FAULTS}
    assert w["ioctls"]["FA_IOC_MAP"] == FAULTS and w["ioctls"]["FA_IOC_PREPARE"] == 1
    assert w["pages_allocated_in_placement"] == 0, "a move allocates no page"
    assert w["bytes_moved_in_placement"] == FAULTS * PAGE and w["bytes_copied_in_placement"] == 0
    assert per_fault(w, FAULTS)["signals"] == 1 and per_fault(w, FAULTS)["placement_ioctls"] == 1


def test_kmod_copy_allocates_and_copies_each_page_in_the_map_ioctl(tracer):
    w = counted(tracer, "kmod-copy")
    assert w["ioctls"]["FA_IOC_MAP"] == FAULTS and w["signals_delivered"] == {"SIGBUS": FAULTS}
    assert w["pages_allocated_in_placement"] == FAULTS
    assert w["bytes_copied_in_placement"] == FAULTS * PAGE and w["bytes_moved_in_placement"] == 0


def test_uffd_copy_allocates_each_page_in_uffdio_copy_and_sends_no_signal(tracer):
    w = counted(tracer, "uffd-copy")
    assert w["ioctls"]["UFFDIO_COPY"] == FAULTS and "FA_IOC_MAP" not in w["ioctls"]
    assert w["pages_allocated_in_placement"] == FAULTS
    assert w["bytes_copied_in_placement"] == FAULTS * PAGE
    assert "SIGBUS" not in w["signals_delivered"], "a handler thread: no signal"
    assert w["context_switches"], "the faulting thread sleeps until the handler wakes it"
