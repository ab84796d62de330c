#!/usr/bin/env python3
"""fatrace - trace page faults, gup, VMA creation and the fault_area map path.

USAGE: fatrace [-h] [-p PID] [-g GROUPS] [--addr START-END] [-j] [-c]
               [--ebpf] [--list-probes] [interval] [count]

One BPF program holds every probe (compiled once): fentry/fexit on vmlinux
functions, raw tracepoints on fault_area.ko's own tracepoints and for
signals (--list-probes says which); -p (and what it forks) and --addr keep only
the workload.  Events stream as a table, or as JSON Lines with -j (schema:
tracing/SCHEMA.md), in entry-time order, printed as they come (nothing is
kept).  With -c or an interval, counts and log2 latency histograms are
printed instead of events, and cleared after each interval.
"""
import argparse
import json
import os
import signal
import sys
import time

if __package__ in (None, ""):  # run as ./tracing/fatrace.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tracing import probes  # noqa: E402
from tracing.order import EntryOrder, entry_ns  # noqa: E402
from tracing.tracer import Tracer  # noqa: E402

EXAMPLES = """examples:
    ./fatrace.py --list-probes        # which probes resolve on this kernel, and why not
    ./fatrace.py -p 181               # events of PID 181 (and the processes it forks)
    ./fatrace.py -p 181 -g fault,gup  # only the fault and gup probes
    ./fatrace.py -p 181 --addr 0x7f0000000000-0x7f0000400000
    ./fatrace.py -p 181 -j > t.jsonl  # JSON Lines events for analysis
    ./fatrace.py -c 5 3               # counts and latency histograms, every 5 s, 3 times
    ./fatrace.py --ebpf               # print the BPF program and its -D flags, then exit
"""
QUIET_NS = 1_000_000_000  # a quiet stream's events print this long after their entry (the poll may lag)
LABEL = {"signo": "sig", "target": "tid"}  # DETAIL names for roles whose JSON name misleads (pid is a thread)


def parse_range(s):
    lo, _, hi = s.partition("-")
    try:
        return int(lo, 0), int(hi, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"address range {s!r} is not START-END (e.g. 0x1000-0x2000)") from None


def parse_groups(s):
    groups = tuple(g for g in s.split(",") if g)
    bad = [g for g in groups if g not in probes.GROUPS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown group(s) {bad}: use {','.join(probes.GROUPS)}")
    return groups


HEADER = f"{'TIME(s)':<11} {'CPU':>3} {'TGID':>7} {'TID':>7} {'COMM':<15} {'PROBE':<24} " \
         f"{'ADDR':<18} {'RET':>18} {'LAT(us)':>9} DETAIL"


def row(ev, t0):
    """One event as a table row: TIME is its entry, relative to t0; DETAIL holds the fields
    other than the address and the return, named (a signal: its number and target thread)."""
    p = probes.probe(ev["probe"])
    addr, ret = p.field("address"), p.field("return")
    detail = " ".join(f"{LABEL.get(f.role, f.name)}={f.show(ev[f.name])}" for f in p.fields
                      if f.role not in ("address", "return"))
    lat = f"{ev['lat_ns'] / 1000:.2f}" if "lat_ns" in ev else "-"
    return (f"{(entry_ns(ev) - t0) / 1e9:<11.6f} {ev['cpu']:>3} {ev['tgid']:>7} {ev['tid']:>7} {ev['comm'][:15]:<15} "
            f"{ev['probe']:<24} {f'{ev[addr.name]:#018x}' if addr else '-':<18} "
            f"{ret.show(ev[ret.name]) if ret else '-':>18} {lat:>9} {detail}")


class Printer:
    """Prints each event as it leaves the entry-order buffer: a row, or a JSON line."""

    def __init__(self, as_json):
        self.as_json, self.t0 = as_json, None

    def __call__(self, ev):
        if self.t0 is None:
            self.t0 = entry_ns(ev)  # times from the first event, as bcc does
        print(json.dumps(ev) if self.as_json else row(ev, self.t0), flush=True)


def print_counts(tracer, tlb_callers=None):
    """Counts per probe, then bcc's log2 histogram of each probe's latency, TLB callers, lost events."""
    from bcc.table import _print_log2_hist

    print(f"{'PROBE':<26} {'COUNT':>10}")
    for name, n in sorted(tracer.counts().items(), key=lambda kv: -kv[1]):
        print(f"{name:<26} {n:>10}")
    for name, slots in tracer.histograms().items():  # bcc's log2 histogram, one per probe
        print(f"\nprobe = {name}")
        _print_log2_hist([slots.get(s, 0) for s in range(64)], "nsecs", False)
    if tlb_callers:
        print(f"\n{'TLB FLUSH CALLER':<40} {'COUNT':>8}")
        for caller, n in sorted(tlb_callers.items(), key=lambda kv: -kv[1]):
            print(f"{caller:<40} {n:>8}")
    lost = tracer.lost()
    print(f"\nlost events: {lost}" + ("  (this trace is INCOMPLETE: the ring buffer was full)" if lost else ""),
          flush=True)


def list_probes():
    """Each probe, how it attaches (fentry/fexit for vmlinux, the module's tracepoints), and why not."""
    print(f"{'PROBE':<26} {'GROUP':<7} {'KIND':<24} {'STATUS':<8} REASON")
    for p, why in probes.resolve():
        print(f"{p.name:<26} {p.group:<7} {p.attach:<24} {'missing' if why else 'ok':<8} {why}")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Trace page faults, gup, VMA life and the fault_area map path.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
    ap.add_argument("-p", "--pid", type=int, action="append", default=[], help="trace this PID (repeatable)")
    ap.add_argument("-g", "--groups", type=parse_groups, default=probes.GROUPS,
                    help=f"probe groups, comma separated (default: all of {','.join(probes.GROUPS)})")
    ap.add_argument("--addr", type=parse_range, help="keep events in this address range")
    ap.add_argument("-j", "--json", action="store_true", help="JSON Lines events")
    ap.add_argument("-c", "--counts", action="store_true", help="counts and histograms only, no events")
    ap.add_argument("--ebpf", action="store_true", help="print the BPF program and exit")
    ap.add_argument("--list-probes", action="store_true", help="which probes resolve here, and why not")
    ap.add_argument("interval", nargs="?", type=float, help="print a summary every INTERVAL seconds")
    ap.add_argument("count", nargs="?", type=int, help="number of intervals")
    args = ap.parse_args(argv)
    if args.list_probes:
        list_probes()
        return 0
    counts_only = args.counts or args.interval is not None
    order = EntryOrder(Printer(args.json))
    tracer = Tracer(groups=args.groups, pids=args.pid, addr_range=args.addr, events=not counts_only,
                    on_event=order.push)
    if args.ebpf:
        text, cflags = tracer.text_and_cflags()
        print("\n".join(cflags))
        print(text)
        return 0
    for name, why in tracer.missing.items():
        print(f"fatrace: probe {name} missing: {why}", file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tracer.start()
    done = 0
    try:  # from here on Ctrl-C ends the trace cleanly, whenever it comes
        if not counts_only and not args.json:
            print(HEADER, flush=True)
        print(f"Tracing {len(tracer.enabled)} probes... Hit Ctrl-C to end.", file=sys.stderr, flush=True)
        if counts_only:
            while args.count is None or done < args.count:
                time.sleep(args.interval or 99999999)
                done += 1
                print_counts(tracer)
                tracer.clear_counts()
                print()
        else:
            while True:  # the callback prints; this flushes a quiet stream's last events
                time.sleep(0.2)
                order.flush(time.monotonic_ns() - QUIET_NS)
    except (KeyboardInterrupt, SystemExit):
        pass
    trace = tracer.detach()
    order.flush()
    if not args.json and not (counts_only and done):
        print()
        print_counts(tracer, trace.summary["tlb_callers"])
    tracer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
