"""Fixtures for tests that run inside the guest kernel, as root."""
import os

import pytest

from lab import module
from lab.module import KO, load_module, unload_module


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
def ext4_dir():
    """A directory on a fresh ext4 loop device, for O_DIRECT."""
    with module.ext4_dir() as mnt:
        yield mnt

