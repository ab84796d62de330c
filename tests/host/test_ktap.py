"""tests/ktap.py: the C self-tests' case tables read from their source (as the
guest tests are collected) and their TAP 13 output, against the programs
themselves compiled here."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import ktap
from tests.ktap import Result

REPO = Path(__file__).resolve().parents[2]
SELFTESTS = REPO / "kmod/selftests"


def compile_selftest(name, out_dir):
    if not shutil.which("cc"):
        pytest.skip("no C compiler (make setup installs one)")
    exe = out_dir / name
    subprocess.run(["cc", "-O0", f"-I{REPO / 'include'}", "-pthread", "-o", str(exe), str(SELFTESTS / f"{name}.c")],
                   check=True, capture_output=True, text=True)
    return exe


@pytest.mark.parametrize("name", ["fa_selftest", "fa_lifetime"])
def test_case_names_from_source_match_the_programs_list(tmp_path, name):
    exe = compile_selftest(name, tmp_path)
    listed = subprocess.run([str(exe), "-l"], capture_output=True, text=True, check=True).stdout.split()
    assert ktap.case_names(SELFTESTS / f"{name}.c") == listed
    assert len(listed) > 5


def test_a_real_failure_is_read_from_the_programs_tap(tmp_path):
    if os.path.exists("/dev/fault_area"):
        pytest.skip("the module is loaded here: the case would not fail")
    exe = compile_selftest("fa_selftest", tmp_path)
    out = subprocess.run([str(exe), "-f", "unknown-ioctl-enotty"], capture_output=True, text=True)
    assert out.returncode == 1
    res = ktap.results(out.stdout)
    assert list(res) == ["unknown-ioctl-enotty"]
    assert res["unknown-ioctl-enotty"].status == "fail" and "open" in res["unknown-ioctl-enotty"].why
    assert out.stdout.splitlines()[-2:] == ["# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0",
                                            "0 passed, 1 failed, 0 skipped"]


TAP = """TAP version 13
1..3
# RUN a
ok 1 a
# RUN b-2
# b-2: f.c:12: page 3 has wrong contents
not ok 2 b-2
# RUN c
ok 3 c # SKIP no KSM here
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
1 passed, 1 failed, 1 skipped
"""


def test_results_ok_fail_skip():
    assert ktap.results(TAP) == {"a": Result("ok", ""), "b-2": Result("fail", "f.c:12: page 3 has wrong contents"),
                                 "c": Result("skip", "no KSM here")}


@pytest.mark.parametrize("bad, why", [
    (TAP.replace("TAP version 13\n", ""), "no 'TAP version 13'"),
    (TAP.replace("1..3", "1..4"), "TAP plan 1..4 but 3 results"),
    (TAP.replace("1..3\n", ""), "TAP plan missing"),
    (TAP.replace("ok 3 c", "ok 4 c"), "TAP result 4 (c) out of order"),
])
def test_results_refuse_broken_tap(bad, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        ktap.results(bad)


def test_case_names_want_one_table(tmp_path):
    src = tmp_path / "t.c"
    src.write_text('static const fa_test_t t[] = {\n\t{ "x", test_x },\n};\n'
                   'static const struct c u[] = {\n\t{ "y", case_y, "why" },\n};\n')
    with pytest.raises(ValueError, match=r"want one case table .* found \['t', 'u'\]"):
        ktap.case_names(src)
    src.write_text("int main(void) { return 0; }\n")
    with pytest.raises(ValueError, match="found none"):
        ktap.case_names(src)
