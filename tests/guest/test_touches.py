"""The first-touch recorder (tracing/touches.py) on a real program: python3 maps 4 MiB, writes 512 of its
pages in a known order from the main thread, then reads the other 512 in a known order from a second
thread.  The recording must hold exactly those 1024 first touches in that order, each with the right
thread and read/write bit, and the workload made from it must say the same after a save and a load."""
import os
import sys

import pytest

from workloads import fawl

PAGES, PAGE = 1024, 4096
ORDER = [(i * 389) % PAGES for i in range(PAGES)]  # 389 is prime to 1024: a permutation
PROGRAM = f"""
import ctypes, mmap, os, sys, threading
area = mmap.mmap(-1, {PAGES * PAGE}, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
base = ctypes.addressof(ctypes.c_char.from_buffer(area))
order = [(i * 389) % {PAGES} for i in range({PAGES})]
def reader():
    for p in order[{PAGES // 2}:]:
        area[p * {PAGE}]
t = threading.Thread(target=reader)
for p in order[:{PAGES // 2}]:
    area[p * {PAGE}] = 1
t.start()
t.join()
os.write(int(sys.argv[1]), hex(base).encode())
"""


@pytest.fixture(scope="module")
def recorder(fa_session):
    from tracing.touches import Recorder

    return Recorder(ring_pages=1024)


def test_records_exact_first_touches(recorder, tmp_path):
    r, w = os.pipe()
    os.set_inheritable(w, True)
    faults, t0, duration, lost = recorder.run([sys.executable, "-c", PROGRAM, str(w)])
    os.close(w)
    base = int(os.read(r, 64), 16)
    os.close(r)
    assert lost == 0
    mine = [f for f in sorted(faults) if base <= f[2] < base + PAGES * PAGE]
    assert [(f[2] - base) // PAGE for f in mine] == ORDER
    assert [f[3] for f in mine] == [1] * (PAGES // 2) + [0] * (PAGES // 2)
    main_tid, reader_tid = mine[0][1], mine[-1][1]
    assert main_tid != reader_tid
    assert [f[1] for f in mine] == [main_tid] * (PAGES // 2) + [reader_tid] * (PAGES // 2)
    assert all(f[6] == "anon" for f in mine)
    assert 0 < mine[0][0] - t0 < duration
    assert len({f[2] for f in faults}) == len(faults)  # first touches only
    assert any(f[6] == "heap" for f in faults) and any(f[6] == "stack" for f in faults)

    wl = fawl.from_faults(faults, t0, name="py4m", command=["python3"], kernel=os.uname().release,
                          created="now", duration_ns=duration, lost=lost)
    fawl.save(wl, tmp_path / "py4m.fawl")
    back = fawl.load(tmp_path / "py4m.fawl")
    assert back == wl
    region = next(i for i, reg in enumerate(back.regions) if reg.start <= base < reg.start + reg.pages * PAGE)
    first = (base - back.regions[region].start) // PAGE
    got = [(t.page - first, t.write) for t in back.touches if t.region == region and first <= t.page < first + PAGES]
    assert got == [(p, i < PAGES // 2) for i, p in enumerate(ORDER)]
    threads = {t.thread for t in back.touches if t.region == region and first <= t.page < first + PAGES}
    assert len(threads) == 2 and 0 in threads  # the main thread touched first of all: index 0
