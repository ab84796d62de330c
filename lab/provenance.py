"""Where a result came from: the results schema version and the provenance
that every runs/*.json and summary.json carries.

RESULTS_SCHEMA names the layout of a results directory (scenarios.session
writes it, analysis.load reads it and refuses any other).  collect() is
called where the result is made (in the guest): kernel release, the
accelerator the host chose (FA_ACCEL_USED, exported by lab.guest), the
commit (FA_COMMIT from the host, else git), and fault_area.ko's srcversion
when it is loaded.
"""
import datetime
import os
import platform
import subprocess
from pathlib import Path

RESULTS_SCHEMA = "fa-results/2"
REPO = Path(__file__).resolve().parent.parent
UNKNOWN = "unknown"


def commit():
    """The commit of the work tree, with '-dirty' when it has changes."""
    if os.environ.get("FA_COMMIT"):
        return os.environ["FA_COMMIT"]
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    if head.returncode:
        return UNKNOWN
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def module_version(name="fault_area"):
    """The loaded module's srcversion (a hash of its source), or '' when not loaded."""
    try:
        return Path(f"/sys/module/{name}/srcversion").read_text().strip()
    except OSError:
        return ""


def collect():
    """The provenance of a result made now, on this (guest) kernel."""
    return {"kernel": platform.release(), "accel": os.environ.get("FA_ACCEL_USED", UNKNOWN),
            "commit": commit(), "module_srcversion": module_version(),
            "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
