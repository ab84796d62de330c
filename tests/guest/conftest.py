"""Fixtures for tests that run inside the guest kernel, as root."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KO = REPO / "kmod/fault_area.ko"


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def module_loaded():
    return Path("/sys/module/fault_area").exists()


@pytest.fixture(scope="session")
def fa_module():
    """fault_area.ko loaded for the session; tests that unload it reload it."""
    if not os.environ.get("FA_IN_GUEST"):
        pytest.skip("runs only inside the guest (tests/test_guest_boot.py boots it)")
    if not module_loaded():
        r = sh(f"insmod {KO}")
        assert r.returncode == 0, f"insmod {KO}: {r.stderr}"
    yield KO
    if module_loaded():
        r = sh("rmmod fault_area")
        assert r.returncode == 0, f"rmmod fault_area: {r.stderr}"
