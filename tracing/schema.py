"""python -m tracing.schema: print tracing/SCHEMA.md from the probe catalog
(tests/host/test_tracing_unit.py checks the file is current)."""
from tracing import probes

COMMON = (("ts_ns", "ns", "CLOCK_MONOTONIC (bpf_ktime_get_ns) when the event was emitted: the return, for probes with one"),
          ("cpu", "", "CPU that emitted it"), ("tgid", "", "process id"), ("tid", "", "thread id"),
          ("comm", "", "task name, 15 chars at most"), ("probe", "", "probe name, a key of the table below"))


def render():
    out = [f"# Trace event schema `{probes.SCHEMA_VERSION}`", "",
           "`tracing.Tracer` and `fatrace -j` emit one JSON object per line. The version changes whenever",
           "a field is renamed or its meaning changes; fields are only added within a version.", "",
           "## Fields of every event", "", "| field | unit | meaning |", "|---|---|---|"]
    out += [f"| `{n}` | {u} | {m} |" for n, u, m in COMMON]
    out += ["", "Probes with a return half also carry `lat_ns` (ns from entry to return). An fexit half reads",
            "the arguments with the return value; a module operation's _exit tracepoint gets those its",
            "_enter tracepoint kept per thread. A probe without a return half emits at entry.", "",
            "## Field roles", "",
            "Each field has one role; readers (fatrace, page-story, the invariants) find a field by its role.", "",
            "| role | meaning |", "|---|---|"]
    out += [f"| `{r}` | {m} |" for r, m in probes.ROLES.items()]
    out += ["", "## Fields per probe", "", "| probe | group | attaches to | field | role | meaning |",
            "|---|---|---|---|---|---|"]
    for p in probes.PROBES:
        where = "raw tracepoints " + " + ".join(f"`{tp}`" for tp in p.tracepoints) if p.tracepoints else \
            p.attach.replace("+", " + ")
        for i, f in enumerate(p.fields):
            out.append(f"| {'`' + p.name + '`' if i == 0 else ''} | {p.group if i == 0 else ''} | "
                       f"{where if i == 0 else ''} | `{f.name}` | {f.role} | {f.meaning} |")
    out += ["", "## Summary (`Trace.summary`, `summary.json`)", "",
            "| key | meaning |", "|---|---|",
            "| `version` | this schema's version |", "| `counts` | calls per probe that passed the filters |",
            "| `hist_log2_ns` | per probe, log2 slot of the latency in ns -> count (slot s holds 2^(s-1) .. 2^s - 1 ns) |",
            "| `lost_events` | events dropped because the ring buffer was full; non-zero means the event list is incomplete |",
            "| `missing` | probes that did not resolve on this kernel, with the reason |",
            "| `tlb_callers` | flush_tlb_mm_range calls by caller (the `caller` field of its events) |",
            "| `groups`, `pids`, `events_on` | how the trace was taken |",
            "| `work` | when the work counters were on: per traced tgid, syscalls by name, ioctls by cmd, signals "
            "generated and delivered by name, context switches (voluntary, preempted), TLB flushes by reason, pages "
            "allocated, freed and allocated inside a placement ioctl, bytes placement ioctls copied and moved "
            "(tracing/work.py) |", ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
