"""The scenario schema: shipped files load, bad ones fail at file:line with the key and what is allowed."""
import pytest

from lab.guest import REPO
from scenarios import __main__ as cli
from scenarios import doc, schema

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


def test_default_suite_has_the_twelve_scenarios():
    assert len(cli.suite_files("default")) == 12


def test_defaults_are_filled_in():
    sc = schema.loads(BASE)
    assert sc["backend"] == ["kmod"] and sc["area"]["pages"] == 16384 and sc["tracing"]["events"] is True
    assert sc["workload"]["kernel_steps"] == [] and sc["repeats"] == 1


def test_unknown_key_names_line_and_allowed_keys():
    msg = err(BASE + "area:\n  pages: 4\n  hugepages: true\n")
    assert msg.startswith("s.yaml:5: area.hugepages: unknown key; allowed here: pages, thp, kind")


def test_unknown_top_level_key():
    assert err(BASE + "backends: kmod\n").startswith("s.yaml:3: backends: unknown key")


def test_bad_choice_says_what_is_allowed():
    msg = err(BASE + "backend: [kmod, uffd]\n")
    assert "s.yaml:3: backend[1]: 'uffd' is not allowed; use one of: kmod, kmod-copy" in msg


def test_wrong_type():
    assert err(BASE + "area: {pages: many}\n").startswith("s.yaml:3: area.pages: 'many' is not a int")
    assert "is not a bool" in err(BASE + "area: {thp: 1}\n")


def test_minimum():
    assert "below the minimum of 1" in err(BASE + "workload: {threads: 0}\n")


def test_missing_required_key():
    assert err("name: x\n").startswith("s.yaml:1: expect: missing")


def test_invariant_params_are_checked():
    assert "unknown parameter of one_fault_per_page; allowed: max_repeats" in \
        err(BASE + "invariants:\n  - {name: one_fault_per_page, params: {repeats: 2}}\n")
    assert "is not a int" in err(BASE + "invariants:\n  - {name: one_fault_per_page, params: {max_repeats: x}}\n")
    sc = schema.loads(BASE + "invariants: [one_fault_per_page]\n")
    assert sc["invariants"][0] == {"name": "one_fault_per_page", "backends": [], "expect": "pass",
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
