"""Host checks of the tracer's pure parts (no BPF here: the host has no kprobes)."""
import types

import pytest

from lab.guest import REPO
from tracing import probes, schema
from tracing.fatrace import parse_groups, parse_range


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
