"""Guest tests from the host: one boot runs every test under tests/guest
(each reported here by its own id), then the runner's timeout and its
handling of a crashed guest are checked."""
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from lab import guest, vm

RESULTS = guest.REPO / "results" / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-tests")
GUEST_TIMEOUT = 1200  # s for the whole guest suite under TCG


def guest_test_ids():
    env = dict(os.environ, FA_COLLECT_GUEST="1")
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/guest"],
                         cwd=guest.REPO, env=env, capture_output=True, text=True)
    ids = [ln for ln in out.stdout.splitlines() if "::" in ln]
    assert ids, f"no guest tests collected:\n{out.stdout}{out.stderr}"
    return ids


@pytest.fixture(scope="session")
def guest_suite():
    res_dir = RESULTS / "guest-suite"
    step = guest.Step("guest-tests", "python -m pytest -p no:cacheprovider -v tests/guest "
                                     "--junitxml=$FA_RESULTS/junit.xml", timeout=GUEST_TIMEOUT)
    res = guest.run([step], res_dir)
    junit = res_dir / "junit.xml"
    cases = {}
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            file = case.get("classname").replace(".", "/") + ".py"
            cases[f"{file}::{case.get('name')}"] = case
    return res, cases


@pytest.mark.parametrize("test_id", guest_test_ids())
def test_in_guest(guest_suite, test_id):
    res, cases = guest_suite
    case = cases.get(test_id)
    assert case is not None, f"{test_id} did not run in the guest ({res.outcome}: " \
                             f"{res.reason or 'see ' + str(res.results_dir)})"
    for bad in ("failure", "error"):
        node = case.find(bad)
        if node is not None:
            pytest.fail(f"in the guest: {node.get('message')}\n{node.text or ''}", pytrace=False)
    skipped = case.find("skipped")
    if skipped is not None:
        pytest.skip(f"in the guest: {skipped.get('message')}")


def test_guest_boot_is_clean(guest_suite):
    res, _ = guest_suite
    assert not res.timed_out, res.reason
    assert not res.lost, f"{res.reason}\nconsole tail:\n{res.console_tail}"
    assert res.dmesg_problems == [], "dmesg:\n" + "".join(res.dmesg_problems)
    assert res.rc == 0, f"guest exit status {res.rc}: {res.reason}"
    assert (res.results_dir / "console.log").stat().st_size > 0
    assert (res.results_dir / "dmesg.txt").stat().st_size > 0


def qemu_of(results_dir):
    """Live (not zombie) processes whose command line names results_dir."""
    out = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if str(results_dir) in ln and not ln.startswith("Z")]


def test_runner_kills_a_step_past_its_timeout():
    res_dir = RESULTS / "timeout"
    t0 = time.monotonic()
    res = guest.run([guest.Step("sleeper", "sleep 300")], res_dir, timeout=5)
    assert res.timed_out and res.rc == 124
    assert "timeout of 5 s" in res.reason
    assert res.first_command_s is not None, "the guest never reached its command"
    assert time.monotonic() - t0 < res.first_command_s + 5 + 15
    assert "@@FA-STEP@@ sleeper" in res.console_tail
    assert qemu_of(res_dir) == [], "qemu outlived the runner"


def test_runner_ends_at_once_when_the_guest_panics():
    # sysrq 'c' panics the kernel; with panic=-1 and qemu's -no-reboot the boot ends there,
    # long before the 300 s the step and the host would otherwise wait.
    res_dir = RESULTS / "crash"
    t0 = time.monotonic()
    show = "cd /proc/sys/kernel && echo settings: $(cat panic_on_oops hung_task_panic hung_task_timeout_secs)"
    res = guest.run([guest.Step("crash", f"{show}; echo c > /proc/sysrq-trigger; sleep 300", timeout=300)], res_dir)
    took = time.monotonic() - t0
    assert res.first_command_s is not None, f"the guest never reached its command: {res.reason}"
    assert took < res.first_command_s + 30, f"the run took {took:.0f} s after a panic"
    assert res.lost and not res.timed_out and res.outcome == "guest lost", res.reason
    assert res.panic == "Kernel panic - not syncing: sysrq triggered crash", res.console_tail
    assert res.reason == f"guest lost: {res.panic}"
    assert not (res_dir / "guest-rc").exists()
    # What turns an oops or a hung task into such a panic took effect (lab.vm.KERNEL_ARGS).
    assert f"settings: 1 1 {vm.HUNG_TASK_TIMEOUT_S}" in (res_dir / "console.log").read_text()
    assert qemu_of(res_dir) == [], "qemu outlived the runner"
