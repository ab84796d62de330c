"""Traces as columns (analysis.events): the loader gives back every recorded
event exactly, reads roles from the catalog, says what is wrong with a bad
line, and keeps memory bounded (the dicts of one chunk at a time)."""
import json
import sys
import tracemalloc

import numpy as np
import pytest

from analysis import events
from analysis.events import Events, TraceError
from lab.guest import REPO

sys.path.insert(0, str(REPO / "tests/fixtures"))
import synth_trace  # noqa: E402

GUP = REPO / "tests/fixtures/recorded/fx-gup/trace.jsonl"


def test_every_recorded_event_comes_back_exactly():
    runs = events.read_jsonl(GUP)
    with open(GUP) as f:
        recorded = [json.loads(line) for line in f]
    assert list(runs) == [0] and len(runs[0]) == len(recorded)
    evs = runs[0]
    assert [dict(evs.event(i), run=0) for i in range(len(evs))] == recorded


def test_roles_land_in_their_columns():
    evs = Events.from_dicts([
        {"ts_ns": 100, "cpu": 0, "tgid": 1, "tid": 2, "comm": "a", "probe": "fa_map", "dst": 0x5000, "src": 0x9000,
         "length": 3 * 4096, "map_flags": 1, "ret": -17, "lat_ns": 40},
        {"ts_ns": 200, "cpu": 1, "tgid": 1, "tid": 3, "comm": "b", "probe": "__get_user_pages", "start": 0x20000,
         "pages_asked": 2, "gup_flags": 0, "pages_returned": 2, "lat_ns": 5},
        {"ts_ns": 300, "cpu": 1, "tgid": 1, "tid": 3, "comm": "b", "probe": "signal_generate", "sig": 7, "code": 0,
         "pid": 2, "result": 0},
        {"ts_ns": 400, "cpu": 1, "tgid": 1, "tid": 3, "comm": "b", "probe": "flush_tlb_mm_range", "start": 0x5000,
         "length": 4096, "caller": "zap_pte_range"}])
    assert list(evs["address"]) == [0x5000, 0x20000, 0, 0x5000] and list(evs["return"][:2]) == [-17, 2]
    assert list(evs.entry) == [60, 195, 300, 400]
    assert list(evs.has("address")) == [True, True, False, True]
    assert list(evs.touches(0x7000)) == [True, False, False, False], "a length covers the pages after"
    assert list(evs.touches(0x21000)) == [False, True, False, False], "so do pages asked"
    assert list(evs.touches(0x6000)) == [True, False, False, False]
    assert evs.at(2) == {"run": 0, "ts_ns": 300, "lat_ns": 0, "cpu": 1, "tgid": 1, "tid": 3, "probe": "signal_generate",
                         "comm": "b", "entry": 300, "signo": 7, "value": 0, "target": 2, "return": 0}
    assert evs.at(3)["caller"] == "zap_pte_range"
    both = Events.concat([evs.where(evs.of("signal_generate")), evs.where(evs.of("fa_map"))])
    assert [both.at(i)["comm"] for i in range(2)] == ["b", "a"], "string tables merge"


def test_bad_events_are_named():
    with pytest.raises(TraceError, match="unknown probe 'handle_fault'"):
        Events.from_dicts([{"probe": "handle_fault", "ts_ns": 1}])
    with pytest.raises(TraceError, match="a fa_map_page event lacks 'dst'"):
        Events.from_dicts([{"ts_ns": 1, "cpu": 0, "tgid": 1, "tid": 1, "comm": "x", "probe": "fa_map_page",
                            "src": 0, "ret": 0, "lat_ns": 1}])


def test_synthetic_trace_loads_by_run_and_probe(tmp_path):
    path = tmp_path / "trace.jsonl"
    synth_trace.write(path, 7000)
    runs = events.read_jsonl(path)
    with open(path) as f:
        recorded = [json.loads(line) for line in f]
    for r, evs in runs.items():
        mine = [e for e in recorded if e["run"] == r]
        assert [dict(evs.event(i), run=r) for i in range(len(evs))] == mine
    assert sum(len(e) for e in runs.values()) == 7000


def test_memory_grows_by_the_columns_not_the_dicts(tmp_path, monkeypatch):
    """Twice the events cost about twice the array, not twice the parsed dicts."""
    monkeypatch.setattr(events, "CHUNK", 1024)
    peaks = []
    for n in (8192, 16384):
        synth_trace.write(tmp_path / f"{n}.jsonl", n)
        tracemalloc.start()
        runs = events.read_jsonl(tmp_path / f"{n}.jsonl")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert sum(len(e) for e in runs.values()) == n
    per_event = (peaks[1] - peaks[0]) / 8192
    assert per_event < 2 * events.DTYPE.itemsize, f"{per_event:.0f} bytes per event more"
    assert np.dtype(events.DTYPE).itemsize < 128
