"""fault_area.ko under what users and bad luck do to it (issue #7): random
ioctls, lifetime cases under fire, a stress run, and who may open the
device.  Each prints the figures the issue asks for; `make stress` runs the
same programs with a longer stress."""
import os
import re
import subprocess

import pytest

from lab.module import KO, REPO, load_module, sh, unload_module
from tests import ktap

SELFTESTS = REPO / "kmod/selftests"
FUZZ_CALLS, FUZZ_SEED = 100000, 0x5eed
STRESS_SECONDS = 60


def run(args, timeout):
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    print(out.stdout, out.stderr)
    return out


def test_fuzz_100k_ioctls_only_documented_errnos(fa_module):
    out = run([SELFTESTS / "fa_fuzz", "-n", FUZZ_CALLS, "-s", hex(FUZZ_SEED), "-t", 2], timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    m = re.search(r"fuzz: (\d+) calls \((\d+) reads of the event fd\), (\d+) undocumented;.*verifier (\d+) rounds",
                  out.stdout)
    assert m and int(m.group(1)) == FUZZ_CALLS and m.group(3) == "0", out.stdout
    assert int(m.group(2)) > 0, "no read() of the event fd was fuzzed"
    assert int(m.group(4)) > 0, "the verifier never finished a round"


@pytest.fixture(scope="module")
def lifetime_run(fa_module):
    out = run([SELFTESTS / "fa_lifetime", "-k", KO], timeout=600)
    load_module()  # the rmmod case loads it again; make sure
    assert re.search(r"^# lifetime: \d+ of \d+ cases passed", out.stdout, re.M), out.stdout + out.stderr
    return ktap.results(out.stdout)


@pytest.mark.parametrize("case", ktap.case_names(SELFTESTS / "fa_lifetime.c"))
def test_lifetime(lifetime_run, case):
    res = lifetime_run.get(case)
    assert res is not None, f"{case} printed no TAP result"
    assert res.status == "ok", f"{case}: {res.status}: {res.why}"


def test_stress_60s(fa_module):
    out = run([SELFTESTS / "fa_stress", "-d", STRESS_SECONDS], timeout=STRESS_SECONDS + 120)
    m = re.search(r"stress: ([\d.]+) minutes held, (\d+) pages verified, (\d+) maps, (\d+) EEXIST races, "
                  r"(\d+) THPs moved whole, (\d+) kernel reads, (\d+) fault events, (\d+) lost pages: (\w+)",
                  out.stdout)
    assert m, out.stdout + out.stderr
    assert out.returncode == 0 and m.group(9) == "ok" and m.group(8) == "0", out.stdout + out.stderr
    assert float(m.group(1)) >= STRESS_SECONDS / 60 - 0.05 and int(m.group(2)) > 0
    assert int(m.group(5)) > 0, "no 2 MiB move went whole: the huge path was not run"
    assert int(m.group(6)) > 0 and int(m.group(7)) > 0, "no kernel read waited for an event: KWAIT was not run"


def opener(groups):
    """Open the device as uid/gid 65534 with these supplementary groups; 0 or the errno."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups(groups)
            os.setgid(65534)
            os.setuid(65534)
            os.close(os.open("/dev/fault_area", os.O_RDWR))
        except OSError as e:
            code = e.errno
        os.write(w, str(code).encode())
        os._exit(0)
    os.close(w)
    got = os.read(r, 16)
    os.waitpid(pid, 0)
    return int(got)


def test_device_is_root_only_by_default(fa_module):
    assert oct(os.stat("/dev/fault_area").st_mode & 0o777) == "0o600"
    assert opener([]) == 13, "EACCES for nobody"


def test_group_parameter_lets_that_group_in(fa_module):
    unload_module()
    try:
        r = sh(f"insmod {KO} group=4242")
        assert r.returncode == 0, r.stderr
        assert opener([4242]) == 0, "a member of the group can open"
        assert opener([]) == 13, "anyone else gets EACCES"
        assert opener([4243]) == 13
    finally:
        unload_module()
        load_module()
