"""python -m analysis: redo reports from results, or tell one page's story."""
import argparse
import json
import sys

from analysis import load, page_story, report
from tracing import probes

EXAMPLES = """examples:
  python -m analysis results/20261126T010000Z-default            # redo every scenario's report
  python -m analysis results/20261126T010000Z-postcopy-basic     # one scenario
  python -m analysis page-story results/...-postcopy-basic 0x7f1234567000
  python -m analysis page-story DIR 0x7f1234567000 -P handle_mm_fault,fa_map_page -t 1234 -j
"""


def addr(s):
    return int(s, 0)


def addr_range(s):
    lo, _, hi = s.partition("-")
    return int(lo, 0), int(hi, 0)


def cmd_page_story(argv):
    ap = argparse.ArgumentParser(prog="python -m analysis page-story", epilog=EXAMPLES,
                                 description="Every traced event that touched one page, in order.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="a scenario's results directory")
    ap.add_argument("addr", type=addr, help="an address on the page (0x...)")
    ap.add_argument("-P", "--probe", type=lambda s: set(s.split(",")), help="only these probes (comma separated)")
    ap.add_argument("-t", "--tid", type=int, help="only this thread")
    ap.add_argument("-r", "--range", type=addr_range, help="only events whose address is in LO-HI")
    ap.add_argument("--run", type=int, help="only this run (its index in runs/)")
    ap.add_argument("-j", "--json", action="store_true", help="JSON Lines")
    args = ap.parse_args(argv)
    try:
        res = load.load(args.dir)
    except load.ResultsError as e:
        sys.exit(f"error: {e}")
    runs = [r for r in res.runs if args.run is None or r.index == args.run]
    if all(r.events is None for r in runs):
        sys.exit(f"{args.dir}: the scenario ran with events off; page-story needs tracing.events: true")
    unknown = sorted((args.probe or set()) - set(probes.PROBE_ID))
    if unknown:
        sys.exit(f"unknown probe(s) {', '.join(unknown)}: see python -m tracing.fatrace --list-probes")
    rows = page_story.story(runs, args.addr, args.probe, args.tid, args.range)
    if not rows:
        print(f"no traced event touched page {args.addr // 4096 * 4096:#x}", file=sys.stderr)
        return 1
    if args.json:
        for run, i in rows:
            print(json.dumps(dict(run.events.event(i), run=run.index)))
        return 0
    print(page_story.HEADER)
    t0 = rows[0][0].events.entry[rows[0][1]]
    for run, i in rows:
        print(page_story.row(run, i, t0))
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "page-story":
        return cmd_page_story(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m analysis", epilog=EXAMPLES,
                                 description="Check the invariants again and rewrite report.md and the plots.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", help="scenario or suite results directories")
    args = ap.parse_args(argv)
    try:
        summaries = report.reports(args.dirs)
    except load.ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.summary_table(summaries))
    for s in summaries:
        print(f"report: {s['dir']}/report.md")
    return 0 if all(s["ok"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
