"""The probe catalog: what each probe attaches to (its kind), its group, and
each event field with its role (tracing/SCHEMA.md is rendered from this by
tracing.schema).

Readers never guess from field names: fatrace, page_story and the
invariants ask for a role (the address an event is about, its length, the
return value...) and the catalog says which field holds it.

vmlinux functions are probed with fentry/fexit, which need the function in
the kernel's BTF too; fault_area.ko through its own tracepoints (an _enter
and an _exit event per operation, kmod/fault_area_trace.h) and signals
through signal:signal_generate, both as raw tracepoints.  No probe is a
kprobe: a kprobe/kretprobe pair costs two breakpoint traps per call.
Every function is resolved by exact name in /proc/kallsyms (read once per
process) and every tracepoint by its tracefs directory; one that does not
resolve is reported as missing with the reason, never dropped in silence.
"""
import ctypes
import dataclasses
import functools
import os
import platform

from lab import uapi
from tracing import work

SCHEMA_VERSION = "fa-trace/1"
GROUPS = ("fault", "gup", "vma", "kmod", "uffd", "tlb", "signal")
KINDS = ("fentry", "fexit", "tracepoint", "tracepoints")  # fexit: an fentry/fexit pair; tracepoints: _enter + _exit
KNOWN_INLINED = {"faultin_page", "vma_merge_existing_range", "gup_fast", "handle_pte_marker"}
# role -> what a field with it holds; a probe has each role at most once
ROLES = {
    "address": "user virtual address the call is about (the start of a range)",
    "length": "bytes from the address",
    "pages": "pages from the address",
    "source": "user address the data comes from (a move or copy)",
    "flags": "flag bits of the call",
    "return": "the return value (signed)",
    "pointer": "a kernel object pointer",
    "signo": "signal number",
    "target": "thread id a signal goes to",
    "value": "another argument (see its meaning)",
    "caller": "the traced operation the call came from, else the first kernel function above it (a number "
              "until the tracer names it)",
}
# BPF event field -> its C type's signedness: `ret` is s64, the others u64 (tracing/bpf_text.py)
SIGNED_SRC = {"ret"}


@dataclasses.dataclass(frozen=True)
class Field:
    src: str  # field of the BPF event_t
    name: str  # key in the JSON event
    role: str  # a key of ROLES
    meaning: str
    hex: bool = False  # bits or a pointer: shown in hex

    def show(self, v):
        """The value as a reader wants it: hex as the 64-bit word (a pointer, bits), else signed (a u64
        event field may carry an int, such as signal_generate's si_code)."""
        if isinstance(v, str):
            return v
        if self.hex:
            return f"{v & ((1 << 64) - 1):#x}"
        return str(v - (1 << 64) if v >= 1 << 63 else v)


@dataclasses.dataclass(frozen=True)
class Probe:
    name: str
    group: str
    ret: bool  # a return half: ret and lat_ns are filled
    fields: tuple  # of Field
    module: str = ""  # module whose tracepoints NAME_enter and NAME_exit (category: the module) it is
    tracepoint: str = ""  # category:event of a kernel tracepoint, instead of a function

    def __post_init__(self):
        roles = [f.role for f in self.fields]
        bad = [r for r in roles if r not in ROLES]
        if bad or len(set(roles)) != len(roles) or self.group not in GROUPS:
            raise ValueError(f"probe {self.name}: unknown or repeated roles {roles} or group {self.group!r}")

    @property
    def kind(self):
        if self.tracepoint:
            return "tracepoint"
        if self.module:
            return "tracepoints"
        return "fexit" if self.ret else "fentry"

    @property
    def attach(self):
        """How it attaches, as --list-probes says it."""
        return {"fexit": "fentry+fexit", "tracepoints": "tracepoints _enter+_exit"}.get(self.kind, self.kind)

    @property
    def tracepoints(self):
        """category:event of each tracepoint it attaches to (none for a function)."""
        if self.module:
            return tuple(f"{self.module}:{self.name}_{half}" for half in ("enter", "exit"))
        return (self.tracepoint,) if self.tracepoint else ()

    def field(self, role):
        """The field with this role, or None."""
        return next((f for f in self.fields if f.role == role), None)


def _f(*specs):
    return tuple(Field(*s) for s in specs)


ADDR = ("addr", "address", "address", "user virtual address")
GUP = _f(("addr", "start", "address", "address"), ("len", "pages_asked", "pages", "pages"),
         ("flags", "gup_flags", "flags", "FOLL_* bits", True), ("ret", "pages_returned", "return", "pages, or -errno"))
START, LENGTH = ("addr", "start", "address", "address"), ("len", "length", "length", "bytes")
ERRNO = ("ret", "ret", "return", "0 or -errno")
PROBES = (
    Probe("handle_mm_fault", "fault", True, _f(ADDR, ("flags", "fault_flags", "flags", "FAULT_FLAG_* bits", True),
                                               ("arg", "gup", "value", "1 when regs == NULL: a gup fault"),
                                               ("ret", "vm_fault", "return", "vm_fault_t bits", True))),
    Probe("get_user_pages_fast", "gup", True, GUP),
    Probe("pin_user_pages_fast", "gup", True, GUP),
    Probe("gup_fast_fallback", "gup", True, GUP),
    Probe("gup_fast", "gup", True, _f(START, ("len", "pages_asked", "pages", "pages"),
                                      ("ret", "pages_returned", "return", "pages taken without locks"))),
    Probe("__get_user_pages", "gup", True, GUP),
    Probe("faultin_page", "gup", True, _f(ADDR, ERRNO)),
    Probe("vm_area_alloc", "vma", True, _f(("ret", "vma", "return", "new vm_area_struct pointer", True))),
    Probe("vm_area_dup", "vma", True, _f(("addr", "start", "address", "address of the VMA copied"), LENGTH,
                                         ("ret", "vma", "return", "new pointer", True))),
    Probe("__split_vma", "vma", True, _f(("addr", "start", "address", "address of the VMA split"), LENGTH,
                                         ("arg", "split_at", "value", "address", True), ERRNO)),
    Probe("vma_merge_new_range", "vma", True, _f(("ret", "vma", "return", "merged VMA pointer or 0", True))),
    Probe("vma_merge_existing_range", "vma", True, _f(("ret", "vma", "return", "merged VMA pointer or 0", True))),
    Probe("vma_expand", "vma", True, _f(ERRNO)),
    Probe("copy_vma", "vma", True, _f(START, LENGTH, ("ret", "vma", "return", "new pointer", True))),
    Probe("mmap_region", "vma", True, _f(START, LENGTH, ("flags", "vm_flags", "flags", "VM_* bits", True),
                                         ("ret", "ret", "return", "address or -errno", True))),
    Probe("fa_fault_hook", "kmod", True, _f(ADDR, ("flags", "fault_flags", "flags", "FAULT_FLAG_* bits", True),
                                            ("ret", "vm_fault", "return", "vm_fault_t bits", True)),
          module="fault_area"),
    Probe("fa_prepare", "kmod", True, _f(START, LENGTH, ("arg", "signo", "signo", "signal"), ERRNO),
          module="fault_area"),
    Probe("fa_map", "kmod", True, _f(("addr", "dst", "address", "address"), ("arg", "src", "source", "address"),
                                     LENGTH, ("flags", "map_flags", "flags", "FA_MAP_*", True), ERRNO),
          module="fault_area"),
    Probe("fa_map_page", "kmod", True, _f(("addr", "dst", "address", "address"),
                                          ("arg", "src", "source", "address"), ERRNO), module="fault_area"),
    Probe("fa_release_range", "kmod", True, _f(START, LENGTH, ERRNO), module="fault_area"),
    Probe("fa_kwait", "kmod", True, _f(ADDR, ("flags", "ev_flags", "flags", "FA_EV_* bits", True),
                                       ("ret", "why", "return", "what woke it: 1 map, 2 release, 3 unmap, 4 close, "
                                        "5 timeout, 6 kill", True)), module="fault_area"),
    Probe("folio_move_anon_rmap", "kmod", False, _f(("arg", "folio", "pointer", "struct folio pointer moved",
                                                     True))),
    Probe("vma_alloc_folio_noprof", "kmod", False, _f(("addr", "address", "address", "where the page will map"),
                                                      ("flags", "gfp", "flags", "GFP bits", True))),
    Probe("handle_userfault", "uffd", True, _f(ADDR, ("flags", "fault_flags", "flags", "FAULT_FLAG_* bits", True),
                                               ("arg", "reason", "value", "VM_UFFD_* bits", True),
                                               ("ret", "vm_fault", "return", "vm_fault_t bits", True))),
    Probe("move_pages", "uffd", True, _f(("addr", "dst", "address", "address"), ("arg", "src", "source", "address"),
                                         LENGTH, ("ret", "ret", "return", "bytes moved or -errno"))),
    Probe("mfill_atomic_copy", "uffd", True, _f(("addr", "dst", "address", "address"),
                                                ("arg", "src", "source", "address"), LENGTH,
                                                ("ret", "ret", "return", "bytes or -errno"))),
    Probe("flush_tlb_mm_range", "tlb", False, _f(START, LENGTH, ("stack", "caller", "caller",
                                                                 "traced placement or release it came from, "
                                                                 "else first kernel function above the flush"))),
    Probe("signal_generate", "signal", False, _f(("arg", "sig", "signo", "signal number"),
                                                 ("flags", "code", "value", "si_code"),
                                                 ("len", "pid", "target", "target thread"),
                                                 ("ret", "result", "return", "TRACE_SIGNAL_* result")),
          tracepoint="signal:signal_generate"),
)
PROBE_ID = {p.name: i for i, p in enumerate(PROBES)}
# bits the fields carry, as the 6.12 kernel defines them (include/linux/mm_types.h)
FAULT_FLAG_USER = 1 << 6  # fault_flags: the fault came from user space
VM_FAULT_SIGBUS = 0x2  # vm_fault: the fault ends in SIGBUS (a fault_area marker page)
VM_FAULT_RETRY = 0x400  # vm_fault: the lock was dropped (a wait): the fault is tried again
KWAIT_WHY = {1: "map", 2: "release", 3: "unmap", 4: "close", 5: "timeout", 6: "kill"}  # fa_kwait's why


def probe(name):
    """The catalog entry of a probe, by name."""
    return PROBES[PROBE_ID[name]]


def names(group=None, role=None):
    """Probe names, of one group and/or having a field of one role, in catalog order."""
    return tuple(p.name for p in PROBES if (group is None or p.group == group)
                 and (role is None or p.field(role)))

_KALLSYMS = {}


def kallsyms():
    """Function names in /proc/kallsyms, mapped to their module ('' for vmlinux).  Read once per
    process (slow under TCG): the functions probed are vmlinux's, which do not come and go."""
    if not _KALLSYMS:
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    _KALLSYMS.setdefault(parts[2], parts[3].strip("[]") if len(parts) > 3 else "")
    return _KALLSYMS


BTF_KIND_FUNC = 12


class _BtfType(ctypes.Structure):
    _fields_ = [("name_off", ctypes.c_uint32), ("info", ctypes.c_uint32), ("type", ctypes.c_uint32)]


@functools.cache
def btf_funcs():
    """{function: number of parameters} of the PROBES functions the kernel's BTF describes (fentry/fexit
    attach by BTF id, and an fexit finds the return value after the last parameter), by libbpf."""
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    lib.btf__load_vmlinux_btf.restype = ctypes.c_void_p
    lib.btf__find_by_name_kind.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
    lib.btf__type_by_id.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.btf__type_by_id.restype = ctypes.POINTER(_BtfType)
    lib.btf__free.argtypes = [ctypes.c_void_p]
    btf = lib.btf__load_vmlinux_btf()
    if not btf:
        raise OSError(ctypes.get_errno(), "libbpf cannot load the kernel's BTF (/sys/kernel/btf/vmlinux): "
                      "fentry/fexit need a kernel built with CONFIG_DEBUG_INFO_BTF")
    try:
        out = {}
        for p in PROBES:
            if p.module or p.tracepoint:
                continue
            fid = lib.btf__find_by_name_kind(btf, p.name.encode(), BTF_KIND_FUNC)
            if fid > 0:  # a FUNC's type is its FUNC_PROTO, whose vlen (info bits 0-15) counts the parameters
                out[p.name] = lib.btf__type_by_id(btf, lib.btf__type_by_id(btf, fid).contents.type).contents.info \
                    & 0xffff
        return out
    finally:
        lib.btf__free(btf)


TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")  # where tracepoints are listed


def resolve(groups=GROUPS, syms=None, btf=None):
    """(probe, reason) for each probe of the groups; reason is '' when it resolves."""
    syms = kallsyms() if syms is None else syms
    btf = btf_funcs() if btf is None else btf
    out = []
    for p in PROBES:
        if p.group not in groups:
            continue
        if p.kind in ("fentry", "fexit") and p.name in syms and p.name not in btf:
            out.append((p, f"not in the kernel's BTF on {platform.release()}: no fentry/fexit"))
        elif p.module and not os.path.isdir(f"/sys/module/{p.module}"):
            out.append((p, f"module {p.module} not loaded"))
        elif p.tracepoints:
            absent = [tp for tp in p.tracepoints if not any(os.path.isdir(f"{d}/events/{tp.replace(':', '/')}")
                                                            for d in TRACEFS)]
            out.append((p, f"tracepoint {', '.join(absent)} not available" if absent else ""))
        elif p.name in syms:
            out.append((p, ""))
        elif p.name in KNOWN_INLINED:
            out.append((p, f"inlined in {platform.release()}: no symbol in /proc/kallsyms"))
        else:
            out.append((p, f"absent from /proc/kallsyms on {platform.release()}"))
    return out


# frames a flush's stack holds: the BPF program, its trampoline, the flush functions, then the caller
TLB_STACK_DEPTH = 12
CONFIG = ("CFG_EVENTS", "CFG_SIGNAL", "CFG_WORK")  # slots of the BPF config array: events, group signal, counters
CFG_EVENTS, CFG_SIGNAL, CFG_WORK = range(len(CONFIG))


def cflags(tgid_filter, addr_range, ringbuf_pages, have=None):
    """-D flags for BPF_TEXT; have: {function: parameters} of the fentry/fexit functions this kernel has
    (their programs are built)."""
    flags = [f"-DP_{p.name}={PROBE_ID[p.name]}" for p in PROBES]
    flags += [f for name, n in (have or {}).items() for f in (f"-DHAVE_{name}=1", f"-DNARGS_{name}={n}")]
    flags += [f"-D{c}={i}" for i, c in enumerate(CONFIG)] + [f"-DW_{k}={i}" for i, k in enumerate(work.KINDS)]
    flags += ["-Wno-duplicate-decl-specifier", "-Wno-ignored-attributes",  # kernel headers under clang
              f"-DNPROBES={len(PROBES)}", f"-DFILTER_TGID={int(tgid_filter)}", f"-DNCONFIG={len(CONFIG)}",
              f"-DRINGBUF_PAGES={ringbuf_pages}", f"-DNR_IOCTL={work.NR_IOCTL}", f"-DTLB_STACK_DEPTH={TLB_STACK_DEPTH}",
              f"-DFA_IOC_MAP_CMD={uapi.IOC_MAP:#x}U", f"-DFA_MAP_COPY_FLAG={uapi.MAP_COPY}",
              f"-DUFFDIO_COPY_CMD={work.UFFD_IOCTLS['UFFDIO_COPY']:#x}U",
              f"-DUFFDIO_MOVE_CMD={work.UFFD_IOCTLS['UFFDIO_MOVE']:#x}U"]
    if addr_range:
        flags += ["-DFILTER_ADDR=1", f"-DADDR_LO={addr_range[0]:#x}ULL", f"-DADDR_HI={addr_range[1]:#x}ULL"]
    else:
        flags += ["-DFILTER_ADDR=0"]
    return flags


def event_dict(ev):
    """One ring-buffer event as a JSON-ready dict named by the probe's fields
    (flush_tlb_mm_range's caller is still a stack id: Tracer names it)."""
    p = PROBES[ev.probe]
    d = {"ts_ns": ev.ts, "cpu": ev.cpu, "tgid": ev.tgid, "tid": ev.tid,
         "comm": ev.comm.decode(errors="replace"), "probe": p.name}
    for f in p.fields:
        d[f.name] = getattr(ev, f.src)
    if p.ret:
        d["lat_ns"] = ev.lat
    return d
