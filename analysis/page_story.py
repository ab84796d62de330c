"""page-story: every traced event that touched one page, in entry-time order,
printed as a bcc-style table (or JSON Lines).  Events whose address range
(the catalog's address role, with its length or pages) covers the page are
matched; a signal joins the story when it goes to a thread that faulted on
the page (the first one after each such fault)."""
import numpy as np

from analysis.events import PAGE
from tracing import probes

HEADER = f"{'TIME(ms)':>10} {'RUN':>3} {'TID':>7} {'COMM':<15} {'PROBE':<24} {'ADDR':>18} {'LAT(us)':>9} {'RET':>10}"
HOOKS = ("fa_fault_hook", "handle_userfault")  # a fault that a signal or a uffd message answers


def _signals(evs, mine):
    """Mask: the first signal to a thread after each of its hooked faults in mine."""
    out = np.zeros(len(evs), bool)
    sig = np.flatnonzero(evs.of("signal_generate"))
    hooks = np.flatnonzero(mine & evs.of(*HOOKS))
    for i in hooks:
        after = sig[(evs["target"][sig] == evs["tid"][i]) & (evs["ts_ns"][sig] >= evs.entry[i])]
        if len(after):
            out[after[np.argmin(evs["ts_ns"][after])]] = True
    return out


def story(runs, addr, probe=None, tid=None, addr_range=None):
    """(run, row index in run.events) pairs of the page's story, in entry-time order, filtered."""
    page = addr // PAGE * PAGE
    out = []
    for run in runs:
        if run.events is None:
            continue
        evs = run.events
        mine = evs.touches(page) & ~evs.of("signal_generate")
        keep = mine | _signals(evs, mine)
        if probe:
            keep &= evs.of(*probe)
        if tid:
            keep &= evs["tid"] == tid
        if addr_range:
            keep &= evs.has("address") & (evs["address"] >= addr_range[0]) & (evs["address"] < addr_range[1])
        out += [(run, int(i)) for i in np.flatnonzero(keep)]
    out.sort(key=lambda ri: ri[0].events.entry[ri[1]])
    return out


def row(run, i, t0):
    """Row i of run's events as a table line; TIME is its entry, in ms from t0 (ns)."""
    e = run.events.at(i)
    p = probes.probe(e["probe"])
    where = f"{e['address']:#x}" if p.field("address") else ""
    ret = p.field("return")
    shown = "" if ret is None else ret.show(e["return"])
    if p.field("target"):
        where, shown = f"to tid {e['target']}", f"sig {e['signo']}"
    lat = f"{e['lat_ns'] / 1000:.1f}" if p.ret else ""
    return (f"{(e['entry'] - t0) / 1e6:>10.3f} {run.index:>3} {e['tid']:>7} {e['comm'][:15]:<15} {e['probe']:<24} "
            f"{where:>18} {lat:>9} {shown:>10}")
