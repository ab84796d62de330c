"""The migration engine on the host: every backend the host kernel has
(all but kmod), each pattern, content verified; failure handling; the run
options (engine.config) and the constants cffi reads from engine_api.h."""
import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

import engine
from engine import ConfigError, KernelStep, RunConfig, config, run
from engine._engine import ffi, lib
from engine.source import SHM, Source, SourceError, bind_tcp
from lab.guest import REPO

HOST_BACKENDS = ["uffd-copy", "uffd-move", "uffd-sigbus", "uffd-sigbus-move", "mprotect"]
PAGES = 4096


def assert_complete(res):
    assert res.ok, res.error
    assert res.bad_pages == 0 and res.missing_pages == 0, (res.first_bad, res.first_missing)
    assert res.pages_placed == res.pages


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("pattern", list(engine.PATTERNS))
@pytest.mark.parametrize("backend", HOST_BACKENDS)
def test_backend_pattern_verified(backend, pattern, threads):
    res = run(backend, PAGES, threads, pattern, seed=7)
    assert_complete(res)
    assert res.faults >= PAGES, "every page came through a fault"
    assert len(res.resolve_ns) == res.faults and all(ns > 0 for ns in res.resolve_ns)
    assert res.pages_per_s > 0 and res.rss_kb == PAGES * 4


def test_kmod_is_unsupported_without_the_module():
    res = run("kmod", 16)
    assert not res.ok and res.unsupported
    assert "/dev/fault_area" in res.error


def test_mprotect_vmas_grow_with_pages():
    small, large = (run("mprotect", n, 1, "random", seed=3) for n in (256, 2048))
    for r in (small, large):
        assert_complete(r)
    assert small.vmas_before == large.vmas_before == 1
    assert 1 < small.vmas_after < large.vmas_after, (small.vmas_after, large.vmas_after)


def test_uffd_only_one_vma():
    res = run("uffd-copy", 2048, 2, "random")
    assert_complete(res)
    assert res.vmas_before == res.vmas_after == 1


@pytest.mark.parametrize("backend", ["uffd-copy", "uffd-sigbus", "mprotect"])
def test_source_death_fails_fast_and_names_missing_pages(backend):
    def kill_soon(src):
        threading.Timer(0.3, src.kill).start()

    t0 = time.monotonic()
    res = run(backend, 1 << 18, 2, "sequential", transport="unix", on_source=kill_soon, timeout_s=5)
    assert time.monotonic() - t0 < 30
    assert not res.ok and "source" in res.error, res.error
    assert res.missing_pages > 0 and len(res.first_missing) == min(res.missing_pages, 8)
    assert res.bad_pages == 0, "pages that did arrive are intact"


@pytest.mark.parametrize("kw, msg", [
    (dict(pages=0), "pages: 0 is out of range: it must be >= 1"),
    (dict(pattern="spiral"), "pattern: 'spiral' is not allowed; use one of: sequential, random"),
    (dict(threads=8, pages=4), "threads: 8 threads exceed the 4 pages"),
    (dict(threads=300, pages=4096), r"threads: 300 is out of range: it must be \[1, 256\]"),
    (dict(backend="dma"), "backend: 'dma' is not allowed"),
    (dict(hot_fraction=0), r"hot_fraction: 0 is out of range: it must be \(0, 1\]"),
    (dict(hot_probability=5), r"hot_probability: 5 is out of range: it must be \[0, 1\]"),
    (dict(zipf_s=0.0), "zipf_s: 0.0 is out of range: it must be > 0"),
    (dict(thp=1), "thp: 1 is not a bool"),
    (dict(kernel_steps=[KernelStep("pipe-read", 99)]), r"kernel_steps\[0\]: page 99 is outside the area of 16"),
    (dict(kernel_steps=[KernelStep("ioctl", 0)]), r"kernel_steps\[0\]: kind 'ioctl' is not allowed"),
    (dict(kernel_steps=[KernelStep("pipe-read", 1)] * 17), "17 steps; at most 16"),
    (dict(after="ksm"), "'ksm' needs a kmod backend"),
    (dict(transport="ipc"), "transport: 'ipc' is not allowed; use one of: unix, tcp, local"),
    (dict(transport="local", kill_after_pages=5), "kill_after_pages: 5 needs a source process .* the local source "
                                                 "has none"),
    (dict(transport="local", delay_us=100), "delay_us: 100 needs a source process .*and tcp for the link model"),
    (dict(batch=513), r"batch: 513 is out of range: it must be \[0, 512\]"),
    (dict(prefetch_around=512), r"prefetch_around: 512 is out of range: it must be \[0, 511\]"),
    (dict(backend="mprotect", batch=2), "batch: 2: mprotect places a page at a time"),
    (dict(backend="mprotect", prefetch_around=1), "prefetch_around: 1: mprotect places a page at a time"),
    (dict(tmp_thp=True, prefill=True, batch=64), "tmp_thp: .* set source.batch: 512 .it is 64."),
    (dict(tmp_thp=True, batch=512), "tmp_thp: the THP buffer is the push stream's or prefill's"),
])
def test_bad_parameters_are_refused(kw, msg):
    args = dict(backend="uffd-copy", pages=16, threads=1, pattern="sequential") | kw
    with pytest.raises(ConfigError, match=msg):
        run(args.pop("backend"), args.pop("pages"), args.pop("threads"), args.pop("pattern"), **args)


def test_constants_match_the_header_both_ways(tmp_path):
    names = re.findall(r"^#define (FA_\w+)", (REPO / "engine/c/engine_api.h").read_text(), re.M)
    src, exe = tmp_path / "consts.c", tmp_path / "consts"
    src.write_text('#include <stdio.h>\n#include "engine_api.h"\nint main(void) {\n' +
                   "".join(f'printf("{n} %lld\\n", (long long)({n}));\n' for n in names) + "return 0; }\n")
    subprocess.run(["gcc", "-I", str(REPO / "engine/c"), "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    c = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    assert {n for n in dir(lib) if n.startswith("FA_")} == set(c), "cffi's lib.FA_* and the header's differ"
    for n, v in c.items():
        assert getattr(lib, n) == v, n
    # the Python names, both ways: each table holds exactly its prefix's constants, value for value
    for table, prefix in ((config.BACKENDS, "FA_B_"), (config.PATTERNS, "FA_P_"),
                          (config.KERNEL_STEPS, "FA_K_"), (config.AFTER, "FA_AFTER_")):
        consts = {n: v for n, v in c.items() if n.startswith(prefix)}
        assert sorted(table.values()) == sorted(consts.values()) == list(range(len(consts))), prefix
        for name, value in table.items():
            const = next(n for n, v in consts.items() if v == value)
            assert config.SPELLING.get(const, const[len(prefix):].lower().replace("_", "-")) == name, const
    slots = {n for n in c if n.startswith("FA_AV_")}
    assert slots == {f"FA_AV_{a.upper()}_{f.upper()}" for a, figs in config.AFTER_VALS.items() for f in figs}
    for action, figures in config.AFTER_VALS.items():
        assert sorted(figures.values()) == list(range(len(figures))), action
        assert len(figures) <= lib.FA_MAX_AFTER_VALS


def test_every_cfg_field_is_filled_by_one_option():
    fields = [name for name, _ in ffi.typeof("struct fa_cfg").fields]
    filled = [c for _, o in config.options() for c in o.c] + list(config.RUNNER_FIELDS)
    assert sorted(filled) == sorted(fields)
    c_values, _ = RunConfig("uffd-copy", odirect_path="/x").to_c()
    assert sorted(c_values) == sorted(f for f in fields if f not in config.RUNNER_FIELDS)


def test_run_config_round_trips_through_json():
    cfg = RunConfig("kmod", 64, 2, "zipf", kernel_steps=(KernelStep("odirect", 3),), push=True)
    assert RunConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(cfg)))) == cfg


def test_python_m_engine_prints_json_and_exit_status():
    r = subprocess.run([sys.executable, "-m", "engine", "--backend", "uffd-copy", "--pages", "64", "--threads", "2",
                        "--kernel-step", "pipe-read:3", "--json"], capture_output=True, text=True, cwd=REPO,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["ok"] and s["pages_placed"] == 64 and s["threads"] == 2 and s["kernel_steps"][0]["kind"] == "pipe-read"
    bad = subprocess.run([sys.executable, "-m", "engine", "--backend", "uffd-copy", "--pages", "4", "--threads", "8"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert bad.returncode == 2 and "threads: 8 threads exceed the 4 pages" in bad.stderr


def test_kernel_steps_sigbus_mode_efault_then_ok():
    steps = [KernelStep(k, p) for p, k in enumerate(["process_vm_readv", "pipe-read", "pipe-write"], 10)]
    res = run("uffd-sigbus", 64, 1, kernel_steps=steps)
    assert_complete(res)
    for s in res.kernel_steps:
        assert (s.before_ret, s.before_errno) == (-1, "EFAULT"), s
        assert (s.after_ret, s.after_errno) == (4096, "0"), s


def test_kernel_steps_uffd_thread_mode_wait_for_the_handler():
    steps = [KernelStep("pipe-read", 3), KernelStep("process_vm_readv", 4)]
    res = run("uffd-copy", 64, 1, kernel_steps=steps)
    assert_complete(res)
    assert all(s.before_ret == 4096 for s in res.kernel_steps), res.kernel_steps


def test_push_stream_places_pages():
    res = run("uffd-copy", 8192, 1, "random", push=True)
    assert_complete(res)
    assert res.pages_pushed > 0
    assert res.push_calls >= res.pages_pushed, "uffd: a placement call per pushed page"
    assert res.pages_pushed + res.faults - res.eexist == res.pages_placed, "each page placed once, by one path"


@pytest.mark.parametrize("backend", ["uffd-copy", "uffd-move"])
@pytest.mark.parametrize("batch", [1, 16, 512])
def test_prefill_places_a_batch_a_call(backend, batch):
    """A batch of contiguous pages is one UFFDIO_COPY or UFFDIO_MOVE; moves keep the filled pages' pfns."""
    res = run(backend, 2048, 1, prefill=True, batch=batch, record_pfn=True)
    assert_complete(res)
    assert res.faults == 0 and res.push_calls == 2048 // batch, res.push_calls
    assert res.pfn_checked == 2048 and res.pfn_kept == (2048 if backend == "uffd-move" else 0)
    assert 0 < res.prefill_t0_ns < res.prefill_t1_ns < res.t_start_ns


@pytest.mark.parametrize("backend", ["uffd-copy", "uffd-move"])
def test_2mib_batches_from_a_thp_buffer(backend):
    """With a THP buffer, UFFDIO_MOVE of 2 MiB moves the huge page whole (AnonHugePages covers it right
    after); UFFDIO_COPY copies it into 512 small pages."""
    res = run(backend, 2048, 1, prefill=True, batch=512, tmp_thp=True, thp=True)
    assert_complete(res)
    if not res.huge_batches:
        pytest.skip("the kernel gave the buffer no THP")
    assert res.huge_batches == 4 and res.push_calls == 4
    assert res.huge_kb_placed == (8192 if backend == "uffd-move" else 0), res.huge_kb_placed


@pytest.mark.parametrize("transport", ["unix", "local"])
def test_prefetch_brings_the_neighbours(transport):
    """A fault brings its window of 9 pages; sequential touches then fault once per 5 new pages."""
    res = run("uffd-move", 4096, 1, prefetch_around=8, transport=transport, record_pfn=True)
    assert_complete(res)
    assert res.faults - res.eexist + res.pages_prefetched == 4096, "each page placed once, by one path"
    assert res.faults == 1 + (4096 - 9 + 4) // 5, res.faults
    assert res.pfn_kept == 4096


def test_prefetch_with_push_and_threads_places_each_page_once():
    res = run("uffd-copy", 4096, 2, "random", prefetch_around=8, push=True, batch=16)
    assert_complete(res)
    assert res.pages_prefetched > 0 and res.pages_pushed > 0
    assert res.faults - res.eexist + res.pages_prefetched + res.pages_pushed == 4096


def test_source_bind_fails_with_the_address_and_the_reason():
    """An address that never comes up: the source says why, instead of listening unbound."""
    with pytest.raises(SourceError, match=r"cannot bind 192\.0\.2\.1:7411 after 3 tries: "):
        bind_tcp("192.0.2.1", 7411, tries=3)


def test_source_is_gone_after_the_run():
    """The forked source dies with the run: no process is left behind, and none holds the run's pipes."""
    with Source(16, 1, "unix", 0, 0) as src:
        pid = src.pid
        assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the source serves until the run ends"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("backend", HOST_BACKENDS)
def test_local_source_moves_every_page(backend):
    """The image in /dev/shm, mapped read-only: every page arrives right, by a fault each (or by push),
    and the file is gone after the run."""
    before = set(os.listdir(SHM))
    res = run(backend, PAGES, 2, "random", seed=5, transport="local")
    assert_complete(res)
    assert res.faults - res.eexist == PAGES
    assert res.user_copy_bytes == (PAGES * 4096 if backend == "mprotect" else 0), "placement's user-space copies"
    assert set(os.listdir(SHM)) == before, "the page image is removed after the run"
    pushed = run(backend, PAGES, 1, "random", transport="local", push=True)
    assert_complete(pushed)
    assert pushed.pages_pushed > 0
    # mprotect has no EEXIST: a fault and the push that race both copy the page in (the same bytes)
    placements = pushed.pages_pushed + pushed.faults - pushed.eexist
    assert placements >= PAGES if backend == "mprotect" else placements == PAGES


def test_local_source_refuses_a_short_image(tmp_path):
    """A file too small for the area would SIGBUS a fetch: the engine refuses it and says why."""
    short = tmp_path / "image"
    short.write_bytes(bytes(4096))
    cfg = ffi.new("struct fa_cfg *", dict(backend=lib.FA_B_UFFD_COPY, pages=4, threads=1, progress_fd=-1,
                                         source_addr=(addr := ffi.new("char[]", f"local:{short}".encode()))))
    res = ffi.new("struct fa_result *")
    assert lib.fa_engine_run(cfg, res) == 0 and addr
    assert ffi.string(res.error).decode() == f"cannot map the page image {short} (4 pages): Invalid argument"
    lib.fa_engine_free(res)


def test_phase_timestamps_are_in_order():
    """Per fault: entry <= fetched <= placed; per first touch, its thread is a vCPU's and its access
    starts before the handler of its page enters (signal mode: the same thread)."""
    res = run("uffd-sigbus", 1024, 2, "random", transport="local")
    assert_complete(res)
    assert all(0 < f <= r for f, r in zip(res.fetch_ns, res.resolve_ns))
    assert sum(res.fault_won) == 1024 and len(res.touch_addr) == len(res.e2e_ns) == 1024
    entry = {a: (t, tid) for a, t, tid in zip(res.fault_addr, res.fault_t_ns, res.fault_tid)}
    for a, tid, t0, e2e in zip(res.touch_addr, res.touch_tid, res.touch_t_ns, res.e2e_ns):
        assert entry[a][1] == tid and t0 <= entry[a][0] <= t0 + e2e
