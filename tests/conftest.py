"""Host runs skip tests/guest: those run inside the guest, booted once by
tests/test_guest_boot.py.  FA_IN_GUEST is set by the guest script, and
FA_COLLECT_GUEST lets the host list them."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

collect_ignore = [] if os.environ.get("FA_IN_GUEST") or os.environ.get("FA_COLLECT_GUEST") else ["guest"]
