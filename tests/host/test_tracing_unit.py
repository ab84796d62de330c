"""Host checks of the tracer's pure parts (no BPF here: the host has no kprobes)."""
import subprocess
import types

import pytest

from lab.guest import REPO
from tracing import probes, schema, work
from tracing.fatrace import parse_groups, parse_range, row
from tracing.order import EntryOrder


def test_schema_file_is_current():
    assert (REPO / "tracing/SCHEMA.md").read_text() == schema.render(), "run: python -m tracing.schema > tracing/SCHEMA.md"


def test_every_probe_has_bpf_functions_of_its_kind():
    from tracing.bpf_text import BPF_TEXT

    for p in probes.PROBES:
        if p.kind == "tracepoint":
            assert f"int tp_{p.tracepoint.split(':')[1]}(struct bpf_raw_tracepoint_args *ctx)" in BPF_TEXT
        elif p.kind == "tracepoints":
            assert f"ENTER({p.name})" in BPF_TEXT, p.name
            assert f"EXIT({p.name})" in BPF_TEXT or f"int ret_{p.name}(struct bpf_raw_tracepoint_args *ctx)" in BPF_TEXT
        else:  # built only where the kernel has the function
            assert f"#ifdef HAVE_{p.name}\n" in BPF_TEXT, p.name
            assert (f"STAMP({p.name}," in BPF_TEXT or f"FENTRY({p.name})" in BPF_TEXT) and (f"FEXIT({p.name})" in BPF_TEXT) == p.ret, p.name


def test_every_work_tracepoint_has_a_program():
    from tracing.bpf_text import BPF_TEXT
    from tracing.tracer import FORK_TRACEPOINT

    for tp in work.TRACEPOINTS + (FORK_TRACEPOINT,):
        assert f"int tp_{tp}(struct bpf_raw_tracepoint_args *ctx)" in BPF_TEXT, tp
    for kind in work.KINDS:
        assert f"W_{kind}" in BPF_TEXT, kind


def test_kinds_follow_where_the_function_lives():
    assert probes.probe("handle_mm_fault").attach == "fentry+fexit"
    assert probes.probe("flush_tlb_mm_range").attach == "fentry"
    assert probes.probe("fa_map").attach == "tracepoints _enter+_exit"
    assert probes.probe("fa_map").tracepoints == ("fault_area:fa_map_enter", "fault_area:fa_map_exit")
    assert probes.probe("signal_generate").attach == "tracepoint"
    assert {p.kind for p in probes.PROBES} <= set(probes.KINDS)


def test_resolve_reports_missing_with_reasons():
    syms = {"handle_mm_fault": "", "fa_map": "fault_area", "mmap_region": ""}
    got = {p.name: why for p, why in probes.resolve(syms=syms, btf={"handle_mm_fault"})}
    assert got["handle_mm_fault"] == "" and got["fa_map"] == "module fault_area not loaded", "the host loads none"
    assert "inlined" in got["faultin_page"]
    assert "absent from /proc/kallsyms" in got["copy_vma"]
    assert "not in the kernel's BTF" in got["mmap_region"], "in kallsyms, but fentry needs BTF"
    assert set(got) == {p.name for p in probes.PROBES}, "no probe is dropped"


def test_cflags_filters():
    flags = probes.cflags(True, (0x1000, 0x2000), 64, have={"handle_mm_fault": 4})
    assert "-DFILTER_TGID=1" in flags and "-DRINGBUF_PAGES=64" in flags
    assert "-DHAVE_handle_mm_fault=1" in flags and "-DNARGS_handle_mm_fault=4" in flags and not any(f.startswith("-DHAVE_copy_vma") for f in flags)
    assert "-DFA_IOC_MAP_CMD=0xc028fa02U" in flags and "-DUFFDIO_COPY_CMD=0xc028aa03U" in flags
    assert "-DADDR_LO=0x1000ULL" in flags and "-DADDR_HI=0x2000ULL" in flags
    assert "-DFILTER_ADDR=0" in probes.cflags(False, None, 64)


def test_event_dict_names_fields_per_probe():
    ev = types.SimpleNamespace(ts=5, cpu=1, tgid=2, tid=3, comm=b"x", probe=probes.PROBE_ID["handle_mm_fault"],
                               addr=0x1000, len=0, flags=64, arg=1, ret=2, lat=700, stack=-1)
    d = probes.event_dict(ev)
    assert d == {"ts_ns": 5, "cpu": 1, "tgid": 2, "tid": 3, "comm": "x", "probe": "handle_mm_fault",
                 "address": 0x1000, "fault_flags": 64, "gup": 1, "vm_fault": 2, "lat_ns": 700}


def test_cli_argument_errors_name_the_fix():
    with pytest.raises(Exception, match="not START-END"):
        parse_range("0x1000")
    with pytest.raises(Exception, match="unknown group"):
        parse_groups("fault,disk")
    assert parse_groups("fault,gup") == ("fault", "gup")


def test_roles_are_declared_once_per_probe():
    with pytest.raises(ValueError, match="unknown or repeated roles"):
        probes.Probe("x", "fault", True, probes._f(("addr", "a", "address", ""), ("arg", "b", "address", "")))
    with pytest.raises(ValueError, match="unknown or repeated roles"):
        probes.Probe("x", "fault", True, probes._f(("addr", "a", "where", "")))
    assert probes.probe("signal_generate").field("target").name == "pid"
    assert probes.probe("fa_map").field("address").name == "dst"
    assert probes.probe("vm_area_alloc").field("address") is None
    assert set(probes.names(group="vma")) == {p.name for p in probes.PROBES if p.group == "vma"}


def test_every_return_half_has_a_return_field():
    for p in probes.PROBES:
        assert (p.field("return") is not None) == (p.ret or p.tracepoint != ""), p.name


def test_entry_order_sorts_nested_calls_in_bounded_memory():
    out = []
    order = EntryOrder(out.append, horizon_ns=100)
    # returns in emit order: the inner fault (entry 20) returns before the outer gup call (entry 10)
    order.push({"ts_ns": 30, "lat_ns": 10, "probe": "inner"})
    order.push({"ts_ns": 40, "lat_ns": 30, "probe": "outer"})
    order.push({"ts_ns": 45, "probe": "signal"})  # no return half: ts is its entry
    assert out == [] and len(order) == 3
    order.push({"ts_ns": 135, "lat_ns": 0, "probe": "late"})  # 135 - 100 = 35: entries before 35 leave
    assert [e["probe"] for e in out] == ["outer", "inner"]
    order.flush()
    assert [e["probe"] for e in out] == ["outer", "inner", "signal", "late"] and len(order) == 0


def test_fatrace_row_shows_fields_by_role():
    sig = {"ts_ns": 5000, "cpu": 1, "tgid": 2, "tid": 3, "comm": "x", "probe": "signal_generate", "sig": 10,
           "code": (1 << 64) - 6, "pid": 77, "result": 0}
    r = row(sig, 0).split()
    assert r[5:] == ["signal_generate", "-", "0", "-", "sig=10", "code=-6", "tid=77"], "signo, si_code, target"
    fault = {"ts_ns": 9000, "cpu": 0, "tgid": 2, "tid": 3, "comm": "x", "probe": "handle_mm_fault",
             "address": 0x7f0000001000, "fault_flags": 0x255, "gup": 0, "vm_fault": 0x102, "lat_ns": 4000}
    r = row(fault, 0).split()
    assert r[0] == "0.000005", "TIME is the entry"
    assert r[5:] == ["handle_mm_fault", "0x00007f0000001000", "0x102", "4.00", "fault_flags=0x255", "gup=0"]
    dup = {"ts_ns": 1, "cpu": 0, "tgid": 2, "tid": 3, "comm": "x", "probe": "vm_area_dup", "start": 0x1000,
           "length": 4096, "vma": -0x7777000000000000, "lat_ns": 1}
    assert row(dup, 0).split()[7] == "0x8889000000000000", "a pointer returned as s64 shows as the word"


def test_work_decode_names_each_counter():
    items = [(7, work.KINDS.index("sys_enter"), 16, 3), (7, work.KINDS.index("ioctl"), work.UFFD_IOCTLS["UFFDIO_COPY"], 2),
             (7, work.KINDS.index("ioctl"), 0x1234, 1), (7, work.KINDS.index("ioctl"), work.UFFD_IOCTLS["UFFDIO_API"], 1), (7, work.KINDS.index("signal_deliver"), 7, 4),
             (7, work.KINDS.index("sched_switch"), 1, 5), (7, work.KINDS.index("tlb_flush"), 4, 6),
             (7, work.KINDS.index("mm_page_alloc"), 0, 8), (7, work.KINDS.index("mm_page_alloc"), 0, 1),
             (9, work.KINDS.index("bytes_copied"), work.UFFD_IOCTLS["UFFDIO_COPY"], 4096)]
    got = work.decode(items, name=lambda k, s: "ioctl" if k == "sys_enter" else work.sub_name(k, s))
    w = got[7]
    assert set(w) == set(work.WORK_KEYS) and set(got) == {7, 9}
    assert w["syscalls"] == {"ioctl": 3} and w["ioctls"] == {"UFFDIO_COPY": 2, "0x1234": 1, "UFFDIO_API": 1}
    assert w["signals_delivered"] == {"SIGBUS": 4} and w["context_switches"] == {"preempted": 5}
    assert w["tlb_flushes"] == {"TLB_REMOTE_SEND_IPI": 6} and w["pages_allocated"] == 9
    assert got[9]["bytes_copied_in_placement"] == 4096 and got[9]["pages_freed"] == 0


def test_uffd_ioctl_numbers_match_the_kernel_header(tmp_path):
    src, exe = tmp_path / "u.c", tmp_path / "u"
    prints = "".join(f'printf("%lu\\n", (unsigned long){name});' for name in work.UFFD_IOCTLS)
    src.write_text("#include <stdio.h>\n#include <sys/ioctl.h>\n#include <linux/userfaultfd.h>\n"
                   f"int main(void) {{ {prints} }}\n")
    subprocess.run(["gcc", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert [int(x) for x in out] == list(work.UFFD_IOCTLS.values())


def test_syscall_names_cover_what_bcc_lacks():
    assert work.syscall_name(16) == "ioctl" and work.syscall_name(15) == "rt_sigreturn"
    assert work.syscall_name(435) == "clone3", "bcc 0.26 names it [unknown: 435]"


def test_module_probes_match_the_module_tracepoints():
    import re

    header = (REPO / "kmod/fault_area_trace.h").read_text()
    declared = set(re.findall(r"TRACE_EVENT\((\w+),", header)) | set(re.findall(r"DEFINE_EVENT\(\w+, (\w+),", header))
    wanted = {tp.split(":")[1] for p in probes.PROBES if p.module for tp in p.tracepoints}
    assert wanted == declared, "every module tracepoint is in the catalog, and every catalog one in the header"
    assert all(tp.startswith("fault_area:") for p in probes.PROBES if p.module for tp in p.tracepoints)
