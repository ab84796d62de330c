"""The migration engine on the host: every backend the host kernel has
(all but kmod), each pattern, content verified; failure handling."""
import threading
import time

import pytest

import engine
from engine import KernelStep, SourceSpec, run

HOST_BACKENDS = ["uffd-copy", "uffd-move", "uffd-sigbus", "uffd-sigbus-move", "mprotect"]
PAGES = 4096


def assert_complete(res):
    assert res.ok, res.error
    assert res.bad_pages == 0 and res.missing_pages == 0, (res.first_bad, res.first_missing)
    assert res.pages_placed == res.pages


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("pattern", list(engine.PATTERNS))
@pytest.mark.parametrize("backend", HOST_BACKENDS)
def test_backend_pattern_verified(backend, pattern, threads):
    res = run(backend, PAGES, threads, pattern, seed=7)
    assert_complete(res)
    assert res.faults >= PAGES, "every page came through a fault"
    assert len(res.resolve_ns) == res.faults and all(ns > 0 for ns in res.resolve_ns)
    assert res.pages_per_s > 0 and res.rss_kb == PAGES * 4


def test_kmod_is_unsupported_without_the_module():
    res = run("kmod", 16)
    assert not res.ok and res.unsupported
    assert "/dev/fault_area" in res.error


def test_mprotect_vmas_grow_with_pages():
    small, large = (run("mprotect", n, 1, "random", seed=3) for n in (256, 2048))
    for r in (small, large):
        assert_complete(r)
    assert small.vmas_before == large.vmas_before == 1
    assert 1 < small.vmas_after < large.vmas_after, (small.vmas_after, large.vmas_after)


def test_uffd_only_one_vma():
    res = run("uffd-copy", 2048, 2, "random")
    assert_complete(res)
    assert res.vmas_before == res.vmas_after == 1


@pytest.mark.parametrize("backend", ["uffd-copy", "uffd-sigbus", "mprotect"])
def test_source_death_fails_fast_and_names_missing_pages(backend):
    def kill_soon(src):
        threading.Timer(0.3, src.kill).start()

    t0 = time.monotonic()
    res = run(backend, 1 << 18, 2, "sequential", source=SourceSpec(transport="unix"), on_source=kill_soon,
              timeout_s=5)
    assert time.monotonic() - t0 < 30
    assert not res.ok and "source" in res.error, res.error
    assert res.missing_pages > 0 and len(res.first_missing) == min(res.missing_pages, 8)
    assert res.bad_pages == 0, "pages that did arrive are intact"


@pytest.mark.parametrize("kw, msg", [
    (dict(pages=0), "pages must be a positive integer"),
    (dict(pattern="spiral"), "unknown pattern 'spiral'"),
    (dict(threads=8, pages=4), "must not exceed pages"),
    (dict(backend="dma"), "unknown backend 'dma'"),
    (dict(kernel_steps=[KernelStep("pipe-read", 99)]), "outside the area"),
    (dict(kernel_steps=[KernelStep("ioctl", 0)]), "unknown kernel step"),
])
def test_bad_parameters_are_refused(kw, msg):
    args = dict(backend="uffd-copy", pages=16, threads=1, pattern="sequential") | kw
    with pytest.raises(ValueError, match=msg):
        run(args.pop("backend"), args.pop("pages"), args.pop("threads"), args.pop("pattern"), **args)


def test_kernel_steps_sigbus_mode_efault_then_ok():
    steps = [KernelStep(k, p) for p, k in enumerate(["process_vm_readv", "pipe-read", "pipe-write"], 10)]
    res = run("uffd-sigbus", 64, 1, kernel_steps=steps)
    assert_complete(res)
    for s in res.kernel_steps:
        assert (s.before_ret, s.before_errno) == (-1, "EFAULT"), s
        assert (s.after_ret, s.after_errno) == (4096, "0"), s


def test_kernel_steps_uffd_thread_mode_wait_for_the_handler():
    steps = [KernelStep("pipe-read", 3), KernelStep("process_vm_readv", 4)]
    res = run("uffd-copy", 64, 1, kernel_steps=steps)
    assert_complete(res)
    assert all(s.before_ret == 4096 for s in res.kernel_steps), res.kernel_steps


def test_push_stream_places_pages():
    res = run("uffd-copy", 8192, 1, "random", source=SourceSpec(push=True))
    assert_complete(res)
    assert res.pages_pushed > 0 and res.faults + res.pages_pushed >= res.pages
