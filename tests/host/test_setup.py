"""scripts/setup.sh: a second run is a no-op; a non-root run of it or of check-debian13.sh says what to do."""
import os
import shutil
import subprocess
import tempfile

import pytest

from lab.guest import REPO


def test_second_run_is_a_no_op():
    r = subprocess.run([str(REPO / "scripts/setup.sh")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("setup: up to date"), r.stdout


@pytest.mark.parametrize("script, message", [
    ("setup.sh", "setup: ERROR: run as root: apt-get, insmod and qemu need it (for example: sudo make test)"),
    ("check-debian13.sh", "check-debian13: ERROR: run as root: debootstrap, mount and chroot need it"),
])
def test_non_root_gets_one_clear_message(script, message):
    # A world-readable copy: the clone itself may sit where user nobody cannot look.
    top = tempfile.mkdtemp(prefix="fa-setup-")
    try:
        os.chmod(top, 0o755)
        os.mkdir(f"{top}/scripts", 0o755)
        shutil.copy(REPO / "scripts" / script, f"{top}/scripts/{script}")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            f"{top}/scripts/{script}"], capture_output=True, text=True, cwd="/")
    finally:
        shutil.rmtree(top)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [message]
