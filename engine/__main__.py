"""python -m engine: run one configuration by hand and print its figures."""
import argparse
import json
import sys

from engine import BACKENDS, KERNEL_STEPS, PATTERNS, KernelStep, SourceSpec, run

EXAMPLES = """examples:
  python -m engine --backend uffd-copy --pages 4096 --threads 2 --pattern random
  python -m engine --backend kmod --pages 16384 --json          # in the guest, module loaded
  python -m engine --backend mprotect --pages 70000             # reports where VMAs ran out
  python -m engine --backend uffd-sigbus --kernel-step pipe-read:5 --kernel-step process_vm_readv:6
"""


def kernel_step(spec):
    kind, _, page = spec.partition(":")
    return KernelStep(kind, int(page or 0))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m engine", description="One post-copy destination run.",
                                 epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", required=True, choices=BACKENDS)
    ap.add_argument("--pages", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pattern", default="sequential", choices=PATTERNS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--thp", action="store_true", help="let the area use THP")
    ap.add_argument("--area", default="anon", choices=("anon", "dev-zero"))
    ap.add_argument("--transport", default="unix", choices=("unix", "tcp"))
    ap.add_argument("--delay-us", type=int, default=0, help="tcp: netem one-way delay")
    ap.add_argument("--rate-mbit", type=int, default=0, help="tcp: netem rate")
    ap.add_argument("--push", action="store_true", help="background push stream")
    ap.add_argument("--kernel-step", action="append", default=[], type=kernel_step,
                    metavar="KIND:PAGE", help=f"one of {', '.join(KERNEL_STEPS)}")
    ap.add_argument("--odirect-path", help="file on a filesystem with O_DIRECT, for the odirect step")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    try:
        res = run(args.backend, args.pages, args.threads, args.pattern, seed=args.seed, thp=args.thp,
                  area=args.area, kernel_steps=args.kernel_step, odirect_path=args.odirect_path,
                  source=SourceSpec(args.transport, args.delay_us, args.rate_mbit, args.push))
    except ValueError as e:
        ap.error(str(e))
    s = res.summary()
    if args.json:
        print(json.dumps(s, indent=1))
    else:
        for k, v in s.items():
            print(f"{k:<20} {v}")
    return 0 if res.ok and not res.bad_pages else 1


if __name__ == "__main__":
    sys.exit(main())
