"""scripts/setup.sh: a second run is a no-op; a non-root run says what to do."""
import os
import shutil
import subprocess
import tempfile

from lab.guest import REPO


def test_second_run_is_a_no_op():
    r = subprocess.run([str(REPO / "scripts/setup.sh")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("setup: up to date"), r.stdout


def test_non_root_gets_one_clear_message():
    # A world-readable copy: the clone itself may sit where user nobody cannot look.
    top = tempfile.mkdtemp(prefix="fa-setup-")
    try:
        os.chmod(top, 0o755)
        os.mkdir(f"{top}/scripts", 0o755)
        shutil.copy(REPO / "scripts/setup.sh", f"{top}/scripts/setup.sh")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            f"{top}/scripts/setup.sh"], capture_output=True, text=True, cwd="/")
    finally:
        shutil.rmtree(top)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "setup: ERROR: run as root: apt-get, insmod and qemu need it (for example: sudo make test)"]
