"""replay_faithful, the replay figures and the timeline plot on the fx-replay fixture (a real guest run of the
shipped workload sqlite3-small through uffd-copy: push off, push in the recorded order, the baseline)."""
import dataclasses

import pytest

from analysis import invariants, load, replay
from lab.guest import REPO
from workloads import fawl

FIXTURE = REPO / "tests/fixtures/recorded/fx-replay"


@pytest.fixture
def res():
    return load.load(FIXTURE)


def faithful(run, **params):
    spec = {"name": "replay_faithful", "backends": [], "expect": "pass", "params": {"tolerance": 0.1} | params}
    return invariants.check(spec, run)


def test_every_run_is_faithful(res):
    assert [r.label for r in res.runs] == ["uffd-copy/push-off", "uffd-copy/push-recorded", "uffd-copy/baseline"]
    for run in res.runs:
        v = faithful(run)
        assert v.status == "pass", (run.label, v.reason)


def test_an_access_out_of_order_fails(res):
    r = res.runs[0].result
    r["touch_addr"][3], r["touch_addr"][4] = r["touch_addr"][4], r["touch_addr"][3]
    v = faithful(res.runs[0])
    assert v.status == "fail" and "out of their recorded order" in v.reason


def test_compute_off_by_more_than_the_tolerance_fails(res):
    res.runs[0].result["replay_compute_ns"] = int(res.runs[0].result["replay"]["compute_ns"] * 1.2)
    v = faithful(res.runs[0])
    assert v.status == "fail" and "20.0% off" in v.reason


def test_a_recording_made_again_is_undecided(res):
    res.runs[0].result["replay"]["sha256"] = "0" * 64
    v = faithful(res.runs[0])
    assert v.status == "undecided" and "changed since the run" in v.reason


def test_not_a_replay_is_skipped(res):
    res.runs[0].config["workload"]["replay"] = ""
    assert faithful(res.runs[0]).status == "skip"


def test_figures_and_timeline(res, tmp_path):
    figs = replay.of_runs(res.runs)
    off, push, base = (figs[r.label] for r in res.runs)
    wl = fawl.load(fawl.find("sqlite3-small"))
    assert off["never_touched"] == wl.pages - len(wl.touches)
    assert base["faults"] == 0 and base["slowdown"] == 1.0
    assert off["slowdown"] == round(off["replay_s"] / base["replay_s"], 3)
    assert push["faults_saved"] == off["faults"] - push["faults"] and push["pages_pushed"] > 0
    assert off["faults_saved"] is None  # nothing pushed: nothing to save
    plot = replay.timeline(res.runs, tmp_path / "t.png")
    assert plot.path.read_bytes()[:4] == b"\x89PNG"
    pushed = plot.series["uffd-copy/push-recorded: pushed pages"][1]
    assert sum(pushed) == push["pages_pushed"]
    r = res.runs[0].result
    faults = sum(sum(ys) for name, (_, ys) in plot.series.items() if name.startswith("uffd-copy/push-off: faults"))
    assert faults == sum(t <= r["t_end_ns"] for t in r["fault_t_ns"]) == off["faults"] == len(wl.touches)
    assert r["faults"] == wl.pages  # the pages never touched faulted after the replay, for the check
    assert "| uffd-copy/push-recorded |" in "\n".join(replay.markdown(figs))
