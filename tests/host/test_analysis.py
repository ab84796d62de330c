"""Invariants on recorded traces (tests/fixtures/recorded, from real guest runs;
tests/fixtures/record.sh records them again): each passes on its fixture,
and a one-line change to the fixture makes it fail, or come out undecided
(the data to decide is missing) or skipped (it does not apply), with a reason."""
import copy
import types
import json
import shutil

import pytest

from analysis import __main__ as cli
from analysis import figures, invariants, load, page_story, phases, plots, qemu, report
from analysis.events import Events
from lab.guest import REPO
from tracing.probes import VM_FAULT_SIGBUS

FIXTURES = REPO / "tests/fixtures/recorded"


def fixture(name):
    return load.load(FIXTURES / name)


def verdict(res, name, run=0, **params):
    spec = next(s for s in res.scenario["invariants"] if s["name"] == name)
    spec = dict(spec, params=dict(spec["params"], **params))
    return invariants.check(spec, res.runs[run])


def add(run, **ev):
    """Append one event (a JSON event dict) to a run's columns."""
    run.events = Events.concat([run.events, Events.from_dicts([ev])])


def rows_of(res, probe, run=0):
    evs = res.runs[run].events
    return [i for i in range(len(evs)) if evs.name(i) == probe]


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
    add(run, probe="vm_area_dup", ts_ns=run.result["t_start_ns"] + 1, lat_ns=0, tgid=run.tgid, tid=run.tgid,
        comm="x", cpu=0, start=0, length=4096, vma=1)
    v = verdict(post, "no_vma_created")
    assert v.status == "fail" and "1 VMA events" in v.reason


def test_no_vma_created_fails_when_maps_change(post):
    post.runs[0].result["maps_same"] = False
    assert verdict(post, "no_vma_created").status == "fail"


def test_no_vma_created_undecided_on_lost_events(post):
    post.runs[0].trace["lost_events"] = 3
    v = verdict(post, "no_vma_created")
    assert v.status == "undecided" and "3 events were lost" in v.reason and v.as_expected


def test_no_vma_created_undecided_without_events(post):
    post.runs[0].events = None
    v = verdict(post, "no_vma_created")
    assert v.status == "undecided" and "events off" in v.reason


def test_undecided_when_the_group_was_not_traced(post):
    post.runs[0].trace["groups"] = ["kmod"]
    v = verdict(post, "no_vma_created")
    assert v.status == "undecided" and "group 'vma' was not traced" in v.reason


def test_undecided_when_a_probe_is_missing_here(post):
    post.runs[0].trace["missing"] = {"vm_area_dup": "inlined in 6.12: no symbol in /proc/kallsyms"}
    v = verdict(post, "no_vma_created")
    assert v.status == "undecided" and "needs probe vm_area_dup, missing here: inlined" in v.reason


def test_undecided_without_pfns(post):
    post.runs[0].extra["record_pfn"] = False
    v = verdict(post, "zero_copy")
    assert v.status == "undecided" and "did not read pfns" in v.reason


def test_unknown_data_tag_or_probe_is_refused_at_registration():
    with pytest.raises(ValueError, match="data tags \\['pfns'\\]"):
        invariants.Invariant("x", None, "", data=("pfns",))
    with pytest.raises(ValueError, match="unknown probes \\['handle_fault'\\]"):
        invariants.Invariant("x", None, "", events=("handle_fault",))


def test_zero_copy_fails_on_a_changed_pfn(post):
    post.runs[0].result["pfn_kept"] -= 1
    assert "1 of 64 pages changed pfn" in verdict(post, "zero_copy").reason


def test_zero_copy_fails_on_an_allocation_in_the_map_path(post):
    run = post.runs[0]
    call = run.events.at(rows_of(post, "fa_map_page")[0])
    add(run, probe="vma_alloc_folio_noprof", ts_ns=call["ts_ns"] - 1, tgid=call["tgid"], tid=call["tid"],
        comm=call["comm"], cpu=0, address=call["address"], gfp=0)
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
    """Row indexes of probe's events in the before-window of the step of this kind."""
    run = res.runs[0]
    step = next(s for s in run.result["kernel_steps"] if s["kind"] == kind)
    lo, hi = step["before_window"]
    return [i for i in rows_of(res, probe) if lo <= run.events["ts_ns"][i] <= hi
            and run.events["tid"][i] == step["before_tid"]]


def test_gup_fallback_fails_when_the_fault_does_not_sigbus(gup):
    evs, page = gup.runs[0].events, gup.runs[0].result["area_start"] + 10 * 4096
    fault = next(i for i in _step_events(gup, "odirect", "handle_mm_fault") if evs["address"][i] // 4096 * 4096 == page)
    evs["return"][fault] &= ~VM_FAULT_SIGBUS
    v = verdict(gup, "gup_fallback")
    assert v.status == "fail" and "odirect page 10 before: handle_mm_fault returned" in v.reason


def test_gup_fallback_fails_when_the_order_is_wrong(gup):
    evs = gup.runs[0].events
    slow = _step_events(gup, "odirect", "__get_user_pages")[0]
    fast = _step_events(gup, "odirect", "gup_fast_fallback")[0]
    late = evs["ts_ns"][fast] + 1 - evs["ts_ns"][slow]  # same entry, but it returns after gup_fast_fallback
    evs["ts_ns"][slow] += late
    evs["lat_ns"][slow] += late
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
    assert verdict(res, "no_vma_created").status == "undecided"  # events off: it cannot be judged
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
    v = verdict(res, name, other)
    assert v.status == "skip" and "needs workload.after" in v.reason


def test_page_story_tells_a_marker_page_in_order(gup):
    page = gup.runs[0].result["area_start"] + 10 * 4096
    rows = page_story.story(gup.runs, page + 123)
    probes = [run.events.name(i) for run, i in rows]
    assert "fa_prepare" in probes and "handle_mm_fault" in probes and "fa_map_page" in probes
    starts = [run.events.entry[i] for run, i in rows]
    assert starts == sorted(starts)
    assert probes.index("fa_prepare") < probes.index("handle_mm_fault") < probes.index("fa_map_page")
    only = page_story.story(gup.runs, page, probe={"handle_mm_fault"})
    assert only and {run.events.name(i) for run, i in only} == {"handle_mm_fault"}


def test_report_and_cli_on_a_copy(tmp_path, capsys):
    for name in ("fx-postcopy", "fx-vma-limit"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    assert cli.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fx-vma-limit" in out and "no_vma_created" in out and "undecided" in out
    md = (tmp_path / "fx-postcopy/report.md").read_text()
    assert "| zero_copy | kmod | pass |" in md and "pfn kept (%)" in md and "kernel 6.12.95+deb12-amd64" in md
    assert (tmp_path / "fx-postcopy/plots/latency-cdf.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((tmp_path / "fx-postcopy/summary.json").read_text())
    assert summary["ok"] and summary["figures"]["kmod"]["pages"] == 64
    assert summary["schema"] == "fa-results/2" and summary["provenance"]["accel"] == "tcg"
    assert summary["outcomes"] == {"pass": 5, "fail": 0, "skip": 0, "undecided": 0}
    limit = json.loads((tmp_path / "fx-vma-limit/summary.json").read_text())
    assert limit["outcomes"]["undecided"] == 1 and limit["outcomes"]["pass"] >= 1
    runs = tmp_path / "fx-postcopy/runs/0.json"
    d = json.loads(runs.read_text())
    d["result"]["bad_pages"] = 2
    runs.write_text(json.dumps(d))
    assert cli.main([str(tmp_path / "fx-postcopy")]) == 1, "an unexpected failure makes the exit status 1"


def test_plots_draw_the_runs_data(tmp_path):
    post, limit = fixture("fx-postcopy"), fixture("fx-vma-limit")
    r = post.runs[0].result
    cdf = plots.latency_cdf(post.runs, tmp_path / "cdf.png")
    xs, ys = cdf.series["kmod"]
    assert xs == sorted(v / 1000 for v in r["e2e_ns"]) and ys[-1] == 1.0 and len(ys) == len(r["e2e_ns"])
    assert cdf.path.read_bytes()[:4] == b"\x89PNG"
    growth = plots.vma_growth(limit.runs, tmp_path / "vma.png")
    run = limit.runs[0]
    assert growth.series[run.label] == ([s[1] for s in run.vma_series], [s[2] for s in run.vma_series])
    assert growth.lines == {"vm.max_map_count": 400}
    faults = plots.faults_over_time(post.runs, tmp_path / "faults.png", bin_s=0.1)
    assert sum(faults.series["kmod"][1]) * 0.1 == pytest.approx(len(r["fault_t_ns"]))
    rate = plots.pages_per_s(post.runs, tmp_path / "rate.png")
    assert rate.series["pages/s"] == (["kmod"], [r["pages_per_s"]])
    assert plots.vma_growth(post.runs[:0], tmp_path / "none.png") is None


def test_load_refuses_another_schema(tmp_path):
    shutil.copytree(FIXTURES / "fx-link", tmp_path / "fx-link")
    f = tmp_path / "fx-link/runs/0.json"
    d = json.loads(f.read_text())
    del d["schema"]
    f.write_text(json.dumps(d))
    with pytest.raises(load.ResultsError, match="written before fa-results/2.*re-run the scenario"):
        load.load(tmp_path / "fx-link")
    f.write_text(json.dumps(dict(d, schema="fa-results/9")))
    assert cli.main([str(tmp_path / "fx-link")]) == 2


def test_page_story_cli_table_and_json(gup, capsys):
    run = gup.runs[0]
    page = run.result["area_start"] + 10 * 4096
    assert cli.main(["page-story", str(FIXTURES / "fx-gup"), hex(page + 5)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == page_story.HEADER
    want = page_story.story(gup.runs, page)
    assert len(lines) == 1 + len(want)
    assert [line.split()[4] for line in lines[1:]] == [run.events.name(i) for _, i in want]
    fault = next(line.split() for line in lines if " handle_mm_fault " in line)
    assert fault[5] == f"{page:#x}" and int(fault[-1], 16) & VM_FAULT_SIGBUS, "address and return by role"
    signal = next(line for line in lines if " signal_generate " in line)
    assert " to tid " in signal and " sig " in signal
    assert cli.main(["page-story", str(FIXTURES / "fx-gup"), hex(page), "-j", "-P", "fa_map_page"]) == 0
    evs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert evs and all(e["probe"] == "fa_map_page" and e["dst"] // 4096 * 4096 == page and e["run"] == 0
                       for e in evs)
    with open(FIXTURES / "fx-gup/trace.jsonl") as f:
        recorded = [json.loads(x) for x in f]
    assert all(e in recorded for e in evs), "page-story -j gives back the recorded events"
    assert cli.main(["page-story", str(FIXTURES / "fx-gup"), "0x1000"]) == 1
    with pytest.raises(SystemExit, match="unknown probe"):
        cli.main(["page-story", str(FIXTURES / "fx-gup"), hex(page), "-P", "handle_fault"])


def test_summary_table_counts_outcomes_apart():
    summaries = [{"scenario": "s", "outcomes": {"pass": 1, "fail": 0, "skip": 1, "undecided": 1}, "invariants": [
        {"invariant": "a", "run": "kmod", "status": "undecided", "as_expected": True, "reason": "events off"}]}]
    table = report.summary_table(summaries)
    assert "undecided" in table.splitlines()[1] and "1 pass, 0 fail, 1 skip, 1 undecided" in table


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


def test_summary_provenance_keeps_what_the_runs_disagree_on():
    res = fixture("fx-after")
    res.runs[1].provenance = dict(res.runs[1].provenance, created="2026-12-01T04:00:00Z")
    prov = report.provenance(res.runs)
    assert prov["kernel"] == "6.12.95+deb12-amd64" and prov["accel"] == "tcg"
    assert prov["created"] == ["unknown (recorded before fa-results/2)", "2026-12-01T04:00:00Z"]


# ---- a fault in phases, QEMU's figures: hand-made results whose answers are worked out by hand ----

def phase_result(faults, touches, threads=1):
    """A RunResult dict holding only what analysis.phases and analysis.qemu read.
    faults: (addr, tid, entry, fetch, resolve, won); touches: (addr, tid, t0, e2e)."""
    f, t = list(zip(*faults)) or [()] * 6, list(zip(*touches)) or [()] * 4
    return {"fault_addr": list(f[0]), "fault_tid": list(f[1]), "fault_t_ns": list(f[2]), "fetch_ns": list(f[3]),
            "resolve_ns": list(f[4]), "fault_won": list(f[5]), "touch_addr": list(t[0]), "touch_tid": list(t[1]),
            "touch_t_ns": list(t[2]), "e2e_ns": list(t[3]), "threads": threads}


def test_phases_join_on_the_winning_placement_of_the_touching_thread():
    r = phase_result(
        faults=[(0x1000, 7, 1200, 300, 500, 1),   # page 1, thread 7: trap 200, fetch 300, place 200, return 300
                (0x1000, 8, 1250, 300, 600, 0),   # the EEXIST loser of the same page: not joined
                (0x2000, 8, 5100, 100, 400, 1)],  # page 2 placed by thread 8's fault ...
        touches=[(0x1000, 7, 1000, 1000),
                 (0x2000, 7, 5000, 1000),          # ... while thread 7 touched it: no join
                 (0x3000, 7, 9000, 50)])           # a page no fault placed (pushed): no join
    assert phases.join(r) == [(200, 300, 200, 300, 1000)]
    out = phases.of_run(r)
    assert (out["joined"], out["first_touches"]) == (1, 3)
    # a handler thread's ioctl woke the vCPU, which ran on before the ioctl returned: return -100
    woke = phase_result([(0x1000, 7, 1200, 300, 900, 1)], [(0x1000, 7, 1000, 1000)])
    assert phases.join(woke) == [(200, 300, 600, -100, 1000)]
    assert out["phases"]["return"] == {"median_us": 0.3, "p99_us": 0.3}
    assert out["sum_of_medians_us"] == out["e2e_median_us"] == 1.0 and out["adds_up"] is True
    assert out["median_fault"] == {"faults": 1, "trap": 0.2, "fetch": 0.3, "place": 0.2, "return": 0.3,
                                   "sum_us": 1.0, "e2e_us": 1.0}


def hundred_ns_faults(n, kinds):
    """n faults of 100 ns, fault i all in phase kinds[i % len(kinds)] (0 trap, 1 fetch, 3 return)."""
    spans = {0: (100, 0, 0), 1: (0, 100, 100), 3: (0, 0, 0)}  # (entry - t0, fetch, resolve)
    faults, touches = [], []
    for i in range(n):
        d, fetch, resolve = spans[kinds[i % len(kinds)]]
        faults.append((4096 * i, 1, 1000 * i + d, fetch, resolve, 1))
        touches.append((4096 * i, 1, 1000 * i, 100))
    return phase_result(faults, touches)


def test_phases_add_up_check_fails_when_faults_of_one_length_split_differently():
    # 21 faults of 100 ns; the median fault (ranks 9-11) is one trap-, one fetch-, one return-heavy:
    # every phase's median over them is 0, against their 100 ns
    r = hundred_ns_faults(21, (0, 1, 3))
    assert phases.join(r)[:3] == [(100, 0, 0, 0, 100), (0, 100, 0, 0, 100), (0, 0, 0, 100, 100)]
    out = phases.of_run(r)
    assert out["median_fault"]["faults"] == 3 and out["median_fault"]["sum_us"] == 0
    assert out["add_up_pct"] == 100.0 and out["adds_up"] is False
    # the same faults all trap-heavy: the split adds up
    assert phases.of_run(hundred_ns_faults(21, (0,)))["adds_up"] is True


def test_phases_none_for_results_recorded_before_the_arrays(post):
    assert phases.of_run(post.runs[0].result) is None
    assert phases.of_run(phase_result([], []))["joined"] == 0


@pytest.mark.parametrize("intervals, threads, per_thread, overlapped", [
    ({}, None, {}, 0),
    ({1: [(0, 10), (20, 30)]}, None, {1: 20}, 20),                      # one thread: all its blocked time
    ({1: [(0, 10), (5, 15)]}, None, {1: 15}, 15),                        # overlapping faults of one thread merge
    ({1: [(0, 10)], 2: [(5, 15)]}, None, {1: 10, 2: 10}, 5),             # both blocked in [5, 10]
    ({1: [(0, 10), (20, 30)], 2: [(5, 25)]}, None, {1: 20, 2: 20}, 10),  # [5, 10] and [20, 25]
    ({1: [(0, 10)], 2: [(10, 20)]}, None, {1: 10, 2: 10}, 0),            # back to back: never both
    ({1: [(0, 10)], 2: [(0, 10)]}, 3, {1: 10, 2: 10}, 0),                # a third vCPU never blocked
    ({1: [(0, 10)], 2: [(2, 8)], 3: [(4, 20)]}, 3, {1: 10, 2: 6, 3: 16}, 4),
])
def test_qemu_blocktime(intervals, threads, per_thread, overlapped):
    assert qemu.blocktime(intervals, threads) == (per_thread, overlapped)


@pytest.mark.parametrize("ns, bucket", [(0, 0), (999, 0), (1000, 0), (1999, 0), (2000, 1), (3999, 1), (4000, 2),
                                        (256_000, 8), (511_999, 8), (512_000, 9), (2 ** 23 * 1000, 23),
                                        (2 ** 30 * 1000, 23)])
def test_qemu_latency_buckets(ns, bucket):
    """QEMU's example: the 8th element counts faults resolved within [256us, 512us)."""
    assert qemu.bucket(ns) == bucket


def test_qemu_figures_of_a_run():
    r = phase_result([], [(0x1000, 7, 0, 3_000_000), (0x2000, 7, 5_000_000, 1_000_000),
                          (0x3000, 8, 2_000_000, 4_000_000)], threads=2)
    q = qemu.of_run(r)
    assert q["postcopy-vcpu-blocktime"] == [4.0, 4.0]  # thread 7: 3 + 1 ms; thread 8: 4 ms
    assert q["postcopy-blocktime"] == 2.0  # both in [2, 3] and [5, 6] ms
    assert q["postcopy-latency"] == 8_000_000 // 3 + 1  # mean, rounded
    assert sum(q["postcopy-latency-dist"]) == 3 and q["postcopy-latency-dist"][11] == 2  # 2048 <= 3000, 4000 us
    assert q["postcopy-latency-dist"][9] == 1 and len(q["postcopy-latency-dist"]) == 24
    assert qemu.of_run({"e2e_ns": []}) is None


def test_phase_plot_and_report_tables(tmp_path):
    r = phase_result([(0x1000, 7, 1200, 300, 500, 1)], [(0x1000, 7, 1000, 1000)])
    run = types.SimpleNamespace(label="kmod", result=r)
    bars = plots.fault_phases([run], tmp_path / "phases.png")
    assert bars.series == {p: (["kmod"], [v]) for p, v in zip(phases.PHASES, (0.2, 0.3, 0.2, 0.3))}
    assert bars.path.read_bytes()[:4] == b"\x89PNG"
    summary = report.fault_figures([run])
    md = "\n".join(report.fault_tables(summary))
    assert "| kmod | 1 / 1 | 0.2 / 0.2 | 0.3 / 0.3 | 0.2 / 0.2 | 0.3 / 0.3 | 1.0 | 0.0 | " \
           "0.2 + 0.3 + 0.2 + 0.3 = 1.0 of 1.0 | 0.0 |" in md
    assert "| kmod | 0.001 | 0.001 | 1.0 | [0, 2): 1 |" in md


def test_thp_kept_on_2mib_batches():
    res = fixture("fx-huge")
    v = verdict(res, "thp_kept", 0)
    assert v.status == "pass" and "4096 kB from 2 THP batches; every page kept its pfn" in v.reason, v.reason
    v = verdict(res, "thp_kept", 1)
    assert v.status == "fail" and "AnonHugePages 0 kB" in v.reason, "UFFDIO_COPY copies into small pages"
    v = verdict(res, "thp_kept", 2)
    assert v.status == "skip" and "area.tmp_thp" in v.reason
    r = res.runs[0].result
    r["huge_kb_placed"] = 2048
    assert verdict(res, "thp_kept", 0).status == "fail", "one 2 MiB batch did not land huge"
    r["huge_kb_placed"], r["pfn_kept"], r["khugepaged_collapsed"] = 4096, 0, 3
    v = verdict(res, "thp_kept", 0)
    assert v.status == "undecided" and "khugepaged collapsed 3" in v.reason, "the huge pages may be khugepaged's"
    r["khugepaged_collapsed"] = 0
    assert verdict(res, "thp_kept", 0).status == "pass"
    r["huge_batches"] = 0
    assert verdict(res, "thp_kept", 0).status == "undecided"


def test_prefill_is_a_placement_phase():
    """A batch of the stream is one call and, for kmod, one TLB flush; a VMA event in prefill counts."""
    res = fixture("fx-huge")
    huge, batch64 = (figures.of_run(res.runs[i]) for i in (0, 2))
    assert (huge["stream_calls"], huge["tlb_per_page"]) == (2, round(1 / 512, 3))
    assert (batch64["stream_calls"], batch64["tlb_per_page"]) == (16, round(1 / 64, 3))
    assert huge["stream_place_us"] > 0 and huge["faults"] == 0
    run = res.runs[0]
    assert verdict(res, "no_vma_created").status == "pass"
    add(run, probe="vm_area_dup", ts_ns=run.result["prefill_t0_ns"] + 1, lat_ns=0, tgid=run.tgid, tid=run.tgid,
        comm="x", cpu=0, start=0, length=4096, vma=1)
    assert verdict(res, "no_vma_created").status == "fail"


def test_kernel_access_completes_on_waits():
    res = fixture("fx-kwait")
    fast, kwait = res.runs
    assert fast.variant == "fail-fast" and kwait.variant == "kwait"
    spec = {"name": "kernel_access_completes", "backends": [], "variants": [], "expect": "pass", "params": {}}
    v = invariants.check(spec, fast)
    assert v.status == "fail" and "got EFAULT (ret -1) while the page was missing" in v.reason, v.reason
    v = invariants.check(spec, kwait)
    assert v.status == "pass", v.reason
    assert v.metrics["kwaits"][0] == 2 and v.metrics["woken_by_map"][0] == 2 and v.metrics["woken_by_timeout"][0] == 0
    evs = kwait.events
    kwait.events = evs.where(~evs.of(*invariants.PLACEMENTS))
    assert "the page was not placed while the fault waited" in invariants.check(spec, kwait).reason
    kwait.events = evs.where(~evs.of("handle_mm_fault"))
    v = invariants.check(spec, kwait)
    assert v.status == "fail" and "returned VM_FAULT_RETRY" in v.reason
    kwait.events, kwait.trace = evs, dict(kwait.trace, groups=["kmod"])
    assert invariants.check(spec, kwait).status == "undecided"


def test_invariants_apply_to_the_variants_they_name():
    res = fixture("fx-kwait")
    verdicts = invariants.check_all(res.scenario["invariants"], res.runs)
    assert [(v.run, v.status, v.expect) for v in verdicts] == [("kmod/fail-fast", "fail", "fail"),
                                                               ("kmod/kwait", "pass", "pass")]
    assert all(v.as_expected for v in verdicts)
