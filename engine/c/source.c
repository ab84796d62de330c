// SPDX-License-Identifier: GPL-2.0
/*
 * source.c - the post-copy source: a deterministic image of N pages served
 * over a socket, one thread per connection.
 *
 * Protocol, per connection: the client sends a u64 page index; the source
 * answers with the u64 index and the page.  The index FA_PUSH_REQ turns the
 * connection into a push stream: every page in order, yielding while any
 * fault request is in flight (faults have priority, as in QEMU post-copy).
 * fa_image_fill() writes the same image into memory for the local source.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

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

static void push_all(struct conn *c, char *buf)
{
	long i;

	for (i = 0; i < c->pages; i++) {
		while (__atomic_load_n(&faults_in_flight, __ATOMIC_RELAXED))
			sched_yield();
		if (send_page(c->fd, c->seed, i, buf))
			return;
	}
}

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	char buf[8 + FA_PAGE];
	uint64_t idx;

	while (!fa_read_all(c->fd, &idx, 8)) {
		if (idx == FA_PUSH_REQ) {
			push_all(c, buf);
			break;
		}
		if (idx >= (uint64_t)c->pages)
			break;		/* a bad request ends the connection */
		__atomic_add_fetch(&faults_in_flight, 1, __ATOMIC_RELAXED);
		if (send_page(c->fd, c->seed, idx, buf)) {
			__atomic_sub_fetch(&faults_in_flight, 1, __ATOMIC_RELAXED);
			break;
		}
		__atomic_sub_fetch(&faults_in_flight, 1, __ATOMIC_RELAXED);
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

int fa_source_serve(int listen_fd, long pages, unsigned long long seed)
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
