"""The workload file (workloads/fawl.py): a round trip, regions from VMAs, and the errors a bad file gets."""
import gzip
import json

import pytest

from workloads import fawl

PAGE = 4096
HEAP, ANON = 0x555500000000, 0x7f0000000000


def faults():
    """(t_ns, tid, addr, write, vm_start, vm_end, kind): a heap that grew between two touches, and two
    anonymous mappings that merged into one VMA, touched by two threads."""
    return [(1_000, 500, HEAP + 2 * PAGE, 1, HEAP, HEAP + 4 * PAGE, "heap"),
            (5_000, 500, HEAP + 6 * PAGE, 0, HEAP, HEAP + 8 * PAGE, "heap"),
            (3_000, 501, ANON + PAGE, 1, ANON, ANON + 2 * PAGE, "anon"),
            (7_000, 501, ANON + 3 * PAGE, 1, ANON, ANON + 4 * PAGE, "anon"),
            (9_000, 500, ANON, 0, ANON, ANON + 4 * PAGE, "anon")]


def workload(**kw):
    meta = dict(name="t", command=["prog", "-x"], kernel="6.12", created="2026-12-01T00:00:00Z",
                duration_ns=10_000, lost=0)
    return fawl.from_faults(faults(), 500, **dict(meta, **kw))


def test_from_faults_regions_threads_offsets():
    wl = workload()
    assert wl.regions == [fawl.Region("heap", HEAP + 2 * PAGE, 5), fawl.Region("anon", ANON, 4)]
    assert [(t.t_ns, t.thread, t.region, t.page, t.write) for t in wl.touches] == [
        (500, 0, 0, 0, True), (2_500, 1, 1, 1, True), (4_500, 0, 0, 4, False), (6_500, 1, 1, 3, True),
        (8_500, 0, 1, 0, False)]
    assert (wl.threads, wl.pages) == (2, 9)
    assert wl.per_thread() == [[(0, 500, True), (4, 4_000, False), (5, 4_000, False)],
                               [(6, 2_500, True), (8, 4_000, True)]]
    assert wl.compute_ns() == 500 + 4_000 + 4_000 + 2_500 + 4_000


def test_long_untouched_runs_cut_a_region():
    """A sparse table in one big mapping: pages 0, 1 and 257 stay one region (a gap of 255 pages),
    page 1000 starts another; the 1 GiB mapping adds nothing beyond them."""
    big = 1 << 30
    sparse = [(i, 9, ANON + p * PAGE, 1, ANON, ANON + big, "anon") for i, p in enumerate((0, 1, 257, 1000))]
    wl = fawl.from_faults(sparse, 0, name="s", command=["s"], kernel="k", created="c", duration_ns=9, lost=0)
    assert wl.regions == [fawl.Region("anon", ANON, 258), fawl.Region("anon", ANON + 1000 * PAGE, 1)]
    assert [(t.region, t.page) for t in wl.touches] == [(0, 0), (0, 1), (0, 257), (1, 0)]


def test_round_trip(tmp_path):
    wl = workload()
    fawl.save(wl, tmp_path / "t.fawl")
    assert fawl.load(tmp_path / "t.fawl") == wl
    head = json.loads(gzip.open(tmp_path / "t.fawl", "rt").readline())
    assert (head["format"], head["pages_touched"], head["threads"]) == ("fawl/1", 5, 2)


def test_lost_events_refused(tmp_path):
    with pytest.raises(fawl.WorkloadError, match="lost 3 events"):
        fawl.save(workload(lost=3), tmp_path / "t.fawl")
    assert not (tmp_path / "t.fawl").exists()


def write(path, lines):
    with gzip.open(path, "wt") as f:
        f.write("".join(line + "\n" for line in lines))


@pytest.mark.parametrize("touch, msg", [
    ("[600,0,0,99,1]", "page 99 is outside region 0"),
    ("[600,0,5,0,1]", "region 5 does not exist"),
    ("[600,0,0]", "not a touch"),
    ("[600,0,0,0,1]", "page 0 of region 0 is touched a second time"),
])
def test_bad_touch_named_by_line(tmp_path, touch, msg):
    wl = workload()
    fawl.save(wl, tmp_path / "ok.fawl")
    lines = gzip.open(tmp_path / "ok.fawl", "rt").read().splitlines()
    head = json.loads(lines[0])
    head["pages_touched"] += 1
    write(tmp_path / "bad.fawl", [json.dumps(head), lines[1], touch] + lines[2:])
    with pytest.raises(fawl.WorkloadError, match=f"bad.fawl:3: {msg}"):
        fawl.load(tmp_path / "bad.fawl")


def test_not_a_workload(tmp_path):
    (tmp_path / "plain.fawl").write_text("hello")
    with pytest.raises(fawl.WorkloadError, match="cannot read the workload"):
        fawl.load(tmp_path / "plain.fawl")
    write(tmp_path / "other.fawl", ['{"format": "fawl/0"}'])
    with pytest.raises(fawl.WorkloadError, match="other.fawl:1: not a fawl/1 workload"):
        fawl.load(tmp_path / "other.fawl")


def test_find_names_known(monkeypatch, tmp_path):
    monkeypatch.setattr(fawl, "SHIPPED", tmp_path)
    monkeypatch.setattr(fawl, "CACHE", tmp_path / "none")
    fawl.save(workload(), tmp_path / "t.fawl")
    assert fawl.find("t") == tmp_path / "t.fawl"
    with pytest.raises(fawl.WorkloadError, match="no workload 'u'.*known: t"):
        fawl.find("u")


def test_touches_cli_ebpf_and_summary(capsys):
    from tracing import touches

    assert touches.main(["--ebpf", "--", "true"]) == 0
    out = capsys.readouterr().out
    assert "-DRING_PAGES=4096" in out and "kfunc__handle_mm_fault" in out and "sched_process_exec" in out
    table = touches.summary(workload()).splitlines()
    assert table[0].split() == ["THREAD", "TOUCHES", "WRITES", "FIRST(ms)", "COMPUTE(ms)"]
    assert table[1].split() == ["0", "3", "1", "0.0", "0.0"] and table[2].split()[:3] == ["1", "2", "2"]
    assert table[-1] == "5 first touches by 2 threads in 0.00 s, lost events: 0"
