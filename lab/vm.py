"""One virtme-ng boot of the 6.12 guest: its kernel, its command line, and
launching and watching it.  lab.guest (the step runner) and lab.accel (the
KVM probe) both boot through here; this module imports neither.

The guest's script must print READY first: launch() times the first
command by it.
"""
import dataclasses
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
READY = "@@FA-GUEST-READY@@"
DEFAULT_MEMORY = "2G"
DEFAULT_CPUS = 2
HUNG_TASK_TIMEOUT_S = 120

# A crashed guest must end the run at once, not wait out the host timeout.  vng --exec already
# passes panic=-1 (reboot at once on a panic) and qemu -no-reboot (exit on that reboot).
KERNEL_ARGS = (
    # Under TCG, load can skew the TSC against the HPET; the clocksource watchdog then marks
    # it unstable at run time, and the sched_clock switch live-patches kernel text with int3,
    # which oopsed once here (int3 in sched_clock_cpu).  tsc=reliable skips that watchdog.
    "tsc=reliable",
    # An oops kills only the faulting task, often holding a lock; the step then hangs until the
    # host timeout.  Make every oops a panic.
    "oops=panic", "panic=-1",
    # A task in uninterruptible sleep this long is a deadlock (a lock never released, I/O never
    # completed): panic.  120 s is the kernel's default timeout.  The uninterruptible waits here
    # are short (fa_lock, 9p I/O under TCG on a loaded host, an ext4 loop device); a userfaultfd
    # fault waits killable or interruptible, which the detector skips; a BCC compile or a long
    # stress run is runnable, never in D state.  Checked every 10 s: a hung task ends the boot
    # within ~130 s instead of the step's whole timeout.
    "hung_task_panic=1", f"sysctl.kernel.hung_task_timeout_secs={HUNG_TASK_TIMEOUT_S}",
    "sysctl.kernel.hung_task_check_interval_secs=10",
)


class GuestError(Exception):
    """The guest could not be booted (bad parameters or missing kernel)."""


def guest_kernel():
    """Release of the 6.12 kernel the guest boots (never the host's)."""
    out = subprocess.run([str(REPO / "scripts/guest-kernel")], capture_output=True, text=True)
    if out.returncode != 0:
        raise GuestError(out.stderr.strip())
    return out.stdout.strip()


# Guest time that counts instructions (1 ns each), on one host thread: a run's time no longer
# depends on what else the host does (bench.tracing: the same run's wall time spread 6.5-16.5 s
# under plain TCG in one boot, and 1.067-1.084 s under icount).
ICOUNT_OPTS = "-icount shift=0,sleep=off"


def vng_command(kernel, script, results_dir, memory, cpus, use_accel, rw=(), icount=False):
    vng = REPO / ".venv/bin/vng"
    if not vng.exists():
        raise GuestError(f"{vng} is missing: run 'make setup' first")
    cmd = [str(vng), "--run", f"/boot/vmlinuz-{kernel}", "--force-9p", "--verbose",
           "--append", " ".join(KERNEL_ARGS), "--memory", str(memory), "--cpus", str(cpus),
           "--rwdir", str(results_dir)]
    for d in rw:
        cmd += ["--rwdir", str(d)]
    cmd += ["--exec", f"sh {shlex.quote(str(script))}"]
    if icount:
        if use_accel == "kvm":
            raise GuestError("icount needs TCG: unset FA_ACCEL=kvm")
        cmd[1:1] = ["--qemu-opts", ICOUNT_OPTS]
    if use_accel != "kvm":
        cmd.insert(1, "--disable-kvm")
    return cmd


@dataclasses.dataclass
class Boot:
    """A running vng: its process (and group), and the console read so far."""
    proc: subprocess.Popen
    start: float
    console: list
    ready: threading.Event
    reader: threading.Thread
    first_command_s: float | None = None
    total_s: float | None = None  # set by wait()


def launch(cmd, console_path, echo=True):
    """Start vng in its own process group; a thread copies its output to console_path."""
    env = dict(os.environ, PATH=f"{REPO / '.venv/bin'}:{os.environ.get('PATH', '')}")  # vng calls virtme-run
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    boot = Boot(proc, time.monotonic(), [], threading.Event(), None)

    def pump():
        with open(console_path, "w") as log:
            for raw in proc.stdout:
                line = raw.decode(errors="replace")
                log.write(line)
                log.flush()
                boot.console.append(line)
                if READY in line and not boot.ready.is_set():
                    boot.first_command_s = time.monotonic() - boot.start
                    boot.ready.set()
                elif boot.ready.is_set() and echo and not line.startswith("["):
                    sys.stderr.write("  | " + line)

    boot.reader = threading.Thread(target=pump, daemon=True)
    boot.reader.start()
    return boot


def wait(boot, boot_timeout, timeout):
    """Wait for the first command (boot_timeout), then for vng to exit (timeout from that command);
    kill the whole process group either way.  Returns (timed_out, reason)."""
    timed_out, reason = False, ""
    while not boot.ready.wait(0.2) and boot.proc.poll() is None and time.monotonic() - boot.start < boot_timeout:
        pass
    if not boot.ready.is_set():
        if boot.proc.poll() is None:
            timed_out, reason = True, f"no first command within the boot timeout of {boot_timeout:g} s"
        else:
            reason = f"vng exited with status {boot.proc.returncode} before the first command"
    else:
        deadline = boot.start + boot.first_command_s + timeout
        try:
            boot.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out, reason = True, f"killed after a timeout of {timeout:g} s from the first command"
    # qemu shares vng's process group; none may outlive the boot.
    try:
        os.killpg(boot.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    boot.proc.wait()
    boot.reader.join(5)
    boot.total_s = time.monotonic() - boot.start
    return timed_out, reason
