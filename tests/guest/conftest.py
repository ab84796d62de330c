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


def load_module():
    if not module_loaded():
        r = sh(f"insmod {KO}")
        assert r.returncode == 0, f"insmod {KO}: {r.stderr}"


def unload_module():
    if module_loaded():
        r = sh("rmmod fault_area")
        assert r.returncode == 0, f"rmmod fault_area: {r.stderr}"


@pytest.fixture(scope="session")
def fa_session():
    """The guest session: the module is unloaded at its end."""
    if not os.environ.get("FA_IN_GUEST"):
        pytest.skip("runs only inside the guest (tests/test_guest_boot.py boots it)")
    yield
    unload_module()


@pytest.fixture(scope="module")
def fa_module(fa_session):
    """fault_area.ko loaded for each test module (one may have unloaded it)."""
    load_module()
    return KO


@pytest.fixture(scope="session")
def ext4_dir(tmp_path_factory):
    """A directory on a fresh ext4 loop device, for O_DIRECT."""
    top = tmp_path_factory.mktemp("ext4")
    img, mnt = top / "fs.img", top / "mnt"
    mnt.mkdir()
    r = sh(f"modprobe -a loop ext4 && truncate -s 32M {img} && mkfs.ext4 -q -F {img} && "
           f"mount -o loop {img} {mnt}")
    assert r.returncode == 0, f"ext4 loop device: {r.stderr}"
    yield mnt
    sh(f"umount {mnt}")
