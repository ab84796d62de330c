// SPDX-License-Identifier: GPL-2.0
/*
 * fa_selftest - table-driven tests of fault_area.ko, in the manner of the
 * kernel's uffd-unit-tests.c.  Run as root in the guest with the module
 * loaded.  Each case runs in a forked child under an alarm.
 *
 *   fa_selftest            run every case
 *   fa_selftest -l         list the cases
 *   fa_selftest -f NAME    run the cases whose name contains NAME
 *
 * Results are TAP 13, as kselftest prints them (fa_tap.h).
 * FA_ODIRECT_FILE names a file on a filesystem with O_DIRECT (the guest
 * test makes one on an ext4 loop device); without it that case skips.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "fa_cases.h"

#define SEED 0x5eed2011ULL


/* ---- fault handling shared by the cases --------------------------------- */

static int g_fd = -1;
static char *g_area;
static unsigned long g_npages;
static uint64_t g_map_flags;
static int g_map_after = 1;	/* map on the Nth signal for one page */
static int g_sigs;		/* signals received, all threads */

static __thread char *t_tmp;	/* this thread's page to fill and move */
static __thread struct {
	void *addr;
	int code, signo, pid, count_this_page;
	char *page;
	unsigned long err, cr2, trapno;	/* from the ucontext, by on_fault_regs() */
} t_sig;

/*
 * A read or a write that may fault into the handler: t_sig is read after it
 * (the fence keeps the compiler from loading t_sig before the access).
 */
static void fault_read(const volatile char *p)
{
	(void)*p;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void fault_write(volatile char *p, char v)
{
	*p = v;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The fault address a handler gets: si_addr for SIGBUS/SIGSEGV, si_value for real-time signals. */
static void *sig_addr(int sig, const siginfo_t *si)
{
	return sig >= 32 ? si->si_ptr : si->si_addr;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	char *page = (char *)((uintptr_t)sig_addr(sig, si) & ~(PAGE - 1));
	int err, tries;

	(void)uc;
	__atomic_add_fetch(&g_sigs, 1, __ATOMIC_RELAXED);
	t_sig.addr = sig_addr(sig, si);
	t_sig.code = si->si_code;
	t_sig.signo = sig;
	t_sig.pid = sig >= 32 ? si->si_pid : -1;
	t_sig.count_this_page = t_sig.page == page ? t_sig.count_this_page + 1 : 1;
	t_sig.page = page;
	if (page < g_area || page >= g_area + g_npages * PAGE)
		finish(1, "signal %d for %p, outside the area", sig, t_sig.addr);
	if (t_sig.count_this_page < g_map_after)
		return;		/* unmapped: the access faults again */
	/*
	 * EBUSY: a fork elsewhere shared t_tmp after the fill.  Filling again
	 * takes a private copy (COW), which can then move.
	 */
	for (tries = 0; tries < 3; tries++) {
		page_fill(t_tmp, SEED, (page - g_area) / PAGE);
		err = fa_map(g_fd, page, t_tmp, PAGE, g_map_flags, NULL);
		if (err != EBUSY)
			break;
	}
	if (err && err != EEXIST)
		finish(1, "FA_IOC_MAP of %p from the handler: %s", page, errname(err));
}

static void catch(int signo)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };

	sigaction(signo, &sa, NULL);
}

/* Open the device, make an area of n pages, prepare it with signo. */
static void setup(unsigned long npages, int signo)
{
	uint64_t prepared = 0;

	g_fd = fa_open();
	CHECK(g_fd >= 0, "open %s: %s", FA_DEVICE_PATH, strerror(errno));
	g_area = area_alloc(npages, false);
	t_tmp = area_alloc(1, false);
	CHECK(g_area && t_tmp, "mmap: %s", strerror(errno));
	g_npages = npages;
	CHECK_ERR(fa_prepare(g_fd, g_area, npages * PAGE, signo, &prepared), 0);
	CHECK(prepared == npages * PAGE, "prepared %llu of %lu bytes",
	      (unsigned long long)prepared, npages * PAGE);
	catch(signo ? signo : SIGBUS);
}

static void check_pages(char *area, unsigned long first, unsigned long n)
{
	unsigned long i;

	for (i = first; i < first + n; i++)
		CHECK(page_check(area + i * PAGE, SEED, i), "page %lu has wrong contents", i);
}

static struct fa_stats stats(void)
{
	struct fa_stats s;

	CHECK_ERR(fa_stats(g_fd, &s), 0);
	return s;
}

/* Run fn in a child; return its wait status. */
static int in_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		fn();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	return status;
}

#define KILLED_BY(st, sig) (WIFSIGNALED(st) && WTERMSIG(st) == (sig))

static void test_unknown_ioctl_enotty(void)
{
	int fd = fa_open();

	CHECK(fd >= 0, "open: %s", strerror(errno));
	/* unknown command with a bad pointer: ENOTTY, not EFAULT */
	CHECK(ioctl(fd, _IOW(FA_IOC_MAGIC, 0x7f, struct fa_map), (void *)8) < 0 && errno == ENOTTY,
	      "unknown ioctl: %s", strerror(errno));
	/* a known number with the wrong size is another command */
	CHECK(ioctl(fd, _IOWR(FA_IOC_MAGIC, 0x02, struct fa_range), (void *)8) < 0 && errno == ENOTTY,
	      "mis-sized FA_IOC_MAP: %s", strerror(errno));
}

/* ---- FA_IOC_PREPARE ------------------------------------------------------ */

static void test_prepare_einval(void)
{
	char *a = area_alloc(4, false), *file_map, *shared;
	int fd = fa_open(), tmpfd;

	CHECK(fd >= 0 && a, "setup: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, a + 1, PAGE, 0, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, PAGE + 1, 0, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, 0, 0, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, (void *)-PAGE, 2 * PAGE, 0, NULL), EINVAL);	/* overflow */
	CHECK_ERR(fa_prepare(fd, (void *)0xffff888000000000UL, PAGE, 0, NULL), EINVAL);
	/* above TASK_SIZE with 4- and 5-level page tables alike */
	CHECK_ERR(fa_prepare(fd, (void *)(uintptr_t)((1ULL << 56) - PAGE), 2 * PAGE, 0, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, PAGE, 65, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, PAGE, SIGKILL, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, PAGE, SIGSTOP, NULL), EINVAL);
	CHECK_ERR(fa_prepare(fd, a, PAGE, SIGUSR1, NULL), EINVAL);	/* no siginfo layout with an address */
	/* unknown flag bits (fa_kwait tests FA_PREPARE_KWAIT) */
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, 1U << 2, NULL), EINVAL);
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, 1U << 31, NULL), EINVAL);
	/* VMAs that are not anonymous-private */
	tmpfd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	CHECK(tmpfd >= 0 && ftruncate(tmpfd, PAGE) == 0, "tmpfile: %s", strerror(errno));
	file_map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, tmpfd, 0);
	CHECK(file_map != MAP_FAILED, "mmap file: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, file_map, PAGE, 0, NULL), EINVAL);
	shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED, "mmap shared: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, shared, PAGE, 0, NULL), EINVAL);
}

static void test_prepare_einval_hugetlb(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	char *huge;
	int fd = fa_open();

	if (f) {		/* reserve one 2 MiB page */
		fputs("1", f);
		fclose(f);
	}
	huge = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		SKIP("no hugetlb page could be reserved: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, huge, 2 << 20, 0, NULL), EINVAL);
}

static void test_prepare_einval_pfnmap(void)
{
	int memfd = open("/dev/mem", O_RDONLY), fd = fa_open();
	char *io = memfd < 0 ? MAP_FAILED : mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, memfd, 0);

	if (io == MAP_FAILED)
		SKIP("cannot map /dev/mem: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, io, PAGE, 0, NULL), EINVAL);	/* VM_IO | VM_PFNMAP */
}

static void test_prepare_efault(void)
{
	char *a = area_alloc(3, false);
	int fd = fa_open();

	CHECK(fd >= 0 && a, "setup: %s", strerror(errno));
	munmap(a + PAGE, PAGE);
	CHECK_ERR(fa_prepare(fd, a, 3 * PAGE, 0, NULL), EFAULT);	/* a hole */
	CHECK_ERR(fa_prepare(fd, a + PAGE, PAGE, 0, NULL), EFAULT);	/* nothing mapped */
}

static void test_prepare_ebusy_other_file(void)
{
	char *a = area_alloc(8, false);
	int fd1 = fa_open(), fd2 = fa_open();

	CHECK(fd1 >= 0 && fd2 >= 0 && a, "setup: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd1, a, 4 * PAGE, 0, NULL), 0);
	CHECK_ERR(fa_prepare(fd2, a + 3 * PAGE, 4 * PAGE, 0, NULL), EBUSY);
	CHECK_ERR(fa_prepare(fd2, a + 4 * PAGE, 4 * PAGE, 0, NULL), 0);
	CHECK_ERR(fa_prepare(fd1, a, 2 * PAGE, 0, NULL), 0);	/* again, same file */
}

static void test_prepare_discards_no_vma_change(void)
{
	static char before[1 << 16], after[1 << 16];
	const unsigned long n = 64;
	char *a = area_alloc(n, false);
	unsigned long i;
	uint64_t prepared;
	int fd = fa_open();

	CHECK(fd >= 0 && a, "setup: %s", strerror(errno));
	for (i = 0; i < n; i++)
		page_fill(a + i * PAGE, SEED, i);
	CHECK(maps_snapshot(before, sizeof(before)), "read /proc/self/maps");
	CHECK_ERR(fa_prepare(fd, a, n * PAGE, 0, &prepared), 0);
	CHECK(maps_snapshot(after, sizeof(after)), "read /proc/self/maps");
	CHECK(prepared == n * PAGE, "prepared %llu", (unsigned long long)prepared);
	CHECK(strcmp(before, after) == 0, "/proc/self/maps changed at: %.200s",
	      after + maps_first_diff(before, after));
	for (i = 0; i < n; i++)
		CHECK(!(pagemap(a + i * PAGE) & PM_PRESENT), "page %lu still present", i);
	g_fd = fd;
	CHECK(stats().pages_prepared == n, "pages_prepared %llu", (unsigned long long)stats().pages_prepared);
}

static void test_prepare_splits_thp(void)
{
	const unsigned long n = 1024;	/* 4 MiB: holds at least one aligned 2 MiB */
	char *a = area_alloc(n, true), *huge;
	unsigned long i;
	int fd = fa_open();

	CHECK(fd >= 0 && a, "setup: %s", strerror(errno));
	huge = (char *)(((uintptr_t)a + (2 << 20) - 1) & ~((2UL << 20) - 1));
	memset(a, 1, n * PAGE);
	for (i = 0; i < 512; i += 511)
		CHECK(page_is_thp(huge + i * PAGE), "page %lu of the aligned 2 MiB is not in a THP "
		      "(AnonHugePages %ld kB)", i, anon_huge_kb());
	/* half of the huge page only: the pmd must be split, not refused */
	CHECK_ERR(fa_prepare(fd, huge + 256 * PAGE, 256 * PAGE, 0, NULL), 0);
	for (i = 0; i < 256; i++)
		CHECK(huge[i * PAGE] == 1, "page %lu outside the range lost its data", i);
	for (i = 256; i < 512; i++)
		CHECK(!(pagemap(huge + i * PAGE) & PM_PRESENT), "page %lu still present", i);
}

/* ---- user faults ----------------------------------------------------------- */

static void test_user_fault_sigbus_exact_addr(void)
{
	setup(4, 0);
	(void)*(volatile char *)(g_area + 2 * PAGE + 123);
	check_pages(g_area, 2, 1);
	CHECK(t_sig.signo == SIGBUS && t_sig.code == BUS_ADRERR, "signal %d code %d", t_sig.signo,
	      t_sig.code);
	CHECK(t_sig.addr == g_area + 2 * PAGE + 123, "si_addr %p, fault at %p", t_sig.addr,
	      g_area + 2 * PAGE + 123);
	CHECK(stats().user_faults == 1 && stats().pages_mapped == 1, "user_faults %llu pages_mapped %llu",
	      (unsigned long long)stats().user_faults, (unsigned long long)stats().pages_mapped);
}

static void test_user_fault_custom_signo(void)
{
	volatile char *p;

	setup(4, SIGRTMIN + 2);
	p = g_area + 3 * PAGE + 4095;
	fault_write(p, *p);
	CHECK(t_sig.signo == SIGRTMIN + 2 && t_sig.addr == (void *)p, "signal %d at %p, want %d at %p",
	      t_sig.signo, t_sig.addr, SIGRTMIN + 2, p);
}

static void test_handler_without_map_refaults(void)
{
	setup(2, 0);
	g_map_after = 4;
	check_pages(g_area, 1, 1);
	CHECK(g_sigs == 4, "%d signals, want 4 (3 unmapped returns, then a map)", g_sigs);
}

static int g_dead_signo;

static void touch_marker_with_signo_unhandled(void)
{
	volatile char *a = area_alloc(1, false);
	int fd = fa_open();

	if (fa_prepare(fd, (void *)a, PAGE, g_dead_signo, NULL))
		_exit(10);
	(void)a[0];
	_exit(11);	/* must not get here */
}

static void test_unhandled_signo_kills_with_sigbus(void)
{
	int signos[] = { 0, SIGRTMIN };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		int st;

		g_dead_signo = signos[i];
		signal(SIGRTMIN, SIG_DFL);
		st = in_child(touch_marker_with_signo_unhandled);
		CHECK(KILLED_BY(st, SIGBUS), "signo %d at default: status 0x%x", signos[i], st);
		signal(SIGRTMIN, SIG_IGN);
		st = in_child(touch_marker_with_signo_unhandled);
		CHECK(KILLED_BY(st, SIGBUS), "signo %d ignored: status 0x%x", signos[i], st);
		signal(SIGRTMIN, SIG_DFL);
	}
	/* caught but blocked */
	catch(SIGRTMIN);
	{
		sigset_t set;
		int st;

		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &set, NULL);
		g_dead_signo = SIGRTMIN;
		st = in_child(touch_marker_with_signo_unhandled);
		CHECK(KILLED_BY(st, SIGBUS), "SIGRTMIN blocked: status 0x%x", st);
	}
}

/* ---- kernel accesses -------------------------------------------------------- */

static void test_kernel_uaccess_efault(void)
{
	int pfd[2];
	char buf[64] = "data";

	setup(2, 0);
	CHECK(pipe(pfd) == 0, "pipe");
	CHECK(write(pfd[1], buf, sizeof(buf)) == sizeof(buf), "write to pipe");
	CHECK(read(pfd[0], g_area, sizeof(buf)) < 0 && errno == EFAULT,
	      "read() into a marker: want EFAULT, got %s", strerror(errno));	/* copy_to_user */
	CHECK(write(pfd[1], g_area + PAGE, 64) < 0 && errno == EFAULT,
	      "write() from a marker: want EFAULT");				/* copy_from_user */
	CHECK(g_sigs == 0, "%d signals for kernel accesses", g_sigs);
	CHECK(stats().kernel_faults >= 2 && stats().user_faults == 0, "kernel_faults %llu user_faults %llu",
	      (unsigned long long)stats().kernel_faults, (unsigned long long)stats().user_faults);
	CHECK(!(pagemap(g_area) & PM_PRESENT), "a page was allocated under the marker");
	/* the markers stayed: a map still works */
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	CHECK(read(pfd[0], g_area, sizeof(buf)) == sizeof(buf), "read() after the map: %s",
	      strerror(errno));
}

static void test_gup_efault_then_ok(void)
{
	struct iovec local, remote;
	char buf[PAGE];

	setup(4, 0);
	CHECK(fa_gup(g_fd, g_area, 1) == -EFAULT, "gup on a marker: %lld",
	      (long long)fa_gup(g_fd, g_area, 1));
	local = (struct iovec){ buf, PAGE };
	remote = (struct iovec){ g_area + PAGE, PAGE };
	CHECK(process_vm_readv(getpid(), &local, 1, &remote, 1, 0) < 0 && errno == EFAULT,
	      "process_vm_readv of a marker: want EFAULT, got %s", strerror(errno));
	CHECK(g_sigs == 0, "%d signals for gup", g_sigs);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	CHECK(fa_gup(g_fd, g_area, 1) == 1, "gup after the map: %lld", (long long)fa_gup(g_fd, g_area, 1));
	CHECK(fa_gup(g_fd, g_area, 4) == 1, "gup stops short at the next marker");
	page_fill(t_tmp, SEED, 1);
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, t_tmp, PAGE, 0, NULL), 0);
	CHECK(process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == PAGE, "process_vm_readv after map");
	CHECK(page_check(buf, SEED, 1), "process_vm_readv read wrong data");
}

static void test_odirect_efault(void)
{
	const char *path = getenv("FA_ODIRECT_FILE");
	int fd;

	if (!path)
		SKIP("FA_ODIRECT_FILE not set (needs a filesystem with O_DIRECT)");
	setup(1, 0);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
	CHECK(fd >= 0, "open %s O_DIRECT: %s", path, strerror(errno));
	CHECK(pwrite(fd, g_area, PAGE, 0) < 0 && errno == EFAULT, "O_DIRECT write from a marker: %s",
	      strerror(errno));
	CHECK(g_sigs == 0, "%d signals", g_sigs);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	CHECK(pwrite(fd, g_area, PAGE, 0) == PAGE, "O_DIRECT write after map: %s", strerror(errno));
}

/* ---- FA_IOC_MAP ------------------------------------------------------------ */

static void test_map_moves_pfn(void)
{
	uint64_t before, after;
	int64_t mapped;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	before = pagemap(t_tmp);
	CHECK(before & PM_PRESENT && PM_PFN(before), "src not present or no pfn (not root?)");
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, &mapped), 0);
	CHECK(mapped == PAGE, "mapped %lld", (long long)mapped);
	after = pagemap(g_area);
	CHECK(PM_PFN(after) == PM_PFN(before), "dst pfn %#llx, src pfn was %#llx: copied, not moved",
	      (unsigned long long)PM_PFN(after), (unsigned long long)PM_PFN(before));
	CHECK(!(pagemap(t_tmp) & PM_PRESENT), "src pte still present after the move");
	check_pages(g_area, 0, 1);
	g_area[0] = 7;		/* writable without a fault */
	CHECK(g_sigs == 0, "signals: %d", g_sigs);
}

/* A moved page lives in dst's anon_vma: fork and COW must work on it. */
static void test_map_then_fork_cow(void)
{
	int st;
	pid_t pid;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	pid = fork();
	if (pid == 0) {
		if (!page_check(g_area, SEED, 0))
			_exit(1);
		g_area[0] ^= 1;		/* COW: the child's own copy */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child saw wrong data (status 0x%x)", st);
	check_pages(g_area, 0, 1);
	g_area[1] = 9;		/* the parent writes too, after the child is gone */
}

static void test_map_copy_keeps_src(void)
{
	uint64_t before;
	int64_t mapped;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	before = pagemap(t_tmp);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, FA_MAP_COPY, &mapped), 0);
	CHECK(mapped == PAGE, "mapped %lld", (long long)mapped);
	CHECK(pagemap(t_tmp) == before, "src changed by a copy");
	CHECK(PM_PFN(pagemap(g_area)) != PM_PFN(before), "copy shares the src pfn");
	check_pages(g_area, 0, 1);
	CHECK(page_check(t_tmp, SEED, 0), "src contents changed");
}

static void test_map_einval(void)
{
	char *ro;

	setup(8, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area + 1, t_tmp, PAGE, 0, NULL), EINVAL);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp + 1, PAGE, 0, NULL), EINVAL);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, 0, 0, NULL), EINVAL);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 2, NULL), EINVAL);
	CHECK_ERR(fa_map(g_fd, g_area, g_area + PAGE, 2 * PAGE, 0, NULL), EINVAL);	/* overlap */
	CHECK_ERR(fa_map(g_fd, t_tmp, g_area, PAGE, 0, NULL), EINVAL);	/* dst not prepared */
	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED, "mmap: %s", strerror(errno));
	(void)*(volatile char *)ro;	/* present: the zero page */
	CHECK_ERR(fa_map(g_fd, g_area, ro, PAGE, 0, NULL), EINVAL);	/* protections differ */
	CHECK(stats().map_errors == 7, "map_errors %llu", (unsigned long long)stats().map_errors);
}

static void test_map_eexist(void)
{
	int64_t mapped;

	setup(2, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, &mapped), EEXIST);
	CHECK(mapped == 0, "mapped %lld on EEXIST", (long long)mapped);
	CHECK(page_check(t_tmp, SEED, 0), "src lost its page on EEXIST");
}

static void test_map_enoent_partial(void)
{
	char *src = area_alloc(4, false);
	int64_t mapped;

	setup(4, 0);
	page_fill(src, SEED, 0);
	page_fill(src + PAGE, SEED, 1);
	/* src page 2 was never touched */
	CHECK_ERR(fa_map(g_fd, g_area, src, 4 * PAGE, 0, &mapped), ENOENT);
	CHECK(mapped == 2 * PAGE, "mapped %lld, want the 2 pages before the hole", (long long)mapped);
	check_pages(g_area, 0, 2);
	CHECK(!(pagemap(g_area + 2 * PAGE) & PM_PRESENT), "page 2 mapped");
}

/* Fork a child that shares our pages until release_child(): it waits for the pipe to close. */
static pid_t sharing_child(int *pipe_w)
{
	int pfd[2];
	char c;
	pid_t pid;

	CHECK(pipe(pfd) == 0, "pipe");
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[1]);
		if (read(pfd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[0]);
	*pipe_w = pfd[1];
	return pid;
}

static void release_child(pid_t pid, int pipe_w)
{
	close(pipe_w);
	waitpid(pid, NULL, 0);
}

static void test_map_ebusy_after_fork(void)
{
	int pipe_w;
	pid_t pid;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	pid = sharing_child(&pipe_w);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EBUSY);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, FA_MAP_COPY, NULL), 0);
	check_pages(g_area, 0, 1);
	release_child(pid, pipe_w);
}

static int io_uring_register_buffer(void *p, size_t len)
{
	struct io_uring_params params = { 0 };
	struct iovec iov = { p, len };
	int ring = syscall(__NR_io_uring_setup, 1, &params);

	if (ring < 0)
		return -1;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
		close(ring);
		return -1;
	}
	return ring;	/* the pin lasts while the ring is open */
}

static void test_map_ebusy_pinned(void)
{
	int ring;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	ring = io_uring_register_buffer(t_tmp, PAGE);
	if (ring < 0)
		SKIP("io_uring buffer registration unavailable: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EBUSY);
	close(ring);
	usleep(100000);		/* the unpin is deferred to a work item */
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
}

static long ksm_pages_shared(void)
{
	FILE *f = fopen("/sys/kernel/mm/ksm/pages_shared", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static void test_map_ebusy_ksm(void)
{
	char *src = area_alloc(2, false);
	FILE *f = fopen("/sys/kernel/mm/ksm/run", "w");
	int i;

	if (!f || fputs("1", f) < 0 || fclose(f))
		SKIP("KSM unavailable");
	setup(1, 0);
	memset(src, 0x5a, 2 * PAGE);
	CHECK(madvise(src, 2 * PAGE, MADV_MERGEABLE) == 0, "MADV_MERGEABLE: %s", strerror(errno));
	for (i = 0; i < 200 && ksm_pages_shared() < 1; i++)	/* ksmd needs two scans */
		usleep(50000);
	CHECK(ksm_pages_shared() >= 1, "KSM merged nothing in 10 s");
	CHECK_ERR(fa_map(g_fd, g_area, src, PAGE, 0, NULL), EBUSY);
	CHECK_ERR(fa_map(g_fd, g_area, src, PAGE, FA_MAP_COPY, NULL), 0);
	CHECK(g_area[100] == 0x5a, "copy of the KSM page has wrong contents");
}

static void test_map_from_thp(void)
{
	const unsigned long n = 1024;
	char *src = area_alloc(n, true), *huge;
	uint64_t before;
	unsigned long i;

	setup(4, 0);
	huge = (char *)(((uintptr_t)src + (2 << 20) - 1) & ~((2UL << 20) - 1));
	for (i = 0; i < 4; i++)
		page_fill(huge + (100 + i) * PAGE, SEED, i);
	for (i = 0; i < 4; i++)
		CHECK(page_is_thp(huge + (100 + i) * PAGE), "src page %lu is not in a THP (AnonHugePages %ld kB)",
		      100 + i, anon_huge_kb());
	before = pagemap(huge + 100 * PAGE);
	CHECK_ERR(fa_map(g_fd, g_area, huge + 100 * PAGE, 4 * PAGE, 0, NULL), 0);
	check_pages(g_area, 0, 4);
	CHECK(PM_PFN(pagemap(g_area)) == PM_PFN(before), "THP page copied, not moved");
	CHECK(huge[0] == 0 && huge[511 * PAGE] == 0, "rest of the THP changed");
}

/* The /proc/self/maps line of the VMA holding addr; false if there is none. */
static bool maps_line(const void *addr, char *line, size_t cap)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	bool found = false;

	while (f && !found && fgets(line, cap, f))
		found = sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
	if (f)
		fclose(f);
	return found;
}

/* MAP_PRIVATE of /dev/zero: an anonymous VMA that still names its file. */
static void test_devzero_private(void)
{
	int zfd = open("/dev/zero", O_RDWR), fd = fa_open();
	char *a = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zfd, 0);
	char line[512] = "";
	unsigned long i;

	CHECK(fd >= 0 && a != MAP_FAILED, "setup: %s", strerror(errno));
	CHECK(maps_line(a, line, sizeof(line)) && strstr(line, " rw-p ") && strstr(line, " /dev/zero\n"),
	      "the area is not a private /dev/zero mapping: %s", line);
	g_fd = fd;
	g_area = a;
	g_npages = 16;
	t_tmp = area_alloc(1, false);
	catch(SIGBUS);
	CHECK_ERR(fa_prepare(fd, a, 16 * PAGE, 0, NULL), 0);
	for (i = 0; i < 16; i++)
		check_pages(a, i, 1);
	CHECK(g_sigs == 16, "%d signals for 16 pages", g_sigs);
}

/* ---- FA_IOC_RELEASE, close, fork -------------------------------------------- */

static void test_release_zero_fills(void)
{
	setup(4, 0);
	CHECK_ERR(fa_release(g_fd, g_area, 2 * PAGE), 0);
	CHECK(g_area[0] == 0 && g_area[PAGE + 5] == 0, "released page not zero");
	CHECK(g_sigs == 0, "%d signals after release", g_sigs);
	CHECK_ERR(fa_release(g_fd, g_area, 2 * PAGE), EINVAL);		/* no longer ours */
	CHECK_ERR(fa_release(g_fd, t_tmp, PAGE), EINVAL);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EINVAL);	/* unregistered */
	check_pages(g_area, 2, 1);					/* the rest still works */
}

static void close_then_touch(void)
{
	volatile char *a = area_alloc(2, false);
	int fd = fa_open();

	if (fa_prepare(fd, (void *)a, 2 * PAGE, 0, NULL))
		_exit(10);
	close(fd);
	(void)a[PAGE];
	_exit(11);
}

static void test_close_without_release_sigbus(void)
{
	int st = in_child(close_then_touch);

	CHECK(KILLED_BY(st, SIGBUS), "status 0x%x, want death by SIGBUS (no handler, no zeros)", st);
}

static void child_touches_marker(void)
{
	int64_t pinned = fa_gup(g_fd, g_area, 1);

	if (pinned != -EPERM)
		_exit(12);	/* another mm's ioctl must get EPERM */
	signal(SIGBUS, SIG_DFL);
	(void)*(volatile char *)g_area;
	_exit(11);
}

/* Kernel addresses and ranges past TASK_SIZE: EINVAL from every ioctl, before any walk. */
static void test_kernel_ranges_einval(void)
{
	static const uint64_t bad[] = { 0xffff888000000000ULL, 0xffffffff81000000ULL, (1ULL << 56) - PAGE,
					1ULL << 63, -PAGE };
	unsigned long i;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *k = (void *)(uintptr_t)bad[i];

		CHECK_ERR(fa_map(g_fd, k, t_tmp, PAGE, 0, NULL), EINVAL);
		CHECK_ERR(fa_map(g_fd, g_area, k, PAGE, 0, NULL), EINVAL);
		CHECK_ERR(fa_release(g_fd, k, PAGE), EINVAL);
		CHECK(fa_gup(g_fd, k, 1) == -EINVAL, "FA_IOC_GUP at %p did not fail with EINVAL", k);
	}
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);	/* the file still works */
}

/* The device is root's (0600) unless the module was loaded with group=. */
static void test_open_eacces_unprivileged(void)
{
	FILE *f = fopen("/sys/module/fault_area/parameters/group", "r");
	int group = -1, st;
	pid_t pid;

	if (f) {
		if (fscanf(f, "%d", &group) != 1)
			group = -1;
		fclose(f);
	}
	if (group != -1)
		SKIP("loaded with group=%d: tests/guest/test_kmod.py checks that mode", group);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		_exit(open(FA_DEVICE_PATH, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nobody's open: status %#x, want EACCES", st);
}

static void test_fork_child_sigbus_eperm(void)
{
	int st;

	setup(2, 0);
	st = in_child(child_touches_marker);
	CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 12), "child ioctl did not get EPERM");
	CHECK(KILLED_BY(st, SIGBUS), "child status 0x%x, want death by SIGBUS", st);
	check_pages(g_area, 0, 2);	/* the parent still works */
}

/* ---- threads ----------------------------------------------------------------- */

struct worker {
	pthread_t tid;
	unsigned long first, n;
	int eexist, ok;
};

static void *touch_range(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	t_tmp = area_alloc(1, false);
	for (i = w->first; i < w->first + w->n; i++)
		if (!page_check(g_area + i * PAGE, SEED, i))
			finish(1, "page %lu wrong", i);
	return NULL;
}

static void test_threads_4x256(void)
{
	struct worker w[4];
	int i;

	setup(1024, 0);
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .first = i * 256, .n = 256 };
		pthread_create(&w[i].tid, NULL, touch_range, &w[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(w[i].tid, NULL);
	check_pages(g_area, 0, 1024);
	CHECK(stats().pages_mapped == 1024, "pages_mapped %llu", (unsigned long long)stats().pages_mapped);
	CHECK(g_sigs == 1024, "%d signals for 1024 pages", g_sigs);
}

static pthread_barrier_t race_start;

static void *map_all(void *arg)
{
	struct worker *w = arg;
	char *src = area_alloc(64, false);
	unsigned long i;

	for (i = 0; i < 64; i++)
		page_fill(src + i * PAGE, SEED, i);
	pthread_barrier_wait(&race_start);
	for (i = 0; i < 64; i++) {
		int err = fa_map(g_fd, g_area + i * PAGE, src + i * PAGE, PAGE, 0, NULL);

		if (err == 0)
			w->ok++;
		else if (err == EEXIST)
			w->eexist++;
		else
			finish(1, "race: FA_IOC_MAP of page %lu: %s", i, errname(err));
	}
	return NULL;
}

static void test_race_4_threads_same_64(void)
{
	struct worker w[4] = { 0 };
	int i, ok = 0, eexist = 0;

	setup(64, 0);
	pthread_barrier_init(&race_start, NULL, 4);
	for (i = 0; i < 4; i++)
		pthread_create(&w[i].tid, NULL, map_all, &w[i]);
	for (i = 0; i < 4; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		eexist += w[i].eexist;
	}
	CHECK(ok == 64 && eexist == 3 * 64, "%d won, %d EEXIST; want 64 and 192", ok, eexist);
	check_pages(g_area, 0, 64);
}

/* ---- a src page on the move, dst first, pages once shared ------------------------ */

/* The sum of the /proc/vmstat counters whose names start with prefix. */
static unsigned long long vmstat_sum(const char *prefix)
{
	FILE *f = fopen("/proc/vmstat", "r");
	unsigned long long sum = 0, v;
	char name[64];

	CHECK(f, "/proc/vmstat: %s", strerror(errno));
	while (fscanf(f, "%63s %llu", name, &v) == 2)
		if (!strncmp(name, prefix, strlen(prefix)))
			sum += v;
	fclose(f);
	return sum;
}

#define PM_SWAP (1ULL << 62)
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif

/* A dst that already holds a page is EEXIST, whatever src is: a racing handler learns it lost. */
static void test_map_dst_checked_first(void)
{
	char *absent = area_alloc(1, false);

	setup(2, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	CHECK_ERR(fa_map(g_fd, g_area, absent, PAGE, 0, NULL), EEXIST);		/* src never touched */
	CHECK_ERR(fa_map(g_fd, g_area, absent, PAGE, FA_MAP_COPY, NULL), EEXIST);
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, absent, PAGE, 0, NULL), ENOENT);	/* a marker: src counts */
}

/* Copy mode onto a dst that holds a page allocates nothing (pgalloc_* in /proc/vmstat). */
static void test_map_copy_eexist_allocates_nothing(void)
{
	const int n = 2000;
	unsigned long long before, allocated;
	int i;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, FA_MAP_COPY, NULL), 0);
	before = vmstat_sum("pgalloc_");
	for (i = 0; i < n; i++)
		CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, FA_MAP_COPY, NULL), EEXIST);
	allocated = vmstat_sum("pgalloc_") - before;
	CHECK(allocated < n / 2, "%llu pages allocated during %d copies refused with EEXIST", allocated, n);
}

/*
 * A page fork() shared, whose child has exited, is the parent's alone again:
 * MAP moves it (do_wp_page() would reuse it too).  One CPU, so that the
 * page's per-CPU LRU batch is the one the module drains.
 */
static void test_map_exclusive_after_fork_exit(void)
{
	cpu_set_t one;
	uint64_t before;
	pid_t pid;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, "sched_setaffinity: %s", strerror(errno));
	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	before = pagemap(t_tmp);
	pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, NULL, 0) == pid, "waitpid: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);
	CHECK(PM_PFN(pagemap(g_area)) == PM_PFN(before), "the page was copied, not moved");
	check_pages(g_area, 0, 1);
	g_area[0] ^= 1;
	CHECK(g_sigs == 0, "%d signals", g_sigs);
}

/* A vmsplice()d page holds a pipe reference the map count does not show: EBUSY until it is read. */
static void test_map_ebusy_vmspliced(void)
{
	struct iovec iov;
	char buf[PAGE];
	int pfd[2];
	pid_t pid;

	setup(1, 0);
	page_fill(t_tmp, SEED, 0);
	CHECK(pipe(pfd) == 0, "pipe: %s", strerror(errno));
	iov = (struct iovec){ t_tmp, PAGE };
	CHECK(vmsplice(pfd[1], &iov, 1, 0) == PAGE, "vmsplice: %s", strerror(errno));
	pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, NULL, 0) == pid, "waitpid: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EBUSY);
	CHECK(read(pfd[0], buf, PAGE) == PAGE && page_check(buf, SEED, 0), "the pipe lost the page");
	CHECK_ERR(fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), 0);	/* the reference is gone */
	check_pages(g_area, 0, 1);
}

/*
 * Swap on a zram device for fn, run in a child so that swapoff follows
 * even when fn fails.  /sys/class/zram-control gives a device of our own.
 */
static void with_zram_swap(void (*fn)(void))
{
	char dev[32], path[64];
	int id = -1, st;
	FILE *f;

	if (system("modprobe zram num_devices=0 2>/dev/null || modprobe zram") != 0)
		SKIP("no zram module");
	f = fopen("/sys/class/zram-control/hot_add", "r");
	CHECK(f && fscanf(f, "%d", &id) == 1, "zram hot_add: %s", strerror(errno));
	fclose(f);
	snprintf(dev, sizeof(dev), "/dev/zram%d", id);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	f = fopen(path, "w");
	CHECK(f && fputs("64M", f) >= 0 && fclose(f) == 0, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "mkswap -q %s", dev);
	CHECK(system(path) == 0, "%s failed", path);
	CHECK(swapon(dev, 0) == 0, "swapon %s: %s", dev, strerror(errno));
	st = in_child(fn);
	swapoff(dev);
	f = fopen("/sys/class/zram-control/hot_remove", "w");
	if (f) {
		fprintf(f, "%d", id);
		fclose(f);
	}
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));	/* fn wrote its reason, if any */
	FAIL("killed by %s", strsignal(WTERMSIG(st)));
}

/* Page n pages of src out to swap; each pte must then be a swap entry. */
static void page_out(char *src, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		page_fill(src + i * PAGE, SEED, i);
	CHECK(madvise(src, n * PAGE, MADV_PAGEOUT) == 0, "MADV_PAGEOUT: %s", strerror(errno));
	for (i = 0; i < n; i++)
		CHECK(pagemap(src + i * PAGE) & PM_SWAP, "page %lu not swapped out (pagemap %#llx)", i,
		      (unsigned long long)pagemap(src + i * PAGE));
}

static void map_from_swap(void)
{
	char *src = area_alloc(16, false);

	setup(16, 0);
	page_out(src, 16);
	CHECK_ERR(fa_map(g_fd, g_area, src, 8 * PAGE, 0, NULL), 0);
	CHECK_ERR(fa_map(g_fd, g_area + 8 * PAGE, src + 8 * PAGE, 8 * PAGE, FA_MAP_COPY, NULL), 0);
	check_pages(g_area, 0, 16);
	CHECK(!(pagemap(src) & (PM_PRESENT | PM_SWAP)), "src page 0 still there after a move");
	check_pages(src, 8, 8);
}

/* A src page that is swapped out is faulted back in, not ENOENT. */
static void test_map_src_swapped_out(void)
{
	with_zram_swap(map_from_swap);
}

static void map_from_swapcache(void)
{
	char *src = area_alloc(16, false);
	unsigned long i;

	setup(16, 0);
	page_out(src, 16);
	/* read back through the swap cache: readahead, then a read fault maps the cached page */
	CHECK(madvise(src, 16 * PAGE, MADV_WILLNEED) == 0, "MADV_WILLNEED: %s", strerror(errno));
	usleep(100000);
	for (i = 0; i < 16; i++) {
		CHECK(page_check(src + i * PAGE, SEED, i), "src page %lu wrong after swap-in", i);
		CHECK(kpageflags(src + i * PAGE) & (1ULL << KPF_SWAPCACHE), "src page %lu not in the swap cache",
		      i);
	}
	CHECK_ERR(fa_map(g_fd, g_area, src, 16 * PAGE, 0, NULL), 0);
	check_pages(g_area, 0, 16);
	for (i = 0; i < 16; i++)
		g_area[i * PAGE] ^= 1;	/* writable: the stale swap copy must not come back */
	CHECK(madvise(g_area, 16 * PAGE, MADV_PAGEOUT) == 0, "MADV_PAGEOUT of dst: %s", strerror(errno));
	for (i = 0; i < 16; i++)
		g_area[i * PAGE] ^= 1;
	check_pages(g_area, 0, 16);
}

/* A src page in the swap cache (and exclusive) moves, as UFFDIO_MOVE moves it. */
static void test_map_src_swapcache(void)
{
	with_zram_swap(map_from_swapcache);
}

static volatile int mig_stop, mig_next = -1;
static volatile int mig_ok, mig_fail;
static char *mig_src;

/* Migrate page mig_next of mig_src (or page 0 when it is -1) until told to stop. */
static void *soft_offline_loop(void *arg)
{
	(void)arg;
	while (!mig_stop) {
		int next = __atomic_load_n(&mig_next, __ATOMIC_ACQUIRE);
		char *p = mig_src + (next < 0 ? 0 : next) * PAGE;

		if (madvise(p, PAGE, MADV_SOFT_OFFLINE) == 0)
			mig_ok++;
		else
			mig_fail++;
	}
	return NULL;
}

/*
 * A src page under migration is not absent.  MADV_SOFT_OFFLINE migrates a
 * page on this one-node guest (move_pages(2) to the node a page is on does
 * not): its pte is a migration entry meanwhile.  Copy mode from a page
 * migrated over and over, then move mode of pages migrated just ahead of
 * the map, each phase until 20 migrations or 8 s.
 */
static void test_map_src_migrating(void)
{
	const int n = 4096;
	unsigned long long migrated = vmstat_sum("pgmigrate_success");
	uint64_t t0 = now_ns();
	pthread_t tid;
	int i, j, err;

	setup(2 * n, 0);
	mig_src = area_alloc(n, false);
	page_fill(mig_src, SEED, 0);
	CHECK(pthread_create(&tid, NULL, soft_offline_loop, NULL) == 0, "pthread_create");
	for (i = 0; i < n && mig_ok < 20 && now_ns() - t0 < 8000000000ULL; i++) {
		err = fa_map(g_fd, g_area + i * PAGE, mig_src, PAGE, FA_MAP_COPY, NULL);
		if (err) {
			mig_stop = 1;
			FAIL("copy %d from a migrating page: %s (%d migrations so far)", i, errname(err), mig_ok);
		}
		CHECK(page_check(g_area + i * PAGE, SEED, 0), "copy %d wrong", i);
	}
	CHECK(mig_ok >= 20, "%d soft offlines (%d failed) in %d copies: the race was not run", mig_ok,
	      mig_fail, i);
	for (j = 1; j < n; j++)
		page_fill(mig_src + j * PAGE, SEED, n + j);
	t0 = now_ns();
	for (j = 1; j < n && mig_ok < 40 && now_ns() - t0 < 8000000000ULL; j++) {
		__atomic_store_n(&mig_next, j + 1 < n ? j + 1 : j, __ATOMIC_RELEASE);
		err = fa_map(g_fd, g_area + (n + j) * PAGE, mig_src + j * PAGE, PAGE, 0, NULL);
		if (err) {
			mig_stop = 1;
			FAIL("move %d from a migrating page: %s (%d migrations so far)", j, errname(err), mig_ok);
		}
		CHECK(page_check(g_area + (n + j) * PAGE, SEED, n + j), "moved page %d wrong", j);
	}
	mig_stop = 1;
	pthread_join(tid, NULL);
	migrated = vmstat_sum("pgmigrate_success") - migrated;
	CHECK(mig_ok >= 40 && migrated >= 40, "%d soft offlines (%d failed), %llu migrations in %d copies "
	      "and %d moves: the race was not run", mig_ok, mig_fail, migrated, i, j - 1);
}

static void exit_with_si_code(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	_exit(si->si_code == BUS_ADRERR ? 0 : 100 + si->si_code);
}

static void close_then_touch_caught(void)
{
	struct sigaction sa = { .sa_sigaction = exit_with_si_code, .sa_flags = SA_SIGINFO };
	volatile char *a = area_alloc(2, false);
	int fd = fa_open();

	if (fa_prepare(fd, (void *)a, 2 * PAGE, 0, NULL))
		_exit(10);
	close(fd);
	sigaction(SIGBUS, &sa, NULL);
	(void)a[PAGE];
	_exit(11);
}

/*
 * A marker left by a closed file is the module's own: a plain SIGBUS
 * (BUS_ADRERR), not the core mm's machine-check one (BUS_MCEERR_AR, and
 * "MCE: Killing ..." in dmesg).
 */
static void test_closed_marker_plain_sigbus(void)
{
	int st = in_child(close_then_touch_caught);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: si_code %d, want BUS_ADRERR (%d)", st,
	      WIFEXITED(st) ? WEXITSTATUS(st) - 100 : -1, BUS_ADRERR);
}

/* ---- issue 12: the OOM reaper, RELEASE racing a fault, signals, sealed/read-only/pkey memory ---- */

static void child_prepares_and_waits(int ready_fd)
{
	const unsigned long n = 512;
	char *a = area_alloc(n, false), *b = area_alloc(n, false);
	int fd = fa_open();

	if (!a || !b || fd < 0 || fa_prepare(fd, a, n * PAGE, 0, NULL))
		_exit(10);
	memset(b, 1, n * PAGE);		/* something for the reaper to free */
	if (write(ready_fd, "r", 1) != 1)
		_exit(11);
	for (;;)
		pause();
}

/*
 * The OOM reaper (here through process_mrelease) must be able to reap a
 * killed process that used FA_IOC_PREPARE: its mmu notifier gets a
 * non-blockable MMU_NOTIFY_UNMAP and must not refuse it.
 */
static void test_oom_reaper_process_mrelease(void)
{
	int round, eagain = 0, reaped = 0, pfd[2];

	for (round = 0; round < 20; round++) {
		pid_t pid;
		int pidfd, ret, st;
		char c;

		CHECK(pipe(pfd) == 0, "pipe: %s", strerror(errno));
		pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			close(pfd[0]);
			child_prepares_and_waits(pfd[1]);
		}
		close(pfd[1]);
		CHECK(read(pfd[0], &c, 1) == 1, "the child did not prepare its area");
		close(pfd[0]);
		pidfd = syscall(434 /* pidfd_open */, pid, 0);
		CHECK(pidfd >= 0, "pidfd_open: %s", strerror(errno));
		kill(pid, SIGKILL);
		ret = syscall(448 /* process_mrelease */, pidfd, 0);
		if (ret < 0 && errno == EAGAIN)
			eagain++;
		else if (ret == 0)
			reaped++;
		else
			CHECK(errno == ESRCH, "process_mrelease: %s", strerror(errno));
		close(pidfd);
		CHECK(waitpid(pid, &st, 0) == pid && KILLED_BY(st, SIGKILL), "child status 0x%x", st);
	}
	CHECK(eagain == 0, "process_mrelease gave EAGAIN in %d of 20 rounds (%d returned 0)", eagain, reaped);
}

/* /dev/kmsg opened at its end: what the kernel logs from now on. */
static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The first record since kmsg_open_end() that contains what, into line;
 * false if none.  (Cases run one at a time: nothing else touches markers.)
 */
static bool kmsg_find(int fd, const char *what, char *line, size_t cap)
{
	char rec[1024];
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on with the rest */
		if (n <= 0)
			return false;
		rec[n] = 0;
		if (strstr(rec, what)) {
			snprintf(line, cap, "%s", rec);
			return true;
		}
	}
}

static volatile int race_stop;
static int race_mceerr;

static void on_race_fault(int sig, siginfo_t *si, void *uc)
{
	char *page = (char *)((uintptr_t)si->si_addr & ~(PAGE - 1));
	int err;

	(void)uc;
	if (si->si_code == BUS_MCEERR_AR || si->si_code == BUS_MCEERR_AO) {
		/* the core's poison SIGBUS: returning would fault again on the same pte */
		__atomic_store_n(&race_mceerr, 1, __ATOMIC_RELAXED);
		race_stop = 1;
		signal(SIGBUS, SIG_IGN);
		finish(1, "SIGBUS with BUS_MCEERR_A%c at %p: a marker met as hardware poison",
		       si->si_code == BUS_MCEERR_AR ? 'R' : 'O', si->si_addr);
	}
	if (!t_tmp)
		t_tmp = area_alloc(1, false);
	page_fill(t_tmp, SEED, (page - g_area) / PAGE);
	/* EINVAL: released meanwhile (the access then finds a none pte); EEXIST: mapped by another */
	err = fa_map(g_fd, page, t_tmp, PAGE, 0, NULL);
	if (err && err != EINVAL && err != EEXIST && err != EBUSY)
		finish(1, "FA_IOC_MAP of %p in the race: %s", page, errname(err));
}

static void *race_touch(void *arg)
{
	unsigned long i = (uintptr_t)arg;

	t_tmp = area_alloc(1, false);
	while (!race_stop) {
		(void)*(volatile char *)(g_area + (i % g_npages) * PAGE);
		i += 7;
	}
	return NULL;
}

/*
 * FA_IOC_RELEASE while threads fault on the range: a thread that read the
 * marker before the release must get a retry (then a zero page), never the
 * core mm's "hardware poison" SIGBUS for a stale marker.
 */
static void test_release_race_no_mce(void)
{
	const int nthreads = 3, max_rounds = 3000;
	struct sigaction sa = { .sa_sigaction = on_race_fault, .sa_flags = SA_SIGINFO };
	pthread_t tid[3];
	uint64_t deadline;
	char line[1024];
	int i, rounds, kfd;

	g_fd = fa_open();
	g_npages = 16;
	g_area = area_alloc(g_npages, false);
	CHECK(g_fd >= 0 && g_area, "setup: %s", strerror(errno));
	sigaction(SIGBUS, &sa, NULL);
	kfd = kmsg_open_end();
	CHECK(kfd >= 0, "open /dev/kmsg: %s", strerror(errno));
	CHECK_ERR(fa_prepare(g_fd, g_area, g_npages * PAGE, 0, NULL), 0);
	for (i = 0; i < nthreads; i++)
		pthread_create(&tid[i], NULL, race_touch, (void *)(uintptr_t)(i * 5));
	deadline = now_ns() + 10 * 1000000000ULL;
	for (rounds = 0; rounds < max_rounds && now_ns() < deadline && !race_stop; rounds++) {
		CHECK_ERR(fa_release(g_fd, g_area, g_npages * PAGE), 0);
		CHECK_ERR(fa_prepare(g_fd, g_area, g_npages * PAGE, 0, NULL), 0);
	}
	race_stop = 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	CHECK(!race_mceerr, "a BUS_MCEERR SIGBUS after %d rounds", rounds);
	CHECK(!kmsg_find(kfd, "MCE: Killing", line, sizeof(line)),
	      "after %d rounds the kernel logged: %s", rounds, line);
	CHECK(stats().user_faults > 0, "no fault met a marker in %d rounds", rounds);
}

static void touch_rt_marker_with_full_queue(void)
{
	struct rlimit none = { 0, 0 };
	volatile char *a = area_alloc(1, false);
	int fd = fa_open();

	catch(SIGRTMIN + 1);
	if (setrlimit(RLIMIT_SIGPENDING, &none) || fa_prepare(fd, (void *)a, PAGE, SIGRTMIN + 1, NULL))
		_exit(10);
	(void)a[0];	/* the signal cannot be queued: never refault forever */
	_exit(11);
}

/* A real-time signal that cannot be queued (RLIMIT_SIGPENDING) kills with SIGBUS. */
static void test_signal_rt_queue_full_sigbus(void)
{
	pid_t pid = fork();
	int st, waited;

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		touch_rt_marker_with_full_queue();
	for (waited = 0; waited < 300 && waitpid(pid, &st, WNOHANG) == 0; waited++)
		usleep(10000);
	if (waited == 300) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		FAIL("the child still ran 3 s after touching the marker (refaulting); killed");
	}
	CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 10), "setup failed in the child");
	CHECK(KILLED_BY(st, SIGBUS), "child status 0x%x, want death by SIGBUS", st);
}

/*
 * A real-time signal carries the address in si_value (si_code SI_QUEUE,
 * from no process); signals whose siginfo has no room for it are refused.
 */
static void test_signal_rt_si_value(void)
{
	volatile char *p;
	const int legacy[] = { SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGHUP, SIGILL, SIGTRAP, SIGFPE };
	unsigned int i;

	setup(2, SIGRTMIN);
	p = g_area + PAGE + 17;
	fault_read(p);
	CHECK(t_sig.signo == SIGRTMIN && t_sig.code == SI_QUEUE, "signal %d code %d, want %d code SI_QUEUE",
	      t_sig.signo, t_sig.code, SIGRTMIN);
	CHECK(t_sig.addr == (void *)p, "si_value %p, fault at %p", t_sig.addr, p);
	CHECK(t_sig.pid == 0, "si_pid %d, want 0 (the kernel)", t_sig.pid);
	for (i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++)
		CHECK_ERR(fa_prepare(g_fd, g_area, PAGE, legacy[i], NULL), EINVAL);
	CHECK_ERR(fa_prepare(g_fd, g_area, PAGE, SIGSEGV, NULL), 0);
	catch(SIGSEGV);
	fault_read(g_area);
	CHECK(t_sig.signo == SIGSEGV && t_sig.code == SEGV_ACCERR && t_sig.addr == g_area,
	      "SIGSEGV: signal %d code %d at %p", t_sig.signo, t_sig.code, t_sig.addr);
}

/* SIGRTMAX (64) is a valid signal too. */
static void test_signal_sigrtmax(void)
{
	volatile char *p;

	setup(1, 64);
	p = g_area + 99;
	fault_read(p);
	CHECK(t_sig.signo == 64 && t_sig.addr == (void *)p, "signal %d at %p, want 64 at %p", t_sig.signo,
	      t_sig.addr, p);
}

static void on_fault_regs(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;

	t_sig.err = u->uc_mcontext.gregs[REG_ERR];
#ifdef __x86_64__
	t_sig.cr2 = u->uc_mcontext.gregs[REG_CR2];
#else
	t_sig.cr2 = u->uc_mcontext.cr2;		/* a 32-bit (compat) build */
#endif
	t_sig.trapno = u->uc_mcontext.gregs[REG_TRAPNO];
	on_fault(sig, si, uc);
}

/* The handler's ucontext tells a read from a write: REG_ERR, REG_CR2, REG_TRAPNO as a page fault's. */
static void test_signal_regs_err_cr2(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault_regs, .sa_flags = SA_SIGINFO };
	volatile char *r, *w;

	setup(2, 0);
	sigaction(SIGBUS, &sa, NULL);
	r = g_area + 5;
	w = g_area + PAGE + 6;
	fault_read(r);
	CHECK(t_sig.trapno == 14 && (t_sig.err & 6) == 4 && t_sig.cr2 == (uintptr_t)r,
	      "read: REG_TRAPNO %lu REG_ERR %#lx REG_CR2 %#lx, want 14, user read (4), %p",
	      t_sig.trapno, t_sig.err, t_sig.cr2, r);
	fault_write(w, 1);
	CHECK(t_sig.trapno == 14 && (t_sig.err & 6) == 6 && t_sig.cr2 == (uintptr_t)w,
	      "write: REG_TRAPNO %lu REG_ERR %#lx REG_CR2 %#lx, want 14, user write (6), %p",
	      t_sig.trapno, t_sig.err, t_sig.cr2, w);
}

/* mseal()ed memory must not change: PREPARE would discard it. */
static void test_prepare_eperm_sealed(void)
{
	char *a = area_alloc(4, false);
	int fd = fa_open();

	CHECK(fd >= 0 && a, "setup: %s", strerror(errno));
	memset(a, 3, 4 * PAGE);
	if (syscall(462 /* mseal */, a + 2 * PAGE, 2 * PAGE, 0))
		SKIP("mseal: %s", strerror(errno));
	CHECK_ERR(fa_prepare(fd, a + 2 * PAGE, 2 * PAGE, 0, NULL), EPERM);
	CHECK_ERR(fa_prepare(fd, a, 4 * PAGE, 0, NULL), EPERM);	/* partly sealed */
	CHECK(a[0] == 3 && a[3 * PAGE] == 3, "data discarded by a refused PREPARE");
	CHECK_ERR(fa_prepare(fd, a, 2 * PAGE, 0, NULL), 0);		/* the unsealed part */
}

/* MAP fills dst as a write would: a read-only dst (sealed or not) is refused, as UFFDIO_MOVE does. */
static void test_map_einval_readonly_dst(void)
{
	char *src = area_alloc(2, false);

	setup(2, 0);
	CHECK(src, "mmap: %s", strerror(errno));
	page_fill(src, SEED, 0);
	page_fill(src + PAGE, SEED, 1);
	CHECK(mprotect(g_area, 2 * PAGE, PROT_READ) == 0 && mprotect(src, 2 * PAGE, PROT_READ) == 0,
	      "mprotect: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area, src, PAGE, 0, NULL), EINVAL);
	CHECK_ERR(fa_map(g_fd, g_area, src, PAGE, FA_MAP_COPY, NULL), EINVAL);
	if (syscall(462 /* mseal */, g_area + PAGE, PAGE, 0) == 0)
		CHECK_ERR(fa_map(g_fd, g_area + PAGE, src + PAGE, PAGE, 0, NULL), EINVAL);
	CHECK(page_check(src, SEED, 0), "src lost its page on a refused MAP");
}

/*
 * Memory whose protection key forbids writes can be neither prepared nor
 * filled.  (dst and src must agree on vm_page_prot, which holds the key,
 * so a map meets the same key on both.)
 */
static void test_pkey_write_denied_efault(void)
{
	char *src = area_alloc(1, false);
	int pkey;

	setup(2, 0);
	pkey = syscall(SYS_pkey_alloc, 0, 0);
	if (pkey < 0)
		SKIP("no pkeys (pkey_alloc %s)", strerror(errno));
	page_fill(src, SEED, 1);
	CHECK(syscall(SYS_pkey_mprotect, g_area + PAGE, PAGE, PROT_READ | PROT_WRITE, pkey) == 0 &&
	      syscall(SYS_pkey_mprotect, src, PAGE, PROT_READ | PROT_WRITE, pkey) == 0,
	      "pkey_mprotect: %s", strerror(errno));
	CHECK(pkey_set(pkey, PKEY_DISABLE_WRITE) == 0, "pkey_set: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, src, PAGE, 0, NULL), EFAULT);
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, src, PAGE, FA_MAP_COPY, NULL), EFAULT);
	CHECK_ERR(fa_prepare(g_fd, g_area + PAGE, PAGE, 0, NULL), EFAULT);
	CHECK(pkey_set(pkey, PKEY_DISABLE_ACCESS) == 0, "pkey_set: %s", strerror(errno));
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, src, PAGE, FA_MAP_COPY, NULL), EFAULT);
	CHECK(pkey_set(pkey, 0) == 0, "pkey_set: %s", strerror(errno));
	CHECK(page_check(src, SEED, 1), "src changed under a write-denying pkey");
	CHECK_ERR(fa_map(g_fd, g_area + PAGE, src, PAGE, 0, NULL), 0);
	check_pages(g_area, 1, 1);
}

/* ---- main --------------------------------------------------------------------- */

/*
 * close() is bounded: FA_SCALE_PAGES (default 1,000,000) single-page areas,
 * alternating between two files of one mm so the registry interleaves them;
 * closing one must take under 2 s and leave the other's areas registered.
 * An unregister that rescans the registry per area is quadratic here.
 */
static void test_close_interleaved_fast(void)
{
	const char *env = getenv("FA_SCALE_PAGES");
	unsigned long i, n = env ? strtoul(env, NULL, 0) : 1000000;
	uint64_t t0, t_prep, t_close;
	int fd[2];
	char *a;

	alarm(120);
	CHECK(n >= 4 && n % 2 == 0, "FA_SCALE_PAGES=%lu: give an even number >= 4", n);
	fd[0] = fa_open();
	fd[1] = fa_open();
	CHECK(fd[0] >= 0 && fd[1] >= 0, "open: %s", strerror(errno));
	a = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(a != MAP_FAILED, "mmap of %lu pages: %s", n, strerror(errno));
	t0 = now_ns();
	for (i = 0; i < n; i++)
		CHECK_ERR(fa_prepare(fd[i & 1], a + i * PAGE, PAGE, 0, NULL), 0);
	t_prep = now_ns() - t0;
	t0 = now_ns();
	close(fd[0]);
	t_close = now_ns() - t0;
	printf("# %lu single-page areas on two files: PREPARE %.3f s, close() of one %.3f s\n",
	       n, t_prep / 1e9, t_close / 1e9);
	fflush(stdout);
	CHECK(t_close < 2000000000ULL, "close() of %lu interleaved areas took %.3f s, want < 2 s",
	      n / 2, t_close / 1e9);
	/* the other file's areas survive, the closed file's are gone */
	CHECK_ERR(fa_release(fd[1], a + PAGE, PAGE), 0);
	CHECK_ERR(fa_release(fd[1], a + (n - 1) * PAGE, PAGE), 0);
	CHECK_ERR(fa_release(fd[1], a, PAGE), EINVAL);
	close(fd[1]);
}

/*
 * SIGKILL ends a long PREPARE or MAP promptly.  op() runs in a child that
 * writes to ready_fd just before its ioctl.  Once to completion, to learn its
 * time T (ioctl and exit); once killed T/4 after it is ready: it must be
 * gone within T/2.  Without a fatal-signal check the ioctl runs on to its
 * end, about 3T/4.  Too fast a machine (T < 0.2 s) cannot tell: skip.
 */
static int ready_fd;

/* Address space only, as large as asked: page tables are all PREPARE needs. */
static char *area_noreserve(unsigned long npages)
{
	char *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, npages * PAGE, MADV_NOHUGEPAGE);
	return p;
}

static uint64_t run_until_reaped(void (*op)(void), uint64_t kill_after, int *status)
{
	uint64_t t;
	int pfd[2];
	char c;
	pid_t pid;

	CHECK(pipe(pfd) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		ready_fd = pfd[1];
		op();
		_exit(0);
	}
	close(pfd[1]);
	CHECK(read(pfd[0], &c, 1) == 1, "child died before its ioctl");
	t = now_ns();
	if (kill_after) {
		usleep(kill_after / 1000);
		t = now_ns();
		kill(pid, SIGKILL);
	}
	waitpid(pid, status, 0);
	close(pfd[0]);
	return now_ns() - t;
}

static void sigkill_bounded(void (*op)(void), const char *what)
{
	uint64_t full, late;
	int st;

	full = run_until_reaped(op, 0, &st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the unkilled run failed, status 0x%x", what, st);
	if (full < 200000000ULL)
		SKIP("%s took %.3f s: too fast to tell a prompt kill", what, full / 1e9);
	late = run_until_reaped(op, full / 4, &st);
	printf("# %s: %.3f s in all, gone %.3f s after SIGKILL\n", what, full / 1e9, late / 1e9);
	fflush(stdout);
	CHECK(KILLED_BY(st, SIGKILL), "%s: status 0x%x, want death by SIGKILL", what, st);
	CHECK(late < full / 2, "%s: gone %.3f s after SIGKILL, want < %.3f s (half of its %.3f s)",
	      what, late / 1e9, full / 2e9, full / 1e9);
}

#define KILL_PREPARE_PAGES (2UL << 20)	/* 8 GiB of address space, 16 MiB of page tables */
#define KILL_MAP_PAGES (128UL << 10)	/* 512 MiB moved */

static void op_prepare_large(void)
{
	int fd = fa_open();
	char *a = area_noreserve(KILL_PREPARE_PAGES);

	if (fd < 0 || !a || write(ready_fd, "r", 1) != 1)
		_exit(3);
	_exit(fa_prepare(fd, a, KILL_PREPARE_PAGES * PAGE, 0, NULL) ? 4 : 0);
}

static void op_map_many(void)
{
	int fd = fa_open();
	char *dst = area_alloc(KILL_MAP_PAGES, false), *src = area_alloc(KILL_MAP_PAGES, false);
	unsigned long i;

	if (fd < 0 || !dst || !src || fa_prepare(fd, dst, KILL_MAP_PAGES * PAGE, 0, NULL))
		_exit(3);
	for (i = 0; i < KILL_MAP_PAGES; i++)
		src[i * PAGE] = 1;
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	_exit(fa_map(fd, dst, src, KILL_MAP_PAGES * PAGE, 0, NULL) ? 4 : 0);
}

static void test_sigkill_ends_prepare(void)
{
	sigkill_bounded(op_prepare_large, "PREPARE of 8 GiB");
}

static void test_sigkill_ends_map(void)
{
	sigkill_bounded(op_map_many, "MAP of 131072 pages");
}

/* ---- FA_IOC_MAPV ------------------------------------------------------------ */

/* n pages of src holding area pages first.. first+n-1, their pfns in pfn[] (pagemap: root). */
static char *mapv_src(unsigned long n, unsigned long first, uint64_t *pfn)
{
	char *src = area_alloc(n, false);
	unsigned long i;

	CHECK(src, "mmap: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		page_fill(src + i * PAGE, SEED, first + i);
		pfn[i] = PM_PFN(pagemap(src + i * PAGE));
		CHECK(pfn[i], "no pfn for src page %lu (not root?)", i);
	}
	return src;
}

/* One element of 64 pages: every page moved (its pfn kept), src left empty. */
static void test_mapv_moves_a_run(void)
{
	uint64_t pfn[64];
	struct fa_iovec v;
	int64_t mapped;
	char *src;
	int i;

	setup(64, 0);
	src = mapv_src(64, 0, pfn);
	v = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, 64 * PAGE };
	CHECK_ERR(fa_mapv(g_fd, &v, 1, 0, &mapped), 0);
	CHECK(mapped == 64 * PAGE, "mapped %lld", (long long)mapped);
	for (i = 0; i < 64; i++) {
		CHECK(PM_PFN(pagemap(g_area + i * PAGE)) == pfn[i], "page %d: copied, not moved", i);
		CHECK(!(pagemap(src + i * PAGE) & PM_PRESENT), "src page %d still present", i);
	}
	check_pages(g_area, 0, 64);
	CHECK(stats().pages_mapped == 64, "pages_mapped %llu", (unsigned long long)stats().pages_mapped);
	CHECK(g_sigs == 0, "signals: %d", g_sigs);
}

/* Pages that are not contiguous: 16 one-page elements onto dst pages in another order. */
static void test_mapv_scattered(void)
{
	struct fa_iovec v[16];
	uint64_t pfn[16];
	char *src;
	int i;

	setup(16, 0);
	src = area_alloc(16, false);
	CHECK(src, "mmap: %s", strerror(errno));
	for (i = 0; i < 16; i++) {
		int dst = (i * 7) % 16;

		page_fill(src + i * PAGE, SEED, dst);
		pfn[i] = PM_PFN(pagemap(src + i * PAGE));
		v[i] = (struct fa_iovec){ (uintptr_t)(g_area + dst * PAGE), (uintptr_t)(src + i * PAGE), PAGE };
	}
	CHECK_ERR(fa_mapv(g_fd, v, 16, 0, NULL), 0);
	for (i = 0; i < 16; i++)
		CHECK(PM_PFN(pagemap(g_area + ((i * 7) % 16) * PAGE)) == pfn[i], "element %d: not moved", i);
	check_pages(g_area, 0, 16);
}

/*
 * 61 one-page elements, their src pages in descending order, their dst
 * pages spread over the page tables of a 4 MiB area: one run goes on across
 * the elements and the dst page tables, and every page lands where its
 * element says, moved.
 */
static void test_mapv_runs_across_elements(void)
{
	struct fa_iovec v[61];
	uint64_t pfn[61];
	int64_t mapped;
	char *src;
	int i;

	setup(1024, 0);
	src = area_alloc(61, false);
	CHECK(src, "mmap: %s", strerror(errno));
	for (i = 0; i < 61; i++) {
		int dst = (i * 97) % 1024;

		page_fill(src + (60 - i) * PAGE, SEED, dst);
		pfn[i] = PM_PFN(pagemap(src + (60 - i) * PAGE));
		v[i] = (struct fa_iovec){ (uintptr_t)(g_area + dst * PAGE), (uintptr_t)(src + (60 - i) * PAGE),
					  PAGE };
	}
	CHECK_ERR(fa_mapv(g_fd, v, 61, 0, &mapped), 0);
	CHECK(mapped == 61 * PAGE, "mapped %lld", (long long)mapped);
	for (i = 0; i < 61; i++) {
		CHECK(PM_PFN(pagemap(g_area + ((i * 97) % 1024) * PAGE)) == pfn[i], "element %d: not moved", i);
		check_pages(g_area, (i * 97) % 1024, 1);
	}
	CHECK(stats().pages_mapped == 61, "pages_mapped %llu", (unsigned long long)stats().pages_mapped);
}

/*
 * A run that meets a src page it moved already, or a dst page it filled
 * already, ends there with that pair's error; mapped counts the pages
 * before it.
 */
static void test_mapv_run_meets_its_own_pages(void)
{
	struct fa_iovec v[2];
	uint64_t pfn[8];
	int64_t mapped;
	char *src;

	setup(16, 0);
	src = mapv_src(8, 0, pfn);
	v[0] = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, 4 * PAGE };
	v[1] = (struct fa_iovec){ (uintptr_t)(g_area + 8 * PAGE), (uintptr_t)(src + 2 * PAGE), PAGE };
	CHECK_ERR(fa_mapv(g_fd, v, 2, 0, &mapped), ENOENT);
	CHECK(mapped == 4 * PAGE, "mapped %lld before the moved src", (long long)mapped);
	v[0] = (struct fa_iovec){ (uintptr_t)(g_area + 4 * PAGE), (uintptr_t)(src + 4 * PAGE), PAGE };
	v[1] = (struct fa_iovec){ (uintptr_t)(g_area + 4 * PAGE), (uintptr_t)(src + 5 * PAGE), PAGE };
	CHECK_ERR(fa_mapv(g_fd, v, 2, 0, &mapped), EEXIST);
	CHECK(mapped == PAGE, "mapped %lld before the filled dst", (long long)mapped);
	CHECK(pagemap(src + 5 * PAGE) & PM_PRESENT, "src page 5 left its place");
	check_pages(g_area, 0, 5);
}

/* An element whose src crosses a 2 MiB boundary: the run ends at the page table, the next one goes on. */
static void test_mapv_run_crosses_page_tables(void)
{
	const unsigned long huge = 512 * PAGE;
	uint64_t pfn[8];
	struct fa_iovec v;
	char *big, *src;
	int i;

	setup(16, 0);
	big = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED, "mmap: %s", strerror(errno));
	madvise(big, 2 * huge, MADV_NOHUGEPAGE);
	/* 3 pages before a 2 MiB boundary that leaves them, and the 5 after it, inside big */
	src = (char *)(((uintptr_t)big + 3 * PAGE + huge - 1) & ~(huge - 1)) - 3 * PAGE;
	for (i = 0; i < 8; i++) {
		page_fill(src + i * PAGE, SEED, 4 + i);
		pfn[i] = PM_PFN(pagemap(src + i * PAGE));
	}
	v = (struct fa_iovec){ (uintptr_t)(g_area + 4 * PAGE), (uintptr_t)src, 8 * PAGE };
	CHECK_ERR(fa_mapv(g_fd, &v, 1, 0, NULL), 0);
	for (i = 0; i < 8; i++)
		CHECK(PM_PFN(pagemap(g_area + (4 + i) * PAGE)) == pfn[i], "page %d: not moved", 4 + i);
	check_pages(g_area, 4, 8);
}

static void test_mapv_einval(void)
{
	struct fa_iovec v[2];
	uint64_t pfn[2];
	int64_t mapped;
	char *src;

	setup(4, 0);
	src = mapv_src(2, 0, pfn);
	v[0] = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, PAGE };
	v[1] = (struct fa_iovec){ (uintptr_t)g_area + PAGE + 1, (uintptr_t)(src + PAGE), PAGE };
	CHECK_ERR(fa_mapv(g_fd, v, 0, 0, NULL), EINVAL);
	CHECK_ERR(fa_mapv(g_fd, v, FA_MAPV_MAX + 1, 0, NULL), EINVAL);
	CHECK_ERR(fa_mapv(g_fd, v, 1, 2, NULL), EINVAL);
	/* an element that is wrong fails the call before any page moves */
	CHECK_ERR(fa_mapv(g_fd, v, 2, 0, &mapped), EINVAL);
	CHECK(mapped == 0 && PM_PFN(pagemap(src)) == pfn[0], "element 0 moved before element 1 was checked");
	v[1] = (struct fa_iovec){ (uintptr_t)(g_area + PAGE), (uintptr_t)g_area, 2 * PAGE };	/* overlap */
	CHECK_ERR(fa_mapv(g_fd, v, 2, 0, NULL), EINVAL);
	v[1] = (struct fa_iovec){ (uintptr_t)(g_area + PAGE), (uintptr_t)(src + PAGE), 0 };
	CHECK_ERR(fa_mapv(g_fd, v, 2, 0, NULL), EINVAL);
	CHECK(stats().map_errors == 6 && stats().pages_mapped == 0, "map_errors %llu, pages_mapped %llu",
	      (unsigned long long)stats().map_errors, (unsigned long long)stats().pages_mapped);
}

static void test_mapv_efault_vec(void)
{
	setup(1, 0);
	CHECK_ERR(fa_mapv(g_fd, (const struct fa_iovec *)8, 1, 0, NULL), EFAULT);
}

/* The first error ends the call: mapped counts the pages of the elements before it and its own. */
static void test_mapv_partial_progress(void)
{
	struct fa_iovec v[3];
	uint64_t pfn[8];
	int64_t mapped;
	char *src;

	setup(8, 0);
	src = mapv_src(8, 0, pfn);
	CHECK(madvise(src + 3 * PAGE, PAGE, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	v[0] = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, 2 * PAGE };
	v[1] = (struct fa_iovec){ (uintptr_t)(g_area + 2 * PAGE), (uintptr_t)(src + 2 * PAGE), 3 * PAGE };
	v[2] = (struct fa_iovec){ (uintptr_t)(g_area + 5 * PAGE), (uintptr_t)(src + 5 * PAGE), 3 * PAGE };
	CHECK_ERR(fa_mapv(g_fd, v, 3, 0, &mapped), ENOENT);	/* src page 3 is a hole */
	CHECK(mapped == 3 * PAGE, "mapped %lld, want the 3 pages before the hole", (long long)mapped);
	check_pages(g_area, 0, 3);
	CHECK(!(pagemap(g_area + 5 * PAGE) & PM_PRESENT), "element 2 ran after the error");
	CHECK(PM_PFN(pagemap(src + 5 * PAGE)) == pfn[5], "element 2's src moved");
	/* EEXIST the same way: element 0 is in already */
	v[0].src = (uintptr_t)(src + 5 * PAGE);
	v[0].len = PAGE;
	CHECK_ERR(fa_mapv(g_fd, v, 1, 0, &mapped), EEXIST);
	CHECK(mapped == 0, "mapped %lld on EEXIST", (long long)mapped);
}

static void test_mapv_copy_keeps_src(void)
{
	struct fa_iovec v;
	uint64_t pfn[4];
	char *src;
	int i;

	setup(4, 0);
	src = mapv_src(4, 0, pfn);
	v = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, 4 * PAGE };
	CHECK_ERR(fa_mapv(g_fd, &v, 1, FA_MAP_COPY, NULL), 0);
	for (i = 0; i < 4; i++) {
		CHECK(PM_PFN(pagemap(src + i * PAGE)) == pfn[i], "src page %d changed by a copy", i);
		CHECK(PM_PFN(pagemap(g_area + i * PAGE)) != pfn[i], "page %d shares the src pfn", i);
	}
	check_pages(g_area, 0, 4);
}

/*
 * A run stops before a page that does not move as simply: page 3, shared
 * with a child by fork(), ends the run; alone, it is EBUSY as in FA_IOC_MAP.
 */
static void test_mapv_run_stops_at_a_shared_page(void)
{
	struct fa_iovec v;
	uint64_t pfn[8];
	int64_t mapped;
	int pipe_w, i;
	char *src;
	pid_t pid;

	setup(8, 0);
	src = mapv_src(8, 0, pfn);
	/* only src page 3 goes to the child */
	CHECK(madvise(src, 3 * PAGE, MADV_DONTFORK) == 0 && madvise(src + 4 * PAGE, 4 * PAGE, MADV_DONTFORK) == 0,
	      "madvise: %s", strerror(errno));
	pid = sharing_child(&pipe_w);
	v = (struct fa_iovec){ (uintptr_t)g_area, (uintptr_t)src, 8 * PAGE };
	CHECK_ERR(fa_mapv(g_fd, &v, 1, 0, &mapped), EBUSY);
	CHECK(mapped == 3 * PAGE, "mapped %lld, want the 3 pages before the shared one", (long long)mapped);
	for (i = 0; i < 3; i++)
		CHECK(PM_PFN(pagemap(g_area + i * PAGE)) == pfn[i], "page %d: not moved", i);
	check_pages(g_area, 0, 3);
	CHECK(page_check(src + 3 * PAGE, SEED, 3), "the shared page lost its contents");
	release_child(pid, pipe_w);
}


/* ---- 2 MiB moves --------------------------------------------------------------- */


static char *align_huge(char *p)
{
	return (char *)(((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
}

/*
 * A 2 MiB-aligned PMD-mapped THP whose page i holds area page first + i,
 * its pfns in pfn[].  Skips the case when the kernel gives no THP.
 */
static char *thp_src(unsigned long first, uint64_t *pfn)
{
	char *src = huge_alloc(512, true);
	unsigned long i;

	CHECK(src, "mmap: %s", strerror(errno));
	for (i = 0; i < 512; i++)
		page_fill(src + i * PAGE, SEED, first + i);
	if (vma_anon_huge_kb(src) < 2048)
		SKIP("no PMD-mapped THP (AnonHugePages %ld kB): is transparent_hugepage never?",
		     vma_anon_huge_kb(src));
	for (i = 0; i < 512; i++)
		pfn[i] = PM_PFN(pagemap(src + i * PAGE));
	return src;
}

/* The 2 MiB-aligned start inside g_area (setup(1024) or more), and its page index there. */
static char *huge_dst(unsigned long *first)
{
	char *dst = align_huge(g_area);

	*first = (dst - g_area) / PAGE;
	return dst;
}

/* A THP onto 512 markers moves whole: one huge pmd at dst, the same pfns, src empty. */
static void thp_moves_whole(bool vector)
{
	struct fa_iovec v;
	unsigned long first, i;
	uint64_t pfn[512];
	int64_t mapped;
	char *dst, *src;

	setup(1024, 0);
	dst = huge_dst(&first);
	src = thp_src(first, pfn);
	v = (struct fa_iovec){ (uintptr_t)dst, (uintptr_t)src, HUGE_BYTES };
	if (vector)
		CHECK_ERR(fa_mapv(g_fd, &v, 1, 0, &mapped), 0);
	else
		CHECK_ERR(fa_map(g_fd, dst, src, HUGE_BYTES, 0, &mapped), 0);
	CHECK(mapped == HUGE_BYTES, "mapped %lld", (long long)mapped);
	CHECK(vma_anon_huge_kb(dst) == 2048, "dst AnonHugePages %ld kB: not one huge pmd", vma_anon_huge_kb(dst));
	CHECK(vma_anon_huge_kb(src) == 0, "src AnonHugePages %ld kB after the move", vma_anon_huge_kb(src));
	for (i = 0; i < 512; i++) {
		CHECK(PM_PFN(pagemap(dst + i * PAGE)) == pfn[i], "page %lu: copied, not moved", i);
		CHECK(!(pagemap(src + i * PAGE) & PM_PRESENT), "src page %lu still present", i);
	}
	check_pages(g_area, first, 512);
	CHECK(stats().pages_mapped == 512, "pages_mapped %llu", (unsigned long long)stats().pages_mapped);
	CHECK(g_sigs == 0, "signals: %d", g_sigs);
}

static void test_mapv_moves_a_thp_whole(void)
{
	thp_moves_whole(true);
}

static void test_map_moves_a_thp_whole(void)
{
	thp_moves_whole(false);
}

/*
 * dst page 7 holds a page already: the THP is split and moved a page at a
 * time up to it (EEXIST, 7 pages); no huge pmd at dst, page 7's src stays.
 */
static void test_mapv_thp_onto_a_filled_dst_splits(void)
{
	unsigned long first;
	uint64_t pfn[512];
	struct fa_iovec v;
	int64_t mapped;
	char *dst, *src;

	setup(1024, 0);
	dst = huge_dst(&first);
	page_fill(t_tmp, SEED, first + 7);
	CHECK_ERR(fa_map(g_fd, dst + 7 * PAGE, t_tmp, PAGE, 0, NULL), 0);
	src = thp_src(first, pfn);
	v = (struct fa_iovec){ (uintptr_t)dst, (uintptr_t)src, HUGE_BYTES };
	CHECK_ERR(fa_mapv(g_fd, &v, 1, 0, &mapped), EEXIST);
	CHECK(mapped == 7 * PAGE, "mapped %lld before the filled page", (long long)mapped);
	CHECK(vma_anon_huge_kb(dst) == 0, "dst AnonHugePages %ld kB", vma_anon_huge_kb(dst));
	CHECK(PM_PFN(pagemap(dst)) == pfn[0], "page 0: copied, not moved");
	CHECK(pagemap(src + 7 * PAGE) & PM_PRESENT, "src page 7 left");
	check_pages(g_area, first, 8);
}

static volatile int split_stop;
static char *split_at;
static unsigned int split_seq, split_done;

/*
 * One MADV_DONTNEED of split_at each time split_seq moves on, as close to
 * the move as it gets; split_done says it is over.
 */
static void *split_loop(void *arg)
{
	unsigned int seq;

	(void)arg;
	while (!__atomic_load_n(&split_stop, __ATOMIC_ACQUIRE)) {
		seq = __atomic_load_n(&split_seq, __ATOMIC_ACQUIRE);
		if (seq != split_done) {
			madvise(split_at, PAGE, MADV_DONTNEED);
			__atomic_store_n(&split_done, seq, __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

/*
 * A thread zaps page 300 of each src THP (splitting its pmd) as it is
 * moved: either the move wins (all 512 pages, one huge pmd) or the zap
 * does (pages 0..299 moved a page at a time, then ENOENT).  Never anything
 * else, and every page moved holds its data.
 */
static void test_mapv_thp_races_a_split(void)
{
	int rounds = 48, whole = 0, split = 0, r;
	pthread_t tid;

	setup(512 * (rounds + 1), 0);
	split_stop = 0;
	split_seq = split_done = 0;
	CHECK(pthread_create(&tid, NULL, split_loop, NULL) == 0, "pthread_create");
	for (r = 0; r < rounds; r++) {
		char *dst = align_huge(g_area) + r * HUGE_BYTES, *src;
		unsigned long first = (dst - g_area) / PAGE;
		uint64_t pfn[512];
		struct fa_iovec v;
		int64_t mapped;
		int err;

		src = thp_src(first, pfn);
		split_at = src + 300 * PAGE;
		v = (struct fa_iovec){ (uintptr_t)dst, (uintptr_t)src, HUGE_BYTES };
		__atomic_store_n(&split_seq, r + 1, __ATOMIC_RELEASE);
		err = fa_mapv(g_fd, &v, 1, 0, &mapped);
		while (__atomic_load_n(&split_done, __ATOMIC_ACQUIRE) != (unsigned int)r + 1)
			;
		if (!err && mapped == HUGE_BYTES) {
			whole++;
			check_pages(g_area, first, 512);
		} else if (err == ENOENT && mapped == 300 * PAGE) {
			split++;
			check_pages(g_area, first, 300);
		} else {
			split_stop = 1;
			FAIL("round %d: %s, mapped %lld", r, errname(err), (long long)mapped);
		}
	}
	__atomic_store_n(&split_stop, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	printf("# %d moved whole, %d split first\n", whole, split);
	CHECK(whole > 0 && split > 0, "%d whole, %d split in %d rounds: the race was not run", whole, split,
	      rounds);
}

static const fa_test_t fa_tests[] = {
	{ "unknown-ioctl-enotty", test_unknown_ioctl_enotty },
	{ "prepare-einval", test_prepare_einval },
	{ "prepare-einval-hugetlb", test_prepare_einval_hugetlb },
	{ "prepare-einval-pfnmap", test_prepare_einval_pfnmap },
	{ "prepare-efault", test_prepare_efault },
	{ "prepare-ebusy-other-file", test_prepare_ebusy_other_file },
	{ "prepare-discards-no-vma-change", test_prepare_discards_no_vma_change },
	{ "prepare-splits-thp", test_prepare_splits_thp },
	{ "user-fault-sigbus-exact-addr", test_user_fault_sigbus_exact_addr },
	{ "user-fault-custom-signo", test_user_fault_custom_signo },
	{ "handler-without-map-refaults", test_handler_without_map_refaults },
	{ "unhandled-signo-kills-with-sigbus", test_unhandled_signo_kills_with_sigbus },
	{ "kernel-uaccess-efault", test_kernel_uaccess_efault },
	{ "gup-efault-then-ok", test_gup_efault_then_ok },
	{ "odirect-efault", test_odirect_efault },
	{ "map-moves-pfn", test_map_moves_pfn },
	{ "map-then-fork-cow", test_map_then_fork_cow },
	{ "map-copy-keeps-src", test_map_copy_keeps_src },
	{ "map-einval", test_map_einval },
	{ "map-eexist", test_map_eexist },
	{ "map-enoent-partial", test_map_enoent_partial },
	{ "map-ebusy-after-fork", test_map_ebusy_after_fork },
	{ "map-ebusy-pinned", test_map_ebusy_pinned },
	{ "map-ebusy-ksm", test_map_ebusy_ksm },
	{ "map-from-thp", test_map_from_thp },
	{ "devzero-private", test_devzero_private },
	{ "release-zero-fills", test_release_zero_fills },
	{ "close-without-release-sigbus", test_close_without_release_sigbus },
	{ "fork-child-sigbus-eperm", test_fork_child_sigbus_eperm },
	{ "kernel-ranges-einval", test_kernel_ranges_einval },
	{ "open-eacces-unprivileged", test_open_eacces_unprivileged },
	{ "threads-4x256", test_threads_4x256 },
	{ "race-4-threads-same-64", test_race_4_threads_same_64 },
	{ "map-dst-checked-first", test_map_dst_checked_first },
	{ "map-copy-eexist-allocates-nothing", test_map_copy_eexist_allocates_nothing },
	{ "map-exclusive-after-fork-exit", test_map_exclusive_after_fork_exit },
	{ "map-ebusy-vmspliced", test_map_ebusy_vmspliced },
	{ "map-src-swapped-out", test_map_src_swapped_out },
	{ "map-src-swapcache", test_map_src_swapcache },
	{ "map-src-migrating", test_map_src_migrating },
	{ "closed-marker-plain-sigbus", test_closed_marker_plain_sigbus },
	{ "oom-reaper-process-mrelease", test_oom_reaper_process_mrelease },
	{ "release-race-no-mce", test_release_race_no_mce },
	{ "signal-rt-queue-full-sigbus", test_signal_rt_queue_full_sigbus },
	{ "signal-rt-si-value", test_signal_rt_si_value },
	{ "signal-sigrtmax", test_signal_sigrtmax },
	{ "signal-regs-err-cr2", test_signal_regs_err_cr2 },
	{ "prepare-eperm-sealed", test_prepare_eperm_sealed },
	{ "map-einval-readonly-dst", test_map_einval_readonly_dst },
	{ "pkey-write-denied-efault", test_pkey_write_denied_efault },
	{ "close-interleaved-fast", test_close_interleaved_fast },
	{ "sigkill-ends-prepare", test_sigkill_ends_prepare },
	{ "sigkill-ends-map", test_sigkill_ends_map },
	{ "mapv-moves-a-run", test_mapv_moves_a_run },
	{ "mapv-scattered", test_mapv_scattered },
	{ "mapv-runs-across-elements", test_mapv_runs_across_elements },
	{ "mapv-run-meets-its-own-pages", test_mapv_run_meets_its_own_pages },
	{ "mapv-run-crosses-page-tables", test_mapv_run_crosses_page_tables },
	{ "mapv-einval", test_mapv_einval },
	{ "mapv-efault-vec", test_mapv_efault_vec },
	{ "mapv-partial-progress", test_mapv_partial_progress },
	{ "mapv-copy-keeps-src", test_mapv_copy_keeps_src },
	{ "mapv-run-stops-at-a-shared-page", test_mapv_run_stops_at_a_shared_page },
	{ "mapv-moves-a-thp-whole", test_mapv_moves_a_thp_whole },
	{ "map-moves-a-thp-whole", test_map_moves_a_thp_whole },
	{ "mapv-thp-onto-a-filled-dst-splits", test_mapv_thp_onto_a_filled_dst_splits },
	{ "mapv-thp-races-a-split", test_mapv_thp_races_a_split },
};

int main(int argc, char **argv)
{
	return fa_cases_main(argc, argv, fa_tests, sizeof(fa_tests) / sizeof(fa_tests[0]));
}
