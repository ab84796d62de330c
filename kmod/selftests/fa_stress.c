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
 *           then unmaps, maps and prepares a page of its own, and forks a
 *           child that touches that marker and must die of SIGBUS
 * Content is checked continuously.  A watchdog fails the run when a thread
 * makes no progress for 10 s (a lost wakeup or a stuck lock).  The last line
 * gives the minutes held, pages verified, EEXIST races and lost pages.
 */
#define _GNU_SOURCE
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

enum role { FAULT, MAP, CHURN, ROLES };
static const char *role_name[] = { "fault", "map", "churn" };

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
static unsigned long verified, eexist, lost, maps;	/* atomic */
static __thread char *t_tmp, *t_run;

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

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int cpu, e;

	for (cpu = 0; cpu < ncpus; cpu++)
		if (a >= (uintptr_t)areas[cpu] && a < (uintptr_t)areas[cpu] + pages * PAGE)
			break;
	if (cpu == ncpus) {
		signal(SIGBUS, SIG_DFL);	/* not ours */
		return;
	}
	e = place(cpu, (long)((a - (uintptr_t)areas[cpu]) / PAGE));
	if (e) {
		fprintf(stderr, "stress: the handler's map failed: %s\n", strerror(e));
		_exit(1);
	}
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
	if (t_run)
		madvise(t_run, RUN_PAGES * PAGE, MADV_DONTFORK);
	while (!stop) {
		long p = (long)((s = mix64(s)) % pages);
		int e = 0;

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
		case CHURN:
			if (p + CHURN_PAGES > pages)
				p = pages - CHURN_PAGES;
			e = fa_prepare(fd, page_of(t->cpu, p), CHURN_PAGES * PAGE, SIGBUS, NULL);
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
	if (secs < 1 || pages < CHURN_PAGES) {
		fprintf(stderr, "stress: -d must be >= 1 and -p >= %d\n", CHURN_PAGES);
		return 2;
	}
	fd = fa_open();
	if (fd < 0) {
		perror("stress: open " FA_DEVICE_PATH);
		return 2;
	}
	sigaction(SIGBUS, &sa, NULL);
	for (i = 0; i < ncpus; i++) {
		areas[i] = area_alloc(pages, false);
		if (!areas[i] || fa_prepare(fd, areas[i], pages * PAGE, SIGBUS, NULL)) {
			fprintf(stderr, "stress: cannot set up area %d\n", i);
			return 2;
		}
	}
	printf("stress: %d CPUs x 3 threads (fault+verify, map, churn), %ld pages each, %d s, seed %llu\n",
	       ncpus, pages, secs, (unsigned long long)seed);
	fflush(stdout);
	n = ncpus * ROLES;
	start = time(NULL);
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
	t_tmp = area_alloc(1, false);	/* the last check: every page, placed if still a marker */
	for (i = 0; i < ncpus; i++)
		for (long p = 0; p < pages; p++)
			if (!page_check(page_of(i, p), seed, index_of(i, p)))
				lost++;
	if (stop == 2 || lost)
		status = 1;
	printf("stress: %.1f minutes held, %lu pages verified, %lu maps, %lu EEXIST races, %lu lost pages: %s\n",
	       (time(NULL) - start) / 60.0, verified, maps, eexist, lost, status ? "FAIL" : "ok");
	close(fd);
	return status;
}
