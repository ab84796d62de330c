// SPDX-License-Identifier: GPL-2.0
/*
 * backends.c - how a missing page is caught and how it is placed.
 *
 *   kmod, kmod-copy          FA_IOC_PREPARE markers; SIGBUS in the faulting
 *                            thread; FA_IOC_MAP moves (or copies) the page;
 *                            with kernel_wait, kernel accesses wait
 *                            (FA_PREPARE_KWAIT) and a handler thread reads
 *                            the file's fault events
 *   uffd-copy, uffd-move     userfaultfd MISSING; one handler thread poll()s;
 *                            UFFDIO_COPY or UFFDIO_MOVE
 *   uffd-sigbus(-move)       UFFD_FEATURE_SIGBUS; SIGBUS in the faulting
 *                            thread; UFFDIO_COPY or UFFDIO_MOVE
 *   mprotect                 PROT_NONE; SIGSEGV; mprotect the page RW and
 *                            copy it in (one more VMA per page)
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "engine_api.h"
#include "engine_int.h"

static pthread_t handler;
static int have_handler;

static int uffd_ioctl(unsigned long req, void *arg)
{
	return ioctl(E.uffd, req, arg) ? errno : 0;
}

static uint64_t pfn_of(const void *addr)
{
	uint64_t ent = pagemap_at(E.pagemap_fd, addr);

	return ent & PM_PRESENT ? PM_PFN(ent) : 0;
}

/*
 * Place len bytes from src at dst with one call: 0 or an errno, and in *done
 * the bytes placed before it (UFFDIO_COPY and UFFDIO_MOVE stop part-way with
 * EAGAIN when a later page is there already; the next call gets its EEXIST).
 */
static int place_run(char *dst, char *src, long len, long *done)
{
	int err = EINVAL;

	*done = 0;
	switch (E.cfg->backend) {
	case FA_B_KMOD:
	case FA_B_KMOD_COPY: {
		int64_t mapped = 0;

		err = fa_map(E.fa_fd, dst, src, len, E.cfg->backend == FA_B_KMOD_COPY ? FA_MAP_COPY : 0, &mapped);
		*done = mapped > 0 ? mapped : 0;
		return err;
	}
	case FA_B_UFFD_COPY:
	case FA_B_UFFD_SIGBUS: {
		struct uffdio_copy c = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len };

		err = uffd_ioctl(UFFDIO_COPY, &c);
		*done = err && c.copy > 0 ? c.copy : err ? 0 : len;
		return err;
	}
	case FA_B_UFFD_MOVE:
	case FA_B_UFFD_SIGBUS_MOVE: {
		struct uffdio_move m = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len };

		err = uffd_ioctl(UFFDIO_MOVE, &m);
		*done = err && m.move > 0 ? m.move : err ? 0 : len;
		return err;
	}
	case FA_B_MPROTECT:	/* a page a call (config.validate) */
		if (mprotect(dst, len, PROT_READ | PROT_WRITE))
			return errno;
		memcpy(dst, src, len);
		__atomic_add_fetch(&E.user_copy_bytes, len, __ATOMIC_RELAXED);
		*done = len;
		return 0;
	}
	return err;
}

/* record_pfn: a page was placed at dst; was it the one filled, whose pfn was before? */
static void count_pfn(uint64_t before, const char *dst)
{
	__atomic_add_fetch(&E.pfn_checked, 1, __ATOMIC_RELAXED);
	if (before && pfn_of(dst) == before)
		__atomic_add_fetch(&E.pfn_kept, 1, __ATOMIC_RELAXED);
}

int fa_place(long idx)
{
	char done;
	long calls = 0;
	int err = fa_place_batch(&idx, &T.tmp, 1, &done, &calls);

	return err ? err : done ? 0 : EEXIST;
}

/* Do pages k and k + 1 of a batch continue one run, at dst and at src? */
static bool run_goes_on(const long *idx, char *const *src, int k)
{
	return idx[k + 1] == idx[k] + 1 && src[k + 1] == src[k] + PAGE;
}

/* kmod backends: the batch from page k on as FA_IOC_MAPV elements, one per run; their count. */
static int batch_iovecs(const long *idx, char *const *src, int k, int n, struct fa_iovec *v)
{
	int count = 0;

	for (; k < n; k++) {
		if (count && run_goes_on(idx, src, k - 1))
			v[count - 1].len += PAGE;
		else
			v[count++] = (struct fa_iovec){ (uintptr_t)(E.area + idx[k] * PAGE), (uintptr_t)src[k], PAGE };
	}
	return count;
}

/*
 * Place one call's worth of the batch from page k on: kmod, one FA_IOC_MAPV
 * of all of it (a run of contiguous pages is one element, so 2 MiB from a
 * THP can move whole); the others, and a single page, the run that starts
 * at k (one page: FA_IOC_MAP, as the seed's map).  Returns the errno, and
 * in *pages the pages placed before it.
 */
static int place_some(const long *idx, char *const *src, int k, int n, long *pages)
{
	struct fa_iovec v[FA_MAX_BATCH];
	long bytes = 0;
	int err, end = k;

	if ((E.cfg->backend == FA_B_KMOD || E.cfg->backend == FA_B_KMOD_COPY) && n - k > 1) {
		int64_t mapped = 0;

		err = fa_mapv(E.fa_fd, v, batch_iovecs(idx, src, k, n, v),
			      E.cfg->backend == FA_B_KMOD_COPY ? FA_MAP_COPY : 0, &mapped);
		*pages = mapped > 0 ? mapped / PAGE : 0;
		return err;
	}
	while (end + 1 < n && run_goes_on(idx, src, end))
		end++;
	err = place_run(E.area + idx[k] * PAGE, src[k], (end - k + 1) * PAGE, &bytes);
	*pages = bytes / PAGE;
	return err == EAGAIN && *pages ? 0 : err;	/* part-way: the next call goes on */
}

/*
 * Place page idx[k] from src[k] for k < n, in order: kmod, one FA_IOC_MAPV
 * (src in one page table: one TLB flush); the others, one call per run of
 * contiguous pages.  done[k] says which went in: a page placed meanwhile by
 * another thread (EEXIST) is left out and the batch goes on after it.
 * *calls counts the placement calls made.  With record_pfn, counts whether
 * each placed page kept its pfn.  Returns 0 or another errno.
 */
int fa_place_batch(const long *idx, char *const *src, int n, char *done, long *calls)
{
	uint64_t before[FA_MAX_BATCH];
	int k, j, err = 0;

	for (k = 0; k < n; k++) {
		before[k] = E.pagemap_fd >= 0 ? pfn_of(src[k]) : 0;
		done[k] = 0;
	}
	for (k = 0; k < n && !err;) {
		long pages = 0;

		err = place_some(idx, src, k, n, &pages);
		++*calls;
		for (j = k; j < k + pages; j++) {
			done[j] = 1;
			if (E.pagemap_fd >= 0 && E.cfg->backend != FA_B_MPROTECT)
				count_pfn(before[j], E.area + idx[j] * PAGE);
		}
		k = j;
		if (err == EEXIST) {	/* a lost race: skip the page */
			k++;
			err = 0;
		}
	}
	return err;
}

/* The synchronous backends: the faulting thread handles its own fault. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	unsigned long long t0 = now_ns();
	char *addr = si->si_addr;
	long idx = (addr - E.area) / (long)PAGE;

	(void)uc;
	if (addr < E.area || idx >= E.pages || !T.tmp) {
		signal(sig, SIG_DFL);	/* not ours: die of it on return */
		return;
	}
	if (E.cfg->backend == FA_B_MPROTECT &&
	    __atomic_load_n(&E.placed[idx], __ATOMIC_ACQUIRE))
		return;		/* another thread placed it meanwhile */
	if (fa_resolve(idx, t0, T.tid) == 0)
		return;
	if (T.jb_set)
		siglongjmp(T.jb, 1);
	/* no jump target (a kernel step's thread): the run is failed already */
	signal(sig, SIG_DFL);
}

/* uffd thread mode: read fault events, resolve them, as QEMU does. */
static void *uffd_handler(void *arg)
{
	struct pollfd pfd[2] = { { .fd = E.uffd, .events = POLLIN }, { .fd = E.abort_efd, .events = POLLIN } };
	struct uffd_msg msg;

	(void)arg;
	if (fa_thread_init(E.cfg->prefetch_around + 1, 0))
		return NULL;
	__atomic_add_fetch(&E.helpers_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&E.abort, __ATOMIC_RELAXED)) {
		unsigned long long t0;
		unsigned long long addr;

		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			break;
		if (read(E.uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN)
				continue;
			fa_fail("reading the userfaultfd: %s", strerror(errno));
			break;
		}
		t0 = now_ns();
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		addr = msg.arg.pagefault.address & ~(PAGE - 1);
		/* the record names the faulting thread, not this one */
		if (fa_resolve((addr - (uintptr_t)E.area) / PAGE, t0, msg.arg.pagefault.feat.ptid))
			break;
	}
	fa_thread_fini();
	/* Closing wakes faulting threads; they find a zero page, then see the abort. */
	close(E.uffd);
	E.uffd = -1;
	return NULL;
}

/* kmod with kernel_wait: read the file's fault events (kernel accesses asleep on a page) and resolve them. */
static void *kwait_handler(void *arg)
{
	struct pollfd pfd[2] = { { .fd = E.fa_fd, .events = POLLIN }, { .fd = E.abort_efd, .events = POLLIN } };
	struct fa_event ev[64];
	ssize_t n, i;

	(void)arg;
	if (fa_thread_init(E.cfg->prefetch_around + 1, 0))
		return NULL;
	__atomic_add_fetch(&E.helpers_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&E.abort, __ATOMIC_RELAXED)) {
		if (poll(pfd, 2, -1) < 0 || pfd[1].revents)
			break;
		n = read(E.fa_fd, ev, sizeof(ev));	/* the file is non-blocking */
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fa_fail("reading the fault events: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			__atomic_add_fetch(&E.kwait_events, 1, __ATOMIC_RELAXED);
			/* the record names the waiting thread, not this one */
			if (fa_resolve((ev[i].addr - (uintptr_t)E.area) / PAGE, now_ns(), ev[i].tid))
				goto out;
		}
	}
out:
	fa_thread_fini();
	return NULL;
}

static int catch_signal(int sig)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

	return sigaction(sig, &sa, NULL);
}

static int setup_uffd(bool sigbus)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = sigbus ? UFFD_FEATURE_SIGBUS : UFFD_FEATURE_THREAD_ID };
	struct uffdio_register reg = { .range = { (uintptr_t)E.area, E.pages * PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };

	E.uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (E.uffd < 0)
		return snprintf(E.res->error, sizeof(E.res->error),
				"unsupported on this kernel: userfaultfd(): %s", strerror(errno));
	if (ioctl(E.uffd, UFFDIO_API, &api))
		return snprintf(E.res->error, sizeof(E.res->error),
				"unsupported on this kernel: UFFDIO_API features %#llx: %s",
				(unsigned long long)api.features, strerror(errno));
	if (ioctl(E.uffd, UFFDIO_REGISTER, &reg))
		return snprintf(E.res->error, sizeof(E.res->error), "UFFDIO_REGISTER: %s",
				strerror(errno));
	return 0;
}

int fa_backend_setup(void)
{
	const struct fa_cfg *c = E.cfg;
	int err = 0, prot = c->backend == FA_B_MPROTECT ? PROT_NONE : PROT_READ | PROT_WRITE;
	int zfd = c->dev_zero ? open("/dev/zero", O_RDWR | O_CLOEXEC) : -1;

	/* anonymous: 2 MiB aligned, so that a 2 MiB batch can land as one huge page */
	E.area = c->dev_zero ? mmap(NULL, E.pages * PAGE, prot, MAP_PRIVATE, zfd, 0) :
			       aligned_map(E.pages * PAGE, prot);
	if (zfd >= 0)
		close(zfd);
	if (E.area == MAP_FAILED || !E.area) {
		snprintf(E.res->error, sizeof(E.res->error), "mmap of %ld pages: %s", E.pages, strerror(errno));
		return E.res->ok = 0, -1;
	}
	madvise(E.area, E.pages * PAGE, c->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	switch (c->backend) {
	case FA_B_KMOD:
	case FA_B_KMOD_COPY:
		E.fa_fd = fa_open();
		if (E.fa_fd < 0) {
			snprintf(E.res->error, sizeof(E.res->error),
				 "unsupported on this kernel: %s: %s (is fault_area.ko loaded?)",
				 FA_DEVICE_PATH, strerror(errno));
			err = 1;
		} else if ((err = fa_prepare_flags(E.fa_fd, E.area, E.pages * PAGE, SIGBUS,
						   c->kernel_wait ? FA_PREPARE_KWAIT : 0, NULL))) {
			snprintf(E.res->error, sizeof(E.res->error), "FA_IOC_PREPARE: %s%s", strerror(err),
				 c->kernel_wait && err == EINVAL ? " (a module without FA_PREPARE_KWAIT?)" : "");
		} else {
			err = catch_signal(SIGBUS) || (c->kernel_wait && fcntl(E.fa_fd, F_SETFL, O_NONBLOCK));
		}
		break;
	case FA_B_UFFD_COPY:
	case FA_B_UFFD_MOVE:
		err = setup_uffd(false);
		break;
	case FA_B_UFFD_SIGBUS:
	case FA_B_UFFD_SIGBUS_MOVE:
		err = setup_uffd(true) || catch_signal(SIGBUS);
		break;
	case FA_B_MPROTECT:
		err = catch_signal(SIGSEGV);
		break;
	default:
		snprintf(E.res->error, sizeof(E.res->error), "unknown backend %d", c->backend);
		err = 1;
	}
	if (err) {
		E.res->ok = 0;
		munmap(E.area, E.pages * PAGE);
		return -1;
	}
	return 0;
}

/* Returns the helper threads started (they count themselves in E.helpers_ready). */
int fa_backend_start(void)
{
	if (E.cfg->backend == FA_B_UFFD_COPY || E.cfg->backend == FA_B_UFFD_MOVE)
		have_handler = !pthread_create(&handler, NULL, uffd_handler, NULL);
	else if (E.fa_fd >= 0 && E.cfg->kernel_wait)
		have_handler = !pthread_create(&handler, NULL, kwait_handler, NULL);
	return have_handler;
}

void fa_backend_stop(void)
{
	uint64_t one = 1;

	if (have_handler) {
		if (write(E.abort_efd, &one, 8) < 0)
			;	/* the handler also stops on E.abort */
		pthread_join(handler, NULL);
		have_handler = 0;
	}
	if (E.uffd >= 0)
		close(E.uffd);
	if (E.fa_fd >= 0)
		close(E.fa_fd);
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
}
