"""The scenario schema: shipped files load, bad ones fail at file:line with the key and what is allowed."""
import pytest

from lab.guest import REPO
from scenarios import __main__ as cli
from scenarios import doc, plan, schema

BASE = "name: x\nexpect: y\n"


def err(text):
    with pytest.raises(schema.ScenarioError) as e:
        schema.loads(text, "s.yaml")
    return str(e.value)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_state_expectations(path):
    sc = schema.load(path)
    assert sc["name"] == path.stem and sc["expect"].strip() and sc["invariants"]
    assert "dmesg_clean" in [i["name"] for i in sc["invariants"]]


def test_default_suite_has_the_fourteen_scenarios():
    assert len(cli.suite_files("default")) == 14


def test_defaults_are_filled_in():
    sc = schema.loads(BASE)
    assert sc["backend"] == ["kmod"] and sc["area"]["pages"] == 16384 and sc["tracing"]["events"] is True
    assert sc["workload"]["kernel_steps"] == [] and sc["repeats"] == 1


def test_unknown_key_names_line_and_allowed_keys():
    msg = err(BASE + "area:\n  pages: 4\n  hugepages: true\n")
    assert msg.startswith("s.yaml:5: area.hugepages: unknown key; allowed here: pages, thp, tmp_thp, kind")


def test_unknown_top_level_key():
    assert err(BASE + "backends: kmod\n").startswith("s.yaml:3: backends: unknown key")


def test_bad_choice_says_what_is_allowed():
    msg = err(BASE + "backend: [kmod, uffd]\n")
    assert "s.yaml:3: backend[1]: 'uffd' is not allowed; use one of: kmod, kmod-copy" in msg


def test_wrong_type():
    assert err(BASE + "area: {pages: many}\n").startswith("s.yaml:3: area.pages: 'many' is not a int")
    assert "is not a bool" in err(BASE + "area: {thp: 1}\n")


def test_minimum():
    assert "below the minimum of 1" in err(BASE + "guest: {cpus: 0}\n")


@pytest.mark.parametrize("text, msg", [
    ("workload: {threads: 300}\n", "s.yaml:3: workload.threads: 300 is out of range: it must be [1, 256]"),
    ("workload: {threads: 0}\n", "s.yaml:3: workload.threads: 0 is out of range: it must be [1, 256]"),
    ("workload: {hot_fraction: 0}\n", "s.yaml:3: workload.hot_fraction: 0.0 is out of range: it must be (0, 1]"),
    ("workload: {hot_probability: 5}\n", "s.yaml:3: workload.hot_probability: 5.0 is out of range"),
    ("workload: {zipf_s: 0}\n", "s.yaml:3: workload.zipf_s: 0.0 is out of range: it must be > 0"),
    ("area: {pages: 4}\nworkload:\n  kernel_steps:\n    - {kind: odirect, page: 1}\n    - {kind: odirect, page: 7}\n",
     "s.yaml:7: workload.kernel_steps[1]: page 7 is outside the area of 4 pages"),
    ("area: {pages: 4}\nworkload: {threads: 8}\n", "s.yaml:4: workload.threads: 8 threads exceed the 4 pages"),
    ("workload:\n  kernel_steps: [" + ", ".join(["{kind: odirect, page: 1}"] * 17) + "]\n",
     "s.yaml:4: workload.kernel_steps: 17 steps; at most 16"),
    ("backend: [kmod, uffd-copy]\nworkload: {after: ksm}\n",
     "s.yaml:4: workload.after: 'ksm' needs a kmod backend (kmod, kmod-copy), not uffd-copy (backend uffd-copy)"),
])
def test_engine_rules_fail_at_check_time(text, msg):
    """What engine.config.validate refuses in the guest is refused here, at file:line, before any boot."""
    assert err(BASE + text).startswith(msg)


def test_variants_are_checked_merged_into_the_base():
    # the variant's pages are fine alone; with the base's threads they are not
    msg = err(BASE + "workload: {threads: 4}\nvariants:\n  - {label: small, area: {pages: 2}}\n")
    assert msg.startswith("s.yaml:3: workload.threads: 4 threads exceed the 2 pages of the area (variant small)")
    msg = err(BASE + "area: {pages: 64}\nvariants:\n  - {label: a}\n  - label: b\n    area: {pages: 8}\n"
              "    workload: {kernel_steps: [{kind: pipe-read, page: 9}]}\n")
    assert msg.startswith("s.yaml:8: variants[1].workload.kernel_steps[0]: page 9 is outside the area of 8 pages")


def test_timeout_default_is_the_engines():
    from engine import RunConfig

    assert schema.loads(BASE)["workload"]["timeout_s"] == RunConfig("kmod").timeout_s


def test_tracing_plan_follows_the_invariants():
    sc = schema.loads(BASE + "invariants: [no_vma_created, zero_copy, nothing_lost]\n")
    assert plan.tracing_plan(sc) == (("vma", "kmod", "uffd"), True)
    sc = schema.loads(BASE + "invariants: [gup_fallback, dmesg_clean]\n")
    assert plan.tracing_plan(sc) == (("fault", "gup"), False)
    assert plan.tracing_plan(schema.loads(BASE + "invariants: [nothing_lost, fails_fast]\n")) == ((), False)


def test_tracing_groups_override_but_pfns_still_follow_the_invariants():
    sc = schema.loads(BASE + "tracing: {groups: [tlb, kmod]}\ninvariants: [zero_copy]\n")
    assert plan.tracing_plan(sc) == (("tlb", "kmod"), True)
    sc = schema.loads(BASE + "tracing: {groups: []}\ninvariants: [no_vma_created]\n")
    assert plan.tracing_plan(sc) == ((), False)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_trace_what_their_invariants_need(path):
    from analysis.invariants import INVARIANTS
    from tracing.probes import PROBES

    sc = schema.load(path)
    groups, _ = plan.tracing_plan(sc)
    group = {p.name: p.group for p in PROBES}
    for inv in sc["invariants"]:
        spec = INVARIANTS[inv["name"]]
        assert {group[e] for e in spec.events} <= set(groups), inv["name"]
        assert not spec.any_events or {group[e] for e in spec.any_events} & set(groups), inv["name"]


def test_missing_required_key():
    assert err("name: x\n").startswith("s.yaml:1: expect: missing")


def test_invariant_params_are_checked():
    assert "unknown parameter of one_fault_per_page; allowed: max_repeats" in \
        err(BASE + "invariants:\n  - {name: one_fault_per_page, params: {repeats: 2}}\n")
    assert "is not a int" in err(BASE + "invariants:\n  - {name: one_fault_per_page, params: {max_repeats: x}}\n")
    sc = schema.loads(BASE + "invariants: [one_fault_per_page]\n")
    assert sc["invariants"][0] == {"name": "one_fault_per_page", "backends": [], "variants": [], "expect": "pass",
                                   "params": {"max_repeats": 0}}


def test_unknown_invariant():
    assert "invariants[0].name: 'no_vmas' is not allowed" in err(BASE + "invariants: [no_vmas]\n")


def test_kernel_step_outside_the_area():
    assert "page 9 is outside the area of 8 pages" in \
        err(BASE + "area: {pages: 8}\nworkload:\n  kernel_steps: [{kind: odirect, page: 9}]\n")


def test_ringbuf_must_be_a_power_of_two():
    assert "not a power of two" in err(BASE + "tracing: {ringbuf_pages: 1000}\n")


def test_invalid_yaml_and_empty_file():
    assert err("name: [x\n").startswith("s.yaml:2: not valid YAML")
    assert err("").startswith("s.yaml:1: the file is empty")


def test_runs_expand_variants_backends_and_repeats():
    sc = schema.loads(BASE + "backend: [kmod, uffd-copy]\nrepeats: 2\nsource: {delay_us: 5}\n"
                      "variants:\n  - {label: a, source: {push: true}}\n  - {label: b}\n")
    runs = schema.runs(sc)
    assert [r["label"] for r in runs] == ["kmod/a#1", "kmod/a#2", "uffd-copy/a#1", "uffd-copy/a#2",
                                          "kmod/b#1", "kmod/b#2", "uffd-copy/b#1", "uffd-copy/b#2"]
    assert runs[0]["source"]["push"] is True and runs[0]["source"]["delay_us"] == 5
    assert runs[4]["source"]["push"] is False


def test_variant_keys_are_checked_too():
    assert "variants[0].area.size: unknown key" in err(BASE + "variants:\n  - {label: a, area: {size: 1}}\n")


def test_readme_reference_is_current():
    text = (REPO / "scenarios/README.md").read_text()
    assert doc.reference() in text, "run: python -m scenarios doc, and paste it into scenarios/README.md"


def test_unknown_suite_names_the_known_ones():
    with pytest.raises(schema.ScenarioError, match="known suites: default"):
        cli.suite_files("nightly")


def test_invariant_variants_must_name_a_variant():
    text = BASE + "variants:\n  - {label: a}\n  - {label: b}\ninvariants:\n  - {name: nothing_lost, variants: [a]}\n"
    assert schema.loads(text)["invariants"][0]["variants"] == ["a"]
    msg = err(BASE + "variants:\n  - {label: a}\ninvariants:\n  - {name: nothing_lost, variants: [c]}\n")
    assert msg.startswith("s.yaml:6: invariants[0].variants: ['c'] are not among the scenario's variant labels"), msg


def test_kernel_wait_needs_a_kmod_backend():
    msg = err(BASE + "backend: uffd-copy\nworkload: {kernel_wait: true}\n")
    assert "workload.kernel_wait: needs a kmod backend" in msg, msg
