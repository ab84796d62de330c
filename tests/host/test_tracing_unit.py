"""Host checks of the tracer's pure parts (no BPF here: the host has no kprobes)."""
import types

import pytest

from lab.guest import REPO
from tracing import probes, schema
from tracing.fatrace import parse_groups, parse_range, row
from tracing.order import EntryOrder


def test_schema_file_is_current():
    assert (REPO / "tracing/SCHEMA.md").read_text() == schema.render(), "run: python -m tracing.schema > tracing/SCHEMA.md"


def test_every_probe_has_bpf_functions():
    from tracing.bpf_text import BPF_TEXT

    for p in probes.PROBES:
        if p.tracepoint:
            assert f"TRACEPOINT_PROBE({p.tracepoint.replace(':', ', ')})" in BPF_TEXT
            continue
        assert f"int ent_{p.name}(" in BPF_TEXT, p.name
        assert (f"RET_OF({p.name})" in BPF_TEXT or f"RET32_OF({p.name})" in BPF_TEXT) == p.ret, p.name


def test_resolve_reports_missing_with_reasons():
    syms = {"handle_mm_fault": "", "fa_map": "fault_area"}
    got = {p.name: why for p, why in probes.resolve(syms=syms)}
    assert got["handle_mm_fault"] == "" and got["fa_map"] == ""
    assert "inlined" in got["faultin_page"]
    assert "absent from /proc/kallsyms" in got["mmap_region"]
    assert set(got) == {p.name for p in probes.PROBES}, "no probe is dropped"


def test_cflags_filters():
    flags = probes.cflags(True, (0x1000, 0x2000), 64)
    assert "-DFILTER_TGID=1" in flags and "-DRINGBUF_PAGES=64" in flags
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
    assert probes.probe("signal_generate").kind == "tracepoint" and probes.probe("fa_map").kind == "kprobe"
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
