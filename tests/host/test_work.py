"""Counted work per fault (analysis/work.py) from decoded counters."""
import types

import pytest

from analysis import work
from tracing import work as counters


def kmod_counters(faults):
    """What a kmod run of `faults` faults counts, one signal, one FA_IOC_MAP and one flush IPI each."""
    w = counters.empty()
    w["syscalls"] = {"ioctl": faults + 1, "rt_sigreturn": faults, "read": 2 * faults}
    w["ioctls"] = {"FA_IOC_MAP": faults, "FA_IOC_PREPARE": 1}
    w["signals_generated"] = {"SIGBUS": faults}
    w["signals_delivered"] = {"SIGBUS": faults}
    w["context_switches"] = {"voluntary": 3, "preempted": 1}
    w["tlb_flushes"] = {"TLB_LOCAL_SHOOTDOWN": faults, "TLB_LOCAL_MM_SHOOTDOWN": 2, "TLB_REMOTE_SEND_IPI": faults,
                        "TLB_FLUSH_ON_TASK_SWITCH": 9}
    w["pages_allocated"], w["pages_freed"] = 2 * faults, 2 * faults + 5
    w["bytes_moved_in_placement"] = 4096 * faults
    return w


def test_totals_pick_each_column():
    t = work.totals(kmod_counters(256))
    assert t == {"syscalls": 1025, "placement_ioctls": 256, "signals": 256, "context_switches": 4,
                 "tlb_flushes": 258, "remote_flushes": 256, "pages_allocated": 512, "pages_freed": 517,
                 "pages_allocated_in_placement": 0, "bytes_copied": 0}
    assert [k for k, _, _ in work.COLUMNS] == list(t)


def test_per_fault_adds_the_engines_user_copy():
    w = kmod_counters(4)
    w["bytes_copied_in_placement"] = 8192
    f = work.per_fault(w, 4, user_copy_bytes=4 * 4096)
    assert f["bytes_copied"] == 6144 and f["signals"] == 1 and f["syscalls"] == 4.25
    assert set(work.per_fault(w, 0).values()) == {None}, "no faults: nothing per fault"


def test_counters_missing_a_kind_are_refused():
    with pytest.raises(ValueError, match="work=True"):
        work.totals({"syscalls": {}})


def run(trace, faults=2, tgid=7, **result):
    return types.SimpleNamespace(label="r", tgid=tgid, trace=trace, result=dict(faults=faults, **result))


def test_of_run_reads_the_workloads_tgid_only():
    other = counters.empty() | {"pages_allocated": 1000}
    r = run({"work": {"7": kmod_counters(2), "8": other}}, user_copy_bytes=100)
    assert work.of_run(r)["pages_allocated"] == 2 and work.of_run(r)["bytes_copied"] == 50
    assert work.of_run(run({})) is None, "a run traced without counters"


def test_tables_show_every_column():
    rows = {"kmod": work.per_fault(kmod_counters(8), 8), "old": None}
    md = work.markdown(rows)
    assert md[0].count("/fault)") == len(work.COLUMNS) and md[2].startswith("| kmod | 4.125 | 1 | 1 |")
    assert md[3].startswith("| old | not counted |")
    txt = work.text({"kmod": rows["kmod"]}).splitlines()
    assert txt[0].split()[:3] == ["BACKEND", "SYSCALLS", "PLACE_IOCTL"] and txt[1].split()[:4] == [
        "kmod", "4.125", "1", "1"]


def test_bench_work_has_a_quick_mode():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bench.work", "--help"], capture_output=True, text=True, check=True)
    assert "usage: python -m bench.work [-h] [--quick]" in out.stdout and "per fault" in out.stdout
