"""In-process tracing API: compile one BPF program, attach every probe the
run needs, run the workload, stop, and hand back events and a summary.

    with Tracer(groups=("fault", "kmod"), pids=[os.getpid()]) as t:
        workload()
    trace = t.trace          # .events (dicts, in emit order), .summary (dict)

start() returns only once every probe is attached.  A stream reader (the
fatrace CLI) passes on_event=fn: each event goes to fn from the ring-buffer
callback and is not kept, so memory stays bounded.  A session that traces
many runs compiles once and attaches per run (the scenario session does):

    t = Tracer(filter_tgid=True).compile()
    t.attach(groups=("vma",), events=True); t.add_pid(pid); ...; trace = t.detach()
    t.close()
"""
import dataclasses
import threading

from tracing import probes
from tracing.bpf_text import BPF_TEXT

TLB_SKIP = ("flush_tlb", "ptep_clear_flush", "tlb_", "__flush", "native_flush")
KRETPROBE_MAXACTIVE = 256  # many concurrent faults under 2 CPUs


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
        self._attached = []
        self._events, self._tlb = [], {}  # this round's kept events; TLB flush callers -> count
        self._stop = threading.Event()
        self._lock = threading.Lock()  # libbpf's poll and consume are not to run at once
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
        return BPF_TEXT, probes.cflags(self.filter_tgid, self.addr_range, self.ringbuf_pages)

    def compile(self):
        """Build and load the program; no probe is attached yet."""
        from bcc import BPF

        text, cflags = self.text_and_cflags()
        self.bpf = BPF(text=text.encode(), cflags=cflags)
        for pid in self.pids:
            self.add_pid(pid)
        self.bpf[b"events"].open_ring_buffer(self._on_event)
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()
        return self

    def attach(self, groups=None, events=None):
        """Attach the probes of groups (resolved now: a module may have been
        loaded since), with events on or off, and zero every counter."""
        import ctypes

        if groups is not None:
            self._check_groups(groups)
            self._resolve(groups)
        if events is not None:
            self.events_on = events
        self.clear_counts()
        self.bpf[b"entries"].clear()
        with self._lock:
            self._events, self._tlb = [], {}
        for p in self.enabled:
            if p.tracepoint:
                continue  # switched on below
            self.bpf.attach_kprobe(event=p.name.encode(), fn_name=f"ent_{p.name}".encode())
            self._attached.append((p.name, False))
            if p.ret:
                self.bpf.attach_kretprobe(event=p.name.encode(), fn_name=f"ret_{p.name}".encode(),
                                          maxactive=KRETPROBE_MAXACTIVE)
                self._attached.append((p.name, True))
        config = self.bpf[b"config"]
        config[ctypes.c_int(probes.CFG_SIGNAL)] = ctypes.c_uint64(
            int(any(p.tracepoint for p in self.enabled)))
        config[ctypes.c_int(probes.CFG_EVENTS)] = ctypes.c_uint64(int(self.events_on))
        return self

    def start(self):
        return self.compile().attach()

    def add_pid(self, pid):
        """Trace this tgid (and its children) too; needs filter_tgid."""
        import ctypes

        self.bpf[b"targets"][ctypes.c_uint32(pid)] = ctypes.c_uint8(1)

    def clear_counts(self):
        """Zero the counts, latency histograms and lost events (an interval's end, as bcc tools do)."""
        for name in (b"counts", b"hist", b"lost"):
            self.bpf[name].clear()

    def _on_event(self, ctx, data, size):
        # data lives only during the callback: copy it out now (runs under self._lock, in ring_buffer_poll)
        ev = probes.event_dict(self.bpf[b"events"].event(data))
        if self.on_event is None:
            self._events.append(ev)
            return
        if ev["probe"] == "flush_tlb_mm_range":
            self._name_caller(ev)
        self.on_event(ev)

    def _name_caller(self, ev):
        ev["caller"] = self._ksym(ev["caller"])
        self._tlb[ev["caller"]] = self._tlb.get(ev["caller"], 0) + 1

    def _poll(self):
        while not self._stop.is_set():
            with self._lock:
                self.bpf.ring_buffer_poll(100)

    def _ksym(self, stack_id):
        """The first kernel function above the flush itself, for a stack id."""
        if stack_id < 0:
            return "?"
        for addr in self.bpf[b"stacks"].walk(stack_id):
            name = self.bpf.ksym(addr).decode(errors="replace")
            if not name.startswith(TLB_SKIP):
                return name
        return "?"

    def counts(self):
        c = self.bpf[b"counts"]
        return {p.name: c[i].value for i, p in enumerate(probes.PROBES) if c[i].value}

    def lost(self):
        return self.bpf[b"lost"][0].value

    def histograms(self):
        hists = {}
        for k, v in self.bpf[b"hist"].items():
            h = hists.setdefault(probes.PROBES[k.probe].name, {})
            h[int(k.slot)] = h.get(int(k.slot), 0) + v.value
        return hists

    def detach(self):
        """Detach every probe, drain the ring buffer, and return this round's Trace."""
        import ctypes

        for name, ret in reversed(self._attached):
            if ret:
                self.bpf.detach_kretprobe(event=name.encode(), fn_name=f"ret_{name}".encode())
            else:
                self.bpf.detach_kprobe(event=name.encode(), fn_name=f"ent_{name}".encode())
        self._attached = []
        config = self.bpf[b"config"]
        for slot in (probes.CFG_SIGNAL, probes.CFG_EVENTS):
            config[ctypes.c_int(slot)] = ctypes.c_uint64(0)
        with self._lock:
            self.bpf.ring_buffer_consume()
            events, self._events = self._events, []
        counts, hists, lost = self.counts(), self.histograms(), self.lost()
        for ev in events:  # a streamed event (on_event) was named in the callback and is not kept
            if ev["probe"] == "flush_tlb_mm_range":
                self._name_caller(ev)
        tlb, self._tlb = self._tlb, {}
        summary = {"version": probes.SCHEMA_VERSION, "groups": list(self.groups), "pids": self.pids,
                   "events_on": self.events_on, "lost_events": lost, "counts": counts,
                   "hist_log2_ns": hists, "missing": self.missing, "tlb_callers": tlb}
        self.bpf[b"stacks"].clear()
        self.trace = Trace(events=events, summary=summary)
        return self.trace

    def close(self):
        self._stop.set()
        if self._poller:
            self._poller.join(5)
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

