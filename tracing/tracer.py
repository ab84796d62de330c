"""In-process tracing API: compile one BPF program, attach every probe the
run needs, run the workload, stop, and hand back events and a summary.

    with Tracer(groups=("fault", "kmod"), pids=[os.getpid()]) as t:
        workload()
    trace = t.trace          # .events (dicts), .summary (dict)

start() returns only once every probe is attached.
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
    def __init__(self, groups=probes.GROUPS, pids=(), addr_range=None, events=True, ringbuf_pages=512):
        unknown = set(groups) - set(probes.GROUPS)
        if unknown:
            raise ValueError(f"unknown probe group(s) {sorted(unknown)}: use {', '.join(probes.GROUPS)}")
        if addr_range and not addr_range[0] < addr_range[1]:
            raise ValueError(f"address range {addr_range} is empty")
        self.groups, self.pids, self.addr_range = tuple(groups), list(pids), addr_range
        self.events_on, self.ringbuf_pages = events, ringbuf_pages
        self.resolved = probes.resolve(self.groups)
        self.enabled = [p for p, why in self.resolved if not why]
        self.missing = {p.name: why for p, why in self.resolved if why}
        self.bpf = None
        self.trace = None
        self._events = []
        self._stop = threading.Event()
        self._poller = None

    def text_and_cflags(self):
        names = {p.name for p in self.enabled}
        return BPF_TEXT, probes.cflags(names, bool(self.pids), self.addr_range, self.events_on,
                                       self.ringbuf_pages)

    def start(self):
        from bcc import BPF

        text, cflags = self.text_and_cflags()
        self.bpf = BPF(text=text.encode(), cflags=cflags)
        for pid in self.pids:
            self.add_pid(pid)
        for p in self.enabled:
            if p.tracepoint:
                continue  # TRACEPOINT_PROBE attaches itself
            self.bpf.attach_kprobe(event=p.name.encode(), fn_name=f"ent_{p.name}".encode())
            if p.ret:
                self.bpf.attach_kretprobe(event=p.name.encode(), fn_name=f"ret_{p.name}".encode(),
                                          maxactive=KRETPROBE_MAXACTIVE)
        if self.events_on:
            self.bpf[b"events"].open_ring_buffer(self._on_event)
            self._poller = threading.Thread(target=self._poll, daemon=True)
            self._poller.start()
        return self

    def add_pid(self, pid):
        """Trace this tgid (and its children) too; needs the tracer built with pids."""
        import ctypes

        self.bpf[b"targets"][ctypes.c_uint32(pid)] = ctypes.c_uint8(1)

    def _on_event(self, ctx, data, size):
        # data lives only during the callback: copy it out now
        self._events.append(probes.event_dict(self.bpf[b"events"].event(data)))

    def _poll(self):
        while not self._stop.is_set():
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

    def stop(self):
        """Detach, drain the ring buffer, and build self.trace."""
        self._stop.set()
        if self._poller:
            self._poller.join(5)
            self.bpf.ring_buffer_consume()
        counts, hists, lost = self.counts(), self.histograms(), self.lost()
        events, tlb = self._events, {}
        for ev in events:
            if ev["probe"] == "flush_tlb_mm_range":
                ev["caller"] = self._ksym(ev["caller"])
                tlb[ev["caller"]] = tlb.get(ev["caller"], 0) + 1
        summary = {"version": probes.SCHEMA_VERSION, "groups": list(self.groups), "pids": self.pids,
                   "events_on": self.events_on, "lost_events": lost, "counts": counts,
                   "hist_log2_ns": hists, "missing": self.missing, "tlb_callers": tlb}
        self.bpf.cleanup()
        self.trace = Trace(events=events, summary=summary)
        return self.trace

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.trace is None and self.bpf is not None:
            self.stop()


def trace_call(fn, *args, **tracer_opts):
    """Run fn(*args) under a Tracer; return (fn's result, Trace)."""
    with Tracer(**tracer_opts) as t:
        result = fn(*args)
    return result, t.trace
