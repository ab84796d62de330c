"""The fatrace CLI end to end: a workload touches 61 pages and signals itself
once under `fatrace -p PID -g fault,signal`, in table mode and in -j mode
(two BPF compiles); the rows or JSON lines must hold exactly those faults
and that signal, in entry-time order."""
import json
import signal
import subprocess
import sys

import pytest

from lab.guest import REPO
from tracing.probes import FAULT_FLAG_USER

PAGES, PAGE = 61, 4096
WORKLOAD = f"""
import mmap, os, signal, sys
area = mmap.mmap(-1, {PAGES} * {PAGE}, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
area.madvise(mmap.MADV_NOHUGEPAGE)
import ctypes
print(hex(ctypes.addressof(ctypes.c_char.from_buffer(area))), flush=True)
signal.signal(signal.SIGUSR1, lambda *a: None)
sys.stdin.readline()
for i in range({PAGES}):
    area[i * {PAGE}] = 1
os.kill(os.getpid(), signal.SIGUSR1)
print("done", flush=True)
sys.stdin.readline()
"""


def fatrace(*args):
    """Run the workload under fatrace; (area, workload pid, fatrace stdout, stderr)."""
    wl = subprocess.Popen([sys.executable, "-c", WORKLOAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    area = int(wl.stdout.readline(), 16)
    ft = subprocess.Popen([sys.executable, "-m", "tracing.fatrace", "-p", str(wl.pid), "-g", "fault,signal", *args],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = []
    for line in ft.stderr:  # the probes are attached once it says so
        err.append(line)
        if line.startswith("Tracing"):
            break
    try:
        wl.stdin.write("go\n")
        wl.stdin.flush()
        assert wl.stdout.readline() == "done\n"
    finally:
        ft.send_signal(signal.SIGINT)
        out, rest = ft.communicate(timeout=120)
        wl.communicate("end\n", timeout=30)
    assert ft.returncode == 0, "".join(err) + rest
    return area, wl.pid, out, "".join(err) + rest


@pytest.fixture(scope="module")
def as_json(fa_session):
    return fatrace("-j")


@pytest.fixture(scope="module")
def as_table(fa_session):
    return fatrace()


def test_json_lines_hold_each_fault_once_and_the_signal(as_json):
    area, pid, out, err = as_json
    evs = [json.loads(line) for line in out.splitlines()]
    assert evs, err
    faults = [e for e in evs if e["probe"] == "handle_mm_fault" and area <= e["address"] < area + PAGES * PAGE
              and e["fault_flags"] & FAULT_FLAG_USER]
    assert len(faults) == PAGES and len({e["address"] // PAGE for e in faults}) == PAGES
    sigs = [e for e in evs if e["probe"] == "signal_generate" and e["sig"] == signal.SIGUSR1]
    assert len(sigs) == 1 and sigs[0]["pid"] == pid and sigs[0]["result"] == 0, sigs
    entries = [e["ts_ns"] - e.get("lat_ns", 0) for e in evs]
    assert entries == sorted(entries), "lines in entry-time order"
    assert {e["tgid"] for e in evs} == {pid}


def test_table_rows_show_faults_signal_and_summary(as_table):
    area, pid, out, err = as_table
    lines = out.splitlines()
    assert lines[0].split()[:7] == ["TIME(s)", "CPU", "TGID", "TID", "COMM", "PROBE", "ADDR"], err
    rows = [line.split() for line in lines[1:lines.index("")]]
    detail = [dict(kv.split("=", 1) for kv in r[9:]) for r in rows]  # DETAIL: the other fields, name=value
    faults = [r for r, d in zip(rows, detail) if r[5] == "handle_mm_fault" and area <= int(r[6], 16) <
              area + PAGES * PAGE and int(d["fault_flags"], 16) & FAULT_FLAG_USER]
    assert len(faults) == PAGES and len({int(r[6], 16) // PAGE for r in faults}) == PAGES
    times = [float(r[0]) for r in rows]
    assert times == sorted(times), "rows in entry-time order"
    sigs = [r for r in rows if r[5] == "signal_generate" and f"sig={int(signal.SIGUSR1)}" in r]
    assert len(sigs) == 1, rows
    assert sigs[0][6] == "-" and f"tid={pid}" in sigs[0] and sigs[0][7] == "0", "signo, target and result"
    summary = "\n".join(lines[lines.index(""):])
    count = next(int(line.split()[1]) for line in summary.splitlines() if line.startswith("handle_mm_fault "))
    assert count >= PAGES and "probe = handle_mm_fault" in summary and "nsecs" in summary
    assert "lost events: 0" in summary
