"""Host unit tests of the guest runner's pure logic (no boot)."""
import json
import subprocess
import sys
import types

import pytest

from lab import accel, dmesg, guest, vm


def test_script_runs_each_step_under_its_timeout(tmp_path):
    s = guest.guest_script([guest.Step("a", "echo 'x y'", timeout=7), guest.Step("b", "false")], tmp_path)
    assert "timeout -k 5 7 sh -c 'echo '\"'\"'x y'\"'\"''" in s
    assert "timeout -k 5 600 sh -c false" in s
    assert s.index("@@FA-STEP@@ a") < s.index("@@FA-STEP@@ b")
    assert f"dmesg > {tmp_path}/dmesg.txt" in s


def test_script_status_is_last_failing_step(tmp_path):
    script = guest.guest_script([guest.Step("bad", "exit 3"), guest.Step("good", "true")], tmp_path)
    script = script.replace("dmesg >", "true >")  # dmesg may be denied on the host
    r = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert r.returncode == 3
    assert [ln.split("\t")[:2] for ln in (tmp_path / "steps.tsv").read_text().splitlines()] == \
        [["bad", "3"], ["good", "0"]]


def test_script_exports_the_provenance_env(tmp_path):
    env = {"FA_ACCEL_USED": "tcg", "FA_COMMIT": "abc123-dirty"}
    script = guest.guest_script([guest.Step("show", f"echo $FA_ACCEL_USED $FA_COMMIT > {tmp_path}/env")], tmp_path, env)
    r = subprocess.run(["sh", "-c", script.replace("dmesg >", "true >")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "env").read_text() == "tcg abc123-dirty\n"


def test_guest_boots_with_panic_on_oops_and_hung_task(tmp_path):
    cmd = vm.vng_command("6.12.0", tmp_path / "s.sh", tmp_path, "2G", 2, "tcg")
    args = cmd[cmd.index("--append") + 1].split()
    for want in ("oops=panic", "panic=-1", "hung_task_panic=1",
                 f"sysctl.kernel.hung_task_timeout_secs={vm.HUNG_TASK_TIMEOUT_S}"):
        assert want in args
    assert "--disable-kvm" in cmd


def test_icount_asks_qemu_for_instruction_time_under_tcg_only(tmp_path):
    cmd = vm.vng_command("6.12.0", tmp_path / "s.sh", tmp_path, "2G", 2, "tcg", icount=True)
    assert cmd[cmd.index("--qemu-opts") + 1] == "-icount shift=0,sleep=off" and "--disable-kvm" in cmd
    assert "--qemu-opts" not in vm.vng_command("6.12.0", tmp_path / "s.sh", tmp_path, "2G", 2, "tcg")
    with pytest.raises(vm.GuestError, match="icount needs TCG"):
        vm.vng_command("6.12.0", tmp_path / "s.sh", tmp_path, "2G", 2, "kvm", icount=True)


def test_accel_and_guest_do_not_import_each_other():
    for mod, other in (("lab.accel", "lab.guest"), ("lab.vm", "lab.guest"), ("lab.vm", "lab.accel")):
        r = subprocess.run([sys.executable, "-c", f"import sys, {mod}; print({other!r} in sys.modules)"],
                           cwd=guest.REPO, capture_output=True, text=True)
        assert r.stdout.strip() == "False", f"importing {mod} imports {other}: {r.stderr}"


SYSRQ_CONSOLE = """[    3.100000] virtme-init: starting script
@@FA-STEP@@ crash
Kernel panic - not syncing: printed by a test, not by the kernel
[    5.200000] sysrq: Trigger a crash
[    5.200100] Kernel panic - not syncing: sysrq triggered crash
[    5.200200] CPU: 0 UID: 0 PID: 99 Comm: sh Not tainted 6.12.95+deb12-amd64
"""
HUNG_CONSOLE = """[  130.0] INFO: task fa_selftest:77 blocked for more than 120 seconds.
[  130.1]       Not tainted 6.12.95+deb12-amd64 #1
[  130.2] Kernel panic - not syncing: hung_task: blocked tasks
"""
OOPS_CONSOLE = """[   9.0] BUG: kernel NULL pointer dereference, address: 0000000000000008
[   9.1] Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI
[   9.2] Kernel panic - not syncing: Fatal exception
"""


def test_panic_is_named_from_kernel_lines_only():
    assert dmesg.panic(SYSRQ_CONSOLE) == "Kernel panic - not syncing: sysrq triggered crash"
    assert dmesg.panic(HUNG_CONSOLE) == ("Kernel panic - not syncing: hung_task: blocked tasks (after: INFO: task "
                                         "fa_selftest:77 blocked for more than 120 seconds.)")
    assert dmesg.panic(OOPS_CONSOLE) == ("Kernel panic - not syncing: Fatal exception (after: BUG: kernel NULL "
                                         "pointer dereference, address: 0000000000000008)")
    assert dmesg.panic("[ 1.0] all fine\nKernel panic - not syncing: echoed by a program\n") == ""


def _collect(results_dir, console, timed_out=False, vng_rc=255):
    return guest.collect(results_dir, timed_out, "", vng_rc, console.splitlines(keepends=True), accel="tcg",
                         kernel="6.12.0", first_command_s=3.0, total_s=6.0)


def test_a_guest_without_exit_status_is_lost_and_its_panic_named(tmp_path):
    res = _collect(tmp_path, OOPS_CONSOLE)
    assert res.lost and res.outcome == "guest lost" and not res.ok and res.rc == 255
    assert res.reason.startswith("guest lost: Kernel panic - not syncing: Fatal exception (after: BUG: kernel NULL")
    # No dmesg.txt from a lost guest: the console's kernel lines are checked instead.
    assert res.dmesg_problems == ["BUG: kernel NULL pointer dereference, address: 0000000000000008",
                                  "Oops: Oops: 0002 [#1] PREEMPT SMP NOPTI"]
    assert _collect(tmp_path, "[ 1.0] booting\n").reason == \
        "guest lost: the guest ended without writing its exit status"


def test_a_failing_step_is_a_test_failure_not_a_lost_guest(tmp_path):
    (tmp_path / "guest-rc").write_text("3\n")
    (tmp_path / "dmesg.txt").write_text("[ 1.0] all fine\n")
    res = _collect(tmp_path, "@@FA-STEP@@ bad\n", vng_rc=3)
    assert (res.rc, res.lost, res.outcome, res.panic) == (3, False, "test failed", "")
    (tmp_path / "guest-rc").write_text("0\n")
    assert _collect(tmp_path, "").outcome == "ok"
    timed = _collect(tmp_path / "none", "", timed_out=True)
    assert (timed.rc, timed.lost, timed.outcome) == (124, False, "timed out")


def _fake_boots(monkeypatch, boots):
    """vm.launch and vm.wait replaced by boots that end as given: (console, first_command_s, guest-rc or None)."""
    launched = []

    def launch(cmd, console_path, echo=True):
        console, first_s, rc = boots[len(launched)]
        console_path.write_text(console)
        if rc is not None:
            (console_path.parent / "guest-rc").write_text(f"{rc}\n")
            (console_path.parent / "dmesg.txt").write_text("")
        launched.append(console)
        return vm.Boot(types.SimpleNamespace(returncode=rc or 255), 0.0, console.splitlines(True), None, None,
                       first_command_s=first_s, total_s=1.0)

    monkeypatch.setattr(vm, "launch", launch)
    monkeypatch.setattr(vm, "wait", lambda boot, boot_timeout, timeout: (False, ""))
    monkeypatch.setattr(vm, "guest_kernel", lambda: "6.12.0")
    monkeypatch.setattr(vm, "vng_command", lambda *a: ["true"])
    return launched


def test_a_kernel_that_panics_while_booting_boots_once_more(tmp_path, monkeypatch):
    """A panic before the first command is the boot's, not the run's: one more boot, its console kept."""
    launched = _fake_boots(monkeypatch, [(OOPS_CONSOLE, None, None), ("ok\n", 2.0, 0)])
    res = guest.run([guest.Step("a", "true")], tmp_path, use_accel="tcg", echo=False)
    assert len(launched) == 2 and res.ok
    assert (tmp_path / "console-boot1.log").read_text() == OOPS_CONSOLE
    launched = _fake_boots(monkeypatch, [(OOPS_CONSOLE, None, None)] * 3)
    res = guest.run([guest.Step("a", "true")], tmp_path / "twice", use_accel="tcg", echo=False)
    assert len(launched) == guest.BOOT_TRIES and res.lost and "Kernel panic" in res.reason


def test_a_panic_after_the_first_command_is_never_retried(tmp_path, monkeypatch):
    launched = _fake_boots(monkeypatch, [(OOPS_CONSOLE, 2.0, None), ("ok\n", 2.0, 0)])
    res = guest.run([guest.Step("a", "true")], tmp_path, use_accel="tcg", echo=False)
    assert len(launched) == 1 and res.lost and res.outcome == "guest lost"


def test_dmesg_problems_match_words_only():
    log = "ok line\n[1.0] WARNING: CPU: 0 at mm/x.c\nCONFIG_DEBUG_BUGVERBOSE\nBUG: Bad page state\n" \
          "Bad rss-counter state mm:0\n[2.0] Oops: 0002\n"
    assert dmesg.problems(log) == ["[1.0] WARNING: CPU: 0 at mm/x.c", "BUG: Bad page state",
                                   "Bad rss-counter state mm:0", "[2.0] Oops: 0002"]
    assert dmesg.problems("module verification failed: signature missing - tainting kernel") == []


def test_accel_override_and_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(accel, "CACHE", tmp_path / "accel.json")
    monkeypatch.setenv("FA_ACCEL", "kvm")
    assert accel.choose("k") == "kvm"
    monkeypatch.setenv("FA_ACCEL", "fast")
    with pytest.raises(ValueError, match="FA_ACCEL must be"):
        accel.choose("k")
    monkeypatch.delenv("FA_ACCEL")
    monkeypatch.setattr(accel.os, "access", lambda *a: True)
    probes = []
    monkeypatch.setattr(accel, "probe", lambda k: probes.append(k) or {"accel": "tcg", "why": "test"})
    assert accel.choose("k") == "tcg" and accel.choose("k") == "tcg"
    assert probes == ["k"], "the verdict must be cached after one probe"
    assert json.loads((tmp_path / "accel.json").read_text())[accel.machine_key("k")]["accel"] == "tcg"


def test_run_refuses_bad_parameters(tmp_path):
    with pytest.raises(guest.GuestError, match="no steps"):
        guest.run([], tmp_path)
    with pytest.raises(guest.GuestError, match="cpus must be"):
        guest.run([guest.Step("x", "true")], tmp_path, cpus=0)
