"""The work counters: kernel work a traced tgid does, counted in the BPF
program (tracing/bpf_text.py, raw tracepoints) and decoded here.

Each counter kind is a raw tracepoint (or a figure derived in it) with a
sub-key; decode() turns the kernel map's (tgid, kind, sub) -> n into, per
tgid, a JSON-ready dict whose keys are WORK_KEYS.  x86_64 only (syscall
numbers, the ioctl register).
"""
import signal

from lab import uapi

# counter kinds, in the order of their W_* ids; a raw tracepoint's name where there is one
KINDS = ("sys_enter", "ioctl", "signal_generate", "signal_deliver", "sched_switch", "tlb_flush",
         "mm_page_alloc", "mm_page_free", "page_alloc_placement", "bytes_copied", "bytes_moved")
# raw tracepoint -> the program that counts it (signal_generate also serves the signal group's events)
TRACEPOINTS = ("sys_enter", "sys_exit", "signal_generate", "signal_deliver", "sched_switch", "tlb_flush",
               "mm_page_alloc", "mm_page_free")
NR_IOCTL = 16  # x86_64


def _uffdio(nr, size):
    """include/uapi/linux/userfaultfd.h: _IOWR(0xAA, nr, a struct of size bytes)."""
    return (3 << 30) | (size << 16) | (0xAA << 8) | nr


UFFD_IOCTLS = {"UFFDIO_API": _uffdio(0x3F, 24), "UFFDIO_REGISTER": _uffdio(0x00, 32),
               "UFFDIO_COPY": _uffdio(0x03, 40), "UFFDIO_MOVE": _uffdio(0x05, 40)}
IOCTL_NAMES = {v: k for k, v in (uapi.IOCTLS | UFFD_IOCTLS).items()}
# syscalls newer than bcc 0.26's table (arch/x86/entry/syscalls/syscall_64.tbl)
NEWER_SYSCALLS = {435: "clone3"}
PLACEMENT_IOCTLS = ("FA_IOC_MAP", "FA_IOC_MAPV", "UFFDIO_COPY", "UFFDIO_MOVE")
# enum tlb_flush_reason (include/linux/mm_types.h)
TLB_REASONS = ("TLB_FLUSH_ON_TASK_SWITCH", "TLB_REMOTE_SHOOTDOWN", "TLB_LOCAL_SHOOTDOWN", "TLB_LOCAL_MM_SHOOTDOWN",
               "TLB_REMOTE_SEND_IPI")
WORK_KEYS = ("syscalls", "ioctls", "signals_generated", "signals_delivered", "context_switches", "tlb_flushes",
             "pages_allocated", "pages_freed", "pages_allocated_in_placement", "bytes_copied_in_placement",
             "bytes_moved_in_placement")


def syscall_name(nr):
    from bcc.syscall import syscall_name as name

    return NEWER_SYSCALLS.get(nr) or name(nr).decode()


def signal_name(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"SIG{n}"


def sub_name(kind, sub):
    """A counter's sub-key as a reader wants it."""
    if kind == "sys_enter":
        return syscall_name(sub)
    if kind == "ioctl":
        return IOCTL_NAMES.get(sub, f"{sub:#x}")
    if kind in ("signal_generate", "signal_deliver"):
        return signal_name(sub)
    if kind == "sched_switch":
        return "preempted" if sub else "voluntary"
    if kind == "tlb_flush":
        return TLB_REASONS[sub] if sub < len(TLB_REASONS) else str(sub)
    return None  # a plain total


def empty():
    return {k: {} if i < 6 else 0 for i, k in enumerate(WORK_KEYS)}


def decode(items, name=sub_name):
    """[(tgid, kind id, sub, n)] -> {tgid: {WORK_KEYS...}}: the first six keys by sub-key name, the others totals."""
    out = {}
    for tgid, kind, sub, n in items:
        k = KINDS[kind]
        w = out.setdefault(tgid, empty())
        key = WORK_KEYS[kind]
        label = name(k, sub)
        if label is None:
            w[key] += n
        else:
            w[key][label] = w[key].get(label, 0) + n
    return out
