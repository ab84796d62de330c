"""python -m workloads.record NAME OUT [-- CMD...]: record a workload in the guest (as root).

Without CMD, NAME's recipe (workloads/recipes.py) makes the input and names the program; with CMD, that
program is recorded as it is.  The workload is written to OUT (a .fawl); the recorder's summary is printed.
`python -m scenarios record` on the host boots the guest and runs this.
"""
import argparse
import sys
import tempfile

from tracing import touches
from workloads import fawl, recipes


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m workloads.record", description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the program and its arguments (default: the recipe)")
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd and args.name not in recipes.RECIPES:
        ap.error(f"no recipe {args.name!r} (known: {', '.join(recipes.RECIPES)}): give the program after --")
    with tempfile.TemporaryDirectory(prefix=f"fa-wl-{args.name}-") as work:
        recipe = recipes.Recipe("", None)
        if not cmd:
            recipe, cmd = recipes.prepare(args.name, work)
        try:
            touches.record(cmd, args.name, args.out, load=recipe.load or None, load_delay=recipe.load_delay,
                           timeout=recipe.timeout)
        except (touches.RecordError, fawl.WorkloadError) as e:
            print(f"record: {args.name}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
