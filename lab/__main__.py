"""python -m lab: thin CLI over lab.guest (boot once, run steps)."""
import argparse
import sys
import time
from pathlib import Path

from lab import guest, vm

EXAMPLES = """examples:
  python -m lab -- 'uname -r'                     # one command in the guest
  python -m lab --step load='insmod kmod/fault_area.ko' --step 'ls -l /dev/fault_area'
  python -m lab --timeout 5 -- 'sleep 60'         # killed after 5 s, exit 124
  FA_ACCEL=tcg python -m lab -- true              # force TCG
  python -m lab --icount -- 'python -m bench.tracing'  # guest time counts instructions
"""


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m lab", description="Boot the 6.12 guest once and run steps in it.",
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", action="append", default=[], metavar="[NAME=]CMD",
                    help="a shell command to run in the guest (repeatable, run in order)")
    ap.add_argument("--results", type=Path, help="results directory (default results/<UTC time>-guest)")
    ap.add_argument("--memory", default=vm.DEFAULT_MEMORY, help="guest memory (default %(default)s)")
    ap.add_argument("--cpus", type=int, default=vm.DEFAULT_CPUS, help="guest CPUs (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds each step may take (default %(default)s)")
    ap.add_argument("--boot-timeout", type=float, default=guest.DEFAULT_BOOT_TIMEOUT,
                    help="seconds to reach the first command (default %(default)s)")
    ap.add_argument("--icount", action="store_true",
                    help="TCG with guest time counting instructions (qemu %s): run times free of the "
                         "host's load, on one host thread" % vm.ICOUNT_OPTS.replace("%", "%%"))
    ap.add_argument("cmd", nargs="*", help="commands to run, one step each")
    args = ap.parse_args(argv)
    steps = []
    for i, spec in enumerate(args.step + args.cmd):
        name, sep, cmd = spec.partition("=")
        if not sep or " " in name or not name:
            name, cmd = f"step{i + 1}", spec
        steps.append(guest.Step(name, cmd, timeout=args.timeout))
    if not steps:
        ap.error("give at least one command to run in the guest")
    results = args.results or Path("results") / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-guest")
    try:
        res = guest.run(steps, results, memory=args.memory, cpus=args.cpus, boot_timeout=args.boot_timeout,
                        icount=args.icount)
    except guest.GuestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for s in res.steps:
        print(f"{s.name:<24} rc={s.rc:<4} {s.seconds:8.2f} s")
    print(f"guest: {res.reason or res.outcome}")
    return res.rc if res.rc else (0 if res.ok else 1)


if __name__ == "__main__":
    sys.exit(main())
