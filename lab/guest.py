"""Boot the 6.12 guest once under virtme-ng and run a list of steps in it.

Every kernel-side action of the lab (loading fault_area.ko, BCC probes,
guest tests, scenarios) goes through run().  One boot runs all the steps;
each step has its own timeout inside the guest, and the host kills the
whole process group if the guest does not reach its first command within
boot_timeout or does not finish within the sum of the step timeouts.  A
guest that panics (any oops or hung task panics, see lab.vm.KERNEL_ARGS)
ends the run at once and is reported as lost, apart from a failed step
(a kernel that panics before the first command is booted once more:
BOOT_TRIES).

Results land in results_dir, which is the only directory the guest may
write on the host: console.log (everything vng printed), dmesg.txt,
steps.tsv (name, exit status, seconds per step) and guest-rc.
"""
import dataclasses
import shlex
import sys
from pathlib import Path

from lab import accel, dmesg, provenance, vm
from lab.vm import REPO, GuestError

STEP_BEGIN = "@@FA-STEP@@"
DEFAULT_BOOT_TIMEOUT = 120.0
# A kernel that panics before the first command never ran our code: QEMU 7.2's TCG has ended a boot
# in "Oops: int3" while the kernel patched its own text at boot (sched_clock_cpu, 2026-12-01).  One
# more boot, said aloud; a panic after the first command is the run's, and is never retried.
BOOT_TRIES = 2


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
    rc: int  # the guest's exit status; 124 when the host killed it; vng's status when the guest was lost
    timed_out: bool
    lost: bool  # the guest ended without writing its exit status: a panic, an oops, a hung task, a failed boot
    panic: str  # the console's kernel panic and its cause, '' if none
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
        return self.rc == 0 and not self.timed_out and not self.lost and not self.dmesg_problems

    @property
    def outcome(self):
        """'ok', 'timed out', 'guest lost', 'test failed' or 'kernel problems' (bad dmesg lines)."""
        if self.timed_out:
            return "timed out"
        if self.lost:
            return "guest lost"
        if self.rc:
            return "test failed"
        return "kernel problems" if self.dmesg_problems else "ok"


def guest_script(steps, results_dir, env=None):
    """The shell script the guest runs: markers, per-step timeouts, dmesg.  env: more variables to export."""
    res = shlex.quote(str(results_dir))
    exports = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in (env or {}).items())
    lines = [
        "#!/bin/sh",
        f"echo {vm.READY} $(cut -d' ' -f1 /proc/uptime)",
        f"cd {shlex.quote(str(REPO))}",
        f"export PATH={shlex.quote(str(REPO / '.venv/bin'))}:$PATH",
        "export PYTHONDONTWRITEBYTECODE=1 FA_IN_GUEST=1",
        f"export FA_RESULTS={res}" + (f" {exports}" if exports else ""),
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


def _read_steps(results_dir):
    steps = []
    tsv = results_dir / "steps.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines():
            name, rc, secs = line.split("\t")
            steps.append(StepResult(name, int(rc), float(secs or 0)))
    return steps


def collect(results_dir, timed_out, reason, vng_rc, console, **boot):
    """The BootResult of a finished boot, from the files the guest wrote and its console.

    boot: accel, kernel, first_command_s, total_s (passed through)."""
    text = "".join(console)
    rc_file = results_dir / "guest-rc"
    lost = not timed_out and not rc_file.exists()
    crash = dmesg.panic(text)
    if timed_out:
        rc = 124
    elif lost:
        rc = vng_rc or 1
        reason = "guest lost: " + (crash or reason or "the guest ended without writing its exit status")
    else:
        rc = int(rc_file.read_text().strip() or 1)
    dmesg_path = results_dir / "dmesg.txt"
    # A lost guest wrote no dmesg.txt; its kernel lines on the console are all there is.
    log = dmesg_path.read_text(errors="replace") if dmesg_path.exists() else "\n".join(dmesg.kernel_lines(text))
    bad = dmesg.problems(log)
    if bad:
        reason = reason or f"dmesg has {len(bad)} bad line(s), first: {bad[0].strip()}"
    return BootResult(rc=rc, timed_out=timed_out, lost=lost, panic=crash, reason=reason, results_dir=results_dir,
                      steps=_read_steps(results_dir), dmesg_problems=bad, console_tail="".join(console[-40:]), **boot)


def run(steps, results_dir, memory=vm.DEFAULT_MEMORY, cpus=vm.DEFAULT_CPUS,
        boot_timeout=DEFAULT_BOOT_TIMEOUT, timeout=None, use_accel=None, echo=True, rw=(), icount=False):
    """Boot once, run steps in order, return a BootResult.

    rw: more host directories the guest may write (results_dir always is).
    icount: TCG with guest time counting instructions (lab.vm.ICOUNT_OPTS); results say
    accel "tcg+icount".
    timeout is the host's limit on the guest once its first command runs
    (default: the sum of the step timeouts plus 30 s for dmesg and
    shutdown).  boot_timeout limits the time to that first command.
    """
    if not steps:
        raise GuestError("no steps to run")
    if int(cpus) < 1:
        raise GuestError(f"cpus must be >= 1, not {cpus}")
    kernel = vm.guest_kernel()
    use_accel = use_accel or accel.choose(kernel)
    results_dir = Path(results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("dmesg.txt", "guest-rc", "steps.tsv"):
        (results_dir / stale).unlink(missing_ok=True)
    script = results_dir / "guest.sh"
    # Where the results came from (lab.provenance.collect() reads these in the guest).
    env = {"FA_ACCEL_USED": use_accel + ("+icount" if icount else ""), "FA_COMMIT": provenance.commit()}
    script.write_text(guest_script(steps, results_dir, env))
    if timeout is None:
        timeout = sum(s.timeout for s in steps) + 30
    for d in rw:
        Path(d).mkdir(parents=True, exist_ok=True)
    cmd = vm.vng_command(kernel, script, results_dir, memory, cpus, use_accel, rw, icount)
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if echo else (lambda msg: None)
    say(f"guest: booting {kernel} ({env['FA_ACCEL_USED']}, {memory}, {cpus} CPUs), results in {results_dir}")

    for attempt in range(1, BOOT_TRIES + 1):
        boot = vm.launch(cmd, results_dir / "console.log", echo)
        timed_out, reason = vm.wait(boot, boot_timeout, timeout)
        result = collect(results_dir, timed_out, reason, boot.proc.returncode, boot.console, accel=use_accel,
                         kernel=kernel, first_command_s=boot.first_command_s, total_s=boot.total_s)
        if not (result.lost and result.panic and result.first_command_s is None) or attempt == BOOT_TRIES:
            break
        kept = results_dir / f"console-boot{attempt}.log"
        (results_dir / "console.log").replace(kept)
        say(f"guest: the kernel died while booting, before the first command ({result.panic}); "
            f"none of our code had run: booting again (its console: {kept})")

    first_s = f"{result.first_command_s:.1f} s" if result.first_command_s is not None else "never"
    say(f"guest: first command after {first_s}, total {result.total_s:.1f} s, exit status {result.rc}")
    if not result.ok:
        say(f"guest: FAILED: {result.reason or f'{result.outcome} (exit status {result.rc})'}")
        if timed_out or result.lost:
            say("guest: console tail:\n" + result.console_tail)
    return result
