"""The seed's claims as checks on one run: each invariant declares what it
needs (trace events, run data) and returns pass or fail with its reason,
plus metrics with units.

check() applies the declarations first, and never crashes on a trace that
lacks something.  Two outcomes come from them, kept apart:
  skip       the invariant does not apply to this run (no kill, no link delay, another after-step...);
  undecided  it applies, but the data to decide is missing: events off, a group not traced, a probe
             missing on this kernel (inlined), lost events where an absence must be shown, pfns unread.
"""
import dataclasses
import errno
import statistics

import numpy as np

from analysis.events import PAGE
from analysis.stats import p99
from lab import dmesg
from tracing import probes
from tracing.probes import KWAIT_WHY, VM_FAULT_RETRY, VM_FAULT_SIGBUS

VMA_NEW = ("vm_area_alloc", "vm_area_dup")  # every new vm_area_struct comes from one of these
VMA_EVENTS = probes.names(group="vma")
MAP_PATHS = ("fa_map_page", "move_pages", "mfill_atomic_copy")  # one placement each, per backend family
PLACEMENTS = MAP_PATHS + ("fa_map",)  # probes whose events place pages (a whole FA_IOC_MAP call among them)
OUTCOMES = ("pass", "fail", "skip", "undecided")
AFTER_KINDS = ("collapse", "ksm", "shared")  # workload.after steps (engine.run.AFTER; analysis reads no engine code)
# run data an invariant may declare, -> what it is; check() tests the conditional ones before judging
DATA = {
    "faults": "the engine's per-fault record (always there)",
    "maps": "/proc/pid/maps line counts before and after the fault phase (always there)",
    "dmesg": "the scenario's kernel log (always there)",
    "pfn": "pfns read before and after each placement (the runner reads them when an invariant declares pfn data)",
    "vma_series": "VMA counts sampled during the run",
    "kernel_steps": "the workload's kernel accesses (workload.kernel_steps)",
    "kill": "a source killed mid-run (source.kill_after_pages)",
    "link": "a link delay (source.delay_us)",
    "replay": "a replayed workload (workload.replay) and its recording",
    "tmp_thp": "2 MiB batches read into a THP buffer (area.tmp_thp) and the area's AnonHugePages right after",
} | {f"after:{k}": f"the after-migration step workload.after: {k}" for k in AFTER_KINDS}


@dataclasses.dataclass
class Verdict:
    invariant: str
    run: str
    status: str  # one of OUTCOMES
    reason: str
    metrics: dict  # name -> [value, unit]
    expect: str = "pass"

    @property
    def as_expected(self):
        """A skip or an undecided is no failure; a pass where a fail was predicted is."""
        return self.status in ("skip", "undecided") or self.status == self.expect


@dataclasses.dataclass(frozen=True)
class Invariant:
    name: str
    fn: object
    passes_when: str
    events: tuple = ()  # probes whose events it needs, all of them
    any_events: tuple = ()  # of these, at least one
    complete: bool = False  # it reads absence of events: a lossy trace cannot show it
    data: tuple = ()  # run data it needs: keys of DATA
    params: dict = dataclasses.field(default_factory=dict)  # name -> (default, unit, help)
    once: bool = False  # judged once per scenario, not per run

    def __post_init__(self):
        unknown = [n for n in self.events + self.any_events if n not in probes.PROBE_ID]
        bad = [t for t in self.data if t not in DATA]
        if unknown or bad:
            raise ValueError(f"invariant {self.name}: unknown probes {unknown} or data tags {bad} "
                             f"(data tags: {', '.join(DATA)})")


INVARIANTS = {}


def invariant(name, passes_when, **kw):
    def wrap(fn):
        INVARIANTS[name] = Invariant(name, fn, passes_when, **kw)
        return fn
    return wrap


def _undecided(inv, run):
    """Why the trace or the run lacks what inv needs to decide, or ''."""
    if inv.events or inv.any_events:
        if run.events is None:
            return "the scenario's tracing has events off"
        groups, missing = set(run.trace.get("groups", ())), run.trace.get("missing", {})
        for name in inv.events:
            group = probes.probe(name).group
            if group not in groups:
                return f"needs probe {name}: group {group!r} was not traced"
            if name in missing:
                return f"needs probe {name}, missing here: {missing[name]}"
        if inv.any_events and not any(probes.probe(n).group in groups and n not in missing
                                      for n in inv.any_events):
            return f"needs one of the probes {', '.join(inv.any_events)}; none was traced"
        lost = run.trace.get("lost_events", 0)
        if inv.complete and lost:
            return f"{lost} events were lost, so an absence proves nothing (raise tracing.ringbuf_pages)"
    if "pfn" in inv.data and not run.extra.get("record_pfn"):
        return "the runner did not read pfns (it does when an invariant declares pfn data)"
    if "vma_series" in inv.data and not run.vma_series:
        return "no VMA count was sampled"
    return ""


def _inapplicable(inv, run):
    """Why inv does not apply to run, or ''."""
    for need in inv.data:
        if need.startswith("after:") and run.config["workload"]["after"] != need[6:]:
            return f"needs workload.after: {need[6:]}"
        if need == "kernel_steps" and not run.result.get("kernel_steps"):
            return "needs workload.kernel_steps"
        if need == "kill" and not run.config["source"]["kill_after_pages"]:
            return "needs source.kill_after_pages"
        if need == "link" and not run.config["source"]["delay_us"]:
            return "needs a link delay (source.delay_us)"
        if need == "replay" and not run.config["workload"].get("replay"):
            return "needs a replayed workload (workload.replay)"
        if need == "tmp_thp" and not run.config["area"].get("tmp_thp"):
            return "needs 2 MiB batches from a THP buffer (area.tmp_thp)"
    return ""


def check(spec, run, label=None):
    """Apply one scenario invariant entry ({name, backends, expect, params}) to a run."""
    inv = INVARIANTS[spec["name"]]
    label = label or run.label
    for status, why in (("skip", _inapplicable(inv, run)), ("undecided", _undecided(inv, run))):
        if why:
            return Verdict(inv.name, label, status, why, {}, spec["expect"])
    status, reason, metrics = inv.fn(run, spec["params"])
    return Verdict(inv.name, label, status, reason, metrics, spec["expect"])


def check_all(specs, runs):
    """Every invariant of a scenario on every run it applies to, in order."""
    out = []
    for spec in specs:
        chosen = [r for r in runs if (not spec["backends"] or r.backend in spec["backends"]) and
                  (not spec.get("variants") or r.variant in spec["variants"])]
        if not chosen:
            out.append(Verdict(spec["name"], "-", "skip", "no run of the backends and variants it names", {},
                               spec["expect"]))
        elif INVARIANTS[spec["name"]].once:
            out.append(check(spec, chosen[-1], label="all runs"))
        else:
            out += [check(spec, r) for r in chosen]
    return out


def _verdict(ok, reason, metrics):
    return ("pass" if ok else "fail"), reason, metrics


def in_phase(run, events):
    """Mask: events of the workload's tgid while it places pages: the fault phase, and prefill's stream."""
    ts, r = events["ts_ns"], run.result
    inside = (ts >= r["t_start_ns"]) & (ts <= r["t_end_ns"])
    if r.get("prefill_t0_ns"):
        inside |= (ts >= r["prefill_t0_ns"]) & (ts <= r["prefill_t1_ns"])
    return inside & (events["tgid"] == run.tgid)


@invariant("no_vma_created", "no VMA event for the workload's tgid during the fault phase (and prefill), and "
           "/proc/pid/maps is identical before and after it", events=VMA_NEW, complete=True, data=("maps",))
def no_vma_created(run, params):
    evs = run.events
    made = evs.where(in_phase(run, evs) & evs.of(*VMA_EVENTS))
    r = run.result
    metrics = {"vma_events": [len(made), "events"], "vmas_before": [r["maps_lines_before"], "VMAs"],
               "vmas_after": [r["maps_lines_after"], "VMAs"]}
    if len(made):
        return "fail", (f"{len(made)} VMA events while placing pages, first {made.name(0)} on thread "
                        f"{made['tid'][0]}"), metrics
    if not r["maps_same"]:
        return "fail", (f"/proc/pid/maps changed: {r['maps_lines_before']} -> {r['maps_lines_after']} "
                        "lines"), metrics
    return "pass", f"no VMA event; maps identical ({r['maps_lines_before']} VMAs)", metrics


GUP_KINDS = {"odirect": "fast", "process_vm_readv": "remote", "pipe-read": "uaccess", "pipe-write": "uaccess"}


def _on_page(evs, probe, page):
    """Records (tracing roles) of one probe's events on the page."""
    return evs.where(evs.of(probe) & evs.touches(page)).records()


def _gup_before(evs, step, page):
    """Problems with the chain of one kernel access to a missing page, or []."""
    kind, bad = GUP_KINDS[step["kind"]], []
    faults = _on_page(evs, "handle_mm_fault", page)
    if len(faults) != 1:
        return [f"{len(faults)} handle_mm_fault calls on the page, not 1"]
    f = faults[0]
    if not f["return"] & VM_FAULT_SIGBUS:
        bad.append(f"handle_mm_fault returned {f['return']:#x}, not VM_FAULT_SIGBUS")
    if step["before_errno"] != "EFAULT":
        bad.append(f"the caller got {step['before_errno']} (ret {step['before_ret']}), not EFAULT")
    slow = _on_page(evs, "__get_user_pages", page)
    gup_fault = f["value"]  # handle_mm_fault's value: 1 when regs == NULL
    if kind == "uaccess":
        if gup_fault or slow:
            bad.append("a user copy went through gup")
        return bad
    if not gup_fault:
        bad.append("the fault did not come from gup (regs != NULL)")
    if len(slow) != 1:
        return bad + [f"{len(slow)} __get_user_pages calls on the page, not 1"]
    chain = [slow[0], f]
    if kind == "fast":
        fast = _on_page(evs, "gup_fast_fallback", page)
        if len(fast) != 1:
            return bad + [f"{len(fast)} gup_fast_fallback calls on the page, not 1"]
        if fast[0]["return"] >= fast[0]["pages"]:
            bad.append("gup_fast_fallback was not short")
        chain = [fast[0]] + chain
    entries, returns = [e["entry"] for e in chain], [e["ts_ns"] for e in chain]
    if entries != sorted(entries) or returns != sorted(returns, reverse=True):
        bad.append("out of order: " + " > ".join(e["probe"] for e in chain) + " do not nest")
    return bad


def _gup_after(evs, step, page):
    bad = []
    if step["after_errno"] != "0":
        bad.append(f"after the map the caller got {step['after_errno']}")
    if _on_page(evs, "handle_mm_fault", page):
        bad.append("a fault on the page after the map")
    if GUP_KINDS[step["kind"]] == "fast":
        slow, fast = _on_page(evs, "__get_user_pages", page), _on_page(evs, "gup_fast_fallback", page)
        if slow or not fast or fast[0]["return"] != fast[0]["pages"]:
            bad.append("gup_fast did not take the page alone after the map")
    return bad


@invariant("gup_fallback", "for every kernel-access step on a marker: gup_fast comes back short, the slow "
           "path runs, handle_mm_fault (regs NULL) on that address returns SIGBUS, the caller gets EFAULT, "
           "in that order on that thread (a user copy: the fault alone, no gup); after the map gup_fast "
           "takes the page with no slow path",
           events=("handle_mm_fault", "__get_user_pages", "gup_fast_fallback"), data=("kernel_steps",))
def gup_fallback(run, params):
    problems = []
    area, evs = run.result["area_start"], run.events
    for step in run.result["kernel_steps"]:
        page = area + step["page"] * PAGE
        for when, check_fn in (("before", _gup_before), ("after", _gup_after)):
            lo, hi = step[f"{when}_window"]
            window = evs.where((evs["ts_ns"] >= lo) & (evs["ts_ns"] <= hi) & (evs["tid"] == step[f"{when}_tid"]))
            problems += [f"{step['kind']} page {step['page']} {when}: {p}" for p in check_fn(window, step, page)]
    n = len(run.result["kernel_steps"])
    metrics = {"steps": [n, "kernel accesses"], "problems": [len(problems), "steps"]}
    return _verdict(not problems, "; ".join(problems[:3]) or f"{n} steps fell back and failed in order, "
                    "then took the page directly", metrics)


def _waited(evs, window, step, page):
    """Problems with the trace of one kernel access that waited for its page, or []: on the access's
    thread a fault on the page returns VM_FAULT_RETRY, the page is placed (on any thread) while it waits,
    then the retry takes the page: a fault that succeeds (a user copy), or gup taking it with no fault."""
    faults = _on_page(window, "handle_mm_fault", page)
    retry = [f for f in faults if f["return"] & VM_FAULT_RETRY]
    if not retry:
        return [f"none of its {len(faults)} faults on the page returned VM_FAULT_RETRY (a wait)"]
    r = retry[0]
    if not [p for p in evs.where(evs.of(*PLACEMENTS) & evs.touches(page)).records()
            if r["entry"] <= p["ts_ns"] <= r["ts_ns"]]:
        return ["the page was not placed while the fault waited"]
    later = [f for f in faults if f["entry"] > r["ts_ns"]]
    if any(f["return"] & VM_FAULT_SIGBUS for f in later):
        return ["a fault on the page failed after the wait"]
    took = [f for f in later if not f["return"] & VM_FAULT_RETRY] + \
        [g for g in _on_page(window, "__get_user_pages", page) if g["entry"] > r["ts_ns"] and g["return"] > 0]
    return [] if took else ["nothing took the page after the wait"]


@invariant("kernel_access_completes", "every kernel access to a page that has not arrived completes (all "
           "its bytes) while the page is missing, and the trace shows the wait: a fault on the page returns "
           "VM_FAULT_RETRY, the page is placed meanwhile, then the retry takes it (a fault that succeeds, or "
           "gup with no fault)", events=("handle_mm_fault", "__get_user_pages"), any_events=PLACEMENTS,
           data=("kernel_steps",))
def kernel_access_completes(run, params):
    problems, waits = [], []
    area, evs = run.result["area_start"], run.events
    for step in run.result["kernel_steps"]:
        page, (lo, hi) = area + step["page"] * PAGE, step["before_window"]
        name = f"{step['kind']} page {step['page']}"
        if step["before_ret"] != PAGE:
            problems.append(f"{name}: got {step['before_errno']} (ret {step['before_ret']}) while the page was "
                            "missing")
            continue
        waits.append(hi - lo)
        window = evs.where((evs["ts_ns"] >= lo) & (evs["ts_ns"] <= hi) & (evs["tid"] == step["before_tid"]))
        problems += [f"{name}: {p}" for p in _waited(evs, window, step, page)]
    n = len(run.result["kernel_steps"])
    metrics = {"steps": [n, "kernel accesses"], "completed": [len(waits), "kernel accesses"],
               "access_median_us": [round(statistics.median(waits) / 1000, 1) if waits else None, "us"]}
    metrics |= _kwait_metrics(evs)
    return _verdict(not problems, "; ".join(problems[:3]) or f"{n} accesses waited for their page and completed",
                    metrics)


def _kwait_metrics(evs):
    """fault_area.ko's waits (fa_kwait events): how many, how long, and what woke them."""
    kw = evs.where(evs.of("fa_kwait"))
    if not len(kw):
        return {}
    lat = [int(v) for v in kw["lat_ns"]]
    out = {"kwaits": [len(lat), "waits"], "kwait_median_us": [round(statistics.median(lat) / 1000, 1), "us"],
           "kwait_p99_us": [round(p99(lat) / 1000, 1), "us"]}
    for code, why in KWAIT_WHY.items():
        out[f"woken_by_{why}"] = [int((kw["return"] == code).sum()), "waits"]
    return out


def _inside(calls, evs):
    """Mask over evs: on the thread of one of calls, between its entry and return (one thread's
    calls never overlap, so the call that entered last before the event is the only candidate)."""
    out = np.zeros(len(evs), bool)
    for tid in np.unique(calls["tid"]):
        mine = calls.where(calls["tid"] == tid)
        order = np.argsort(mine.entry)
        entries, returns = mine.entry[order], mine["ts_ns"][order]
        sel = np.flatnonzero(evs["tid"] == tid)
        i = np.searchsorted(entries, evs["ts_ns"][sel], side="right") - 1
        ok = i >= 0
        ok[ok] = evs["ts_ns"][sel][ok] <= returns[i[ok]]
        out[sel] = ok
    return out


@invariant("zero_copy", "every move kept the source pfn, and no page was allocated in the map path",
           events=("vma_alloc_folio_noprof",), any_events=MAP_PATHS, complete=True, data=("pfn",))
def zero_copy(run, params):
    r, evs = run.result, run.events
    mine = evs["tgid"] == run.tgid
    calls = evs.where(mine & evs.of(*MAP_PATHS))
    allocs = evs.where(mine & evs.of("vma_alloc_folio_noprof"))
    inside = int(_inside(calls, allocs).sum())
    kept = r["pfn_kept"] / r["pfn_checked"] * 100 if r["pfn_checked"] else 0.0
    metrics = {"pfn_kept": [round(kept, 2), "%"], "pages_checked": [r["pfn_checked"], "pages"],
               "allocations_in_map_path": [inside, "pages"], "map_calls": [len(calls), "calls"]}
    if not r["pfn_checked"]:
        return "fail", "no placement had its pfn read", metrics
    if r["pfn_kept"] != r["pfn_checked"]:
        return "fail", f"{r['pfn_checked'] - r['pfn_kept']} of {r['pfn_checked']} pages changed pfn", metrics
    if inside:
        return "fail", f"{inside} pages allocated inside the map path", metrics
    return "pass", f"{r['pfn_checked']} pages kept their pfn; no allocation in {len(calls)} map calls", metrics


@invariant("one_fault_per_page", "no page faults twice, except a repeat that lost a placement race (EEXIST), "
           "plus max_repeats more", data=("faults",),
           params={"max_repeats": (0, "faults", "repeats allowed beyond the EEXIST races")})
def one_fault_per_page(run, params):
    r = run.result
    per_page = {}
    for a in r["fault_addr"]:
        per_page[a] = per_page.get(a, 0) + 1
    repeats = sum(n - 1 for n in per_page.values())
    worst = max(per_page.values(), default=0)
    metrics = {"pages_faulted": [len(per_page), "pages"], "faults": [len(r["fault_addr"]), "faults"],
               "repeats": [repeats, "faults"], "eexist_races": [r["eexist"], "places"],
               "max_per_page": [worst, "faults"]}
    allowed = r["eexist"] + params["max_repeats"]
    return _verdict(repeats <= allowed, f"{repeats} repeats, {allowed} allowed ({r['eexist']} EEXIST races "
                    f"+ {params['max_repeats']}); at most {worst} faults on one page", metrics)


@invariant("nothing_lost", "every page arrived and matches the source image", data=("faults",))
def nothing_lost(run, params):
    r = run.result
    metrics = {"pages": [r["pages"], "pages"], "placed": [r["pages_placed"], "pages"],
               "bad": [r["bad_pages"], "pages"], "missing": [r["missing_pages"], "pages"]}
    if r["bad_pages"]:
        return "fail", f"{r['bad_pages']} pages differ from the source, first {r['first_bad']}", metrics
    if r["missing_pages"]:
        return "fail", f"{r['missing_pages']} pages never arrived, first {r['first_missing']}", metrics
    if not r["ok"]:
        return "fail", f"the run failed: {r['error']}", metrics
    return "pass", f"all {r['pages']} pages match the source", metrics


@invariant("vma_limit", "VMAs grow with pages until vm.max_map_count stops the run; reports the pages reached",
           data=("vma_series",), params={"slack": (16, "VMAs", "how far below the limit the count may stop")})
def vma_limit(run, params):
    r, limit = run.result, run.extra.get("max_map_count", 0)
    series = run.vma_series
    metrics = {"pages_reached": [r["vma_limit_pages"], "pages"], "vmas_at_stop": [r["maps_lines_after"], "VMAs"],
               "max_map_count": [limit, "VMAs"]}
    if r["vma_limit_pages"] < 0:
        return "fail", f"the limit was never reached ({r['maps_lines_after']} VMAs at the end)", metrics
    if r["maps_lines_after"] < limit - params["slack"]:
        return "fail", f"stopped at {r['maps_lines_after']} VMAs, below vm.max_map_count {limit}", metrics
    if series[-1][2] <= series[0][2]:
        return "fail", "the VMA count did not grow with the pages placed", metrics
    return "pass", (f"VMAs grew from {series[0][2]} to {r['maps_lines_after']} (vm.max_map_count {limit}); "
                    f"mprotect failed with ENOMEM after {r['vma_limit_pages']} pages"), metrics


@invariant("dmesg_clean", "the kernel log of the scenario has no BUG, WARNING, Oops, Bad rss-counter or "
           "Bad page", data=("dmesg",), once=True)
def dmesg_clean(run, params):
    bad = dmesg.problems(run.dmesg)
    return _verdict(not bad, bad[0].strip() if bad else "no bad line", {"bad_lines": [len(bad), "lines"]})


@invariant("fails_fast", "a killed source makes the run fail within max_seconds, naming the missing pages",
           data=("kill",), params={"max_seconds": (10.0, "s", "from the kill to the end of the run")})
def fails_fast(run, params):
    r, took = run.result, run.extra.get("kill_to_end_s")
    metrics = {"kill_to_end": [took, "s"], "missing": [r["missing_pages"], "pages"]}
    if took is None:
        return "fail", "the source was never killed (the run ended first)", metrics
    if r["ok"]:
        return "fail", "the run succeeded although its source was killed", metrics
    if not r["missing_pages"] or not r["first_missing"]:
        return "fail", "the failed run did not name its missing pages", metrics
    return _verdict(took <= params["max_seconds"], f"failed {took:.2f} s after the kill: {r['error']}; "
                    f"{r['missing_pages']} pages missing, first {r['first_missing'][:4]}", metrics)


@invariant("latency_floor", "the median fault takes at least one link round trip (2 x delay_us)",
           data=("link", "faults"))
def latency_floor(run, params):
    r = run.result
    rtt_us = 2 * run.config["source"]["delay_us"]
    med = statistics.median(r["resolve_ns"]) / 1000 if r["resolve_ns"] else 0.0
    metrics = {"resolve_median": [round(med, 1), "us"], "link_rtt": [rtt_us, "us"]}
    return _verdict(med >= rtt_us, f"median resolve {med:.0f} us against a round trip of {rtt_us} us", metrics)


@invariant("thp_collapse", "after FA_IOC_RELEASE, MADV_COLLAPSE makes AnonHugePages cover the area (a "
           "regular anonymous VMA again) and every page keeps its content", data=("after:collapse",),
           params={"coverage": (1.0, "fraction", "share of the huge-page-aligned area that must be huge")})
def thp_collapse(run, params):
    a = run.result["after"]
    metrics = {"huge_before": [a["huge_kb_before"], "kB"], "huge_after": [a["huge_kb_after"], "kB"],
               "huge_possible": [a["huge_kb_possible"], "kB"]}
    if a["release_errno"] or a["collapse_errno"]:
        return "fail", (f"release: {errno.errorcode.get(a['release_errno'], 'ok')}, collapse: "
                        f"{errno.errorcode.get(a['collapse_errno'], 'ok')}"), metrics
    if a["pages_right"] != run.result["pages"]:
        return "fail", f"page {a['pages_right']} changed in the collapse", metrics
    want = params["coverage"] * a["huge_kb_possible"]
    return _verdict(a["huge_kb_after"] >= want > 0, f"AnonHugePages {a['huge_kb_before']} -> "
                    f"{a['huge_kb_after']} kB of {a['huge_kb_possible']} kB possible", metrics)


@invariant("thp_kept", "right after the stream placed them, AnonHugePages of the area covers every 2 MiB batch "
           "that was read into a THP, and those huge pages are the ones read into (every pfn kept, so no collapse "
           "copied them) or khugepaged collapsed nothing meanwhile", data=("tmp_thp", "pfn"))
def thp_kept(run, params):
    r = run.result
    want = r["huge_batches"] * 2048
    moved = r["pfn_checked"] == r["pfn_kept"] == r["pages"]
    metrics = {"huge_kb": [r["huge_kb_placed"], "kB"], "huge_kb_wanted": [want, "kB"],
               "huge_batches": [r["huge_batches"], "batches"], "batches_possible": [r["pages"] // 512, "batches"],
               "pfn_kept": [r["pfn_kept"], "pages"], "khugepaged_collapsed": [r["khugepaged_collapsed"], "pages"]}
    if not r["huge_batches"]:
        return "undecided", "no 2 MiB batch was read into a THP (THP off, or no free 2 MiB)", metrics
    said = f"AnonHugePages {r['huge_kb_placed']} kB right after placement, {want} kB from {r['huge_batches']} THP " \
           "batches"
    if r["huge_kb_placed"] < want:  # khugepaged only adds huge pages
        return "fail", said, metrics
    if moved:
        return "pass", f"{said}; every page kept its pfn", metrics
    if r["khugepaged_collapsed"]:
        return "undecided", (f"{said}, but khugepaged collapsed {r['khugepaged_collapsed']} pages meanwhile "
                             "(-1: unread) and the pfns changed: the huge pages may be its"), metrics
    return "pass", f"{said}; khugepaged collapsed nothing", metrics


@invariant("ksm_refused", "KSM merges the duplicate pages, FA_IOC_MAP from a merged page gets EBUSY, and "
           "FA_MAP_COPY of it works", data=("after:ksm",))
def ksm_refused(run, params):
    a = run.result["after"]
    metrics = {"identical": [a["pages_identical"], "pages"], "merged": [a["pages_merged"], "pages"],
               "waited": [a["waited_ms"], "ms"]}
    move, copy = errno.errorcode.get(a["move_errno"], "0"), errno.errorcode.get(a["copy_errno"], "0")
    ok = a["pages_merged"] >= 2 and a["move_errno"] == errno.EBUSY and not a["copy_errno"] and a["copy_right"]
    return _verdict(ok, f"{a['pages_merged']} of {a['pages_identical']} pages merged; move: {move}, copy: "
                    f"{copy}{'' if a['copy_right'] else ' (wrong content)'}", metrics)


@invariant("shared_refused", "a page shared with a forked child: the move gets EBUSY, FA_MAP_COPY works",
           data=("after:shared",))
def shared_refused(run, params):
    a = run.result["after"]
    move, copy = errno.errorcode.get(a["move_errno"], "0"), errno.errorcode.get(a["copy_errno"], "0")
    ok = a["move_errno"] == errno.EBUSY and not a["copy_errno"] and a["copy_right"]
    return _verdict(ok, f"move: {move}, copy: {copy}{'' if a['copy_right'] else ' (wrong content)'}", {})


def replay_orders(result):
    """A replay's accesses per vCPU thread, as area pages in order (the engine logs every one)."""
    out = {}
    for addr, tid in zip(result["touch_addr"], result["touch_tid"]):
        out.setdefault(tid, []).append((addr - result["area_start"]) // PAGE)
    return list(out.values())


@invariant("replay_faithful", "each vCPU thread made its recorded first touches in the recorded order (the "
           "engine's log of every access), and the replay's compute time is within tolerance of the recording's",
           data=("replay",), params={"tolerance": (0.1, "fraction", "of the recording's compute time")})
def replay_faithful(run, params):
    from workloads import fawl

    r, want = run.result, run.result["replay"]
    try:
        path = fawl.find(want["name"])
        wl = fawl.load(path) if fawl.digest(path) == want["sha256"] else None
    except fawl.WorkloadError as e:
        return "undecided", f"the recording is not here to compare with: {e}", {}
    if wl is None:
        return "undecided", f"{path} changed since the run (sha256 differs): it was recorded again", {}
    got, compute = replay_orders(r), r["replay_compute_ns"]
    metrics = {"compute_recorded": [round(want["compute_ns"] / 1e9, 3), "s"],
               "compute_replayed": [round(compute / 1e9, 3), "s"], "touches": [sum(map(len, got)), "pages"]}
    recorded = {seq[0][0]: [p for p, _, _ in seq] for seq in wl.per_thread() if seq}
    bad = [seq[:1] for seq in got if recorded.get(seq[0]) != seq]
    if len(got) != len(recorded) or bad:
        return "fail", (f"{len(got)} threads replayed {len(recorded)} recorded; "
                        f"{len(bad)} of them out of their recorded order"), metrics
    off = abs(compute - want["compute_ns"]) / want["compute_ns"] if want["compute_ns"] else 0.0
    metrics["compute_off"] = [round(off, 4), "fraction"]
    return _verdict(off <= params["tolerance"], f"{len(got)} threads in their recorded order; compute "
                    f"{compute / 1e9:.3f} s against {want['compute_ns'] / 1e9:.3f} s recorded ({off:.1%} off)", metrics)
