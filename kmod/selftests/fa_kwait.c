// SPDX-License-Identifier: GPL-2.0
/*
 * fa_kwait - self-tests of FA_PREPARE_KWAIT: kernel accesses that wait for
 * their page, every cause that ends the wait, and the fault-event file
 * descriptor (read(), poll()).  Run as root in the guest with the module
 * loaded; same harness as fa_selftest (fa_cases.h).
 *
 *   fa_kwait            run every case
 *   fa_kwait -l         list the cases
 *   fa_kwait -f NAME    run the cases whose name contains NAME
 *
 * A waiter is a thread that read()s a pipe into a marker page (the
 * copy_to_user faults and waits) or process_vm_readv()s one (remote gup).
 * FA_ODIRECT_FILE names a file on a filesystem with O_DIRECT; without it
 * that case skips.  The timeout case sets the module parameter
 * kwait_timeout_ms for its run and puts it back.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "fa_cases.h"

#define SEED 0x4b1bULL
#define MSG 64			/* bytes a waiter moves */

static int g_fd = -1;
static char *g_area, *g_tmp;

/* Open the device and prepare an area of n pages with FA_PREPARE_KWAIT. */
static void setup(unsigned long npages)
{
	uint64_t prepared = 0;

	g_fd = fa_open();
	CHECK(g_fd >= 0, "open %s: %s", FA_DEVICE_PATH, strerror(errno));
	g_area = area_alloc(npages, false);
	g_tmp = area_alloc(1, false);
	CHECK(g_area && g_tmp, "mmap: %s", strerror(errno));
	CHECK_ERR(fa_prepare_flags(g_fd, g_area, npages * PAGE, 0, FA_PREPARE_KWAIT, &prepared), 0);
	CHECK(prepared == npages * PAGE, "prepared %llu bytes", (unsigned long long)prepared);
}

/* Fill g_tmp with page idx of the image and move it onto its marker. */
static void map_page(unsigned long idx)
{
	page_fill(g_tmp, SEED, idx);
	CHECK_ERR(fa_map(g_fd, g_area + idx * PAGE, g_tmp, PAGE, 0, NULL), 0);
}

enum how { PIPE_READ, REMOTE_READ };

/* A kernel access to one page, on a thread of its own. */
struct waiter {
	pthread_t thread;
	enum how how;
	char *page;
	int pfd[2];		/* PIPE_READ: MSG bytes wait in it */
	char buf[MSG];		/* REMOTE_READ: what was read */
	pid_t tid;
	long ret;
	int err;
	uint64_t t0, t1;
};

static void *waiter_run(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->t0 = now_ns();
	if (w->how == PIPE_READ) {
		w->ret = read(w->pfd[0], w->page, MSG);	/* copy_to_user into the page */
	} else {
		struct iovec local = { w->buf, MSG }, remote = { w->page, MSG };

		w->ret = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);	/* remote gup */
	}
	w->err = w->ret < 0 ? errno : 0;
	w->t1 = now_ns();
	return NULL;
}

static void waiter_start(struct waiter *w, enum how how, char *page)
{
	char msg[MSG];

	memset(w, 0, sizeof(*w));
	w->how = how;
	w->page = page;
	if (how == PIPE_READ) {
		memset(msg, 0x5a, MSG);
		CHECK(pipe(w->pfd) == 0 && write(w->pfd[1], msg, MSG) == MSG, "pipe: %s", strerror(errno));
	}
	CHECK(pthread_create(&w->thread, NULL, waiter_run, w) == 0, "pthread_create");
}

static void waiter_join(struct waiter *w)
{
	pthread_join(w->thread, NULL);
}

/* Is the waiter's thread asleep in the kernel (state S or D)? */
static bool waiter_asleep(struct waiter *w)
{
	pid_t tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);
	char path[64], stat[512], *p;
	FILE *f;

	if (!tid)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(stat, sizeof(stat), f);
	fclose(f);
	p = p ? strrchr(stat, ')') : NULL;
	return p && (p[2] == 'S' || p[2] == 'D');
}

/* The event of the next waiting page, from a blocking read() once poll() says readable. */
static struct fa_event next_event(void)
{
	struct pollfd pfd = { .fd = g_fd, .events = POLLIN };
	struct fa_event ev;

	CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll: no event within 5 s (revents %#x)",
	      pfd.revents);
	CHECK(read(g_fd, &ev, sizeof(ev)) == sizeof(ev), "read of the event fd: %s", strerror(errno));
	return ev;
}

/* No event is waiting: a non-blocking read gets EAGAIN. */
static void no_event(void)
{
	struct fa_event ev;
	int fl = fcntl(g_fd, F_GETFL);

	CHECK(fcntl(g_fd, F_SETFL, fl | O_NONBLOCK) == 0, "fcntl");
	CHECK(read(g_fd, &ev, sizeof(ev)) < 0 && errno == EAGAIN, "a read with nothing waiting: want EAGAIN, "
	      "got %s", strerror(errno));
	CHECK(fcntl(g_fd, F_SETFL, fl) == 0, "fcntl");
}

/* Wait for w's event, check it, and that its thread stays asleep until the page comes. */
static void expect_waiting(struct waiter *w, unsigned int flags)
{
	struct fa_event ev = next_event();

	CHECK(ev.addr == (uintptr_t)w->page && ev.tid == (uint32_t)w->tid && ev.flags == flags,
	      "event addr %#llx tid %u flags %#x, want %p tid %d flags %#x", (unsigned long long)ev.addr, ev.tid,
	      ev.flags, w->page, w->tid, flags);
	usleep(100000);
	CHECK(waiter_asleep(w) && !w->t1, "the access did not wait (ret %ld, %s)", w->ret, strerror(w->err));
}

/* ---- the wait ends with the page ------------------------------------------ */

/* The page holds the pipe's bytes, then the rest of the source's page idx. */
static void check_pipe_data(const char *page, unsigned long idx)
{
	static char want[PAGE];
	unsigned long i;

	for (i = 0; i < MSG; i++)
		CHECK(page[i] == 0x5a, "byte %lu is %#x, not what the pipe held", i, page[i]);
	page_fill(want, SEED, idx);
	CHECK(!memcmp(page + MSG, want + MSG, PAGE - MSG), "the rest of the page is not the source's");
}

static void test_pipe_read_waits_for_map(void)
{
	struct fa_stats st;
	struct waiter w;

	setup(4);
	waiter_start(&w, PIPE_READ, g_area + PAGE);
	expect_waiting(&w, FA_EV_KERNEL | FA_EV_WRITE);
	no_event();	/* reported once until mapped */
	map_page(1);
	waiter_join(&w);
	CHECK(w.ret == MSG, "read() into the page after the map: ret %ld, %s", w.ret, strerror(w.err));
	check_pipe_data(g_area + PAGE, 1);
	CHECK_ERR(fa_stats(g_fd, &st), 0);
	CHECK(!st.kernel_faults, "a waited access counted as a failed kernel fault");
}

static void test_remote_read_waits_for_map(void)
{
	struct waiter w;

	setup(4);
	waiter_start(&w, REMOTE_READ, g_area + 2 * PAGE);
	expect_waiting(&w, FA_EV_KERNEL);
	map_page(2);
	waiter_join(&w);
	CHECK(w.ret == MSG, "process_vm_readv after the map: ret %ld, %s", w.ret, strerror(w.err));
	CHECK(!memcmp(w.buf, g_area + 2 * PAGE, MSG), "process_vm_readv read the wrong data");
	page_fill(g_tmp, SEED, 2);
	CHECK(!memcmp(w.buf, g_tmp, MSG), "the data is not the source's page");
}

/* O_DIRECT: gup_fast fails on the marker, the slow path waits, the write completes once mapped. */
struct odirect {
	int fd;
	char *page;
	long ret;
	int err;
};

static void *odirect_write(void *arg)
{
	struct odirect *o = arg;

	o->ret = pwrite(o->fd, o->page, PAGE, 0);
	o->err = o->ret < 0 ? errno : 0;
	return NULL;
}

static void test_odirect_waits_for_map(void)
{
	const char *path = getenv("FA_ODIRECT_FILE");
	struct odirect o;
	struct fa_event ev;
	pthread_t t;
	char back[PAGE] __attribute__((aligned(PAGE)));
	int rfd;

	if (!path)
		SKIP("FA_ODIRECT_FILE not set (needs a filesystem with O_DIRECT)");
	setup(2);
	o = (struct odirect){ .fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600), .page = g_area };
	CHECK(o.fd >= 0, "open %s O_DIRECT: %s", path, strerror(errno));
	CHECK(pthread_create(&t, NULL, odirect_write, &o) == 0, "pthread_create");
	ev = next_event();
	CHECK(ev.addr == (uintptr_t)g_area && ev.flags == FA_EV_KERNEL, "event %#llx flags %#x",
	      (unsigned long long)ev.addr, ev.flags);
	map_page(0);
	pthread_join(t, NULL);
	CHECK(o.ret == PAGE, "O_DIRECT write after the map: ret %ld, %s", o.ret, strerror(o.err));
	rfd = open(path, O_RDONLY | O_DIRECT);
	CHECK(rfd >= 0 && pread(rfd, back, PAGE, 0) == PAGE, "read back: %s", strerror(errno));
	CHECK(page_check(back, SEED, 0), "the file holds the wrong data");
	close(rfd);
}

/* A user access in a KWAIT range still gets its signal (and the handler's map ends it). */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *page = (char *)((uintptr_t)si->si_addr & ~(PAGE - 1));

	(void)sig;
	(void)uc;
	page_fill(g_tmp, SEED, (page - g_area) / PAGE);
	if (fa_map(g_fd, page, g_tmp, PAGE, 0, NULL))
		_exit(20);
}

static void test_user_access_still_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	setup(2);
	sigaction(SIGBUS, &sa, NULL);
	CHECK(page_check(g_area + PAGE, SEED, 1), "the user access did not get the page through its signal");
	no_event();
}

/* Two accesses to one page are one event; another page is another. */
static void test_one_event_per_page(void)
{
	struct waiter a, b, c;
	struct fa_event ev[4];
	int n;

	setup(4);
	waiter_start(&a, PIPE_READ, g_area);
	waiter_start(&b, REMOTE_READ, g_area);
	waiter_start(&c, REMOTE_READ, g_area + 3 * PAGE);
	usleep(300000);
	CHECK(waiter_asleep(&a) && waiter_asleep(&b) && waiter_asleep(&c), "not every access waits");
	n = read(g_fd, ev, sizeof(ev));
	CHECK(n == 2 * (int)sizeof(ev[0]), "read %d bytes, want two events", n);
	CHECK((ev[0].addr == (uintptr_t)g_area) != (ev[1].addr == (uintptr_t)g_area) &&
	      ev[0].addr + ev[1].addr == 2 * (uintptr_t)g_area + 3 * PAGE, "events for %#llx and %#llx",
	      (unsigned long long)ev[0].addr, (unsigned long long)ev[1].addr);
	no_event();
	map_page(0);
	map_page(3);
	waiter_join(&a);
	waiter_join(&b);
	waiter_join(&c);
	CHECK(a.ret == MSG && b.ret == MSG && c.ret == MSG, "ret %ld %ld %ld", a.ret, b.ret, c.ret);
}

/* ---- other ends of the wait ------------------------------------------------- */

static void test_release_wakes_zero_page(void)
{
	struct waiter w;
	unsigned long i;

	setup(2);
	waiter_start(&w, PIPE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL | FA_EV_WRITE);
	CHECK_ERR(fa_release(g_fd, g_area, 2 * PAGE), 0);
	waiter_join(&w);
	CHECK(w.ret == MSG, "read() after RELEASE: ret %ld, %s", w.ret, strerror(w.err));
	for (i = MSG; i < PAGE; i++)
		CHECK(!g_area[i], "byte %lu of the released page is not zero", i);
}

static void test_close_wakes_efault(void)
{
	struct waiter w;

	setup(2);
	waiter_start(&w, PIPE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL | FA_EV_WRITE);
	close(g_fd);
	waiter_join(&w);
	CHECK(w.ret < 0 && w.err == EFAULT, "read() after close: ret %ld, %s; want EFAULT (no silent zero page)",
	      w.ret, strerror(w.err));
	CHECK(!(pagemap(g_area) & PM_PRESENT), "a page appeared under the marker");
}

static void test_munmap_wakes_efault(void)
{
	struct waiter w;

	setup(2);
	waiter_start(&w, REMOTE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL);
	CHECK(munmap(g_area, 2 * PAGE) == 0, "munmap: %s", strerror(errno));
	waiter_join(&w);
	CHECK(w.ret < 0 && w.err == EFAULT, "process_vm_readv after munmap: ret %ld, %s", w.ret, strerror(w.err));
}

static void test_timeout_efault(void)
{
	struct waiter w;
	long old;

	setup(2);
	old = fa_set_kwait_timeout(300);
	CHECK(old >= 0, "cannot set %s", FA_KWAIT_TIMEOUT_PARAM);
	waiter_start(&w, PIPE_READ, g_area);
	waiter_join(&w);
	CHECK(fa_set_kwait_timeout(old) == 300, "cannot put %s back to %ld", FA_KWAIT_TIMEOUT_PARAM, old);
	CHECK(w.ret < 0 && w.err == EFAULT, "read() after the timeout: ret %ld, %s", w.ret, strerror(w.err));
	CHECK(w.t1 - w.t0 >= 300000000ULL && w.t1 - w.t0 < 5000000000ULL, "it took %llu ms, want 300 ms",
	      (unsigned long long)(w.t1 - w.t0) / 1000000);
	/* the next access waits again, and the page still comes */
	waiter_start(&w, PIPE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL | FA_EV_WRITE);
	map_page(0);
	waiter_join(&w);
	CHECK(w.ret == MSG, "read() after the map: ret %ld, %s", w.ret, strerror(w.err));
}

/* A process whose thread waits dies of SIGKILL at once. */
static void sigkill_child(void)
{
	struct waiter w;

	setup(2);
	waiter_start(&w, PIPE_READ, g_area);
	waiter_join(&w);
	_exit(30);	/* the access ended without a kill */
}

static void test_sigkill_ends_wait(void)
{
	pid_t pid = fork();
	uint64_t t0;
	int st;

	CHECK(pid >= 0, "fork");
	if (!pid)
		sigkill_child();
	usleep(500000);
	t0 = now_ns();
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
	CHECK(now_ns() - t0 < 2000000000ULL, "the killed process took %llu ms to die",
	      (unsigned long long)(now_ns() - t0) / 1000000);
}

/* fork() while a thread waits: the child's copies are plain poison; the parent's wait still ends in the page. */
static void test_fork_while_waiting(void)
{
	struct waiter w;
	pid_t pid;
	int st;

	setup(2);
	waiter_start(&w, PIPE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL | FA_EV_WRITE);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		signal(SIGBUS, SIG_DFL);
		(void)*(volatile char *)(g_area + PAGE);
		_exit(31);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS,
	      "the child's access to a copied marker: status %#x, want SIGBUS", st);
	map_page(0);
	waiter_join(&w);
	CHECK(w.ret == MSG, "read() after the map: ret %ld, %s", w.ret, strerror(w.err));
}

static void test_rmmod_refused_while_waiting(void)
{
	struct waiter w;
	int e;

	setup(2);
	waiter_start(&w, REMOTE_READ, g_area);
	expect_waiting(&w, FA_EV_KERNEL);
	e = syscall(SYS_delete_module, "fault_area", O_NONBLOCK) ? errno : 0;
	CHECK(e == EWOULDBLOCK || e == EBUSY, "rmmod while an access waits: %s", errname(e));
	map_page(0);
	waiter_join(&w);
	CHECK(w.ret == MSG, "process_vm_readv after the map: ret %ld", w.ret);
}

/* ---- the contract ------------------------------------------------------------ */

static void test_flags_einval(void)
{
	char *a = area_alloc(2, false);
	int fd = fa_open();

	CHECK(fd >= 0 && a, "setup");
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, FA_PREPARE_UWAIT, NULL), EINVAL);
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, 1U << 2, NULL), EINVAL);
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, ~0U, NULL), EINVAL);
	CHECK_ERR(fa_prepare_flags(fd, a, PAGE, 0, FA_PREPARE_KWAIT, NULL), 0);
}

static void test_read_eagain_eperm_einval(void)
{
	struct fa_event ev;
	pid_t pid;
	int st;

	setup(1);
	no_event();
	CHECK(read(g_fd, &ev, sizeof(ev) - 1) < 0 && errno == EINVAL, "a read shorter than a record: %s",
	      strerror(errno));
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid)
		_exit(read(g_fd, &ev, sizeof(ev)) < 0 && errno == EPERM ? 0 : 32);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
	      "a read from another mm: want EPERM (status %#x)", st);
}

/* Without the flag nothing changed: the access fails at once, and no event shows. */
static void test_without_flag_fails_fast(void)
{
	int pfd[2];
	char msg[MSG] = "data";

	g_fd = fa_open();
	g_area = area_alloc(1, false);
	CHECK(g_fd >= 0 && g_area && pipe(pfd) == 0, "setup");
	CHECK_ERR(fa_prepare(g_fd, g_area, PAGE, 0, NULL), 0);
	CHECK(write(pfd[1], msg, MSG) == MSG, "pipe");
	CHECK(read(pfd[0], g_area, MSG) < 0 && errno == EFAULT, "read() into a marker: %s", strerror(errno));
	no_event();
}

static const fa_test_t fa_tests[] = {
	{ "kwait-pipe-read-waits-for-map", test_pipe_read_waits_for_map },
	{ "kwait-remote-read-waits-for-map", test_remote_read_waits_for_map },
	{ "kwait-odirect-waits-for-map", test_odirect_waits_for_map },
	{ "kwait-user-access-still-signals", test_user_access_still_signals },
	{ "kwait-one-event-per-page", test_one_event_per_page },
	{ "kwait-release-wakes-zero-page", test_release_wakes_zero_page },
	{ "kwait-close-wakes-efault", test_close_wakes_efault },
	{ "kwait-munmap-wakes-efault", test_munmap_wakes_efault },
	{ "kwait-timeout-efault", test_timeout_efault },
	{ "kwait-sigkill-ends-wait", test_sigkill_ends_wait },
	{ "kwait-fork-while-waiting", test_fork_while_waiting },
	{ "kwait-rmmod-refused-while-waiting", test_rmmod_refused_while_waiting },
	{ "kwait-flags-einval", test_flags_einval },
	{ "kwait-read-eagain-eperm-einval", test_read_eagain_eperm_einval },
	{ "kwait-without-flag-fails-fast", test_without_flag_fails_fast },
};

int main(int argc, char **argv)
{
	return fa_cases_main(argc, argv, fa_tests, sizeof(fa_tests) / sizeof(fa_tests[0]));
}
