"""Host unit tests of the guest runner's pure logic (no boot)."""
import json
import subprocess

import pytest

from lab import accel, dmesg, guest


def test_script_runs_each_step_under_its_timeout(tmp_path):
    s = guest.guest_script([guest.Step("a", "echo 'x y'", timeout=7), guest.Step("b", "false")], tmp_path)
    assert "timeout -k 5 7 sh -c 'echo '\"'\"'x y'\"'\"''" in s
    assert "timeout -k 5 600 sh -c false" in s
    assert s.index("@@FA-STEP@@ a") < s.index("@@FA-STEP@@ b")
    assert f"dmesg > {tmp_path}/dmesg.txt" in s


def test_script_status_is_last_failing_step(tmp_path):
    script = guest.guest_script([guest.Step("bad", "exit 3"), guest.Step("good", "true")], tmp_path)
    script = script.replace("dmesg >", "true >")  # dmesg may be denied on the host
    r = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert r.returncode == 3
    assert [ln.split("\t")[:2] for ln in (tmp_path / "steps.tsv").read_text().splitlines()] == \
        [["bad", "3"], ["good", "0"]]


def test_dmesg_problems_match_words_only():
    log = "ok line\n[1.0] WARNING: CPU: 0 at mm/x.c\nCONFIG_DEBUG_BUGVERBOSE\nBUG: Bad page state\n" \
          "Bad rss-counter state mm:0\n[2.0] Oops: 0002\n"
    assert dmesg.problems(log) == ["[1.0] WARNING: CPU: 0 at mm/x.c", "BUG: Bad page state",
                                   "Bad rss-counter state mm:0", "[2.0] Oops: 0002"]
    assert dmesg.problems("module verification failed: signature missing - tainting kernel") == []


def test_accel_override_and_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(accel, "CACHE", tmp_path / "accel.json")
    monkeypatch.setenv("FA_ACCEL", "kvm")
    assert accel.choose("k") == "kvm"
    monkeypatch.setenv("FA_ACCEL", "fast")
    with pytest.raises(ValueError, match="FA_ACCEL must be"):
        accel.choose("k")
    monkeypatch.delenv("FA_ACCEL")
    monkeypatch.setattr(accel.os, "access", lambda *a: True)
    probes = []
    monkeypatch.setattr(accel, "probe", lambda k: probes.append(k) or {"accel": "tcg", "why": "test"})
    assert accel.choose("k") == "tcg" and accel.choose("k") == "tcg"
    assert probes == ["k"], "the verdict must be cached after one probe"
    assert json.loads((tmp_path / "accel.json").read_text())[accel.machine_key("k")]["accel"] == "tcg"


def test_run_refuses_bad_parameters(tmp_path):
    with pytest.raises(guest.GuestError, match="no steps"):
        guest.run([], tmp_path)
    with pytest.raises(guest.GuestError, match="cpus must be"):
        guest.run([guest.Step("x", "true")], tmp_path, cpus=0)
