"""Lab smoke test in the guest: the module loads, makes its device, answers
ENOTTY, unloads; BCC counts handle_mm_fault for a known workload."""
import errno
import fcntl
import mmap
import os
import stat

import pytest

from lab.module import module_loaded, sh

N_PAGES = 4096

COUNT_FAULTS = r"""
#include <uapi/linux/ptrace.h>
BPF_ARRAY(calls, u64, 1);
int on_fault(struct pt_regs *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != TGID)
		return 0;
	int zero = 0;
	u64 *n = calls.lookup(&zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
"""


def test_device_node_is_root_0600(fa_module):
    st = os.stat("/dev/fault_area")
    assert stat.S_ISCHR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_unknown_ioctl_is_enotty(fa_module):
    fd = os.open("/dev/fault_area", os.O_RDWR)
    try:
        with pytest.raises(OSError) as e:
            fcntl.ioctl(fd, 0xFA7F, 0)
        assert e.value.errno == errno.ENOTTY
    finally:
        os.close(fd)


def test_bcc_counts_handle_mm_fault(fa_module):
    from bcc import BPF

    b = BPF(text=COUNT_FAULTS.replace("TGID", str(os.getpid())).encode())
    b.attach_kprobe(event=b"handle_mm_fault", fn_name=b"on_fault")
    area = mmap.mmap(-1, N_PAGES * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    area.madvise(mmap.MADV_NOHUGEPAGE)
    for i in range(N_PAGES):
        area[i * mmap.PAGESIZE] = 1
    count = b[b"calls"][0].value
    print(f"handle_mm_fault calls from pid {os.getpid()}: {count} for {N_PAGES} pages")
    b.cleanup()
    area.close()
    assert count >= N_PAGES, f"{count} handle_mm_fault calls for {N_PAGES} pages touched"


def test_module_unloads(fa_module):
    r = sh("rmmod fault_area")
    assert r.returncode == 0, r.stderr
    assert not module_loaded()
    assert not os.path.exists("/dev/fault_area")
