"""The probe catalog: what each probe attaches to, its group, and what its
event fields mean (the schema in tracing/SCHEMA.md is made from this).

Every probe is resolved by exact name on the running kernel; one whose
function is absent or inlined is reported as missing with the reason,
never dropped in silence.
"""
import dataclasses
import os
import platform

SCHEMA_VERSION = "fa-trace/1"
GROUPS = ("fault", "gup", "vma", "kmod", "uffd", "tlb", "signal")
KNOWN_INLINED = {"faultin_page", "vma_merge_existing_range", "gup_fast", "handle_pte_marker"}


@dataclasses.dataclass(frozen=True)
class Probe:
    name: str
    group: str
    ret: bool  # a return half: ret and lat_ns are filled
    fields: tuple  # (event field, name in the JSON event, unit or meaning)
    module: str = ""  # module that holds the function
    tracepoint: str = ""  # category:event, instead of a kprobe


def _f(*triples):
    return tuple(triples)


ADDR = ("addr", "address", "user virtual address")
GUP = _f(("addr", "start", "address"), ("len", "pages_asked", "pages"), ("flags", "gup_flags", "FOLL_* bits"),
         ("ret", "pages_returned", "pages, or -errno"))
PROBES = (
    Probe("handle_mm_fault", "fault", True, _f(ADDR, ("flags", "fault_flags", "FAULT_FLAG_* bits"),
                                               ("arg", "gup", "1 when regs == NULL: a gup fault"),
                                               ("ret", "vm_fault", "vm_fault_t bits"))),
    Probe("get_user_pages_fast", "gup", True, GUP),
    Probe("pin_user_pages_fast", "gup", True, GUP),
    Probe("gup_fast_fallback", "gup", True, GUP),
    Probe("gup_fast", "gup", True, _f(("addr", "start", "address"), ("len", "pages_asked", "pages"),
                                      ("ret", "pages_returned", "pages taken without locks"))),
    Probe("__get_user_pages", "gup", True, GUP),
    Probe("faultin_page", "gup", True, _f(ADDR, ("ret", "ret", "0 or -errno"))),
    Probe("vm_area_alloc", "vma", True, _f(("ret", "vma", "new vm_area_struct pointer"))),
    Probe("vm_area_dup", "vma", True, _f(("addr", "start", "address of the VMA copied"),
                                         ("len", "length", "bytes"), ("ret", "vma", "new pointer"))),
    Probe("__split_vma", "vma", True, _f(("addr", "start", "address of the VMA split"), ("len", "length", "bytes"),
                                         ("arg", "split_at", "address"), ("ret", "ret", "0 or -errno"))),
    Probe("vma_merge_new_range", "vma", True, _f(("ret", "vma", "merged VMA pointer or 0"))),
    Probe("vma_merge_existing_range", "vma", True, _f(("ret", "vma", "merged VMA pointer or 0"))),
    Probe("vma_expand", "vma", True, _f(("ret", "ret", "0 or -errno"))),
    Probe("copy_vma", "vma", True, _f(("addr", "start", "address"), ("len", "length", "bytes"),
                                      ("ret", "vma", "new pointer"))),
    Probe("mmap_region", "vma", True, _f(("addr", "start", "address"), ("len", "length", "bytes"),
                                         ("flags", "vm_flags", "VM_* bits"), ("ret", "ret", "address or -errno"))),
    Probe("fa_fault_hook", "kmod", True, _f(ADDR, ("flags", "fault_flags", "FAULT_FLAG_* bits"),
                                            ("ret", "vm_fault", "vm_fault_t bits")), module="fault_area"),
    Probe("fa_prepare", "kmod", True, _f(("addr", "start", "address"), ("len", "length", "bytes"),
                                         ("arg", "signo", "signal"), ("ret", "ret", "0 or -errno")),
          module="fault_area"),
    Probe("fa_map", "kmod", True, _f(("addr", "dst", "address"), ("arg", "src", "address"), ("len", "length", "bytes"),
                                     ("flags", "map_flags", "FA_MAP_*"), ("ret", "ret", "0 or -errno")),
          module="fault_area"),
    Probe("fa_map_page", "kmod", True, _f(("addr", "dst", "address"), ("arg", "src", "address"),
                                          ("ret", "ret", "0 or -errno")), module="fault_area"),
    Probe("fa_release_range", "kmod", True, _f(("addr", "start", "address"), ("len", "length", "bytes"),
                                               ("ret", "ret", "0 or -errno")), module="fault_area"),
    Probe("folio_move_anon_rmap", "kmod", False, _f(("arg", "folio", "struct folio pointer moved"))),
    Probe("vma_alloc_folio_noprof", "kmod", False, _f(("addr", "address", "where the page will map"),
                                                      ("flags", "gfp", "GFP bits"))),
    Probe("handle_userfault", "uffd", True, _f(ADDR, ("flags", "fault_flags", "FAULT_FLAG_* bits"),
                                               ("arg", "reason", "VM_UFFD_* bits"),
                                               ("ret", "vm_fault", "vm_fault_t bits"))),
    Probe("move_pages", "uffd", True, _f(("addr", "dst", "address"), ("arg", "src", "address"),
                                         ("len", "length", "bytes"), ("ret", "ret", "bytes moved or -errno"))),
    Probe("mfill_atomic_copy", "uffd", True, _f(("addr", "dst", "address"), ("arg", "src", "address"),
                                                ("len", "length", "bytes"), ("ret", "ret", "bytes or -errno"))),
    Probe("flush_tlb_mm_range", "tlb", False, _f(("addr", "start", "address"), ("len", "length", "bytes"),
                                                 ("stack", "caller", "first kernel function above the flush"))),
    Probe("signal_generate", "signal", False, _f(("arg", "sig", "signal number"), ("flags", "code", "si_code"),
                                                 ("len", "pid", "target thread"), ("ret", "result",
                                                                                   "TRACE_SIGNAL_* result")),
          tracepoint="signal:signal_generate"),
)
BY_NAME = {p.name: p for p in PROBES}
PROBE_ID = {p.name: i for i, p in enumerate(PROBES)}


def kallsyms():
    """Function names in /proc/kallsyms, mapped to their module ('' for vmlinux)."""
    syms = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW":
                syms.setdefault(parts[2], parts[3].strip("[]") if len(parts) > 3 else "")
    return syms


def resolve(groups=GROUPS, syms=None):
    """(probe, reason) for each probe of the groups; reason is '' when it resolves."""
    syms = kallsyms() if syms is None else syms
    out = []
    for p in PROBES:
        if p.group not in groups:
            continue
        if p.tracepoint:
            cat, ev = p.tracepoint.split(":")
            ok = os.path.isdir(f"/sys/kernel/tracing/events/{cat}/{ev}") or \
                os.path.isdir(f"/sys/kernel/debug/tracing/events/{cat}/{ev}")
            out.append((p, "" if ok else f"tracepoint {p.tracepoint} not available"))
        elif p.name in syms:
            out.append((p, ""))
        elif p.module and not os.path.isdir(f"/sys/module/{p.module}"):
            out.append((p, f"module {p.module} not loaded"))
        elif p.name in KNOWN_INLINED:
            out.append((p, f"inlined in {platform.release()}: no symbol in /proc/kallsyms"))
        else:
            out.append((p, f"absent from /proc/kallsyms on {platform.release()}"))
    return out


CFG_EVENTS, CFG_SIGNAL = 0, 1  # slots of the BPF config array


def cflags(tgid_filter, addr_range, ringbuf_pages):
    """-D flags for BPF_TEXT."""
    flags = [f"-DP_{p.name}={PROBE_ID[p.name]}" for p in PROBES]
    flags += ["-Wno-duplicate-decl-specifier", "-Wno-ignored-attributes",  # kernel headers under clang
              f"-DNPROBES={len(PROBES)}", f"-DFILTER_TGID={int(tgid_filter)}",
              f"-DRINGBUF_PAGES={ringbuf_pages}", f"-DCFG_EVENTS={CFG_EVENTS}", f"-DCFG_SIGNAL={CFG_SIGNAL}"]
    if addr_range:
        flags += ["-DFILTER_ADDR=1", f"-DADDR_LO={addr_range[0]:#x}ULL", f"-DADDR_HI={addr_range[1]:#x}ULL"]
    else:
        flags += ["-DFILTER_ADDR=0"]
    return flags


def event_dict(ev):
    """One ring-buffer event as a JSON-ready dict named by the probe's fields
    (flush_tlb_mm_range's caller is still a stack id: Tracer.stop names it)."""
    p = PROBES[ev.probe]
    d = {"ts_ns": ev.ts, "cpu": ev.cpu, "tgid": ev.tgid, "tid": ev.tid,
         "comm": ev.comm.decode(errors="replace"), "probe": p.name}
    for field, name, _ in p.fields:
        d[name] = getattr(ev, field)
    if p.ret:
        d["lat_ns"] = ev.lat
    return d
