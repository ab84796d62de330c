"""fault_area.ko in the guest: the C self-test, case by case, and the
module's removal with markers left behind (tests/guest/test_reliability.py
has the fuzzer, the lifetime cases, the stress run and permissions)."""
import os
import re
import signal
import subprocess

import pytest

from lab.module import REPO, load_module, module_loaded, sh, unload_module
from tests import ktap

SELFTEST = REPO / "kmod/selftests/fa_selftest"


@pytest.fixture(scope="module")
def selftest_run(fa_module, ext4_dir):
    env = dict(os.environ, FA_ODIRECT_FILE=str(ext4_dir / "odirect"))
    out = subprocess.run([str(SELFTEST)], capture_output=True, text=True, env=env, timeout=600)
    print(out.stdout)
    assert re.search(r"^\d+ passed, \d+ failed, \d+ skipped$", out.stdout, re.M), out.stdout + out.stderr
    return ktap.results(out.stdout)


KWAIT = SELFTEST.with_name("fa_kwait")
HUNG_TASK = "/proc/sys/kernel/hung_task_timeout_secs"


@pytest.fixture(scope="module")
def kwait_run(fa_module, ext4_dir):
    """fa_kwait with the hung-task detector at 20 s: a wait that outlives its ends would show in dmesg."""
    env = dict(os.environ, FA_ODIRECT_FILE=str(ext4_dir / "odirect-kwait"))
    old = open(HUNG_TASK).read()
    with open(HUNG_TASK, "w") as f:
        f.write("20")
    try:
        out = subprocess.run([str(KWAIT)], capture_output=True, text=True, env=env, timeout=600)
    finally:
        with open(HUNG_TASK, "w") as f:
            f.write(old)
    print(out.stdout)
    assert re.search(r"^\d+ passed, \d+ failed, \d+ skipped$", out.stdout, re.M), out.stdout + out.stderr
    hung = [line for line in sh("dmesg").stdout.splitlines() if "blocked for more than" in line]
    assert not hung, hung
    return ktap.results(out.stdout)


@pytest.mark.parametrize("case", ktap.case_names(KWAIT.with_suffix(".c")))
def test_kwait(kwait_run, case):
    res = kwait_run.get(case)
    assert res is not None, f"{case} printed no TAP result"
    assert res.status == "ok", f"{case}: {res.status}: {res.why}"


def cpu_has_pku():
    return any(line.startswith("flags") and " pku" in line for line in open("/proc/cpuinfo"))


@pytest.mark.parametrize("case", ktap.case_names(SELFTEST.with_suffix(".c")))
def test_selftest(selftest_run, case):
    res = selftest_run.get(case)
    assert res is not None, f"{case} printed no TAP result"
    if case == "pkey-write-denied-efault" and not cpu_has_pku():
        pytest.skip(f"{case}: the guest CPU has no protection keys ({res.status}: {res.why})")
    # The O_DIRECT case has its file here, so nothing else may skip.
    assert res.status == "ok", f"{case}: {res.status}: {res.why}"


# The cases whose siginfo and ucontext a 32-bit (compat) task must see right too, and an FA_IOC_MAPV
# vector, whose pointer and layout must read the same from one.
COMPAT_CASES = ["user-fault-sigbus-exact-addr", "user-fault-custom-signo", "signal-rt-queue-full-sigbus",
                "signal-rt-si-value", "signal-sigrtmax", "signal-regs-err-cr2", "mapv-scattered"]


@pytest.mark.parametrize("case", COMPAT_CASES)
def test_selftest_compat(fa_module, case):
    """The signal cases (and a vector) from a 32-bit build: the siginfo is converted by its layout there."""
    binary = SELFTEST.with_name("fa_selftest32")
    if not binary.exists():
        pytest.skip(f"no {binary} (gcc -m32 -static, from gcc-multilib, builds it)")
    out = subprocess.run([str(binary), "-f", case], capture_output=True, text=True, timeout=120)
    res = ktap.results(out.stdout).get(case)
    assert res is not None and res.status == "ok", out.stdout + out.stderr


def test_rmmod_leaves_markers_inaccessible(fa_module):
    """After close and rmmod, a marker is the core mm's SIGBUS: no zeros, no hang."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        import ctypes
        import faulthandler
        import fcntl
        import mmap

        from lab import uapi

        faulthandler.disable()  # pytest's handler would report the SIGBUS we expect

        area = mmap.mmap(-1, 4 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        area.madvise(mmap.MADV_NOHUGEPAGE)
        area[:] = b"\x01" * len(area)
        fd = os.open("/dev/fault_area", os.O_RDWR)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(area))
        fcntl.ioctl(fd, uapi.IOC_PREPARE, uapi.Prepare(start=addr, len=len(area)))
        os.close(fd)
        os.write(ready_w, b"r")
        os.read(go_r, 1)
        value = area[mmap.PAGESIZE]  # SIGBUS kills us here
        os._exit(100 + value)
    assert os.read(ready_r, 1) == b"r"
    unload_module()
    os.write(go_w, b"g")
    _, status = os.waitpid(pid, 0)
    load_module()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGBUS, \
        f"child status {status:#x}: read {os.WEXITSTATUS(status) - 100 if os.WIFEXITED(status) else '?'}"


def test_rmmod_refused_while_open(fa_module):
    fd = os.open("/dev/fault_area", os.O_RDWR)
    try:
        r = sh("rmmod fault_area")
        assert r.returncode != 0 and module_loaded(), "rmmod succeeded with a file open"
    finally:
        os.close(fd)
