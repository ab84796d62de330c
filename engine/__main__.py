"""python -m engine: run one configuration by hand and print its figures.

Its arguments are engine.config.RunConfig's fields, with their defaults,
choices and ranges (but for those the scenario session applies)."""
import argparse
import dataclasses
import json
import sys

from engine.config import KERNEL_STEPS, ConfigError, KernelStep, RunConfig, options
from engine.run import run

EXAMPLES = """examples:
  python -m engine --backend uffd-copy --pages 4096 --threads 2 --pattern random
  python -m engine --backend kmod --pages 16384 --json          # in the guest, module loaded
  python -m engine --backend mprotect --pages 70000             # reports where VMAs ran out
  python -m engine --backend uffd-sigbus --kernel-step pipe-read:5 --kernel-step process_vm_readv:6
"""


def kernel_step(spec):
    kind, _, page = spec.partition(":")
    try:
        return KernelStep(kind, int(page or 0))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r}: use KIND:PAGE, e.g. pipe-read:5") from None


def add_options(ap):
    for f, o in options():
        if o.session:
            continue
        flag = "--" + ("kernel-step" if f.name == "kernel_steps" else f.name.replace("_", "-"))
        allowed = f"; {o.range_text()}" if o.range_text() else ""
        if f.type is bool:
            ap.add_argument(flag, dest=f.name, action="store_true", help=o.help)
        elif f.name == "kernel_steps":
            ap.add_argument(flag, dest=f.name, action="append", default=[], type=kernel_step, metavar="KIND:PAGE",
                            help=f"{o.help}; KIND one of {', '.join(KERNEL_STEPS)}")
        elif f.default is dataclasses.MISSING:
            ap.add_argument(flag, dest=f.name, required=True, choices=o.choices or None, help=o.help)
        else:
            ap.add_argument(flag, dest=f.name, type=f.type, default=f.default, choices=o.choices or None,
                            help=f"{o.help} (default %(default)s{allowed})")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m engine", description="One post-copy destination run.",
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(ap)
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = vars(ap.parse_args(argv))
    as_json = args.pop("json")
    try:
        res = run(RunConfig.from_dict(args))
    except ConfigError as e:
        ap.error(str(e))
    s = res.summary()
    if as_json:
        print(json.dumps(s, indent=1))
    else:
        for k, v in s.items():
            print(f"{k:<20} {v}")
    return 0 if res.ok and not res.bad_pages else 1


if __name__ == "__main__":
    sys.exit(main())
