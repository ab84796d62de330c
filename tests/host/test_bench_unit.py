"""The benches' quick modes, host side: what they run, not what they measure
(tests/guest/test_bench_smoke.py runs them)."""
import dataclasses
import subprocess
import sys

import pytest

from bench import kmod, tracing
from tracing import probes


def test_tracing_rows_cover_every_group_a_kmod_run_reaches():
    rows = dict(tracing.configurations())
    assert rows.pop("all probes, events") == dict(groups=probes.GROUPS, events=True)
    assert rows.pop("all probes, counts only") == dict(groups=probes.GROUPS, events=False)
    assert rows == {f"group {g}, events": dict(groups=(g,), events=True) for g in probes.GROUPS if g != "uffd"}


def test_quick_sizes_are_smaller_everywhere():
    for f in dataclasses.fields(kmod.Sizes):
        assert 0 < getattr(kmod.QUICK, f.name) <= getattr(kmod.FULL, f.name), f.name
    assert kmod.size_label(kmod.FULL.hold_bytes) == "1 GiB" and kmod.size_label(16 << 20) == "16 MiB"


@pytest.mark.parametrize("module", ["bench.kmod", "bench.backends", "bench.tracing", "bench.work"])
def test_each_bench_has_a_quick_mode(module):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True)
    assert f"usage: python -m {module} [-h] [--quick]" in out.stdout
    bad = subprocess.run([sys.executable, "-m", module, "--fast"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unrecognized arguments: --fast" in bad.stderr
