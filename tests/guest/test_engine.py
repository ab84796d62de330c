"""The migration engine in the guest: every backend, kmod included, and each
kernel-access step against a missing page (a marker for kmod); the local
source and a fault in phases; the netem link model; python -m engine."""
import dataclasses
import json
import statistics
import subprocess
import sys

import pytest

import engine
from analysis import phases
from engine import KernelStep, run
from lab.module import REPO

STEPS = ["odirect", "process_vm_readv", "pipe-read", "pipe-write"]
# While the page is missing: EFAULT where the fault cannot wait for a handler
# thread (markers, uffd SIGBUS mode, PROT_NONE); the uffd thread backends wait.
FAILS_WHILE_MISSING = {"kmod", "kmod-copy", "uffd-sigbus", "uffd-sigbus-move", "mprotect"}


def assert_complete(res):
    assert res.ok, res.error
    assert res.bad_pages == 0 and res.missing_pages == 0, (res.first_bad, res.first_missing)


@pytest.mark.parametrize("backend", list(engine.BACKENDS))
def test_backend_with_kernel_steps(fa_module, ext4_dir, backend):
    steps = [KernelStep(kind, 100 + i) for i, kind in enumerate(STEPS)]
    res = run(backend, 4096, 2, "random", kernel_steps=steps, odirect_path=str(ext4_dir / "odirect"))
    assert_complete(res)
    for s in res.kernel_steps:
        if backend in FAILS_WHILE_MISSING:
            assert (s.before_ret, s.before_errno) == (-1, "EFAULT"), s
        else:
            assert s.before_ret == 4096, s
        assert (s.after_ret, s.after_errno) == (4096, "0"), s


def test_kmod_no_vma_change_and_one_fault_per_page(fa_module):
    res = run("kmod", 8192, 1, "sequential")
    assert_complete(res)
    assert res.vmas_before == res.vmas_after == 1
    assert res.faults == 8192 and res.eexist == 0


def test_kmod_dev_zero_and_thp(fa_module):
    """area="dev-zero" is a private mapping of /dev/zero (its maps line, read by the engine while the
    area is mapped, names it with 'p'); thp=True makes the area THP-eligible (MADV_HUGEPAGE: smaps
    THPeligible 1, where the default MADV_NOHUGEPAGE gives 0 even in the guest's THP mode 'always').
    Eligible is all a kmod run can show: FA_IOC_PREPARE zaps the area (splitting any THP) and fills
    its ptes with markers, and FA_IOC_MAP moves 4 KiB pages into them, so no huge page backs the area
    after the run (AnonHugePages 0 kB, measured) unless khugepaged collapses a fully placed 2 MiB
    range first, and it scans only every 10 s (after="collapse" is the way to get huge pages back)."""
    zero = run("kmod", 2048, 2, "random", area="dev-zero")
    assert_complete(zero)
    start, perms, *_, path = zero.area_map.split()
    assert int(start.split("-")[0], 16) == zero.area_start, (zero.area_map, hex(zero.area_start))
    assert path == "/dev/zero" and perms == "rw-p", zero.area_map
    assert zero.area_thp_eligible == 0, zero.area_thp_eligible
    thp = run("kmod", 2048, 2, "random", thp=True)
    assert_complete(thp)
    assert len(thp.area_map.split()) == 5, f"an anonymous area names no file: {thp.area_map}"
    assert thp.area_thp_eligible == 1, f"THPeligible {thp.area_thp_eligible} with MADV_HUGEPAGE"
    assert thp.area_huge_kb == 0, f"AnonHugePages {thp.area_huge_kb} kB: something collapsed the area"


@pytest.mark.parametrize("backend", list(engine.BACKENDS))
def test_local_source_and_phases(fa_module, backend):
    """The local source (the image in /dev/shm, a fetch is a memcpy): every page arrives right, each
    through one fault, on 2 threads; on 1 thread every fault is split into phases, the three the
    handler brackets each take time, and the fetch (a memcpy) is a part of the fault, not all of it.
    Whether the median fault's phases add up to its end-to-end time within 5 % is a timing goal, so
    bench.backends reports it against the goal; as an assertion here it failed a CI run under TCG
    at 5.57 % after passing in the runs before."""
    pages = 4096
    res = run(backend, pages, 2, "random", transport="local")
    assert_complete(res)
    assert res.faults - res.eexist == pages and sum(res.fault_won) == pages
    assert res.user_copy_bytes == (pages * 4096 if backend == "mprotect" else 0)
    one = run(backend, pages, 1, "random", transport="local")
    assert_complete(one)
    ph = phases.of_run(dataclasses.asdict(one))
    assert ph["joined"] == pages, f"{ph['joined']} of {pages} faults joined to their first touch"
    empty = {p: ph["phases"][p]["median_us"] for p in ("trap", "fetch", "place") if ph["phases"][p]["median_us"] <= 0}
    assert not empty, f"phases that took no time at the median: {empty}"
    assert ph["add_up_pct"] is not None and ph["median_fault"]["faults"] > 0, ph
    assert ph["phases"]["fetch"]["median_us"] < ph["e2e_median_us"]


def test_tcp_link_with_netem_and_push(fa_module):
    """Each fault's request and its page cross the shaped link once each way: its resolve time
    cannot be shorter than two one-way delays plus a page at the link's rate."""
    delay_us, rate_mbit, pages = 500, 100, 2048
    res = run("kmod", pages, 1, "random", transport="tcp", delay_us=delay_us, rate_mbit=rate_mbit, push=True)
    assert_complete(res)
    floor_ns = 2 * delay_us * 1000 + (4096 + 8) * 8 * 1000 / rate_mbit
    assert statistics.median(res.resolve_ns) >= floor_ns, (statistics.median(res.resolve_ns), floor_ns)
    assert min(res.resolve_ns) >= 2 * delay_us * 1000, min(res.resolve_ns)
    assert res.pages_placed == pages and res.pages_pushed > 0
    assert res.pages_pushed + res.faults - res.eexist == res.pages_placed, "each page placed once, by one path"


def test_python_m_engine(fa_module):
    cmd = [sys.executable, "-m", "engine", "--backend", "kmod", "--pages", "256", "--threads", "2",
           "--pattern", "random", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["ok"] and s["backend"] == "kmod" and s["pages_placed"] == 256 and s["bad_pages"] == 0
    assert s["faults"] >= 256 and s["resolve_ns_median"] > 0
    bad = subprocess.run(cmd[:-1] + ["--hot-probability", "5"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "hot_probability: 5.0 is out of range" in bad.stderr, bad.stderr


@pytest.mark.parametrize("backend", ["kmod", "kmod-copy"])
def test_kmod_push_places_64_pages_a_call(fa_module, backend):
    """The kmod backends' push stream places FA_PUSH_BATCH (64) pushed pages with one FA_IOC_MAPV, and one
    more call after each page a fault placed first (EEXIST): each page once, moved (its pfn kept) or copied."""
    pages = 4096
    res = run(backend, pages, 1, "random", push=True, record_pfn=True)
    assert_complete(res)
    assert res.pages_pushed + res.faults - res.eexist == res.pages_placed == pages, "each page placed once"
    assert 0 < res.push_calls <= pages // 64 + res.faults, (res.push_calls, res.faults)
    assert res.push_calls < res.pages_pushed / 16, (res.push_calls, res.pages_pushed)
    assert res.pfn_checked == pages
    assert res.pfn_kept == (pages if backend == "kmod" else 0), "moved, not copied (kmod); copied (kmod-copy)"


@pytest.mark.parametrize("backend", ["kmod", "kmod-copy", "uffd-move", "uffd-copy"])
@pytest.mark.parametrize("batch", [1, 64])
def test_prefill_places_a_batch_a_call(fa_module, backend, batch):
    """prefill with source.batch: one FA_IOC_MAPV (kmod) or one UFFDIO_MOVE/COPY (a run of contiguous pages)
    per batch; moves keep the filled pages' pfns."""
    res = run(backend, 2048, 1, prefill=True, batch=batch, record_pfn=True)
    assert_complete(res)
    assert res.faults == 0 and res.push_calls == 2048 // batch, res.push_calls
    moves = backend in ("kmod", "uffd-move")
    assert res.pfn_checked == 2048 and res.pfn_kept == (2048 if moves else 0)


@pytest.mark.parametrize("backend", ["kmod", "uffd-move", "uffd-copy"])
def test_2mib_batches_from_a_thp_buffer(fa_module, backend):
    """With a THP buffer and batches of 512, FA_IOC_MAPV and UFFDIO_MOVE move each 2 MiB whole (AnonHugePages
    covers it right after, khugepaged idle); UFFDIO_COPY copies it into 512 small pages."""
    res = run(backend, 2048, 1, prefill=True, batch=512, tmp_thp=True, thp=True, record_pfn=True)
    assert_complete(res)
    if not res.huge_batches:
        pytest.skip("the kernel gave the buffer no THP")
    assert res.huge_batches == 4 and res.push_calls == 4
    assert res.huge_kb_placed == (0 if backend == "uffd-copy" else 8192), res.huge_kb_placed
    assert res.khugepaged_collapsed == 0
    assert res.pfn_kept == (0 if backend == "uffd-copy" else 2048)


@pytest.mark.parametrize("backend,transport", [("kmod", "unix"), ("kmod", "local"), ("kmod-copy", "unix"),
                                               ("uffd-copy", "unix")])
def test_prefetch_brings_the_neighbours(fa_module, backend, transport):
    """prefetch.around 8: a fault brings its window of 9 pages (kmod: one FA_IOC_MAPV); sequential touches
    then fault once per 5 new pages, and every page is placed once."""
    res = run(backend, 4096, 1, prefetch_around=8, transport=transport, record_pfn=True)
    assert_complete(res)
    assert res.faults - res.eexist + res.pages_prefetched == 4096, "each page placed once, by one path"
    assert res.faults == 1 + (4096 - 9 + 4) // 5, res.faults
    assert res.pfn_kept == (4096 if backend == "kmod" else 0)


def test_kmod_prefetch_with_push_and_threads(fa_module):
    res = run("kmod", 4096, 2, "random", prefetch_around=31, push=True)
    assert_complete(res)
    assert res.pages_prefetched > 0 and res.pages_pushed > 0
    assert res.faults - res.eexist + res.pages_prefetched + res.pages_pushed == 4096


@pytest.mark.parametrize("backend", ["kmod", "kmod-copy"])
def test_kmod_kernel_wait_steps_complete(fa_module, ext4_dir, backend):
    """workload.kernel_wait: each kernel access to a missing page waits (FA_PREPARE_KWAIT) until the handler
    thread, reading the file's fault events, places the page; then it completes, with every page right."""
    steps = [KernelStep(kind, 100 + i) for i, kind in enumerate(STEPS)]
    res = run(backend, 4096, 2, "random", kernel_steps=steps, odirect_path=str(ext4_dir / "odirect"),
              kernel_wait=True)
    assert_complete(res)
    for s in res.kernel_steps:
        assert (s.before_ret, s.before_errno) == (4096, "0"), s
        assert (s.after_ret, s.after_errno) == (4096, "0"), s
    assert res.kwait_events == len(steps), "one fault event per waiting page"
