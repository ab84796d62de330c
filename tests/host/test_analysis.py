"""Invariants on recorded traces (tests/fixtures/recorded, from real guest runs;
tests/fixtures/record.sh records them again): each passes on its fixture,
and a one-line change to the fixture makes it fail, or skip with a reason."""
import copy
import json
import shutil

import pytest

from analysis import __main__ as cli
from analysis import invariants, load, page_story
from lab.guest import REPO

FIXTURES = REPO / "tests/fixtures/recorded"


def fixture(name):
    return load.load(FIXTURES / name)


def verdict(res, name, run=0, **params):
    spec = next(s for s in res.scenario["invariants"] if s["name"] == name)
    spec = dict(spec, params=dict(spec["params"], **params))
    return invariants.check(spec, res.runs[run])


@pytest.fixture
def post():
    return fixture("fx-postcopy")


def test_every_invariant_has_a_fixture():
    named = {s["name"] for d in load.scenario_dirs(FIXTURES) for s in load.load(d).scenario["invariants"]}
    assert named == set(invariants.INVARIANTS)


@pytest.mark.parametrize("name", ["no_vma_created", "zero_copy", "one_fault_per_page", "nothing_lost",
                                  "dmesg_clean"])
def test_postcopy_fixture_passes(post, name):
    v = verdict(post, name)
    assert v.status == "pass", v.reason


def test_no_vma_created_fails_on_a_vma_event(post):
    run = post.runs[0]
    ev = dict(probe="vm_area_dup", ts_ns=run.result["t_start_ns"] + 1, lat_ns=0, tgid=run.tgid, tid=run.tgid,
              comm="x", cpu=0, start=0, length=4096, vma=1)
    run.events.append(ev)
    v = verdict(post, "no_vma_created")
    assert v.status == "fail" and "1 VMA events" in v.reason


def test_no_vma_created_fails_when_maps_change(post):
    post.runs[0].result["maps_same"] = False
    assert verdict(post, "no_vma_created").status == "fail"


def test_no_vma_created_skips_on_lost_events(post):
    post.runs[0].trace["lost_events"] = 3
    v = verdict(post, "no_vma_created")
    assert v.status == "skip" and "3 events were lost" in v.reason


def test_no_vma_created_skips_without_events(post):
    post.runs[0].events = None
    v = verdict(post, "no_vma_created")
    assert v.status == "skip" and "events off" in v.reason


def test_skip_when_the_group_was_not_traced(post):
    post.runs[0].trace["groups"] = ["kmod"]
    v = verdict(post, "no_vma_created")
    assert v.status == "skip" and "group 'vma' was not traced" in v.reason


def test_zero_copy_fails_on_a_changed_pfn(post):
    post.runs[0].result["pfn_kept"] -= 1
    assert "1 of 64 pages changed pfn" in verdict(post, "zero_copy").reason


def test_zero_copy_fails_on_an_allocation_in_the_map_path(post):
    run = post.runs[0]
    call = next(e for e in run.events if e["probe"] == "fa_map_page")
    run.events.append(dict(call, probe="vma_alloc_folio_noprof", ts_ns=call["ts_ns"] - 1, lat_ns=0))
    v = verdict(post, "zero_copy")
    assert v.status == "fail" and "allocated inside the map path" in v.reason


def test_one_fault_per_page_fails_on_a_second_fault(post):
    r = post.runs[0].result
    r["fault_addr"].append(r["fault_addr"][5])
    v = verdict(post, "one_fault_per_page")
    assert v.status == "fail" and "1 repeats, 0 allowed" in v.reason
    assert verdict(post, "one_fault_per_page", max_repeats=1).status == "pass"


def test_nothing_lost_fails_on_a_bad_page(post):
    post.runs[0].result.update(bad_pages=1, first_bad=[7])
    assert "1 pages differ" in verdict(post, "nothing_lost").reason


def test_dmesg_clean_fails_on_a_warning(post):
    post.runs[0].dmesg += "[ 12.3] WARNING: CPU: 1 PID: 99 at mm/memory.c:123 zap_pte_range\n"
    v = verdict(post, "dmesg_clean")
    assert v.status == "fail" and "zap_pte_range" in v.reason


@pytest.fixture
def gup():
    return fixture("fx-gup")


def test_gup_fallback_passes_on_every_kind_of_access(gup):
    v = verdict(gup, "gup_fallback")
    assert v.status == "pass", v.reason
    assert v.metrics["steps"][0] == 4


def _step_events(res, kind, probe):
    run = res.runs[0]
    step = next(s for s in run.result["kernel_steps"] if s["kind"] == kind)
    lo, hi = step["before_window"]
    return [e for e in run.events if e["probe"] == probe and lo <= e["ts_ns"] <= hi
            and e["tid"] == step["before_tid"]]


def test_gup_fallback_fails_when_the_fault_does_not_sigbus(gup):
    page = gup.runs[0].result["area_start"] + 10 * 4096
    fault = next(e for e in _step_events(gup, "odirect", "handle_mm_fault") if e["address"] // 4096 * 4096 == page)
    fault["vm_fault"] &= ~invariants.VM_FAULT_SIGBUS
    v = verdict(gup, "gup_fallback")
    assert v.status == "fail" and "odirect page 10 before: handle_mm_fault returned" in v.reason


def test_gup_fallback_fails_when_the_order_is_wrong(gup):
    slow = _step_events(gup, "odirect", "__get_user_pages")[0]
    fast = _step_events(gup, "odirect", "gup_fast_fallback")[0]
    late = fast["ts_ns"] + 1 - slow["ts_ns"]  # same entry, but it returns after gup_fast_fallback
    slow["ts_ns"] += late
    slow["lat_ns"] += late
    v = verdict(gup, "gup_fallback")
    assert v.status == "fail" and "do not nest" in v.reason


def test_gup_fallback_fails_when_the_caller_did_not_get_efault(gup):
    gup.runs[0].result["kernel_steps"][2]["before_errno"] = "0"
    assert "pipe-read page 30 before: the caller got 0" in verdict(gup, "gup_fallback").reason


def test_vma_limit_passes_then_fails_without_the_limit():
    res = fixture("fx-vma-limit")
    v = verdict(res, "vma_limit")
    assert v.status == "pass", v.reason
    assert 0 < v.metrics["pages_reached"][0] < 1500 and v.metrics["max_map_count"][0] == 400
    assert verdict(res, "no_vma_created").status == "skip"  # events off: it cannot be judged
    res.runs[0].result["vma_limit_pages"] = -1
    assert "never reached" in verdict(res, "vma_limit").reason


def test_fails_fast_passes_then_fails_when_slow():
    res = fixture("fx-crash")
    v = verdict(res, "fails_fast")
    assert v.status == "pass", v.reason
    res.runs[0].extra["kill_to_end_s"] = 42.0
    assert verdict(res, "fails_fast").status == "fail"
    del res.runs[0].extra["kill_to_end_s"]
    assert "never killed" in verdict(res, "fails_fast").reason


def test_latency_floor_passes_then_fails_below_the_round_trip():
    res = fixture("fx-link")
    assert verdict(res, "latency_floor").status == "pass"
    r = res.runs[0].result
    r["resolve_ns"] = [v // 100 for v in r["resolve_ns"]]
    assert verdict(res, "latency_floor").status == "fail"


@pytest.mark.parametrize("name,run,field,value", [
    ("thp_collapse", 0, "huge_kb_after", 0),
    ("ksm_refused", 1, "move_errno", 0),
    ("shared_refused", 2, "move_errno", 0),
])
def test_after_migration_invariants(name, run, field, value):
    res = fixture("fx-after")
    v = verdict(res, name, run)
    assert v.status == "pass", v.reason
    res.runs[run].result["after"][field] = value
    assert verdict(res, name, run).status == "fail"
    other = (run + 1) % 3
    assert verdict(res, name, other).status == "skip"


def test_page_story_tells_a_marker_page_in_order(gup):
    page = gup.runs[0].result["area_start"] + 10 * 4096
    rows = page_story.story(gup.runs, page + 123)
    probes = [e["probe"] for _, e in rows]
    assert "fa_prepare" in probes and "handle_mm_fault" in probes and "fa_map_page" in probes
    starts = [e["ts_ns"] - e.get("lat_ns", 0) for _, e in rows]
    assert starts == sorted(starts)
    assert probes.index("fa_prepare") < probes.index("handle_mm_fault") < probes.index("fa_map_page")
    only = page_story.story(gup.runs, page, probe={"handle_mm_fault"})
    assert only and {e["probe"] for _, e in only} == {"handle_mm_fault"}


def test_report_and_cli_on_a_copy(tmp_path, capsys):
    for name in ("fx-postcopy", "fx-vma-limit"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    assert cli.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fx-vma-limit" in out and "no_vma_created" in out
    md = (tmp_path / "fx-postcopy/report.md").read_text()
    assert "| zero_copy | kmod | pass |" in md and "pfn kept (%)" in md
    assert (tmp_path / "fx-postcopy/plots/latency-cdf.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fx-vma-limit/plots/vma-growth.png").exists()
    summary = json.loads((tmp_path / "fx-postcopy/summary.json").read_text())
    assert summary["ok"] and summary["figures"]["kmod"]["pages"] == 64
    runs = tmp_path / "fx-postcopy/runs/0.json"
    d = json.loads(runs.read_text())
    d["result"]["bad_pages"] = 2
    runs.write_text(json.dumps(d))
    assert cli.main([str(tmp_path / "fx-postcopy")]) == 1, "an unexpected failure makes the exit status 1"


def test_results_error_names_the_directory(tmp_path):
    with pytest.raises(load.ResultsError, match="no scenario results here"):
        load.scenario_dirs(tmp_path)


def test_check_all_applies_backends_and_once(post):
    twin = copy.deepcopy(post.runs[0])
    twin.label, twin.backend = "uffd-copy", "uffd-copy"
    specs = [{"name": "nothing_lost", "backends": ["kmod"], "expect": "pass", "params": {}},
             {"name": "dmesg_clean", "backends": [], "expect": "pass", "params": {}}]
    out = invariants.check_all(specs, post.runs + [twin])
    assert [(v.invariant, v.run) for v in out] == [("nothing_lost", "kmod"), ("dmesg_clean", "all runs")]
