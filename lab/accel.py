"""Choose qemu's accelerator: TCG unless a real KVM boot has worked here.

On this project's machines /dev/kvm exists, yet qemu stops with "KVM
internal error ... emulation failure" and vng without --disable-kvm hangs.
So KVM is used only after a short real boot under it reached its command,
and that verdict is cached per machine (host name, host kernel, guest
kernel) in CACHE.  FA_ACCEL=tcg or FA_ACCEL=kvm overrides it.
"""
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from lab import vm

CACHE = Path(os.environ.get("FA_ACCEL_CACHE", "/var/cache/fault-area/accel.json"))
PROBE_TIMEOUT = 30.0  # s; a TCG boot takes ~16 s, a working KVM boot far less


def machine_key(kernel):
    return f"{platform.node()}|{platform.release()}|{kernel}"


def _load():
    try:
        return json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return {}


def _store(key, verdict):
    cache = _load()
    cache[key] = verdict
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=1) + "\n")


def choose(kernel):
    forced = os.environ.get("FA_ACCEL")
    if forced:
        if forced not in ("tcg", "kvm"):
            raise ValueError(f"FA_ACCEL must be 'tcg' or 'kvm', not {forced!r}")
        return forced
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    key = machine_key(kernel)
    verdict = _load().get(key)
    if verdict is None:
        verdict = probe(kernel)
        _store(key, verdict)
    return verdict["accel"]


def probe(kernel):
    """Boot once under KVM until its first command, with a short timeout; return the verdict to cache."""
    print(f"guest: probing KVM with a {PROBE_TIMEOUT:g} s boot (once per machine, cached in {CACHE})",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="fa-kvm-probe-") as tmp:
        script = Path(tmp) / "probe.sh"
        script.write_text(f"echo {vm.READY}\n")
        cmd = vm.vng_command(kernel, script, tmp, vm.DEFAULT_MEMORY, vm.DEFAULT_CPUS, "kvm")
        boot = vm.launch(cmd, Path(tmp) / "console.log", echo=False)
        timed_out, reason = vm.wait(boot, PROBE_TIMEOUT, 10)
    if boot.first_command_s is not None and not timed_out and boot.proc.returncode == 0:
        return {"accel": "kvm", "why": f"a KVM boot reached its command in {boot.first_command_s:.1f} s"}
    return {"accel": "tcg", "why": f"the KVM boot failed: {reason or f'exit status {boot.proc.returncode}'}"}
