"""Each bench (make bench) in its --quick mode, as bcc's test_tools_smoke.py
runs its tools: it exits 0, prints every row of its table with figures, and
says in its JSON that these are quick-mode figures."""
import json
import os
import re
import subprocess
import sys

import engine
from bench import backends, batch, tracing
from bench.kmod import QUICK, size_label
from lab.module import REPO

NUM = r"-?\d+(?:\.\d+)?"


def run_quick(module, tmp_path, timeout):
    out = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=REPO, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "FA_RESULTS": str(tmp_path)})
    print(out.stdout, out.stderr)
    assert out.returncode == 0, f"{module} --quick: exit status {out.returncode}\n{out.stdout}{out.stderr}"
    return out.stdout


def missing_rows(stdout, rows):
    """The row patterns (each anchored at a line's start) that no line of stdout matches."""
    return [r for r in rows if not re.search(rf"^{r}", stdout, re.M)]


def test_bench_kmod_quick(fa_module, tmp_path):
    out = run_quick("bench.kmod", tmp_path, timeout=300)
    held, area = size_label(QUICK.hold_bytes), size_label(QUICK.big_pages * 4096)
    rows = [r"zero-fill fault, module unloaded \(ns, median\)\s+" + NUM,
            rf"zero-fill fault, loaded \+ {held} markers \(ns\)\s+" + NUM,
            r"  ratio loaded/unloaded\s+" + NUM,
            *[rf"{m} per page \(ns, median / p99\)\s+{NUM} / {NUM}" for m in ("fa_map", "uffdio_move", "uffdio_copy")],
            r"  ratio FA_IOC_MAP/UFFDIO_MOVE \(median\)\s+" + NUM,
            r"  ratio FA_IOC_MAP/UFFDIO_COPY \(median\)\s+" + NUM,
            rf"{area}: prepare per page \(ns\)\s+" + NUM, rf"{area}: map per page \(ns\)\s+" + NUM,
            rf"{area}: /proc/self/maps unchanged\s+True",
            rf"user fault end to end \(ns, median / p99\)\s+{NUM} / {NUM}",
            rf"kernel access, KWAIT end to end \(ns, median / p99\)\s+{NUM} / {NUM}",
            rf"kernel access, userfaultfd end to end \(ns, median / p99\)\s+{NUM} / {NUM}",
            r"  ratio kernel access/user fault \(median\)\s+" + NUM,
            r"  ratio KWAIT/userfaultfd kernel access \(median\)\s+" + NUM]
    assert missing_rows(out, rows) == []
    assert json.loads((tmp_path / "bench-kmod.json").read_text())["quick"] is True


def test_bench_backends_quick(fa_module, tmp_path):
    out = run_quick("bench.backends", tmp_path, timeout=600)
    table = [rf"{re.escape(b)}(\s+{NUM}){{6}}\s+\d+$" for b in engine.BACKENDS]
    phase_table = [rf"{re.escape(b)}(\s+{NUM}){{11}}$" for b in engine.BACKENDS]
    goals = [rf"{a}/{b}: {NUM} \(goal <= {g:g}\) (met|MISSED)" for a, b, g in backends.GOALS]
    assert missing_rows(out, table + phase_table + goals) == []
    res = json.loads((tmp_path / "bench-backends.json").read_text())
    assert res["quick"] is True and res["source"] == "local" and len(res["rows"]) == len(engine.BACKENDS)


def test_bench_tracing_quick(fa_module, tmp_path):
    out = run_quick("bench.tracing", tmp_path, timeout=600)
    rows = [rf"{re.escape(name)}(\s+{NUM}){{3}}\s+\d+\s+(<= {NUM}|-)\s+(yes|NO|-)$"
            for name, _ in tracing.configurations()]
    assert missing_rows(out, rows) == []
    res = json.loads((tmp_path / "bench-tracing.json").read_text())
    assert res["quick"] is True and res["bpf_cost"] == [], "--quick leaves kernel.bpf_stats_enabled alone"
    assert open("/proc/sys/kernel/bpf_stats_enabled").read().strip() == "0"


def test_bench_work_quick(fa_module, tmp_path):
    out = run_quick("bench.work", tmp_path, timeout=600)
    assert missing_rows(out, [rf"{re.escape(b)}(\s+{NUM}){{10}}$" for b in engine.BACKENDS]) == []
    res = json.loads((tmp_path / "bench-work.json").read_text())
    assert res["quick"] is True and res["transport"] == "local" and set(res["per_fault"]) == set(engine.BACKENDS)


def test_bench_batch_quick(fa_module, tmp_path):
    out = run_quick("bench.batch", tmp_path, timeout=900)
    rows = [rf"{m}\s+{NUM}\s+{NUM}\s+(<= {NUM}|-)\s+(met|MISSED|-)\s+(\d+%|-)\s+\d+%\s+0$"
            for mode in batch.MODES for m in mode.methods]
    goals = [rf"ratio {re.escape(name)} \(median\): {NUM} \(goal <= {g:g}\) (met|MISSED)"
             for mode in batch.MODES for name, _, _, g in mode.ratio_goals]
    assert missing_rows(out, rows + goals) == []
    res = json.loads((tmp_path / "bench-batch.json").read_text())
    assert res["quick"] is True
    flushes = res["batch"]["flushes_per_page"]
    assert flushes["fa_map"] == 1 and flushes["uffdio_move"] == 1, "a flush per page, named by its placement"
    assert flushes["fa_mapv"] == 1 / 64, "FA_IOC_MAPV: one flush per call"
    huge = res["huge"]
    assert huge["timed"]["fa_mapv"]["src_thp_calls"] == huge["timed"]["pages"] // 512, "every src a THP"
    assert huge["timed"]["fa_mapv"]["dst_huge_kb"] == huge["timed"]["pages"] * 4, "every 2 MiB moved whole"
    assert huge["flushes_per_page"]["fa_mapv"] == 1 / 512, "a 2 MiB move: one flush"
