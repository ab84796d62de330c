"""lab.provenance: the commit (with -dirty), the module's srcversion and the record collect() makes."""
import platform
import re
import subprocess

import pytest

from lab import provenance


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A one-commit git repository standing in for the work tree."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("1\n")
    subprocess.run(git + ["add", "f"], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    monkeypatch.delenv("FA_COMMIT", raising=False)
    return tmp_path, subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def test_commit_is_head_and_dirty_only_with_tracked_changes(repo):
    path, head = repo
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    assert provenance.commit() == head
    (path / "untracked").write_text("x")
    assert provenance.commit() == head, "an untracked file does not make the tree dirty"
    (path / "f").write_text("2\n")
    assert provenance.commit() == head + "-dirty"


def test_commit_from_the_host_wins_and_no_repo_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    monkeypatch.delenv("FA_COMMIT", raising=False)
    assert provenance.commit() == provenance.UNKNOWN
    monkeypatch.setenv("FA_COMMIT", "0123abc-dirty")
    assert provenance.commit() == "0123abc-dirty"


def test_module_version_empty_when_not_loaded():
    assert provenance.module_version("fa_no_such_module") == ""


def test_collect_records_kernel_accel_commit_module_and_time(monkeypatch):
    monkeypatch.setenv("FA_ACCEL_USED", "tcg")
    monkeypatch.setenv("FA_COMMIT", "feedbeef")
    p = provenance.collect()
    assert set(p) == {"kernel", "accel", "commit", "module_srcversion", "created"}
    assert (p["kernel"], p["accel"], p["commit"]) == (platform.release(), "tcg", "feedbeef")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["created"])
    monkeypatch.delenv("FA_ACCEL_USED")
    assert provenance.collect()["accel"] == provenance.UNKNOWN
