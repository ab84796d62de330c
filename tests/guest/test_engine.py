"""The migration engine in the guest: every backend, kmod included, and each
kernel-access step against a missing page (a marker for kmod)."""
import pytest

import engine
from engine import KernelStep, SourceSpec, run

STEPS = ["odirect", "process_vm_readv", "pipe-read", "pipe-write"]
# While the page is missing: EFAULT where the fault cannot wait for a handler
# thread (markers, uffd SIGBUS mode, PROT_NONE); the uffd thread backends wait.
FAILS_WHILE_MISSING = {"kmod", "kmod-copy", "uffd-sigbus", "uffd-sigbus-move", "mprotect"}


def assert_complete(res):
    assert res.ok, res.error
    assert res.bad_pages == 0 and res.missing_pages == 0, (res.first_bad, res.first_missing)


@pytest.mark.parametrize("backend", list(engine.BACKENDS))
def test_backend_with_kernel_steps(fa_module, ext4_dir, backend):
    steps = [KernelStep(kind, 100 + i) for i, kind in enumerate(STEPS)]
    res = run(backend, 4096, 2, "random", kernel_steps=steps, odirect_path=ext4_dir / "odirect")
    assert_complete(res)
    for s in res.kernel_steps:
        if backend in FAILS_WHILE_MISSING:
            assert (s.before_ret, s.before_errno) == (-1, "EFAULT"), s
        else:
            assert s.before_ret == 4096, s
        assert (s.after_ret, s.after_errno) == (4096, "0"), s


def test_kmod_no_vma_change_and_one_fault_per_page(fa_module):
    res = run("kmod", 8192, 1, "sequential")
    assert_complete(res)
    assert res.vmas_before == res.vmas_after == 1
    assert res.faults == 8192 and res.eexist == 0


def test_kmod_dev_zero_and_thp(fa_module):
    for kw in (dict(area="dev-zero"), dict(thp=True)):
        assert_complete(run("kmod", 2048, 2, "random", **kw))


def test_tcp_link_with_netem_and_push(fa_module):
    res = run("kmod", 2048, 1, "random", source=SourceSpec("tcp", delay_us=100, rate_mbit=10000, push=True))
    assert_complete(res)
    assert res.pages_pushed > 0
