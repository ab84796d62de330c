"""The scenario session end to end in the guest: one tracer compile, three
small scenarios (tests/fixtures/scenarios), then the invariants on what they
wrote.  Every invariant must come out as its scenario predicts.  (Reports
and plots are tested on the host: matplotlib is slow to start under TCG.)"""
import dataclasses
import json

import pytest

from analysis import invariants, load
from lab import provenance
from lab.module import REPO
from scenarios import plan, schema, session

FILES = [REPO / f"tests/fixtures/scenarios/{n}.yaml" for n in ("fx-postcopy", "fx-gup", "fx-crash")]


@pytest.fixture(scope="module")
def results(fa_session, tmp_path_factory):
    out = tmp_path_factory.mktemp("scenarios")
    assert session.main([str(out)] + [str(f) for f in FILES]) == 0
    return out


@pytest.fixture(scope="module")
def summaries(results):
    out = results
    verdicts = {}
    for d in load.scenario_dirs(out):
        res = load.load(d)
        verdicts[d.name] = [dataclasses.asdict(v) for v in invariants.check_all(res.scenario["invariants"], res.runs)]
    return verdicts


@pytest.mark.parametrize("name", ["fx-postcopy", "fx-gup", "fx-crash"])
def test_scenario_invariants_hold(summaries, name):
    bad = [f"{v['invariant']} on {v['run']}: {v['status']}: {v['reason']}" for v in summaries[name]
           if v["status"] != v["expect"]]
    assert not bad, bad


def test_session_leaves_the_module_unloaded(summaries):
    from lab.module import module_loaded

    assert not module_loaded()


def test_runs_carry_schema_provenance_and_the_planned_tracing(results):
    for f in FILES:
        groups, record_pfn = plan.tracing_plan(schema.load(f))
        runs = sorted((results / f.stem / "runs").glob("*.json"))
        assert runs, f.stem
        for path in runs:
            r = json.loads(path.read_text())
            assert r["schema"] == provenance.RESULTS_SCHEMA
            assert r["provenance"]["kernel"] and "module_srcversion" in r["provenance"], r["provenance"]
            assert r["trace"]["groups"] == list(groups) and r["extra"]["record_pfn"] == record_pfn
