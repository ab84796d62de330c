// SPDX-License-Identifier: GPL-2.0
/*
 * fa_stress.c - fault_area.ko under load, in the manner of uffd-stress.
 *
 *   fa_stress [-d SECONDS] [-p PAGES_PER_CPU] [-s SEED]
 *
 * Per CPU, one area and three threads:
 *   fault   reads random pages and checks each against the source image; a
 *           marker sends SIGBUS, whose handler fills the page and maps it
 *   map     places random pages ahead of the faults, racing them (EEXIST):
 *           one page (FA_IOC_MAP) or a run of RUN_PAGES (FA_IOC_MAPV) in turn
 *   churn   turns random ranges back into markers (FA_IOC_PREPARE); now and
 *           then a whole 2 MiB, which it fills at once from a THP (FA_IOC_MAPV:
 *           whole where all 512 are still markers, else split and a page at a
 *           time), the other threads keeping off those pages meanwhile; now
 *           and then unmaps, maps and prepares a page of its own,
 *           and forks a child that touches that marker and must die of SIGBUS
 *   kread   write()s a random page into a pipe (copy_from_user: a marker
 *           makes it wait, the areas are FA_PREPARE_KWAIT) and checks what
 *           comes out of the pipe
 * and one events thread for all: it reads the file's fault events (the
 * pages kernel accesses wait for) and places them.
 * Content is checked continuously.  A watchdog fails the run when a thread
 * makes no progress for 10 s (a lost wakeup or a stuck lock).  The last line
 * gives the minutes held, pages verified, EEXIST races, THPs moved whole and
 * lost pages.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fa_util.h"

#define MAX_CPUS 64
#define STUCK_SECS 10
#define CHURN_PAGES 16
#define RUN_PAGES 16

enum role { FAULT, MAP, CHURN, KREAD, ROLES };
static const char *role_name[] = { "fault", "map", "churn", "kread" };

struct thread {
	pthread_t tid;
	int cpu;
	enum role role;
	unsigned long progress;	/* atomic: loops done */
};

static int fd, ncpus;
static long pages = 1024;
static uint64_t seed = 1;
static char *areas[MAX_CPUS];
static volatile int stop;
static unsigned long verified, eexist, lost, maps, huge_whole, kreads, events;	/* atomic */
static __thread char *t_tmp, *t_run, *t_huge;
static long refilling[MAX_CPUS];	/* atomic: the first page of the 2 MiB churn refills, or -1 */

static char *page_of(int cpu, long p)
{
	return areas[cpu] + p * PAGE;
}

static long index_of(int cpu, long p)
{
	return (long)cpu * pages + p;
}

/* fill and place one page; 0 or EEXIST are fine, anything else is a failure */
static int place(int cpu, long p)
{
	int e;

	page_fill(t_tmp, seed, index_of(cpu, p));
	e = fa_map(fd, page_of(cpu, p), t_tmp, PAGE, 0, NULL);
	if (e == EEXIST)
		__atomic_add_fetch(&eexist, 1, __ATOMIC_RELAXED);
	else if (e == 0)
		__atomic_add_fetch(&maps, 1, __ATOMIC_RELAXED);
	return e == EEXIST ? 0 : e;
}

/* fill and place RUN_PAGES pages from p with one FA_IOC_MAPV element; the pages before an EEXIST go in */
static int place_run(int cpu, long p)
{
	struct fa_iovec v = { (uintptr_t)page_of(cpu, p), (uintptr_t)t_run, RUN_PAGES * PAGE };
	int64_t mapped;
	long i;
	int e;

	for (i = 0; i < RUN_PAGES; i++)
		page_fill(t_run + i * PAGE, seed, index_of(cpu, p + i));
	e = fa_mapv(fd, &v, 1, 0, &mapped);
	__atomic_add_fetch(&maps, mapped / PAGE, __ATOMIC_RELAXED);
	if (e == EEXIST)
		__atomic_add_fetch(&eexist, 1, __ATOMIC_RELAXED);
	return e == EEXIST ? 0 : e;
}

/* The 2 MiB-aligned page index of the area at or below p (areas are 2 MiB aligned). */
static long huge_start(long p)
{
	long h = p & ~511L;

	return h + 512 > pages ? pages - 512 : h;
}

/*
 * fill a THP with the 2 MiB from huge_start(p), turn those into markers and
 * place the THP there with one FA_IOC_MAPV element at once: whole if dst
 * still holds 512 markers (its page is then a THP's: counted), else split
 * and a page at a time up to an EEXIST
 */
static int refill_huge(int cpu, long p)
{
	struct fa_iovec v = { (uintptr_t)page_of(cpu, huge_start(p)), (uintptr_t)t_huge, HUGE_BYTES };
	int64_t mapped = 0;
	long i;
	int e;

	__atomic_store_n(&refilling[cpu], huge_start(p), __ATOMIC_SEQ_CST);
	for (i = 0; i < 512; i++)
		page_fill(t_huge + i * PAGE, seed, index_of(cpu, huge_start(p) + i));
	e = fa_prepare_flags(fd, page_of(cpu, huge_start(p)), HUGE_BYTES, SIGBUS, FA_PREPARE_KWAIT, NULL);
	if (!e)
		e = fa_mapv(fd, &v, 1, 0, &mapped);
	__atomic_store_n(&refilling[cpu], -1, __ATOMIC_SEQ_CST);
	if (e && e != EEXIST)
		return e;
	__atomic_add_fetch(&maps, mapped / PAGE, __ATOMIC_RELAXED);
	if (e == 0 && page_is_thp(page_of(cpu, huge_start(p))))
		__atomic_add_fetch(&huge_whole, 1, __ATOMIC_RELAXED);
	if (e == EEXIST)
		__atomic_add_fetch(&eexist, 1, __ATOMIC_RELAXED);
	return e == EEXIST ? 0 : e;
}

/* The area (cpu) and page of an address; false if it is in none. */
static bool locate(uintptr_t a, int *cpu, long *p)
{
	for (*cpu = 0; *cpu < ncpus; ++*cpu) {
		if (a >= (uintptr_t)areas[*cpu] && a < (uintptr_t)areas[*cpu] + pages * PAGE) {
			*p = (long)((a - (uintptr_t)areas[*cpu]) / PAGE);
			return true;
		}
	}
	return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	long p;
	int cpu, e;

	if (!locate((uintptr_t)si->si_addr, &cpu, &p)) {
		signal(SIGBUS, SIG_DFL);	/* not ours */
		return;
	}
	e = place(cpu, p);
	if (e) {
		fprintf(stderr, "stress: the handler's map failed: %s\n", strerror(e));
		_exit(1);
	}
}

/*
 * write() page p into a pipe, which copy_from_user()s it: on a marker of a
 * KWAIT area the copy waits until the events thread (or anyone) places the
 * page.  Then read it back out of the pipe and check it.
 */
static __thread int t_pipe[2] = { -1, -1 };

static int kernel_read(int cpu, long p)
{
	static __thread char back[PAGE];
	ssize_t n;

	if (t_pipe[0] < 0 && pipe(t_pipe))
		return errno;
	n = write(t_pipe[1], page_of(cpu, p), PAGE);
	if (n != PAGE)
		return n < 0 ? errno : EIO;
	if (read(t_pipe[0], back, PAGE) != PAGE)
		return EIO;
	if (!page_check(back, seed, index_of(cpu, p))) {
		fprintf(stderr, "stress: cpu %d page %ld read by the kernel differs from the source\n", cpu, p);
		__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
		return EPROTO;
	}
	__atomic_add_fetch(&kreads, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The events thread: read the file's fault events and place each page a kernel access waits for. */
static void *events_thread(void *arg)
{
	struct fa_event ev[64];
	long p;
	int cpu, i, n;

	(void)arg;
	t_tmp = area_alloc(1, false);
	madvise(t_tmp, PAGE, MADV_DONTFORK);
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(fd, ev, sizeof(ev));	/* the fd is non-blocking */
		for (i = 0; i < n / (int)sizeof(ev[0]); i++) {
			if (!locate(ev[i].addr, &cpu, &p) || !(ev[i].flags & FA_EV_KERNEL) || place(cpu, p)) {
				fprintf(stderr, "stress: event for %#llx (flags %#x): cannot place it\n",
					(unsigned long long)ev[i].addr, ev[i].flags);
				stop = 2;
			}
			__atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

/*
 * The churn thread's own page: unmap it (its registration goes), map it
 * again, prepare it, and fork a child that touches it: the child's mm has no
 * registration, so it must die of the core mm's SIGBUS, never read zeros.
 */
static int churn_probe(char *probe)
{
	int st, e;
	pid_t pid;

	munmap(probe, PAGE);
	if (mmap(probe, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != probe)
		return errno;
	e = fa_prepare(fd, probe, PAGE, SIGBUS, NULL);
	if (e)
		return e;
	pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		(void)*(volatile char *)probe;
		_exit(11);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return errno;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGBUS) {
		fprintf(stderr, "stress: a forked child touched a marker: status %#x, want death by SIGBUS\n", st);
		return EPROTO;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct thread *t = arg;
	uint64_t s = seed ^ ((uint64_t)t->cpu << 8 | t->role);
	char *probe = t->role == CHURN ? area_alloc(1, false) : NULL;

	t_tmp = area_alloc(1, false);
	madvise(t_tmp, PAGE, MADV_DONTFORK);	/* a forked child must not share it */
	t_run = t->role == MAP ? area_alloc(RUN_PAGES, false) : NULL;
	t_huge = t->role == CHURN ? huge_alloc(512, true) : NULL;
	if (t_run)
		madvise(t_run, RUN_PAGES * PAGE, MADV_DONTFORK);
	if (t_huge)
		madvise(t_huge, HUGE_BYTES, MADV_DONTFORK);
	while (!stop) {
		long p = (long)((s = mix64(s)) % pages), r = __atomic_load_n(&refilling[t->cpu], __ATOMIC_SEQ_CST);
		int e = 0;

		if (t->role != CHURN && r >= 0 && p + RUN_PAGES > r && p < r + 512)
			p = (r + 512 + RUN_PAGES) % pages;	/* off the 2 MiB being refilled */
		switch (t->role) {
		case FAULT:
			if (!page_check(page_of(t->cpu, p), seed, index_of(t->cpu, p))) {
				fprintf(stderr, "stress: cpu %d page %ld differs from the source\n", t->cpu, p);
				__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
				stop = 1;
			}
			__atomic_add_fetch(&verified, 1, __ATOMIC_RELAXED);
			break;
		case MAP:
			e = s & 1 ? place(t->cpu, p) : place_run(t->cpu, p + RUN_PAGES > pages ? pages - RUN_PAGES : p);
			break;
		case KREAD:
			e = kernel_read(t->cpu, p);
			break;
		case CHURN:
			if (s % 4 == 0)
				e = refill_huge(t->cpu, p);
			else
				e = fa_prepare_flags(fd, page_of(t->cpu, p + CHURN_PAGES > pages ? pages - CHURN_PAGES : p),
						     CHURN_PAGES * PAGE, SIGBUS, FA_PREPARE_KWAIT, NULL);
			if (!e && s % 64 == 0)
				e = churn_probe(probe);
			usleep(1000);
			break;
		default:
			break;
		}
		if (e) {
			fprintf(stderr, "stress: cpu %d %s: %s\n", t->cpu, role_name[t->role], strerror(e));
			stop = 2;
		}
		__atomic_add_fetch(&t->progress, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };
	static struct thread th[MAX_CPUS * ROLES];
	unsigned long last[MAX_CPUS * ROLES] = { 0 };
	time_t seen[MAX_CPUS * ROLES];
	pthread_t events_tid;
	int secs = 300, opt, i, n, status = 0;
	time_t start, now;

	while ((opt = getopt(argc, argv, "d:p:s:")) != -1) {
		if (opt == 'd')
			secs = atoi(optarg);
		else if (opt == 'p')
			pages = atol(optarg);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else {
			fprintf(stderr, "usage: %s [-d SECONDS] [-p PAGES_PER_CPU] [-s SEED]\n", argv[0]);
			return 2;
		}
	}
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > MAX_CPUS)
		ncpus = MAX_CPUS;
	if (secs < 1 || pages < 512) {
		fprintf(stderr, "stress: -d must be >= 1 and -p >= 512\n");
		return 2;
	}
	fd = fa_open();
	if (fd < 0) {
		perror("stress: open " FA_DEVICE_PATH);
		return 2;
	}
	sigaction(SIGBUS, &sa, NULL);
	fcntl(fd, F_SETFL, O_NONBLOCK);	/* for the events thread's read() */
	for (i = 0; i < ncpus; i++) {
		refilling[i] = -1;
		areas[i] = huge_alloc(pages, false);
		if (!areas[i] || fa_prepare_flags(fd, areas[i], pages * PAGE, SIGBUS, FA_PREPARE_KWAIT, NULL)) {
			fprintf(stderr, "stress: cannot set up area %d\n", i);
			return 2;
		}
	}
	printf("stress: %d CPUs x 4 threads (fault+verify, map, churn, kread) and an events thread, %ld pages "
	       "each, %d s, seed %llu\n", ncpus, pages, secs, (unsigned long long)seed);
	fflush(stdout);
	n = ncpus * ROLES;
	start = time(NULL);
	pthread_create(&events_tid, NULL, events_thread, NULL);
	for (i = 0; i < n; i++) {
		th[i] = (struct thread){ .cpu = i / ROLES, .role = i % ROLES };
		seen[i] = start;
		pthread_create(&th[i].tid, NULL, worker, &th[i]);
	}
	while (!stop && (now = time(NULL)) - start < secs) {
		sleep(1);
		now = time(NULL);
		for (i = 0; i < n; i++) {
			unsigned long p = __atomic_load_n(&th[i].progress, __ATOMIC_RELAXED);

			if (p != last[i]) {
				last[i] = p;
				seen[i] = now;
			} else if (now - seen[i] >= STUCK_SECS) {
				fprintf(stderr, "stress: cpu %d %s thread made no progress for %d s\n", th[i].cpu,
					role_name[th[i].role], STUCK_SECS);
				status = 1;
				stop = 3;
			}
		}
	}
	if (stop == 3) {	/* a stuck thread will not join: report and leave */
		printf("stress: FAIL after %.1f minutes: a thread was stuck\n", (time(NULL) - start) / 60.0);
		return 1;
	}
	stop = stop ? stop : 1;
	for (i = 0; i < n; i++)
		pthread_join(th[i].tid, NULL);
	pthread_join(events_tid, NULL);
	t_tmp = area_alloc(1, false);	/* the last check: every page, placed if still a marker */
	for (i = 0; i < ncpus; i++)
		for (long p = 0; p < pages; p++)
			if (!page_check(page_of(i, p), seed, index_of(i, p)))
				lost++;
	if (stop == 2 || lost)
		status = 1;
	printf("stress: %.1f minutes held, %lu pages verified, %lu maps, %lu EEXIST races, %lu THPs moved whole, "
	       "%lu kernel reads, %lu fault events, %lu lost pages: %s\n", (time(NULL) - start) / 60.0, verified,
	       maps, eexist, huge_whole, kreads, events, lost, status ? "FAIL" : "ok");
	close(fd);
	return status;
}
