"""The scenario keys of replays: workload.replay, workload.prefill, source.push_order, variants[].backends."""
import pytest

from scenarios import schema

BASE = """name: w
expect: x
backend: [kmod, mprotect]
workload: {replay: sqlite3-small}
"""


def test_variant_backends_limit_its_runs():
    sc = schema.loads(BASE + "variants:\n  - {label: a}\n  - {label: b, backends: [kmod], workload: {prefill: true}}\n")
    assert [r["label"] for r in schema.runs(sc)] == ["kmod/a", "mprotect/a", "kmod/b"]
    assert [r["workload"]["prefill"] for r in schema.runs(sc)] == [False, False, True]


def test_variant_backends_outside_the_scenario_are_refused():
    with pytest.raises(schema.ScenarioError, match=r"<string>:6: variants\[0\].backends: \['uffd-copy'\] are not"):
        schema.loads(BASE + "variants:\n  - {label: a, backends: [uffd-copy]}\n")


@pytest.mark.parametrize("extra, msg", [
    ("workload: {replay: nope}\n", "workload.replay: no workload 'nope'"),
    ("workload: {replay: xz, pattern: random}\n", "workload.replay: 'xz' gives the order of the touches"),
    ("source: {push: true, push_order: recorded}\n", "source.push_order: recorded needs a replay"),
    ("workload: {replay: xz}\nsource: {push_order: recorded}\n", "source.push_order: recorded needs a replay"),
    ("source: {push_order: backwards}\n", "source.push_order: 'backwards' is not allowed"),
])
def test_replay_keys_errors_name_the_key(extra, msg):
    with pytest.raises(schema.ScenarioError, match=msg):
        schema.loads("name: w\nexpect: x\n" + extra)


def test_the_workload_scenarios_check():
    from scenarios.__main__ import suite_files

    files = suite_files("workloads")
    assert len(files) == 5
    for f in files:
        sc = schema.load(f)
        assert [r["label"] for r in schema.runs(sc)][-1] == "kmod/baseline"
        assert sc["workload"]["replay"] in sc["name"]


def test_record_without_recipe_or_program_is_refused_before_booting():
    from scenarios.__main__ import record

    with pytest.raises(schema.ScenarioError, match="no recipe 'ls'.*give the program after --"):
        record("ls", [], False, None)


def test_run_records_only_what_is_missing(monkeypatch, tmp_path):
    from scenarios import __main__ as cli
    from workloads import fawl

    monkeypatch.setattr(fawl, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setattr(fawl, "CACHE", tmp_path)
    (tmp_path / "xz.fawl").write_bytes(b"")
    loaded = [(f, schema.load(f)) for f in cli.suite_files("workloads")]
    assert cli.unrecorded(loaded) == ["gcc", "python3", "redis", "sqlite3"]
    step = cli.record_step("gcc")
    assert step.cmd == f"python -m workloads.record gcc {tmp_path}/gcc.fawl" and step.timeout > 300
