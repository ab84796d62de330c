// SPDX-License-Identifier: GPL-2.0
/*
 * source.c - the post-copy source: a deterministic image of N pages served
 * over a socket, one thread per connection.
 *
 * Protocol, per connection: the client sends a u64 page index; the source
 * answers with the u64 index and the page.  A count of neighbours in the
 * request's bits 48..59 (FA_REQ_AROUND_SHIFT) asks for them too: the page
 * first, then the rest of fa_window() upward, each with its index.  The index FA_PUSH_REQ turns the
 * connection into a push stream: every page in order, yielding while any
 * fault request is in flight (faults have priority, as in QEMU post-copy);
 * FA_PUSH_ORDER_REQ, followed by every page index once, pushes in that order.
 * fa_image_fill() writes the same image into memory for the local source.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine_api.h"
#include "engine_int.h"

static int faults_in_flight;

int fa_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int fa_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

struct conn {
	int fd;
	long pages;
	unsigned long long seed;
};

static int send_page(int fd, unsigned long long seed, uint64_t idx, char *buf)
{
	memcpy(buf, &idx, 8);
	page_fill(buf + 8, seed, idx);
	return fa_write_all(fd, buf, 8 + FA_PAGE);
}

/* Every page, in order (order NULL: 0, 1, ...), behind any fault request in flight. */
static void push_all(struct conn *c, char *buf, const uint64_t *order)
{
	long i;

	for (i = 0; i < c->pages; i++) {
		while (__atomic_load_n(&faults_in_flight, __ATOMIC_RELAXED))
			sched_yield();
		if (send_page(c->fd, c->seed, order ? order[i] : (uint64_t)i, buf))
			return;
	}
}

/* FA_PUSH_ORDER_REQ: read the order (every page once, else the connection ends), then push in it. */
static void push_ordered(struct conn *c, char *buf)
{
	uint64_t *order = malloc(c->pages * 8);
	unsigned char *seen = calloc(c->pages, 1);
	long i;

	if (order && seen && !fa_read_all(c->fd, order, c->pages * 8)) {
		for (i = 0; i < c->pages && order[i] < (uint64_t)c->pages && !seen[order[i]]; i++)
			seen[order[i]] = 1;
		if (i == c->pages)
			push_all(c, buf, order);
	}
	free(order);
	free(seen);
}

/* A fault request: the page, then its window's other pages upward (fa_window()); -1 if the peer is gone. */
static int send_window(struct conn *c, uint64_t req, char *buf)
{
	long idx = req & FA_REQ_PAGE_MASK, lo, n, q;

	fa_window(idx, (req >> FA_REQ_AROUND_SHIFT) & FA_REQ_AROUND_MAX, c->pages, &lo, &n);
	if (send_page(c->fd, c->seed, idx, buf))
		return -1;
	for (q = lo; q < lo + n; q++)
		if (q != idx && send_page(c->fd, c->seed, q, buf))
			return -1;
	return 0;
}

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	char buf[8 + FA_PAGE];
	uint64_t req;

	while (!fa_read_all(c->fd, &req, 8)) {
		int err;

		if (req == FA_PUSH_REQ || req == FA_PUSH_ORDER_REQ) {
			if (req == FA_PUSH_REQ)
				push_all(c, buf, NULL);
			else
				push_ordered(c, buf);
			break;
		}
		if ((req & FA_REQ_PAGE_MASK) >= (uint64_t)c->pages || req >> FA_REQ_AROUND_SHIFT > FA_REQ_AROUND_MAX)
			break;		/* a bad request ends the connection */
		__atomic_add_fetch(&faults_in_flight, 1, __ATOMIC_RELAXED);
		err = send_window(c, req, buf);
		__atomic_sub_fetch(&faults_in_flight, 1, __ATOMIC_RELAXED);
		if (err)
			break;
	}
	close(c->fd);
	free(c);
	return NULL;
}

void fa_image_fill(char *buf, long pages, unsigned long long seed)
{
	long i;

	for (i = 0; i < pages; i++)
		page_fill(buf + i * FA_PAGE, seed, i);
}

static int source_serve(int listen_fd, long pages, unsigned long long seed)
{
	for (;;) {
		struct conn *c;
		pthread_t t;
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c = malloc(sizeof(*c));
		if (!c)
			return -ENOMEM;
		*c = (struct conn){ .fd = fd, .pages = pages, .seed = seed };
		if (pthread_create(&t, NULL, serve_conn, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
}

/*
 * A fork, not an exec: the child starts serving at once (a Python source took
 * 3 s to start under TCG, per run).  It keeps only the listening socket (as fd
 * 3) and stderr, so that no pipe of its parent's stays open behind it, and it
 * dies with the thread that made it (PR_SET_PDEATHSIG): a source never
 * outlives its destination.
 */
int fa_source_spawn(int listen_fd, long pages, unsigned long long seed)
{
	pid_t parent = getpid(), pid = fork();
	int null;

	if (pid)
		return pid < 0 ? -errno : pid;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(listen_fd, 3) < 0 ||
	    close_range(4, ~0U, 0))
		_exit(1);
	_exit(-source_serve(3, pages, seed) & 0xff);
}
