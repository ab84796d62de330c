"""Counted kernel work per fault: a run's work counters (tracing/work.py,
counted in the kernel for the workload's tgid) as figures per fault.

Unlike times, these counts are the same under TCG, KVM and on bare metal,
so reports put them first.  They cover the traced process from the moment
it is traced to its end (the session: from the worker's "go" to its exit;
a bench: the engine run), so the area's setup and teardown are in them:
the pages an area's teardown frees count as freed.

    TLB flushes      local flushes (TLB_LOCAL_SHOOTDOWN, TLB_LOCAL_MM_SHOOTDOWN)
    remote flushes   flush IPIs sent (TLB_REMOTE_SEND_IPI)
    bytes copied     what placement ioctls report copied (UFFDIO_COPY, FA_IOC_MAP
                     with FA_MAP_COPY), plus the engine's user-space copy when the run
                     reports it (user_copy_bytes: the mprotect backend's memcpy)
"""
from tracing.work import PLACEMENT_IOCTLS, WORK_KEYS

# (key, header, unit) in table order
COLUMNS = (("syscalls", "syscalls", "calls"), ("placement_ioctls", "placement ioctls", "calls"),
           ("signals", "signals", "signals"), ("context_switches", "context switches", "switches"),
           ("tlb_flushes", "TLB flushes", "flushes"), ("remote_flushes", "remote flushes", "IPIs"),
           ("pages_allocated", "pages allocated", "pages"), ("pages_freed", "pages freed", "pages"),
           ("pages_allocated_in_placement", "allocated in placement", "pages"),
           ("bytes_copied", "bytes copied", "bytes"))
LOCAL_FLUSHES = ("TLB_LOCAL_SHOOTDOWN", "TLB_LOCAL_MM_SHOOTDOWN")


def totals(w, user_copy_bytes=None):
    """The COLUMNS of one tgid's counters (a tracing.work.decode() value), as totals."""
    missing = [k for k in WORK_KEYS if k not in w]
    if missing:
        raise ValueError(f"work counters lack {missing}: record them with Tracer.attach(work=True)")
    return {"syscalls": sum(w["syscalls"].values()),
            "placement_ioctls": sum(w["ioctls"].get(n, 0) for n in PLACEMENT_IOCTLS),
            "signals": sum(w["signals_delivered"].values()),
            "context_switches": sum(w["context_switches"].values()),
            "tlb_flushes": sum(w["tlb_flushes"].get(r, 0) for r in LOCAL_FLUSHES),
            "remote_flushes": w["tlb_flushes"].get("TLB_REMOTE_SEND_IPI", 0),
            "pages_allocated": w["pages_allocated"], "pages_freed": w["pages_freed"],
            "pages_allocated_in_placement": w["pages_allocated_in_placement"],
            "bytes_copied": w["bytes_copied_in_placement"] + (user_copy_bytes or 0)}


def per_fault(w, faults, user_copy_bytes=None):
    """totals() divided by the run's faults (None each when it had none)."""
    return {k: round(v / faults, 3) if faults else None for k, v in totals(w, user_copy_bytes).items()}


def of_run(run):
    """Per-fault work of a loaded run (analysis.load.Run), or None when its trace has no counters."""
    w = run.trace.get("work", {}).get(str(run.tgid))
    if w is None:
        return None
    return per_fault(w, run.result["faults"], run.result.get("user_copy_bytes"))


def _cell(v):
    return "-" if v is None else f"{v:g}"


def markdown(rows):
    """{run label: per_fault() or None} as a markdown table."""
    head = ["run"] + [f"{h} ({u}/fault)" for _, h, u in COLUMNS]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, f in rows.items():
        cells = [_cell(f[k]) for k, _, _ in COLUMNS] if f else ["not counted"] + [""] * (len(COLUMNS) - 1)
        out.append("| " + " | ".join([label] + cells) + " |")
    return out


TEXT_HEADS = ("SYSCALLS", "PLACE_IOCTL", "SIGNALS", "CSWITCH", "TLB_FLUSH", "REMOTE_IPI", "PG_ALLOC", "PG_FREE",
              "PG_ALLOC_PL", "BYTES_COPIED")


def text(rows, first="BACKEND"):
    """{label: per_fault()} as a fixed-width table, every figure per fault."""
    lines = [f"{first:<17} " + " ".join(f"{h:>12}" for h in TEXT_HEADS) + "   (all per fault)"]
    for label, f in rows.items():
        lines.append(f"{label:<17} " + " ".join(f"{_cell(f[k]):>12}" for k, _, _ in COLUMNS))
    return "\n".join(lines)
