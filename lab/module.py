"""Guest-side helpers: load and unload fault_area.ko, and an ext4 directory
for O_DIRECT (the guest's /tmp is an overlay without it).  Run as root in
the guest; tests, benches and the scenario runner share them."""
import contextlib
import subprocess
import tempfile
from pathlib import Path

from lab.vm import REPO

KO = REPO / "kmod/fault_area.ko"


class ModuleError(Exception):
    pass


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def module_loaded():
    return Path("/sys/module/fault_area").exists()


def load_module():
    if not module_loaded():
        r = sh(f"insmod {KO}")
        if r.returncode:
            raise ModuleError(f"insmod {KO}: {r.stderr.strip()} (run 'make kmod' on the host first)")


def unload_module():
    if module_loaded():
        r = sh("rmmod fault_area")
        if r.returncode:
            raise ModuleError(f"rmmod fault_area: {r.stderr.strip()}")


@contextlib.contextmanager
def ext4_dir(size_mb=32):
    """A directory on a fresh ext4 loop device, unmounted on exit."""
    with tempfile.TemporaryDirectory(prefix="fa-ext4-") as top:
        img, mnt = Path(top) / "fs.img", Path(top) / "mnt"
        mnt.mkdir()
        r = sh(f"modprobe -a loop ext4 && truncate -s {size_mb}M {img} && mkfs.ext4 -q -F {img} && "
                f"mount -o loop {img} {mnt}")
        if r.returncode:
            raise ModuleError(f"ext4 loop device for O_DIRECT: {r.stderr.strip()}")
        try:
            yield mnt
        finally:
            sh(f"umount {mnt}")
