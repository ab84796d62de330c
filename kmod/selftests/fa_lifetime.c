// SPDX-License-Identifier: GPL-2.0
/*
 * fa_lifetime.c - what happens to a fault area when its process changes it
 * under fire (run in the guest, as root).
 *
 *   fa_lifetime [-l] [-f NAME] [-k PATH_OF_fault_area.ko]
 *
 * Results are TAP 13, as kselftest prints them (fa_tap.h).
 *
 * Each case forks a child that opens /dev/fault_area, prepares an area and
 * keeps four threads in flight on it (two fault pages in, two map pages
 * ahead of them), then does one disruptive thing and checks the outcome
 * written in the table.  Around two windows of REPS runs each (after one
 * run to warm the kernel's caches up) the parent reads the
 * kernel's books: free pages (vmstat and the per-CPU lists of zoneinfo,
 * page cache dropped), anonymous pages and the module's refcount must come
 * back to where they were.  A leak grows with the runs, so it shows in both
 * windows; a one-off taken by another process (a 2 MiB THP of the test
 * runner's heap, say) shows in one only.  The kernel checks RSS counters itself when the
 * child's mm goes ("Bad rss-counter" in dmesg; tests/guest checks dmesg).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fa_tap.h"
#include "fa_util.h"

#define PAGES 512
#define SEED 0x1f3
#define FLIGHT_US 200000
#define REPS 4		/* runs of each case in each window between two readings of the books */
#define LEAK_SLACK 128	/* pages other processes may take meanwhile; a case maps 512 per run */

typedef const char *(*case_fn)(void);
struct lcase {
	const char *name;
	case_fn fn;
	const char *expect;
	bool killed;	/* the parent SIGKILLs the child in flight */
};

/* ---- the flight: four threads on the area ------------------------------------- */

static int g_fd = -1;
static char *g_area;
static volatile int g_stop;
static pthread_t g_th[4];
static unsigned long g_gaveup;	/* accesses abandoned: the area changed under them */
static volatile int g_mapper_exits;	/* thread 3 calls pthread_exit() mid-flight */
static __thread char *t_tmp;
static __thread sigjmp_buf t_jb;
static __thread int t_jb_set;
static char reason[256];

static void give_up(void)
{
	__atomic_add_fetch(&g_gaveup, 1, __ATOMIC_RELAXED);
	if (t_jb_set)
		siglongjmp(t_jb, 1);
	_exit(4);	/* the main thread met an unmappable marker: a check failed */
}

/* SIGBUS on a marker: fetch and map it; SIGSEGV, or a map that cannot work: abandon the access */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	char *page = (char *)((uintptr_t)si->si_addr & ~(PAGE - 1));
	int e;

	if (sig != SIGBUS || page < g_area || page >= g_area + PAGES * PAGE || !t_tmp)
		give_up();
	page_fill(t_tmp, SEED, (page - g_area) / PAGE);
	e = fa_map(g_fd, page, t_tmp, PAGE, 0, NULL);
	if (e && e != EEXIST)
		give_up();
}

static void *flight_thread(void *arg)
{
	volatile uint64_t s = SEED ^ (uintptr_t)arg;	/* volatile: kept across siglongjmp */
	bool mapper = (uintptr_t)arg >= 2;
	volatile long n = 0;

	t_tmp = area_alloc(1, false);
	madvise(t_tmp, PAGE, MADV_DONTFORK);
	while (!g_stop) {
		long p = (long)((s = mix64(s)) % PAGES);

		if ((uintptr_t)arg == 3 && g_mapper_exits && ++n > 50)
			pthread_exit(NULL);	/* its temporary page stays mapped, as a dead thread's would */
		if (sigsetjmp(t_jb, 1))
			continue;
		t_jb_set = 1;
		if (mapper) {
			page_fill(t_tmp, SEED, p);
			fa_map(g_fd, g_area + p * PAGE, t_tmp, PAGE, 0, NULL);
		} else {
			(void)*(volatile char *)(g_area + p * PAGE);
		}
		t_jb_set = 0;
	}
	return NULL;
}

static void catch(int sig)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(sig, &sa, NULL);
}

/* open, prepare, and put the four threads in flight for FLIGHT_US */
static void take_off(void)
{
	uintptr_t i;

	g_fd = fa_open();
	g_area = area_alloc(PAGES, false);
	catch(SIGBUS);
	catch(SIGSEGV);
	if (g_fd < 0 || !g_area || fa_prepare(g_fd, g_area, PAGES * PAGE, SIGBUS, NULL)) {
		fprintf(stderr, "lifetime: setup failed: %s\n", strerror(errno));
		_exit(3);
	}
	for (i = 0; i < 4; i++)
		pthread_create(&g_th[i], NULL, flight_thread, (void *)i);
	usleep(FLIGHT_US);
}

static void land(void)
{
	int i;

	g_stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(g_th[i], NULL);
	if (!t_tmp)
		t_tmp = area_alloc(1, false);
	page_fill(t_tmp, SEED, 0);	/* present: the maps below meet the error they are about */
}

/* every page of [first, last) reads as the source page (markers are mapped on the way) */
static const char *check_pages(char *area, long first, long last)
{
	long p;

	for (p = first; p < last; p++)
		if (!page_check(area + p * PAGE, SEED, p)) {
			snprintf(reason, sizeof(reason), "page %ld differs from the source", p);
			return reason;
		}
	return NULL;
}

static const char *expect_err(const char *what, int got, int want1, int want2)
{
	if (got == want1 || got == want2)
		return NULL;
	snprintf(reason, sizeof(reason), "%s: got %s, want %s%s%s", what, got ? strerrorname_np(got) : "0",
		 want1 ? strerrorname_np(want1) : "0", want2 != want1 ? " or " : "",
		 want2 != want1 ? (want2 ? strerrorname_np(want2) : "0") : "");
	return reason;
}

/* ---- the cases ------------------------------------------------------------------ */

static const char *case_munmap(void)
{
	char *half = g_area + PAGES / 2 * PAGE, *again;
	const char *r;
	int fd2;

	take_off();
	munmap(half, PAGES / 2 * PAGE);
	land();
	if ((r = expect_err("FA_IOC_MAP onto the unmapped half",
			    fa_map(g_fd, half, t_tmp, PAGE, 0, NULL), EINVAL, EFAULT)))
		return r;
	again = mmap(half, PAGES / 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	fd2 = fa_open();
	if (again != half || fd2 < 0)
		return "cannot map the half again";
	if ((r = expect_err("another file's FA_IOC_PREPARE of the remapped half",
			    fa_prepare(fd2, half, PAGES / 2 * PAGE, SIGBUS, NULL), 0, 0)))
		return r;
	return check_pages(g_area, 0, PAGES / 2);
}

static const char *case_mremap(void)
{
	char *to = mmap(NULL, PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *old;
	const char *r;

	take_off();
	old = g_area;
	if (mremap(old, PAGES * PAGE, PAGES * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to) {
		snprintf(reason, sizeof(reason), "mremap: %s", strerror(errno));
		return reason;
	}
	g_area = to;	/* the handler now maps at the new place; those maps must fail (unregistered) */
	land();
	if ((r = expect_err("FA_IOC_MAP at the old range", fa_map(g_fd, old, t_tmp, PAGE, 0, NULL), EINVAL, EFAULT)))
		return r;
	if ((r = expect_err("FA_IOC_MAP at the new range, unregistered",
			    fa_map(g_fd, to, t_tmp, PAGE, 0, NULL), EINVAL, EINVAL)))
		return r;
	if ((r = expect_err("FA_IOC_PREPARE of the new range", fa_prepare(g_fd, to, PAGES * PAGE, SIGBUS, NULL), 0, 0)))
		return r;
	return check_pages(to, 0, PAGES);
}

static const char *case_dontneed(void)
{
	long p;

	take_off();
	madvise(g_area, PAGES * PAGE, MADV_DONTNEED);
	land();
	for (p = 0; p < PAGES; p++)
		if (g_area[p * PAGE] || g_area[p * PAGE + PAGE - 1]) {
			snprintf(reason, sizeof(reason), "page %ld is not zero after MADV_DONTNEED", p);
			return reason;
		}
	return expect_err("FA_IOC_MAP onto a dropped page", fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EEXIST,
			  EEXIST);
}

static const char *case_mprotect(void)
{
	const char *r;

	take_off();
	mprotect(g_area, PAGES / 2 * PAGE, PROT_READ);
	usleep(FLIGHT_US / 2);
	land();
	if ((r = expect_err("FA_IOC_MAP onto the read-only half", fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL),
			    EINVAL, EEXIST)))
		return r;
	mprotect(g_area, PAGES / 2 * PAGE, PROT_READ | PROT_WRITE);
	return check_pages(g_area, 0, PAGES);
}

static const char *case_fork_exec(void)
{
	int st;
	pid_t pid;

	take_off();
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	land();
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return "the forked child could not exec /bin/true";
	return check_pages(g_area, 0, PAGES);
}

static const char *case_exit_mapper(void)
{
	g_mapper_exits = 1;
	take_off();
	land();	/* joins the exited thread too */
	return check_pages(g_area, 0, PAGES);
}

static const char *case_sigkill(void)
{
	take_off();
	pause();	/* the parent kills us in flight */
	return "not killed";
}

static const char *case_close(void)
{
	take_off();
	/* markers everywhere again, then the close while the threads run into them */
	fa_prepare(g_fd, g_area, PAGES * PAGE, SIGBUS, NULL);
	close(g_fd);	/* maps now get EBADF, markers the core mm's SIGBUS */
	usleep(FLIGHT_US / 2);
	land();
	if (g_gaveup == 0)
		return "no access gave up after close (the markers were not left behind?)";
	return expect_err("FA_IOC_MAP after close", fa_map(g_fd, g_area, t_tmp, PAGE, 0, NULL), EBADF, EBADF);
}

static const char *case_rmmod(void)
{
	const char *ko = getenv("FA_KO");
	int fd, e;

	take_off();
	e = syscall(SYS_delete_module, "fault_area", O_NONBLOCK) ? errno : 0;
	land();
	close(g_fd);
	if (e != EWOULDBLOCK && e != EBUSY)
		return expect_err("rmmod with a file open", e, EWOULDBLOCK, EBUSY);
	if (!ko)
		return "set FA_KO to the module's path (it must be loaded again)";
	e = syscall(SYS_delete_module, "fault_area", O_NONBLOCK) ? errno : 0;
	if (e)
		return expect_err("rmmod once every file is closed", e, 0, 0);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
		return "cannot load the module again";
	close(fd);
	return NULL;
}

static const struct lcase cases[] = {
	{ "munmap-part", case_munmap, "the unmapped half is unregistered: a map there gets EINVAL or EFAULT, and "
	  "another file can prepare a new mapping at that address; the other half keeps every page" },
	{ "mremap", case_mremap, "the old range is unregistered (EINVAL or EFAULT); markers moved to the new "
	  "range give SIGBUS and a map there gets EINVAL until it is prepared; then every page arrives" },
	{ "madv-dontneed", case_dontneed, "markers and pages alike are dropped: the range reads zeros and a map "
	  "onto it gets EEXIST, as for any anonymous memory" },
	{ "mprotect", case_mprotect, "a map onto the read-only half gets EINVAL (protections differ from the "
	  "source's) or EEXIST; after mprotect back, every page arrives" },
	{ "fork-exec", case_fork_exec, "the child execs (its inherited markers go with its mm); the parent "
	  "keeps every page" },
	{ "exit-mapper", case_exit_mapper, "the other threads carry on; every page arrives" },
	{ "sigkill", case_sigkill, "the process dies at once; its pages and the module reference are freed", true },
	{ "close-fd", case_close, "maps get EBADF; markers stay and give the core mm's SIGBUS (accesses give up, "
	  "no zeros)" },
	{ "rmmod", case_rmmod, "rmmod fails (EWOULDBLOCK) while a file is open, and succeeds once it is closed" },
};

/* ---- the parent: books before and after ------------------------------------------- */

static long vmstat(const char *key)
{
	char line[128];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ')
			v = atol(line + n + 1);
	if (f)
		fclose(f);
	return v;
}

static long refcnt(void)
{
	char buf[32] = "";
	FILE *f = fopen("/sys/module/fault_area/refcnt", "r");

	if (f && !fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	if (f)
		fclose(f);
	return f ? atol(buf) : -1;
}

/* Free pages held in per-CPU lists (not in nr_free_pages until drained in batches). */
static long pcp_pages(void)
{
	char line[128];
	long n = 0, v;
	FILE *f = fopen("/proc/zoneinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %ld", &v) == 1)
			n += v;
	if (f)
		fclose(f);
	return n;
}

/* The kernel's books, after a pause for deferred frees and with the page cache dropped. */
static void books(long *anon, long *free_pages)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	usleep(200000);
	if (fd >= 0 && write(fd, "3", 1) < 0)
		perror("drop_caches");
	if (fd >= 0)
		close(fd);
	*anon = vmstat("nr_anon_pages");
	*free_pages = vmstat("nr_free_pages") + pcp_pages();
}

static long total_leak;

static long min_long(long a, long b)
{
	return a < b ? a : b;
}

/* One run of the case in a forked child; "" or why it failed. */
static void one_child(const struct lcase *c, char *why, size_t len)
{
	int pfd[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		const char *r;

		close(pfd[0]);
		alarm(30);
		r = c->fn();
		if (r && write(pfd[1], r, strlen(r)) < 0)
			_exit(1);
		_exit(r ? 1 : 0);
	}
	close(pfd[1]);
	if (c->killed) {
		usleep(2 * FLIGHT_US);
		kill(pid, SIGKILL);
	}
	n = read(pfd[0], why, len - 1);
	why[n > 0 ? n : 0] = 0;
	close(pfd[0]);
	waitpid(pid, &st, 0);
	if (c->killed ? !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) : !(WIFEXITED(st) && !WEXITSTATUS(st)))
		if (!*why)
			snprintf(why, len, "child status %#x", st);
}

/*
 * A warm-up run, then two windows of REPS runs between readings of the
 * books: the kernel's caches (slab, per-CPU lists, page tables) settle in
 * the warm-up, so what the later runs do not give back is a leak that grows
 * with them, in each window.  The smaller of the two windows' figures is
 * the leak; a one-off by someone else lands in one window only.
 */
static int run_case(const struct lcase *c)
{
	long anon[3], free[3], ref0 = refcnt(), ref1, leak, anon_leak;
	char why[256] = "";
	int rep, w;

	tap_run(c->name);
	one_child(c, why, sizeof(why));
	books(&anon[0], &free[0]);
	for (w = 1; w <= 2; w++) {
		for (rep = 0; rep < REPS && !*why; rep++)
			one_child(c, why, sizeof(why));
		books(&anon[w], &free[w]);
	}
	ref1 = refcnt();
	/* pages no longer free: mapped, cached or held by someone */
	leak = min_long(free[0] - free[1], free[1] - free[2]);
	anon_leak = min_long(anon[1] - anon[0], anon[2] - anon[1]);
	if (!*why && strcmp(c->name, "rmmod") && ref1 != ref0)
		snprintf(why, sizeof(why), "module refcount %ld before, %ld after", ref0, ref1);
	else if (!*why && (leak > LEAK_SLACK || anon_leak > LEAK_SLACK))
		snprintf(why, sizeof(why), "in each of 2 windows of %d runs: at least %ld pages less free, "
			 "%+ld anonymous pages", REPS, leak, anon_leak);
	total_leak += leak > 0 ? leak : 0;
	if (*why) {
		printf("# %s: expected: %s\n", c->name, c->expect);
		tap_result(c->name, TAP_FAIL, why);
		return 1;
	}
	printf("# %s: 2 windows of %d runs after a warm-up: free pages %+ld, %+ld; anonymous pages %+ld, %+ld; "
	       "refcount %ld\n", c->name, REPS, free[1] - free[0], free[2] - free[1], anon[1] - anon[0],
	       anon[2] - anon[1], ref1);
	tap_result(c->name, TAP_PASS, "");
	return 0;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int opt, failed = 0, passed = 0, plan = 0;
	size_t i;

	while ((opt = getopt(argc, argv, "lf:k:")) != -1) {
		if (opt == 'l') {
			for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
				printf("%s\n", cases[i].name);
			return 0;
		} else if (opt == 'f') {
			only = optarg;
		} else if (opt == 'k') {
			setenv("FA_KO", optarg, 1);
		} else {
			fprintf(stderr, "usage: %s [-l] [-f NAME] [-k fault_area.ko]\n", argv[0]);
			return 2;
		}
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		plan += !only || !strcmp(only, cases[i].name);
	tap_plan(plan);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (only && strcmp(only, cases[i].name))
			continue;
		if (run_case(&cases[i]))
			failed++;
		else
			passed++;
	}
	printf("# lifetime: %d of %d cases passed; pages not given back after warm-up, over the suite: %ld\n",
	       passed, passed + failed, total_leak);
	return tap_finish();
}
