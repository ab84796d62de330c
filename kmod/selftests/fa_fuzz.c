// SPDX-License-Identifier: GPL-2.0
/*
 * fa_fuzz.c - random ioctls against live fault areas (run in the guest).
 *
 *   fa_fuzz [-n CALLS] [-s SEED] [-t FUZZ_THREADS]
 *
 * FUZZ_THREADS threads throw random ioctls at /dev/fault_area: random
 * numbers, sizes and flags, argument pointers that are NULL, kernel,
 * unmapped or cut by an inaccessible page, and ranges that are unaligned, huge,
 * in the kernel, above TASK_SIZE, overlapping, unmapped or across two VMAs,
 * alone (FA_IOC_MAP) or as FA_IOC_MAPV vectors of up to FA_MAPV_MAX + 1.
 * Meanwhile two live threads fault and map on the same areas and move a
 * THP whole into a 2 MiB area now and then (the fuzz threads' ranges reach
 * it too, 2 MiB long among others), and a
 * verifier on a second open file migrates its own area over and over and
 * checks every page.  Every return must be success or a documented errno
 * (kmod/README.md); the run prints the seed, the calls and the errnos seen.
 * PREPARE flags include FA_PREPARE_KWAIT, and one call in 32 is a read()
 * of the (non-blocking) event fd instead.  Kernel accesses to KWAIT
 * markers (FA_IOC_GUP) wait: the run sets the module parameter
 * kwait_timeout_ms to KWAIT_MS and puts it back at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fa_util.h"

#define AREAS 4
#define AREA_PAGES 64
#define VERIFY_PAGES 128
#define MAX_THREADS 8
#define KWAIT_MS 20

static int fuzz_fd, verify_fd;
static char *areas[AREAS], *hole, *cut, *verify_area, *thp;
static volatile int stop;
static unsigned long calls_done, calls_total = 100000, verified_rounds, verified_pages;
static unsigned long errno_seen[256], live_maps, live_drops, live_huge, reads_done;
static uint64_t seed;

/* the documented results of an ioctl (kmod/README.md, "Errors") */
static bool documented(int e)
{
	return e == 0 || e == EPERM || e == ENOTTY || e == EINVAL || e == EFAULT || e == EBUSY ||
	       e == EEXIST || e == ENOENT || e == EINTR || e == ENOMEM;
}

static uint64_t rnd(uint64_t *s)
{
	return *s = mix64(*s);
}

static bool in_verify(uint64_t a)	/* the verifier's pages: outside the sandbox */
{
	return a >= (uintptr_t)verify_area && a < (uintptr_t)verify_area + VERIFY_PAGES * PAGE;
}

/* An address from the interesting ones: areas (aligned or not), two VMAs, holes, kernel, limits. */
static uint64_t pick_addr(uint64_t *s)
{
	static const uint64_t special[] = {
		0, PAGE, 0xffff888000000000ULL, 0xffffffff81000000ULL, 0x7ffffffff000ULL, 1ULL << 47,
		(1ULL << 47) - PAGE, 1ULL << 56, (1ULL << 56) - PAGE, ~0ULL, ~0ULL - PAGE + 1, 1ULL << 63,
	};
	char *a = areas[rnd(s) % AREAS];

	switch (rnd(s) % 9) {
	case 0:
		return special[rnd(s) % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return (uintptr_t)hole + rnd(s) % 16 * PAGE;
	case 2:
		return (uintptr_t)areas[1] - PAGE * (1 + rnd(s) % 2);	/* across areas 0 and 1 */
	case 3:
		return (uintptr_t)a + rnd(s) % (AREA_PAGES * PAGE);	/* unaligned */
	case 4:
		return (uintptr_t)thp + rnd(s) % 2 * HUGE_BYTES;
	default:
		return (uintptr_t)a + rnd(s) % AREA_PAGES * PAGE;
	}
}

static uint64_t pick_len(uint64_t *s)
{
	static const uint64_t special[] = { 0, 1, PAGE - 1, PAGE + 1, HUGE_BYTES, 1ULL << 40, ~0ULL & ~(PAGE - 1),
					    1ULL << 63 };

	if (rnd(s) % 6 == 0)
		return special[rnd(s) % (sizeof(special) / sizeof(special[0]))];
	return (1 + rnd(s) % (2 * AREA_PAGES)) * PAGE;
}

static unsigned long pick_cmd(uint64_t *s)
{
	static const unsigned long valid[] = { FA_IOC_PREPARE, FA_IOC_MAP, FA_IOC_RELEASE, FA_IOC_STATS,
					       FA_IOC_GUP, FA_IOC_MAPV };
	unsigned long c = valid[rnd(s) % 6];

	switch (rnd(s) % 10) {
	case 0:		/* same number, another size */
		return (c & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) | ((rnd(s) % 64) << _IOC_SIZESHIFT);
	case 1:		/* another direction */
		return c ^ ((1UL + rnd(s) % 3) << _IOC_DIRSHIFT);
	case 2:
		return (uint32_t)rnd(s);
	case 3:
		return _IOWR(FA_IOC_MAGIC, rnd(s) % 256, struct fa_map);
	default:
		return c;
	}
}

/* every element the kernel may read is a fuzzed range, never stray memory (it could name any src) */
static __thread struct fa_iovec t_vec[FA_MAPV_MAX + 1];

/*
 * An FA_IOC_MAPV vector of count elements: a good one of fuzzed ranges
 * mostly, else NULL, kernel, unmapped, or cut short by an inaccessible page.
 */
static uint64_t pick_vec(uint64_t *s, uint32_t count)
{
	uint32_t i;

	for (i = 0; i < count && i <= FA_MAPV_MAX; i++)
		t_vec[i] = (struct fa_iovec){ pick_addr(s), pick_addr(s), pick_len(s) };
	switch (rnd(s) % 12) {
	case 0:
		return 0;
	case 1:
		return 0xffff888000001000ULL;
	case 2:
		return (uintptr_t)hole;
	case 3:
		memcpy(cut + PAGE - sizeof(t_vec[0]), t_vec, sizeof(t_vec[0]));
		return (uintptr_t)(cut + PAGE - sizeof(t_vec[0]));	/* the second element is inaccessible */
	default:
		return (uintptr_t)t_vec;
	}
}

/* The argument struct, laid out for the command's number (kmod/fault_area_uapi.h). */
static void fill_args(uint64_t *s, unsigned long cmd, uint64_t *w)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, 8, FA_MAPV_MAX, FA_MAPV_MAX + 1, ~0U };
	uint32_t count;
	static const uint32_t signos[] = { 0, SIGBUS, SIGUSR1, SIGKILL, SIGSTOP, 65, 1000, ~0U, 34, 64 };
	const uint32_t flags[] = { 0, 0, 0, FA_PREPARE_KWAIT, FA_PREPARE_KWAIT, FA_PREPARE_UWAIT,
				   FA_PREPARE_KWAIT | FA_PREPARE_UWAIT, (uint32_t)rnd(s) };
	int i;

	for (i = 0; i < 8; i++)
		w[i] = rnd(s) % 4 ? 0 : rnd(s);
	w[0] = pick_addr(s);
	switch (_IOC_NR(cmd)) {
	case 0x01:	/* prepare: start, len, signo | flags << 32 */
		w[1] = pick_len(s);
		w[2] = signos[rnd(s) % 10] | (uint64_t)flags[rnd(s) % 8] << 32;
		break;
	case 0x02:	/* map: dst, src, len, flags */
		w[1] = pick_addr(s);
		w[2] = pick_len(s);
		w[3] = rnd(s) % 4 ? rnd(s) % 2 : rnd(s);
		break;
	case 0x03:	/* release: start, len */
		w[1] = pick_len(s);
		break;
	case 0x05:	/* gup: start, npages */
		w[1] = rnd(s) % 8 ? 1 + rnd(s) % (2 * AREA_PAGES) : rnd(s);
		break;
	case 0x06:	/* mapv: vec, count | flags << 32 */
		count = counts[rnd(s) % 8];
		w[0] = pick_vec(s, count);
		w[1] = count | (uint64_t)(rnd(s) % 4 ? rnd(s) % 2 : (uint32_t)rnd(s)) << 32;
		break;
	}
}

/* The argument pointer: a good buffer mostly, else NULL, kernel, unmapped, or cut short. */
static void *pick_arg(uint64_t *s, uint64_t *buf)
{
	switch (rnd(s) % 16) {
	case 0:
		return NULL;
	case 1:
		return (void *)0xffff888000001000ULL;
	case 2:
		return hole;
	case 3:
		memcpy(cut + PAGE - 16, buf, 16);
		return cut + PAGE - 16;	/* the struct runs into an inaccessible page */
	default:
		return buf;
	}
}

/* the documented results of a read() of the event fd (non-blocking here) */
static bool read_documented(int e)
{
	return e == 0 || e == EAGAIN || e == EINVAL || e == EFAULT;
}

/* A read() of the event fd: a buffer as pick_arg() picks them, a count small, exact or large. */
static int fuzz_read(uint64_t *s, uint64_t *buf)
{
	static const size_t counts[] = { 0, 1, 15, 16, 17, 32, 64, 1 << 20 };
	size_t count = counts[rnd(s) % 8];
	void *p = pick_arg(s, buf);
	ssize_t n;

	if (p == buf && count > sizeof(uint64_t) * 8)
		count = sizeof(uint64_t) * 8;	/* never past buf */
	n = read(fuzz_fd, p, count);
	return n < 0 ? errno : n % sizeof(struct fa_event) ? EIO : 0;
}

static void *fuzz_thread(void *arg)
{
	uint64_t s = seed ^ (uintptr_t)arg * 0x9e3779b97f4a7c15ULL, buf[8];

	while (!stop) {
		unsigned long n = __atomic_fetch_add(&calls_done, 1, __ATOMIC_RELAXED);
		unsigned long cmd;
		void *argp;
		int e;

		if (n >= calls_total)
			break;
		if (rnd(&s) % 32 == 0) {
			e = fuzz_read(&s, buf);
			__atomic_add_fetch(&reads_done, 1, __ATOMIC_RELAXED);
			if (!read_documented(e)) {
				fprintf(stderr, "fuzz: call %lu: read() of the event fd gave %s\n", n, strerror(e));
				stop = 2;
			}
			continue;
		}
		cmd = pick_cmd(&s);
		fill_args(&s, cmd, buf);
		argp = pick_arg(&s, buf);
		e = ioctl(fuzz_fd, cmd, argp) ? errno : 0;
		__atomic_add_fetch(&errno_seen[e & 255], 1, __ATOMIC_RELAXED);
		if (!documented(e)) {
			fprintf(stderr, "fuzz: call %lu: ioctl %#lx arg %p {%#llx %#llx %#llx %#llx} gave %s\n",
				n, cmd, argp, (unsigned long long)buf[0], (unsigned long long)buf[1],
				(unsigned long long)buf[2], (unsigned long long)buf[3], strerror(e));
			stop = 2;
		}
	}
	return NULL;
}

static __thread char *t_tmp;

/* A marker was touched: map something there (fuzz areas) or the right page (verifier). */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	/* a real-time signal carries the address in si_value (SI_QUEUE), SIGBUS/SIGSEGV in si_addr */
	void *addr = si->si_code == SI_QUEUE ? si->si_ptr : si->si_addr;
	char *page = (char *)((uintptr_t)addr & ~(PAGE - 1));
	int fd = in_verify((uintptr_t)page) ? verify_fd : fuzz_fd, e;

	page_fill(t_tmp, seed, (page - verify_area) / PAGE);
	e = fa_map(fd, page, t_tmp, PAGE, 0, NULL);
	if (e == 0)
		__atomic_add_fetch(&live_maps, 1, __ATOMIC_RELAXED);
	else if (e != EEXIST && fd == fuzz_fd) {
		/* the fuzzer changed the area under us (e.g. a marker of another signo): drop the page */
		madvise(page, PAGE, MADV_DONTNEED);
		__atomic_add_fetch(&live_drops, 1, __ATOMIC_RELAXED);
	} else if (e != EEXIST) {
		fprintf(stderr, "fuzz: the verifier's map of %p failed: %s\n", page, strerror(e));
		_exit(3);
	}
}

/* A THP in the src half (a write of all of it), markers in the dst half, one move of the 2 MiB. */
static void move_thp(int fill)
{
	struct fa_iovec v = { (uintptr_t)(thp + HUGE_BYTES), (uintptr_t)thp, HUGE_BYTES };

	memset(thp, fill, HUGE_BYTES);
	fa_prepare(fuzz_fd, thp + HUGE_BYTES, HUGE_BYTES, SIGBUS, NULL);
	if (fa_mapv(fuzz_fd, &v, 1, 0, NULL) == 0)
		__atomic_add_fetch(&live_huge, 1, __ATOMIC_RELAXED);
}

static void *live_thread(void *arg)
{
	uint64_t s = seed ^ 0x11ce ^ (uintptr_t)arg;

	t_tmp = area_alloc(1, false);
	while (!stop && __atomic_load_n(&calls_done, __ATOMIC_RELAXED) < calls_total) {
		char *a = areas[rnd(&s) % AREAS];
		unsigned long p = rnd(&s) % AREA_PAGES;

		if (rnd(&s) % 16 == 0)
			fa_prepare(fuzz_fd, a, AREA_PAGES * PAGE, SIGBUS, NULL);	/* markers again */
		if (rnd(&s) % 32 == 0)
			move_thp((int)p);
		(void)*(volatile char *)(a + p * PAGE);
		if (rnd(&s) % 4 == 0) {
			memset(t_tmp, (int)p, PAGE);
			fa_map(fuzz_fd, a + ((p + 1) % AREA_PAGES) * PAGE, t_tmp, PAGE, 0, NULL);
		}
	}
	return NULL;
}

static void *verify_thread(void *arg)
{
	unsigned long p;

	t_tmp = area_alloc(1, false);
	while (!stop && __atomic_load_n(&calls_done, __ATOMIC_RELAXED) < calls_total) {
		int e = fa_prepare(verify_fd, verify_area, VERIFY_PAGES * PAGE, SIGBUS, NULL);

		if (e) {
			fprintf(stderr, "fuzz: the verifier's prepare failed: %s\n", strerror(e));
			stop = 3;
			break;
		}
		for (p = 0; p < VERIFY_PAGES; p++)
			if (!page_check(verify_area + p * PAGE, seed, p)) {
				fprintf(stderr, "fuzz: verifier page %lu is wrong in round %lu\n", p, verified_rounds);
				stop = 3;
				return NULL;
			}
		verified_pages += VERIFY_PAGES;
		verified_rounds++;
	}
	return NULL;
}

/*
 * Every fuzzed range starts in a sandbox at a fixed, far address: guards,
 * area 0, area 1 (other protections: a range across them spans two VMAs),
 * a hole, areas 2 and 3 (THP on 3), the 2 MiB-aligned THP area, guards.
 * Markers exist only in areas, so a map moves at most 2 * AREA_PAGES pages
 * (2 MiB from the THP area) from a src in the sandbox, and the guards keep
 * those in it; a longer range ends in unmapped space, so a prepare of it is
 * refused before it discards anything.
 */
#define SANDBOX ((char *)0x200000000000ULL)
#define GUARD_PAGES (4 * AREA_PAGES)

static int sandbox(void)
{
	unsigned long pages = 2 * GUARD_PAGES + AREAS * AREA_PAGES + 16 + 3 * HUGE_BYTES / PAGE;
	char *p = mmap(SANDBOX, pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int i;

	if (p != SANDBOX)
		return -1;
	areas[0] = p + GUARD_PAGES * PAGE;
	areas[1] = areas[0] + AREA_PAGES * PAGE;
	hole = areas[1] + AREA_PAGES * PAGE;
	areas[2] = hole + 16 * PAGE;
	areas[3] = areas[2] + AREA_PAGES * PAGE;
	thp = (char *)(((uintptr_t)areas[3] + AREA_PAGES * PAGE + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
	if (mprotect(thp, 2 * HUGE_BYTES, PROT_READ | PROT_WRITE) || madvise(thp, 2 * HUGE_BYTES, MADV_HUGEPAGE))
		return -1;
	munmap(hole, 16 * PAGE);	/* a range known to be unmapped */
	for (i = 0; i < AREAS; i++) {
		if (mprotect(areas[i], AREA_PAGES * PAGE, PROT_READ | PROT_WRITE | (i == 1 ? PROT_EXEC : 0)))
			return -1;
		madvise(areas[i], AREA_PAGES * PAGE, i == 3 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };
	pthread_t fuzz[MAX_THREADS], live[2], verifier;
	int opt, nfuzz = 2, i;
	long kwait_ms;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = (uint64_t)now_ns();
	while ((opt = getopt(argc, argv, "n:s:t:")) != -1) {
		if (opt == 'n')
			calls_total = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (opt == 't' && atoi(optarg) > 0 && atoi(optarg) <= MAX_THREADS)
			nfuzz = atoi(optarg);
		else {
			fprintf(stderr, "usage: %s [-n CALLS] [-s SEED] [-t 1..%d]\n", argv[0], MAX_THREADS);
			return 2;
		}
	}
	printf("fuzz: seed %#llx (rerun with -s %#llx), %lu calls, %d fuzz threads\n",
	       (unsigned long long)seed, (unsigned long long)seed, calls_total, nfuzz);
	fuzz_fd = fa_open();
	verify_fd = fa_open();
	if (fuzz_fd < 0 || verify_fd < 0) {
		perror("fuzz: open /dev/fault_area");
		return 2;
	}
	fcntl(fuzz_fd, F_SETFL, O_NONBLOCK);
	kwait_ms = fa_set_kwait_timeout(KWAIT_MS);
	if (kwait_ms < 0)
		fprintf(stderr, "fuzz: cannot set %s: kernel accesses to KWAIT markers wait the module's timeout\n",
			FA_KWAIT_TIMEOUT_PARAM);
	if (sandbox()) {
		perror("fuzz: cannot map the sandbox");
		return 2;
	}
	/* PROT_NONE, not unmapped: a later mmap could fill a hole with readable garbage */
	cut = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(cut + PAGE, PAGE, PROT_NONE);
	verify_area = area_alloc(VERIFY_PAGES, false);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(34, &sa, NULL);
	sigaction(64, &sa, NULL);
	for (i = 0; i < AREAS; i++)
		fa_prepare(fuzz_fd, areas[i], AREA_PAGES * PAGE, SIGBUS, NULL);
	for (i = 0; i < 2; i++)
		pthread_create(&live[i], NULL, live_thread, (void *)(uintptr_t)i);
	pthread_create(&verifier, NULL, verify_thread, NULL);
	for (i = 0; i < nfuzz; i++)
		pthread_create(&fuzz[i], NULL, fuzz_thread, (void *)(uintptr_t)i);
	for (i = 0; i < nfuzz; i++)
		pthread_join(fuzz[i], NULL);
	stop = stop ? stop : 1;
	for (i = 0; i < 2; i++)
		pthread_join(live[i], NULL);
	pthread_join(verifier, NULL);
	printf("fuzz: errnos:");
	for (i = 0; i < 256; i++)
		if (errno_seen[i])
			printf(" %s=%lu", i ? strerrorname_np(i) : "0", errno_seen[i]);
	printf("\nfuzz: %lu calls (%lu reads of the event fd), %lu undocumented; live maps %lu, pages dropped %lu, "
	       "2 MiB MAPVs %lu; verifier %lu rounds, %lu pages checked\n",
	       calls_done < calls_total ? calls_done : calls_total, reads_done, stop == 2 ? 1UL : 0UL, live_maps,
	       live_drops, live_huge, verified_rounds, verified_pages);
	close(fuzz_fd);
	close(verify_fd);
	if (kwait_ms >= 0)
		fa_set_kwait_timeout(kwait_ms);
	if (stop > 1)
		return 1;
	printf("fuzz: ok\n");
	return 0;
}
