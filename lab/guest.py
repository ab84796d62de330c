"""Boot the 6.12 guest once under virtme-ng and run a list of steps in it.

Every kernel-side action of the lab (loading fault_area.ko, BCC probes,
guest tests, scenarios) goes through run().  One boot runs all the steps;
each step has its own timeout inside the guest, and the host kills the
whole process group if the guest does not reach its first command within
boot_timeout or does not finish within the sum of the step timeouts.

Results land in results_dir, which is the only directory the guest may
write on the host: console.log (everything vng printed), dmesg.txt,
steps.tsv (name, exit status, seconds per step) and guest-rc.
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

from lab import accel, dmesg

REPO = Path(__file__).resolve().parent.parent
READY = "@@FA-GUEST-READY@@"
STEP_BEGIN = "@@FA-STEP@@"
DEFAULT_MEMORY = "2G"
DEFAULT_CPUS = 2
DEFAULT_BOOT_TIMEOUT = 120.0


class GuestError(Exception):
    """The guest could not be booted (bad parameters or missing kernel)."""


@dataclasses.dataclass
class Step:
    name: str
    cmd: str  # shell command, run with sh -c in the repo root inside the guest
    timeout: float = 600.0  # seconds, enforced inside the guest


@dataclasses.dataclass
class StepResult:
    name: str
    rc: int
    seconds: float


@dataclasses.dataclass
class BootResult:
    rc: int  # the guest's exit status; 124 when the host killed it
    timed_out: bool
    reason: str  # empty when all went well
    accel: str
    kernel: str
    results_dir: Path
    first_command_s: float | None  # host seconds from launch to the guest's first command
    total_s: float
    steps: list
    dmesg_problems: list
    console_tail: str

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out and not self.dmesg_problems


def guest_kernel():
    """Release of the 6.12 kernel the guest boots (never the host's)."""
    out = subprocess.run([str(REPO / "scripts/guest-kernel")], capture_output=True, text=True)
    if out.returncode != 0:
        raise GuestError(out.stderr.strip())
    return out.stdout.strip()


def guest_script(steps, results_dir):
    """The shell script the guest runs: markers, per-step timeouts, dmesg."""
    res = shlex.quote(str(results_dir))
    lines = [
        "#!/bin/sh",
        f"echo {READY} $(cut -d' ' -f1 /proc/uptime)",
        f"cd {shlex.quote(str(REPO))}",
        f"export PATH={shlex.quote(str(REPO / '.venv/bin'))}:$PATH",
        "export PYTHONDONTWRITEBYTECODE=1 FA_IN_GUEST=1",
        f"export FA_RESULTS={res}",
        f": > {res}/steps.tsv",
        "status=0",
    ]
    for step in steps:
        name = shlex.quote(step.name)
        lines += [
            f"echo {STEP_BEGIN} {name}",
            "t0=$(date +%s.%N)",
            f"timeout -k 5 {step.timeout:g} sh -c {shlex.quote(step.cmd)}",
            "rc=$?",
            "t1=$(date +%s.%N)",
            '[ $rc -eq 124 ] && echo "step timed out after ' + f'{step.timeout:g} s: "' + name,
            f'printf "%s\\t%s\\t%s\\n" {name} $rc $(awk "BEGIN{{print $t1 - $t0}}") >> {res}/steps.tsv',
            "[ $rc -ne 0 ] && status=$rc",
        ]
    lines += [
        f"dmesg > {res}/dmesg.txt",
        f"echo $status > {res}/guest-rc",
        "exit $status",
    ]
    return "\n".join(lines) + "\n"


def vng_command(kernel, script, results_dir, memory, cpus, use_accel, rw=()):
    vng = REPO / ".venv/bin/vng"
    if not vng.exists():
        raise GuestError(f"{vng} is missing: run 'make setup' first")
    # Under TCG, load can skew the TSC against the HPET; the clocksource watchdog then marks
    # it unstable at run time, and the sched_clock switch live-patches kernel text with int3,
    # which oopsed once here (int3 in sched_clock_cpu).  tsc=reliable skips that watchdog.
    cmd = [str(vng), "--run", f"/boot/vmlinuz-{kernel}", "--force-9p", "--verbose",
           "--append", "tsc=reliable", "--memory", str(memory), "--cpus", str(cpus),
           "--rwdir", str(results_dir)]
    for d in rw:
        cmd += ["--rwdir", str(d)]
    cmd += ["--exec", f"sh {shlex.quote(str(script))}"]
    if use_accel != "kvm":
        cmd.insert(1, "--disable-kvm")
    return cmd


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _read_steps(results_dir):
    steps = []
    tsv = results_dir / "steps.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines():
            name, rc, secs = line.split("\t")
            steps.append(StepResult(name, int(rc), float(secs or 0)))
    return steps


def run(steps, results_dir, memory=DEFAULT_MEMORY, cpus=DEFAULT_CPUS,
        boot_timeout=DEFAULT_BOOT_TIMEOUT, timeout=None, use_accel=None, echo=True, rw=()):
    """Boot once, run steps in order, return a BootResult.

    rw: more host directories the guest may write (results_dir always is).
    timeout is the host's limit on the guest once its first command runs
    (default: the sum of the step timeouts plus 30 s for dmesg and
    shutdown).  boot_timeout limits the time to that first command.
    """
    if not steps:
        raise GuestError("no steps to run")
    if int(cpus) < 1:
        raise GuestError(f"cpus must be >= 1, not {cpus}")
    kernel = guest_kernel()
    use_accel = use_accel or accel.choose(kernel)
    results_dir = Path(results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("dmesg.txt", "guest-rc", "steps.tsv"):
        (results_dir / stale).unlink(missing_ok=True)
    script = results_dir / "guest.sh"
    script.write_text(guest_script(steps, results_dir))
    if timeout is None:
        timeout = sum(s.timeout for s in steps) + 30
    for d in rw:
        Path(d).mkdir(parents=True, exist_ok=True)
    cmd = vng_command(kernel, script, results_dir, memory, cpus, use_accel, rw)
    console_path = results_dir / "console.log"
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if echo else (lambda msg: None)
    say(f"guest: booting {kernel} ({use_accel}, {memory}, {cpus} CPUs), results in {results_dir}")

    ready = threading.Event()
    console = []
    start = time.monotonic()
    first = [None]
    env = dict(os.environ, PATH=f"{REPO / '.venv/bin'}:{os.environ.get('PATH', '')}")  # vng calls virtme-run
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def pump():
        with open(console_path, "w") as log:
            for raw in proc.stdout:
                line = raw.decode(errors="replace")
                log.write(line)
                log.flush()
                console.append(line)
                if READY in line and first[0] is None:
                    first[0] = time.monotonic() - start
                    ready.set()
                elif ready.is_set() and echo and not line.startswith("["):
                    sys.stderr.write("  | " + line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out, reason = False, ""
    while not ready.wait(0.2) and proc.poll() is None and time.monotonic() - start < boot_timeout:
        pass
    if not ready.is_set():
        if proc.poll() is None:
            timed_out, reason = True, f"no first command within the boot timeout of {boot_timeout:g} s"
        else:
            reason = f"vng exited with status {proc.returncode} before the first command"
    if not timed_out:
        deadline = start + (first[0] or 0) + timeout
        try:
            proc.wait(max(0.0, deadline - time.monotonic()) if first[0] else 5)
        except subprocess.TimeoutExpired:
            timed_out, reason = True, f"killed after a timeout of {timeout:g} s from the first command"
    # qemu and virtiofsd share vng's process group; none may outlive the boot.
    _kill_group(proc)
    reader.join(5)
    total = time.monotonic() - start

    rc_file = results_dir / "guest-rc"
    if timed_out:
        rc = 124
    elif rc_file.exists():
        rc = int(rc_file.read_text().strip() or 1)
    else:
        rc = proc.returncode if proc.returncode else 1
        reason = reason or "the guest ended without writing its exit status (crash or panic?)"
    dmesg_path = results_dir / "dmesg.txt"
    bad = dmesg.problems(dmesg_path.read_text(errors="replace")) if dmesg_path.exists() else []
    if bad:
        reason = reason or f"dmesg has {len(bad)} bad line(s), first: {bad[0].strip()}"
    tail = "".join(console[-40:])
    result = BootResult(rc=rc, timed_out=timed_out, reason=reason, accel=use_accel, kernel=kernel,
                        results_dir=results_dir, first_command_s=first[0], total_s=total,
                        steps=_read_steps(results_dir), dmesg_problems=bad, console_tail=tail)
    first_s = f"{first[0]:.1f} s" if first[0] is not None else "never"
    say(f"guest: first command after {first_s}, total {total:.1f} s, exit status {rc}")
    if not result.ok:
        say(f"guest: FAILED: {reason or f'exit status {rc}'}")
        if timed_out or first[0] is None:
            say("guest: console tail:\n" + tail)
    return result
