"""A recorded workload replayed by the engine (userfaultfd and mprotect run on the host kernel): every thread
follows its recorded first touches in order with its compute gaps, every page is verified, the recorded
push order sends the working set first, and the prefilled baseline takes no fault."""
import pytest

from engine.run import push_order, run
from workloads import fawl

PAGE = 4096
MS = 1_000_000


def recorded():
    """Two threads over two regions (12 + 2 pages touched of 12 + 4 mapped); gaps of 0.2 ms (spun) and 3 ms (slept)."""
    faults, t = [], 1_000
    for i in range(10):
        t += 3 * MS if i % 4 == 0 else MS // 5
        tid = 100 + i % 2
        region, page = (0, (7 * i) % 12) if i < 8 else (1, i - 8)
        start = (0x10000, 0x90000)[region]
        faults.append((t, tid, start + page * PAGE, i % 3 == 0, start, start + (12, 4)[region] * PAGE, "anon"))
    return fawl.from_faults(faults, 1_000, name="tiny", command=["tiny"], kernel="k", created="c",
                            duration_ns=t, lost=0)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setattr(fawl, "SHIPPED", tmp_path)
    wl = recorded()
    fawl.save(wl, tmp_path / "tiny.fawl")
    return wl


def per_thread(res):
    """The replay's accesses per thread, as area pages in order, keyed by the thread's first page."""
    out = {}
    for addr, tid in zip(res.touch_addr, res.touch_tid):
        out.setdefault(tid, []).append((addr - res.area_start) // PAGE)
    return sorted(out.values())


@pytest.mark.parametrize("backend", ["uffd-copy", "mprotect"])
def test_replay_follows_the_recording(tiny, backend):
    res = run(backend, replay="tiny", transport="local")
    assert res.ok, res.error
    assert (res.pages, res.threads) == (14, 2)
    assert per_thread(res) == sorted([p for p, _, _ in seq] for seq in tiny.per_thread())
    assert res.faults == 14 and res.bad_pages == 0  # 10 touched, 4 never touched and drained for the check
    assert abs(res.replay_compute_ns - tiny.compute_ns()) <= 0.1 * tiny.compute_ns()


@pytest.mark.parametrize("transport", ["local", "unix"])
def test_prefill_baseline_takes_no_fault(tiny, transport):
    """The baseline places every page from the source's stream (or the local image) before the replay."""
    res = run("uffd-copy", replay="tiny", prefill=True, transport=transport)
    assert res.ok, res.error
    assert res.faults == 0 and res.pages_placed == 14 and len(res.touch_addr) == 10
    assert res.bad_pages == 0 and res.missing_pages == 0


def test_push_order_is_the_working_set_first(tiny):
    order = push_order(tiny)
    assert order[:10] == [p for p in [b + t.page for t in tiny.touches for b in [tiny.bases()[t.region]]]]
    assert sorted(order) == list(range(14))
    res = run("uffd-copy", replay="tiny", push=True, push_order="recorded")
    assert res.ok, res.error
    assert res.pages_pushed + res.faults >= 14 and res.bad_pages == 0


def test_replay_errors(tiny):
    with pytest.raises(ValueError, match="replay: no workload 'nope'"):
        run("uffd-copy", replay="nope")
    with pytest.raises(ValueError, match="leave out pattern"):
        run("uffd-copy", replay="tiny", pattern="random")
    with pytest.raises(ValueError, match="push_order: recorded needs a replay"):
        run("uffd-copy", push=True, push_order="recorded")


def test_a_burst_of_first_touches_borrows_from_the_compute_after_it(monkeypatch, tmp_path):
    """20,000 touches 1 ns apart (as xz clearing a table), then 20 ms of compute: the loop's own time in the burst
    is taken off the long gap, so the replay's compute is the recorded total, not the burst's overhead more."""
    monkeypatch.setattr(fawl, "SHIPPED", tmp_path)
    n, start = 20000, 0x10000
    faults = [(1_000 + i, 100, start + i * PAGE, True, start, start + (n + 1) * PAGE, "anon") for i in range(n)]
    faults.append((1_000 + n + 20 * MS, 100, start + n * PAGE, True, start, start + (n + 1) * PAGE, "anon"))
    wl = fawl.from_faults(faults, 1_000, name="burst", command=["burst"], kernel="k", created="c",
                          duration_ns=n + 20 * MS, lost=0)
    fawl.save(wl, tmp_path / "burst.fawl")
    res = run("uffd-copy", replay="burst", prefill=True, transport="local")
    assert res.ok, res.error
    assert 0 <= res.replay_compute_ns - wl.compute_ns() < MS, (res.replay_compute_ns, wl.compute_ns())
