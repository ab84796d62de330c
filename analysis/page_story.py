"""page-story: every traced event that touched one page, in time order,
printed as a bcc-style table (or JSON Lines).  Events with an address
(fault, map, gup, marker ranges) are matched to the page; a signal joins
the story when it goes to a thread that faulted on the page."""
from analysis.invariants import PAGE, _at

HEADER = f"{'TIME(ms)':>10} {'RUN':>3} {'TID':>7} {'COMM':<15} {'PROBE':<24} {'ADDR':>18} {'LAT(us)':>9} {'RET':>10}"


def _signals(evs, mine):
    """The first signal to a thread after each of its faults on the page."""
    out = []
    for f in mine:
        if f["probe"] in ("fa_fault_hook", "handle_userfault"):
            nxt = [e for e in evs if e["probe"] == "signal_generate" and e["pid"] == f["tid"]
                   and e["ts_ns"] >= f["ts_ns"] - f.get("lat_ns", 0)]
            if nxt:
                out.append(min(nxt, key=lambda e: e["ts_ns"]))
    return list({id(e): e for e in out}.values())


def story(runs, addr, probe=None, tid=None, addr_range=None):
    """(run, event) pairs of the page's story, in time order, filtered."""
    page = addr // PAGE * PAGE
    out = []
    for run in runs:
        evs = run.events or []
        mine = [e for e in evs if e["probe"] != "signal_generate" and _at(e, page)]
        mine += _signals(evs, mine)
        for e in mine:
            if probe and e["probe"] not in probe:
                continue
            if tid and e["tid"] != tid:
                continue
            where = e.get("address", e.get("dst", e.get("start", 0)))
            if addr_range and not addr_range[0] <= where < addr_range[1]:
                continue
            out.append((run, e))
    out.sort(key=lambda re: re[1]["ts_ns"] - re[1].get("lat_ns", 0))
    return out


def row(run, e, t0):
    where = f"{e.get('address', e.get('dst', e.get('start', 0))):#x}"
    ret = next((e[k] for k in ("vm_fault", "ret", "pages_returned", "result") if k in e), "")
    if e["probe"] == "signal_generate":
        where, ret = f"to tid {e['pid']}", f"sig {e['sig']}"
    lat = f"{e['lat_ns'] / 1000:.1f}" if "lat_ns" in e else ""
    start = e["ts_ns"] - e.get("lat_ns", 0)
    return (f"{(start - t0) / 1e6:>10.3f} {run.index:>3} {e['tid']:>7} {e['comm'][:15]:<15} {e['probe']:<24} "
            f"{where:>18} {lat:>9} {ret!s:>10}")
