"""Benchmarks run in the guest; each reports ratios measured in one boot."""
import argparse


def quick_parser(module, doc):
    """A bench's command line: --quick, for every row of its table in seconds."""
    examples = (f"examples:\n  python -m {module}          # the figures (make bench runs this in the guest)\n"
                f"  python -m {module} --quick  # every row on small sizes, once: a smoke test, not figures")
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.strip().splitlines()[0],
                                     epilog=examples, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    return parser
