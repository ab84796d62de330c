"""In-process tracing API: compile one BPF program, attach every probe the
run needs, run the workload, stop, and hand back events and a summary.

    with Tracer(groups=("fault", "kmod"), pids=[os.getpid()]) as t:
        workload()
    trace = t.trace          # .events (dicts, in emit order), .summary (dict)

start() returns only once every probe is attached.  A stream reader (the
fatrace CLI) passes on_event=fn: each event goes to fn from the thread that
drains the ring buffer (tracing/ring.py, every CONSUME_S) and is not kept,
so memory stays bounded.  A session that traces many runs compiles once and
attaches per run (the scenario session does):

    t = Tracer(filter_tgid=True).compile()
    t.attach(groups=("vma",), events=True, work=True); t.add_pid(pid); ...; trace = t.detach()
    t.close()

bcc attaches the program's kfunc__ (fentry/fexit) programs as it loads
them; compile() detaches them at once, so that nothing is attached between
rounds.  work=True attaches the work counters too (tracing/work.py): the
Trace's summary then has "work", per traced tgid.
"""
import ctypes
import dataclasses
import mmap
import threading

from tracing import probes
from tracing import work as counters
from tracing.bpf_text import BPF_TEXT
from tracing.ring import Ring

TLB_SKIP = ("flush_tlb", "ptep_clear_flush", "tlb_", "__flush", "native_flush", "bpf_")
CONSUME_S = 0.05  # the ring buffer is drained this often (RINGBUF_PAGES must hold what comes meanwhile)
FORK_TRACEPOINT, FOLLOWED = "sched_process_fork", 2  # a forked process joins the traced ones (targets value 2)


@dataclasses.dataclass
class Trace:
    events: list
    summary: dict


class Tracer:
    """One BPF compile, then one or more attach/detach rounds on it.

    start()/stop() (or `with`) do a single round.  A session that runs many
    workloads calls compile() once, then attach(groups)/detach() per run:
    each detach() returns the Trace of its round alone.
    """

    def __init__(self, groups=probes.GROUPS, pids=(), addr_range=None, events=True, ringbuf_pages=512,
                 filter_tgid=None, on_event=None):
        """filter_tgid: keep only tgids given by pids or add_pid() (default: when pids are given).
        on_event: called with each event dict (in the poll thread) instead of keeping it."""
        self._check_groups(groups)
        if addr_range and not addr_range[0] < addr_range[1]:
            raise ValueError(f"address range {addr_range} is empty")
        self.pids, self.addr_range = list(pids), addr_range
        self.filter_tgid = bool(pids) if filter_tgid is None else filter_tgid
        self.events_on, self.ringbuf_pages, self.on_event = events, ringbuf_pages, on_event
        self._resolve(groups)
        self.bpf = None
        self.trace = None
        self.work_on = False
        self._attached = []  # (kind, name) to detach
        self._raw_tracepoints = set()  # attached until close()
        self._events, self._tlb = [], {}  # this round's kept events; TLB flush callers -> count
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the poll thread and detach() read the ring buffer in turn
        self._poller = None

    @staticmethod
    def _check_groups(groups):
        unknown = set(groups) - set(probes.GROUPS)
        if unknown:
            raise ValueError(f"unknown probe group(s) {sorted(unknown)}: use {', '.join(probes.GROUPS)}")

    def _resolve(self, groups):
        """Which probes of groups this kernel has (enabled), and why the others are missing."""
        self.groups = tuple(groups)
        self.resolved = probes.resolve(self.groups)
        self.enabled = [p for p, why in self.resolved if not why]
        self.missing = {p.name: why for p, why in self.resolved if why}

    def text_and_cflags(self):
        """The program and its flags: fentry/fexit programs only for the functions this kernel has."""
        btf = probes.btf_funcs()
        have = {p.name: btf[p.name] for p, why in probes.resolve() if not why and p.kind in ("fentry", "fexit")}
        return BPF_TEXT, probes.cflags(self.filter_tgid, self.addr_range, self.ringbuf_pages, have)

    def compile(self):
        """Build and load the program; no probe is attached yet."""
        from bcc import BPF

        text, cflags = self.text_and_cflags()
        self.bpf = BPF(text=text.encode(), cflags=cflags)
        for name in list(self.bpf.kfunc_entry_fds):  # bcc attached them at load
            self.bpf.detach_kfunc(name)
        for name in list(self.bpf.kfunc_exit_fds):
            self.bpf.detach_kretfunc(name)
        for pid in self.pids:
            self.add_pid(pid)
        from bcc.table import _get_event_class

        self._event = _get_event_class(self.bpf[b"events"])
        self._ring = Ring(self.bpf[b"events"].map_fd, self.ringbuf_pages * mmap.PAGESIZE,
                          ctypes.sizeof(self._event))
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()
        return self

    def attach(self, groups=None, events=None, work=False):
        """Attach the probes of groups (resolved now: a module may have been
        loaded since), with events on or off, the work counters when work is
        set, and zero every counter."""
        if groups is not None:
            self._check_groups(groups)
            self._resolve(groups)
        if events is not None:
            self.events_on = events
        self.work_on = work
        self.clear_counts()
        for name in (b"entries", b"stamps", b"work", b"placing"):
            self.bpf[name].clear()
        with self._lock:
            self._events, self._tlb = [], {}
        self._set_config(CFG_SIGNAL=any(p.tracepoint for p in self.enabled), CFG_EVENTS=self.events_on,
                         CFG_WORK=work)
        if self.filter_tgid:
            self._forget_children()
        # Raw tracepoints stay attached until close(), switched by config: attaching one flips a
        # static key, a live patch of hot code (sched_switch's is in __schedule), and under TCG a
        # patch per round once ended in "Oops: int3" in __schedule.
        tracepoints = set(counters.TRACEPOINTS if work else ()) | {p.name for p in self.enabled if p.tracepoint}
        tracepoints |= {FORK_TRACEPOINT} if self.filter_tgid else set()
        for tp in tracepoints - self._raw_tracepoints:
            self.bpf.attach_raw_tracepoint(tp=tp.encode(), fn_name=f"tp_{tp}".encode())
            self._raw_tracepoints.add(tp)
        # The module's tracepoints attach per round: their code runs only inside a workload's calls.
        for p in self.enabled:
            if p.kind == "tracepoints":
                for half, prog in (("enter", "ent"), ("exit", "ret")):
                    tp = f"{p.name}_{half}"
                    self.bpf.attach_raw_tracepoint(tp=tp.encode(), fn_name=f"{prog}_{p.name}".encode())
                    self._attached.append(("raw_tracepoint", tp))
            elif p.kind in ("fentry", "fexit"):
                self.bpf.attach_kfunc(fn_name=p.name.encode())
                self._attached.append(("kfunc", p.name))
                if p.kind == "fexit":
                    self.bpf.attach_kretfunc(fn_name=p.name.encode())
                    self._attached.append(("kretfunc", p.name))
        return self

    def _set_config(self, **switches):
        config = self.bpf[b"config"]
        for name, on in switches.items():
            config[ctypes.c_int(getattr(probes, name))] = ctypes.c_uint64(int(on))

    def _detach_one(self, kind, name):
        if kind == "raw_tracepoint":
            self.bpf.detach_raw_tracepoint(tp=name.encode())
        elif kind == "kfunc":
            self.bpf.detach_kfunc(fn_name=name.encode())
        else:
            self.bpf.detach_kretfunc(fn_name=name.encode())

    def start(self):
        return self.compile().attach()

    def _forget_children(self):
        targets = self.bpf[b"targets"]
        for k, v in list(targets.items()):
            if v.value == FOLLOWED:
                del targets[k]

    def add_pid(self, pid):
        """Trace this tgid too, and the processes it forks from now on; needs filter_tgid."""
        self.bpf[b"targets"][ctypes.c_uint32(pid)] = ctypes.c_uint8(1)

    def clear_counts(self):
        """Zero the counts, latency histograms and lost events (an interval's end, as bcc tools do);
        only the histogram rows of probes that counted (each slot is one syscall: slow under TCG)."""
        hist = self.bpf[b"hist"]
        for name in self.histograms():
            for s in range(probes.PROBE_ID[name] * 64, probes.PROBE_ID[name] * 64 + 64):
                hist.clearitem(ctypes.c_int(s))
        for name in (b"counts", b"lost"):
            self.bpf[name].clear()

    def _drain(self):
        """Read the ring buffer (under self._lock): keep the chunk raw, or stream its events to on_event.
        Kept events stay raw bytes until detach(): decoding each one now would take the workload's CPU."""
        chunk = self._ring.read()
        if not chunk:
            return
        if self.on_event is None:
            self._events.append(chunk)
            return
        for ev in self._decode(chunk):
            if ev["probe"] == "flush_tlb_mm_range":
                self._name_caller(ev)
            self.on_event(ev)

    def _decode(self, chunk):
        """The events of a raw chunk, as dicts."""
        return [probes.event_dict(self._event.from_buffer_copy(r)) for r in self._ring.records(chunk)]

    def _name_caller(self, ev):
        ev["caller"] = self._ksym(ev["caller"])
        self._tlb[ev["caller"]] = self._tlb.get(ev["caller"], 0) + 1

    def _poll(self):
        # Events are submitted without a wake-up (BPF_RB_NO_WAKEUP: one per event costs the workload
        # an irq_work and a switch), so this drains the buffer on a clock instead.
        while not self._stop.wait(CONSUME_S):
            with self._lock:
                self._drain()

    def _ksym(self, stack_id):
        """A flush's caller: the traced operation it came from (stack_id -2 - its probe id, see
        flush_caller in bpf_text), else the first kernel function above the flush itself."""
        if stack_id <= -2:
            return probes.PROBES[-2 - stack_id].name
        if stack_id < 0:
            return "?"
        for addr in self.bpf[b"stacks"][ctypes.c_int(stack_id)].ip:  # TLB_STACK_DEPTH frames, 0 after the last
            if not addr:
                break
            name = self.bpf.ksym(addr).decode(errors="replace")
            if not name.startswith(TLB_SKIP):
                return name
        return "?"

    def counts(self):
        c = self.bpf[b"counts"]
        got = {p.name: c.sum(ctypes.c_int(i)).value for i, p in enumerate(probes.PROBES)}
        return {name: n for name, n in got.items() if n}

    def lost(self):
        return self.bpf[b"lost"].sum(ctypes.c_int(0)).value

    def histograms(self, counts=None):
        """{probe: {log2 slot: calls}} of the probes with a return half that counted calls."""
        counts = self.counts() if counts is None else counts
        hist, hists = self.bpf[b"hist"], {}
        for name in counts:
            if probes.probe(name).ret:
                base = probes.PROBE_ID[name] * 64
                slots = {s: hist.sum(ctypes.c_int(base + s)).value for s in range(64)}
                hists[name] = {s: n for s, n in slots.items() if n}
        return hists

    def work(self):
        """The work counters, per traced tgid (tracing.work.decode)."""
        return counters.decode((k.tgid, k.kind, k.sub, sum(v)) for k, v in self.bpf[b"work"].items())

    def detach(self):
        """Detach every probe, drain the ring buffer, and return this round's Trace."""
        for kind, name in reversed(self._attached):
            self._detach_one(kind, name)
        self._attached = []
        self._set_config(CFG_SIGNAL=False, CFG_EVENTS=False, CFG_WORK=False)
        with self._lock:
            self._drain()
            raw, self._events = self._events, []
        events = [ev for chunk in raw for ev in self._decode(chunk)]
        counts, lost = self.counts(), self.lost()
        hists = self.histograms(counts)
        for ev in events:  # a streamed event (on_event) was named as it went out, and is not kept
            if ev["probe"] == "flush_tlb_mm_range":
                self._name_caller(ev)
        tlb, self._tlb = self._tlb, {}
        summary = {"version": probes.SCHEMA_VERSION, "groups": list(self.groups), "pids": self.pids,
                   "events_on": self.events_on, "lost_events": lost, "counts": counts,
                   "hist_log2_ns": hists, "missing": self.missing, "tlb_callers": tlb}
        if self.work_on:
            summary["work"] = {str(tgid): w for tgid, w in self.work().items()}
        self.bpf[b"stacks"].clear()
        self.trace = Trace(events=events, summary=summary)
        return self.trace

    def close(self):
        self._stop.set()
        if self._poller:
            self._poller.join(5)
            self._ring.close()
        self.bpf.cleanup()

    def stop(self):
        """detach() then close(): the end of a single-round trace; returns its Trace."""
        trace = self.detach()
        self.close()
        return trace

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.trace is None and self.bpf is not None:
            self.stop()

