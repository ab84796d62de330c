// SPDX-License-Identifier: GPL-2.0
/*
 * fa_bench - timing probes for fault_area.ko, driven by bench/kmod.py in
 * the guest.  Each mode prints one JSON object on stdout; ratios are made
 * by the driver from runs of the same boot.
 *
 *   fa_bench zero-fill PAGES REPS   first-touch zero-fill faults, ns/page per rep
 *   fa_bench hold BYTES             prepare BYTES, print "ready", wait for stdin EOF
 *   fa_bench place PAGES            FA_IOC_MAP vs UFFDIO_MOVE vs UFFDIO_COPY, ns/page,
 *                                   the methods taking turns in blocks
 *   fa_bench batch PAGES [METHOD]   64 pages at once: FA_IOC_MAPV of one 64-page element vs
 *                                   FA_IOC_MAPV of 64 one-page elements in a shuffled order vs
 *                                   64 FA_IOC_MAP calls vs one 64-page UFFDIO_MOVE, ns/page;
 *                                   with METHOD (fa_mapv, ...), that one alone
 *   fa_bench huge PAGES [METHOD]    2 MiB at once from a THP: FA_IOC_MAPV of one 2 MiB element vs
 *                                   one 2 MiB FA_IOC_MAP vs 512 FA_IOC_MAP calls vs one 2 MiB
 *                                   UFFDIO_MOVE, ns/page
 *   fa_bench big PAGES              prepare PAGES, map each page, check VMAs unchanged
 *   fa_bench kwait PAGES            in one FA_PREPARE_KWAIT area, pages in turn: a user fault (SIGBUS,
 *                                   the handler maps it) and a kernel access (read() from a pipe into
 *                                   the page waits; a thread on the event fd maps it), end to end in
 *                                   ns, median and p99 of each; then the same kernel access to a
 *                                   userfaultfd MISSING area, whose handler thread UFFDIO_COPYs
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "fa_util.h"

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "fa_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, unsigned long n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(unsigned long)(p * (n - 1))];
}

static void zero_fill(unsigned long pages, int reps)
{
	int r;

	printf("{\"mode\": \"zero-fill\", \"pages\": %lu, \"ns_per_page\": [", pages);
	for (r = 0; r < reps; r++) {
		char *a = area_alloc(pages, false);
		uint64_t t0;
		unsigned long i;

		if (!a)
			die("mmap");
		t0 = now_ns();
		for (i = 0; i < pages; i++)
			a[i * PAGE] = 1;
		printf("%s%.1f", r ? ", " : "", (double)(now_ns() - t0) / pages);
		munmap(a, pages * PAGE);
	}
	printf("]}\n");
}

static void hold(unsigned long bytes)
{
	char *a = area_alloc(bytes / PAGE, false), c;
	int fd = fa_open();

	if (!a || fd < 0)
		die("hold setup");
	if (fa_prepare(fd, a, bytes, 0, NULL))
		die("hold prepare");
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
}

/* One call of a placement method: per pages from src (filled) onto dst. */
typedef int (*place_fn)(int fd, char *dst, char *src, unsigned long per);

struct method {
	const char *name;
	const char *area;	/* the area it places into: "fa" (prepared) or "uffd" (registered) */
	place_fn fn;
};

static int place_kmod(int fd, char *dst, char *src, unsigned long per)
{
	unsigned long i;
	int err = 0;

	for (i = 0; i < per && !err; i++)
		err = fa_map(fd, dst + i * PAGE, src + i * PAGE, PAGE, 0, NULL);
	return err;
}

static int place_kmod_whole(int fd, char *dst, char *src, unsigned long per)
{
	return fa_map(fd, dst, src, per * PAGE, 0, NULL);
}

static int place_kmod_mapv(int fd, char *dst, char *src, unsigned long per)
{
	struct fa_iovec v = { (uintptr_t)dst, (uintptr_t)src, per * PAGE };

	return fa_mapv(fd, &v, 1, 0, NULL);
}

#define SHUFFLE 37	/* coprime to every power of two: k -> k * 37 % per visits each page once */

/* per one-page elements, dst and src pages paired as one element would pair them, in another order */
static int place_kmod_mapv_shuffled(int fd, char *dst, char *src, unsigned long per)
{
	struct fa_iovec v[FA_MAPV_MAX];
	unsigned long k;

	if (per > FA_MAPV_MAX)
		return EINVAL;
	for (k = 0; k < per; k++) {
		unsigned long i = k * SHUFFLE % per;

		v[k] = (struct fa_iovec){ (uintptr_t)(dst + i * PAGE), (uintptr_t)(src + i * PAGE), PAGE };
	}
	return fa_mapv(fd, v, per, 0, NULL);
}

static int place_uffd(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

static int place_uffd_move(int fd, char *dst, char *src, unsigned long per)
{
	struct uffdio_move m = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = per * PAGE };

	return place_uffd(fd, UFFDIO_MOVE, &m);
}

static int place_uffd_copy(int fd, char *dst, char *src, unsigned long per)
{
	struct uffdio_copy c = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = per * PAGE };

	return place_uffd(fd, UFFDIO_COPY, &c);
}

/* An area ready for a method: prepared (fa) or registered MISSING (uffd). */
static int place_setup(const char *area_kind, char *area, unsigned long pages)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)area, pages * PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	int fd;

	if (!strcmp(area_kind, "fa")) {
		fd = fa_open();
		if (fd < 0 || fa_prepare(fd, area, pages * PAGE, 0, NULL))
			die("prepare");
		return fd;
	}
	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg))
		die("userfaultfd");
	return fd;
}

#define PLACE_BLOCKS 16	/* the methods take turns, a block of pages each */
#define MAX_METHODS 4

/*
 * Each method places pages into an area of its own, per pages a call; the
 * time of a call is divided by per.  The methods take turns in blocks of
 * pages, the first of each turn rotating, so that drift in the machine
 * (under TCG, other guests' and the host's load) falls on every method alike
 * rather than on whichever ran last.  Each method's src pages lie in one
 * page table; with thp, a fresh THP each call (src_thp_calls counts those
 * the kernel gave), and dst_huge_kb is its area's AnonHugePages after.
 */
static void race(const char *mode, const struct method *methods, unsigned int nm,
		 unsigned long pages, unsigned long per, bool thp)
{
	unsigned long calls = pages / per, block = (calls + PLACE_BLOCKS - 1) / PLACE_BLOCKS, b, i;
	unsigned long thp_calls[MAX_METHODS] = {};
	char *area[MAX_METHODS], *tmp[MAX_METHODS];
	uint64_t *t[MAX_METHODS], sum[MAX_METHODS] = {};
	int fd[MAX_METHODS];
	unsigned int k, m;

	for (m = 0; m < nm; m++) {
		area[m] = huge_alloc(calls * per, false);
		tmp[m] = huge_alloc(per, thp);	/* in one page table: one src pte lock and flush */
		t[m] = calloc(calls, sizeof(*t[m]));
		if (!area[m] || !tmp[m] || !t[m])
			die("place setup");
		fd[m] = place_setup(methods[m].area, area[m], calls * per);
	}
	for (b = 0; b * block < calls; b++)
		for (k = 0; k < nm; k++) {
			m = (b + k) % nm;
			for (i = b * block; i < calls && i < (b + 1) * block; i++) {
				unsigned long j;
				uint64_t t0;
				int err;

				if (thp) {	/* a THP each time, also after a split: a new mapping */
					munmap(tmp[m], per * PAGE);
					tmp[m] = huge_alloc(per, true);
					if (!tmp[m])
						die("mmap");
				}
				for (j = 0; j < per; j++)	/* fresh pages each time: not timed */
					page_fill(tmp[m] + j * PAGE, 1, i * per + j);
				thp_calls[m] += thp && page_is_thp(tmp[m]);
				t0 = now_ns();
				err = methods[m].fn(fd[m], area[m] + i * per * PAGE, tmp[m], per);
				t[m][i] = (now_ns() - t0) / per;
				if (err) {
					errno = err;
					die(methods[m].name);
				}
				sum[m] += t[m][i];
			}
		}
	printf("{\"mode\": \"%s\", \"pages\": %lu, \"pages_per_call\": %lu, \"blocks\": %d", mode,
	       calls * per, per, PLACE_BLOCKS);
	for (m = 0; m < nm; m++) {
		for (i = 0; i < calls * per; i++)
			if (!page_check(area[m] + i * PAGE, 1, i)) {
				fprintf(stderr, "fa_bench: %s: page %lu wrong\n", methods[m].name, i);
				exit(1);
			}
		printf(", \"%s\": {\"mean_ns\": %.1f, \"median_ns\": %llu, \"p99_ns\": %llu, "
		       "\"src_thp_calls\": %lu, \"dst_huge_kb\": %ld}",
		       methods[m].name, (double)sum[m] / calls,
		       (unsigned long long)percentile(t[m], calls, 0.5),
		       (unsigned long long)percentile(t[m], calls, 0.99), thp_calls[m], vma_anon_huge_kb(area[m]));
		close(fd[m]);
		munmap(area[m], calls * per * PAGE);
		munmap(tmp[m], per * PAGE);
		free(t[m]);
	}
	printf("}\n");
}

static void place(unsigned long pages)
{
	static const struct method methods[] = {
		{ "fa_map", "fa", place_kmod },
		{ "uffdio_move", "uffd", place_uffd_move },
		{ "uffdio_copy", "uffd", place_uffd_copy },
	};

	race("place", methods, 3, pages, 1, false);
}

#define BATCH 64	/* pages placed at once by batch */

/* every method in turns, or the one named alone (a traced run's) */
static void race_some(const char *mode, const struct method *methods, unsigned int nm, unsigned long pages,
		      unsigned long per, bool thp, const char *only)
{
	unsigned int m;

	if (!only) {
		race(mode, methods, nm, pages, per, thp);
		return;
	}
	for (m = 0; m < nm; m++)
		if (!strcmp(methods[m].name, only)) {
			race(mode, methods + m, 1, pages, per, thp);
			return;
		}
	fprintf(stderr, "fa_bench: %s: no method %s\n", mode, only);
	exit(2);
}

static void batch(unsigned long pages, const char *only)
{
	static const struct method methods[] = {
		{ "fa_mapv", "fa", place_kmod_mapv },
		{ "fa_mapv_shuffled", "fa", place_kmod_mapv_shuffled },
		{ "fa_map", "fa", place_kmod },
		{ "uffdio_move", "uffd", place_uffd_move },
	};

	race_some("batch", methods, 4, pages, BATCH, false, only);
}

#define HUGE_PAGES 512	/* pages placed at once by huge: one THP */

static void huge(unsigned long pages, const char *only)
{
	static const struct method methods[] = {
		{ "fa_mapv", "fa", place_kmod_mapv },
		{ "fa_map_2m", "fa", place_kmod_whole },
		{ "fa_map", "fa", place_kmod },
		{ "uffdio_move", "uffd", place_uffd_move },
	};

	race_some("huge", methods, 4, pages, HUGE_PAGES, true, only);
}

/* ---- kwait: a kernel access that waits against a user fault, end to end ---- */

static int kw_fd;
static char *kw_area;
static volatile int kw_stop;
static __thread char *kw_tmp;

static void kw_place(char *page)
{
	if (!kw_tmp && !(kw_tmp = area_alloc(1, false)))
		die("mmap");
	page_fill(kw_tmp, 1, (page - kw_area) / PAGE);
	if (fa_map(kw_fd, page, kw_tmp, PAGE, 0, NULL))
		die("FA_IOC_MAP");
}

static void kw_on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	kw_place((char *)((uintptr_t)si->si_addr & ~(PAGE - 1)));
}

/* The event fd's reader: map every page a kernel access waits for, as a post-copy destination would. */
static void *kw_events(void *arg)
{
	struct pollfd pfd = { .fd = kw_fd, .events = POLLIN };
	struct fa_event ev[64];
	ssize_t n, i;

	(void)arg;
	while (!kw_stop) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(kw_fd, ev, sizeof(ev));
		for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++)
			kw_place((char *)(uintptr_t)ev[i].addr);
	}
	return NULL;
}

/* userfaultfd's handler thread: UFFDIO_COPY of every page a fault waits for. */
static void *kw_uffd_handler(void *arg)
{
	struct pollfd pfd = { .fd = (int)(intptr_t)arg, .events = POLLIN };
	struct uffdio_copy c = { .len = PAGE };
	struct uffd_msg msg;

	if (!kw_tmp && !(kw_tmp = area_alloc(1, false)))
		die("mmap");
	while (!kw_stop) {
		if (poll(&pfd, 1, 100) != 1 || read(pfd.fd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		c.dst = msg.arg.pagefault.address & ~(PAGE - 1);
		c.src = (uintptr_t)kw_tmp;
		page_fill(kw_tmp, 1, c.dst / PAGE);	/* the same work as kw_place() before its move */
		if (ioctl(pfd.fd, UFFDIO_COPY, &c))
			die("UFFDIO_COPY");
	}
	return NULL;
}

/* The kernel access of kwait() against a userfaultfd MISSING area, ns per page into out[1..pages-1]. */
static void kw_uffd(unsigned long pages, uint64_t *out, const int *pfd)
{
	char *area = area_alloc(pages, false);
	int fd = place_setup("uffd", area, pages);
	static char msg[64];
	unsigned long i;
	pthread_t th;
	uint64_t t0;

	kw_stop = 0;
	if (pthread_create(&th, NULL, kw_uffd_handler, (void *)(intptr_t)fd))
		die("pthread_create");
	for (i = 1; i < pages; i++) {
		if (write(pfd[1], msg, sizeof(msg)) != sizeof(msg))
			die("write to the pipe");
		t0 = now_ns();
		if (read(pfd[0], area + i * PAGE, sizeof(msg)) != sizeof(msg))	/* waits for the handler */
			die("read() into a userfaultfd page");
		out[i] = now_ns() - t0;
	}
	kw_stop = 1;
	pthread_join(th, NULL);
	close(fd);
}

static void kwait(unsigned long pages)
{
	struct sigaction sa = { .sa_sigaction = kw_on_sigbus, .sa_flags = SA_SIGINFO };
	uint64_t *user = calloc(pages, 8), *kern = calloc(pages, 8), *uffd = calloc(pages, 8), t0;
	static char msg[64];
	unsigned long i;
	pthread_t th;
	int pfd[2];

	kw_fd = fa_open();
	kw_area = area_alloc(2 * pages, false);
	if (kw_fd < 0 || !kw_area || !user || !kern || !uffd || pipe(pfd))
		die("setup");
	if (fa_prepare_flags(kw_fd, kw_area, 2 * pages * PAGE, SIGBUS, FA_PREPARE_KWAIT, NULL))
		die("FA_IOC_PREPARE with FA_PREPARE_KWAIT");
	fcntl(kw_fd, F_SETFL, O_NONBLOCK);
	sigaction(SIGBUS, &sa, NULL);
	kw_place(kw_area);	/* this thread's page to fill, before the first timed fault */
	if (pthread_create(&th, NULL, kw_events, NULL))
		die("pthread_create");
	for (i = 1; i < pages; i++) {
		t0 = now_ns();
		(void)*(volatile char *)(kw_area + 2 * i * PAGE);	/* user: signal, the handler maps */
		user[i] = now_ns() - t0;
		if (write(pfd[1], msg, sizeof(msg)) != sizeof(msg))
			die("write to the pipe");
		t0 = now_ns();
		if (read(pfd[0], kw_area + (2 * i + 1) * PAGE, sizeof(msg)) != sizeof(msg))	/* kernel: waits */
			die("read() into a KWAIT page");
		kern[i] = now_ns() - t0;
	}
	kw_stop = 1;
	pthread_join(th, NULL);
	kw_uffd(pages, uffd, pfd);
	printf("{\"mode\": \"kwait\", \"pages\": %lu, \"user_median_ns\": %llu, \"user_p99_ns\": %llu, "
	       "\"kernel_median_ns\": %llu, \"kernel_p99_ns\": %llu, \"uffd_kernel_median_ns\": %llu, "
	       "\"uffd_kernel_p99_ns\": %llu}\n", pages - 1,
	       (unsigned long long)percentile(user + 1, pages - 1, 0.5),
	       (unsigned long long)percentile(user + 1, pages - 1, 0.99),
	       (unsigned long long)percentile(kern + 1, pages - 1, 0.5),
	       (unsigned long long)percentile(kern + 1, pages - 1, 0.99),
	       (unsigned long long)percentile(uffd + 1, pages - 1, 0.5),
	       (unsigned long long)percentile(uffd + 1, pages - 1, 0.99));
}

static void big(unsigned long pages)
{
	static char before[1 << 16], after[1 << 16];
	char *a = area_alloc(pages, false), *tmp = area_alloc(1, false);
	uint64_t t0, t_prep, t_map = 0;
	unsigned long i;
	int fd = fa_open();

	if (!a || !tmp || fd < 0)
		die("big setup");
	if (!maps_snapshot(before, sizeof(before)))
		die("maps");
	t0 = now_ns();
	if (fa_prepare(fd, a, pages * PAGE, 0, NULL))
		die("big prepare");
	t_prep = now_ns() - t0;
	for (i = 0; i < pages; i++) {
		page_fill(tmp, 2, i);
		t0 = now_ns();
		if (fa_map(fd, a + i * PAGE, tmp, PAGE, 0, NULL))
			die("big map");
		t_map += now_ns() - t0;
	}
	if (!maps_snapshot(after, sizeof(after)))
		die("maps");
	for (i = 0; i < pages; i++)
		if (!page_check(a + i * PAGE, 2, i)) {
			fprintf(stderr, "fa_bench: big: page %lu wrong\n", i);
			exit(1);
		}
	printf("{\"mode\": \"big\", \"pages\": %lu, \"prepare_ns_per_page\": %.1f, "
	       "\"map_ns_per_page\": %.1f, \"maps_unchanged\": %s}\n", pages,
	       (double)t_prep / pages, (double)t_map / pages, strcmp(before, after) ? "false" : "true");
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;

	if (argc > 2 && !strcmp(argv[1], "zero-fill") && n)
		zero_fill(n, argc > 3 ? atoi(argv[3]) : 5);
	else if (argc > 2 && !strcmp(argv[1], "hold") && n)
		hold(n);
	else if (argc > 2 && !strcmp(argv[1], "place") && n)
		place(n);
	else if (argc > 2 && !strcmp(argv[1], "batch") && n >= BATCH)
		batch(n, argc > 3 ? argv[3] : NULL);
	else if (argc > 2 && !strcmp(argv[1], "huge") && n >= HUGE_PAGES)
		huge(n, argc > 3 ? argv[3] : NULL);
	else if (argc > 2 && !strcmp(argv[1], "kwait") && n > 1)
		kwait(n);
	else if (argc > 2 && !strcmp(argv[1], "big") && n)
		big(n);
	else {
		fprintf(stderr, "usage: fa_bench zero-fill PAGES [REPS] | hold BYTES | place PAGES | "
			"batch PAGES [METHOD] | huge PAGES [METHOD] | kwait PAGES | big PAGES\n");
		return 2;
	}
	return 0;
}
