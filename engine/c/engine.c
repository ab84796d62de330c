// SPDX-License-Identifier: GPL-2.0
/*
 * engine.c - one post-copy destination run: connect to the source (or map
 * the local page image), set the backend up, let vCPU threads touch the area in a pattern, time every
 * fault, then check every page against the source image.
 */
#define _GNU_SOURCE
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>

#include "engine_api.h"
#include "engine_int.h"

struct engine E;
__thread struct fa_thread T;
static pthread_mutex_t socks_lock = PTHREAD_MUTEX_INITIALIZER;

/* Record the first error, stop the run, and wake whatever is blocked. */
void fa_fail(const char *fmt, ...)
{
	va_list ap;

	if (!__atomic_load_n(&E.abort, __ATOMIC_SEQ_CST) && !E.res->error[0]) {
		va_start(ap, fmt);
		vsnprintf(E.res->error, sizeof(E.res->error), fmt, ap);
		va_end(ap);
		E.res->ok = 0;
	}
	fa_stop();
}

void fa_stop(void)
{
	int i;

	__atomic_store_n(&E.abort, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < E.nsocks; i++)
		shutdown(E.socks[i], SHUT_RDWR);
	if (E.abort_efd >= 0) {
		uint64_t one = 1;

		if (write(E.abort_efd, &one, 8) < 0)
			return;
	}
}

static int source_connect(const char *addr)
{
	int fd = -1;

	if (!strncmp(addr, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strncpy(sa.sun_path, addr + 5, sizeof(sa.sun_path) - 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			fd = -1;
		}
	} else if (!strncmp(addr, "tcp:", 4)) {
		char host[128], *port;
		struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
		int one = 1;

		snprintf(host, sizeof(host), "%s", addr + 4);
		port = strrchr(host, ':');
		if (!port)
			return -1;
		*port++ = 0;
		if (getaddrinfo(host, port, &hints, &ai))
			return -1;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(ai);
	}
	if (fd >= 0) {
		pthread_mutex_lock(&socks_lock);
		if (E.nsocks < (int)(sizeof(E.socks) / sizeof(E.socks[0])))
			E.socks[E.nsocks++] = fd;
		pthread_mutex_unlock(&socks_lock);
	}
	return fd;
}

int fa_thread_init(long npages, int thp)
{
	T.tid = syscall(SYS_gettid);
	T.buf = T.tmp = huge_alloc(npages, thp);
	if (!T.buf) {
		fa_fail("cannot map a temporary buffer of %ld pages: %s", npages, strerror(errno));
		return -1;
	}
	T.npages = npages;
	/* A forked helper must not share it: a shared page cannot be moved. */
	madvise(T.buf, npages * PAGE, MADV_DONTFORK);
	T.sock = -1;
	if (E.image)
		return 0;
	T.sock = source_connect(E.cfg->source_addr);
	if (T.sock < 0) {
		fa_fail("cannot connect to the source at %s: %s", E.cfg->source_addr, strerror(errno));
		return -1;
	}
	return 0;
}

/* The temporary buffer outlives its thread: an munmap during the fault phase
 * would be a VMA change that the mechanism did not make. */
void fa_thread_fini(void)
{
	long i;

	if (!T.buf)
		return;
	i = __atomic_fetch_add(&E.nretired, 1, __ATOMIC_RELAXED);
	if (i < (long)(sizeof(E.retired) / sizeof(E.retired[0]))) {
		E.retired[i] = T.buf;
		E.retired_pages[i] = T.npages;
	} else {
		munmap(T.buf, T.npages * PAGE);
	}
	T.buf = T.tmp = NULL;
}

static void record_fault(long idx, int tid, unsigned long long t0, unsigned long long t_fetched,
			 unsigned long long t_placed, int won)
{
	long i = __atomic_fetch_add(&E.nfaults, 1, __ATOMIC_RELAXED);

	if (i < E.faults_cap)
		E.res->faults[i] = (struct fa_fault){ (uintptr_t)(E.area + idx * PAGE), tid, t0,
						      t_fetched - t0, t_placed - t0, won };
}

int fa_fetch(long idx)
{
	uint64_t req = idx, got;

	if (E.image) {
		memcpy(T.tmp, E.image + idx * PAGE, PAGE);
		return 0;
	}
	if (fa_write_all(T.sock, &req, 8) || fa_read_all(T.sock, &got, 8) ||
	    fa_read_all(T.sock, T.tmp, PAGE)) {
		fa_fail("source connection lost while fetching page %ld: %s", idx, strerror(errno));
		return -1;
	}
	if (got != req) {
		fa_fail("source answered page %llu for page %ld", (unsigned long long)got, idx);
		return -1;
	}
	return 0;
}

/* Page idx is in: count it unless someone counted it first; 1 if this was the first. */
static int mark_placed(long idx)
{
	if (__atomic_exchange_n(&E.placed[idx], 1, __ATOMIC_RELAXED))
		return 0;
	__atomic_add_fetch(&E.pages_placed, 1, __ATOMIC_RELAXED);
	return 1;
}

/*
 * prefetch_around: fetch the window of a fault on idx (fa_window()) into the
 * thread's buffer, page lo + k at slot k: from the source, idx first, or
 * copied from the local image.  0, or -1 once the run fails.
 */
static int fetch_window(long idx, long lo, long n)
{
	uint64_t req = idx | (uint64_t)E.cfg->prefetch_around << FA_REQ_AROUND_SHIFT, got;
	long k;

	if (E.image) {
		memcpy(T.buf, E.image + lo * PAGE, n * PAGE);
		return 0;
	}
	if (fa_write_all(T.sock, &req, 8))
		goto lost;
	for (k = 0; k < n; k++) {
		if (fa_read_all(T.sock, &got, 8))
			goto lost;
		if (got < (uint64_t)lo || got >= (uint64_t)(lo + n) || (!k && got != (uint64_t)idx)) {
			fa_fail("source answered page %llu as page %ld of the window [%ld, %ld) of page %ld",
				(unsigned long long)got, k, lo, lo + n, idx);
			return -1;
		}
		if (fa_read_all(T.sock, T.buf + (got - lo) * PAGE, PAGE))
			goto lost;
	}
	return 0;
lost:
	fa_fail("source connection lost while fetching page %ld and its neighbours: %s", idx, strerror(errno));
	return -1;
}

/*
 * Place the faulting page idx from slot idx - lo of the buffer, then its
 * neighbours that no one placed yet, with one batch (kmod: one FA_IOC_MAPV).
 * Returns the errno of the faulting page's placement (EEXIST: lost a race).
 */
static int place_window(long idx, long lo, long n)
{
	long pick[FA_MAX_BATCH], calls = 0, q;
	char *src[FA_MAX_BATCH], done[FA_MAX_BATCH];
	int cnt = 0, k, err;

	pick[cnt] = idx;
	src[cnt++] = T.buf + (idx - lo) * PAGE;
	for (q = lo; q < lo + n; q++) {
		if (q == idx || __atomic_load_n(&E.placed[q], __ATOMIC_RELAXED))
			continue;
		pick[cnt] = q;
		src[cnt++] = T.buf + (q - lo) * PAGE;
	}
	err = fa_place_batch(pick, src, cnt, done, &calls);
	for (k = 1; k < cnt; k++)
		if (done[k] && mark_placed(pick[k]))
			__atomic_add_fetch(&E.pages_prefetched, 1, __ATOMIC_RELAXED);
	return err ? err : done[0] ? 0 : EEXIST;
}

int fa_resolve(long idx, unsigned long long t0, int tid)
{
	unsigned long long t_fetched, t_placed;
	long lo = idx, n = 1;
	int err;

	if (E.cfg->prefetch_around)
		fa_window(idx, E.cfg->prefetch_around, E.pages, &lo, &n);
	if (__atomic_load_n(&E.abort, __ATOMIC_RELAXED) || (n > 1 ? fetch_window(idx, lo, n) : fa_fetch(idx)))
		return -1;
	t_fetched = now_ns();
	err = n > 1 ? place_window(idx, lo, n) : fa_place(idx);
	t_placed = now_ns();
	if (err == EEXIST) {
		__atomic_add_fetch(&E.eexist, 1, __ATOMIC_RELAXED);
	} else if (err == ENOMEM && E.cfg->backend == FA_B_MPROTECT) {
		/* vm.max_map_count reached: the figure this backend is run for */
		E.res->vma_limit_pages = __atomic_load_n(&E.pages_placed, __ATOMIC_RELAXED);
		fa_stop();
		return -1;
	} else if (err) {
		fa_fail("placing page %ld failed: %s", idx, strerror(err));
		return -1;
	} else {
		mark_placed(idx);
	}
	__atomic_store_n(&E.last_progress_ns, t_placed, __ATOMIC_RELAXED);
	record_fault(idx, tid, t0, t_fetched, t_placed, !err);
	return 0;
}

/* ---- access patterns --------------------------------------------------- */

/* A seeded permutation of 0..n-1 (Fisher-Yates over splitmix64). */
static long *permutation(long n, unsigned long long seed)
{
	long *p = malloc(n * sizeof(*p)), i;

	for (i = 0; p && i < n; i++)
		p[i] = i;
	for (i = n - 1; p && i > 0; i--) {
		long j = mix64(seed ^ (unsigned long long)i) % (i + 1), t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static double unit(unsigned long long *state)
{
	*state = mix64(*state);
	return (*state >> 11) * (1.0 / 9007199254740992.0);
}

/* The pages thread t touches, in order; *n gets their count. */
static long *thread_sequence(int t, long *n)
{
	const struct fa_cfg *c = E.cfg;
	long pages = E.pages, share = (pages + c->threads - 1) / c->threads;
	long first = t * share, count = first >= pages ? 0 : (first + share > pages ? pages - first : share);
	long *seq = NULL, *perm = NULL, i, k;
	unsigned long long rng = c->seed ^ (0x7471ULL << 32) ^ t;

	switch (c->pattern) {
	case FA_P_SEQUENTIAL:
		seq = malloc((count + 1) * sizeof(*seq));
		for (i = 0; i < count; i++)
			seq[i] = first + i;
		break;
	case FA_P_RANDOM:
		perm = permutation(pages, c->seed);
		seq = malloc((count + 1) * sizeof(*seq));
		for (i = 0; i < count; i++)
			seq[i] = perm[first + i];
		break;
	case FA_P_STRIDE: {
		long *order = malloc(pages * sizeof(*order)), off, p;

		for (k = 0, off = 0; off < c->stride; off++)
			for (p = off; p < pages; p += c->stride)
				order[k++] = p;
		seq = malloc((count + 1) * sizeof(*seq));
		for (i = 0; i < count; i++)
			seq[i] = order[first + i];
		free(order);
		break;
	}
	case FA_P_HOT_SET:
	case FA_P_ZIPF: {
		long hot = fmax(1, c->hot_fraction * pages);
		double *cdf = NULL, norm = 0;

		count = c->accesses ? c->accesses : share;
		perm = permutation(pages, c->seed);
		seq = malloc((count + 1) * sizeof(*seq));
		if (c->pattern == FA_P_ZIPF) {
			cdf = malloc(pages * sizeof(*cdf));
			for (i = 0; i < pages; i++)
				cdf[i] = norm += 1.0 / pow(i + 1, c->zipf_s);
		}
		for (i = 0; i < count; i++) {
			double u = unit(&rng);

			if (c->pattern == FA_P_HOT_SET) {
				long r = u < c->hot_probability ? (long)(unit(&rng) * hot) :
								   (long)(unit(&rng) * pages);

				seq[i] = perm[r % pages];
			} else {
				long lo = 0, hi = pages - 1;

				while (lo < hi) {	/* the first rank whose cdf passes u */
					long mid = (lo + hi) / 2;

					if (cdf[mid] < u * norm)
						lo = mid + 1;
					else
						hi = mid;
				}
				seq[i] = perm[lo];
			}
		}
		free(cdf);
		break;
	}
	}
	free(perm);
	*n = count;
	return seq;
}

/* ---- vCPU threads -------------------------------------------------------- */

/* ready_line: every vCPU is set up (pages mapped); start_line: go */
static pthread_barrier_t ready_line, start_line;

static void touch_done(long p, unsigned long long t0, unsigned long long t1)
{
	long k = __atomic_fetch_add(&E.ntouches, 1, __ATOMIC_RELAXED);

	if (k < E.touches_cap)
		E.res->touches[k] = (struct fa_touch){ (uintptr_t)(E.area + p * PAGE), T.tid, t0, t1 };
}

/* Wait until deadline (CLOCK_MONOTONIC ns): spin a short gap, sleep most of a long one (FA_REPLAY_*). */
static void wait_until(unsigned long long deadline)
{
	unsigned long long now = now_ns();

	if (deadline > now + FA_REPLAY_SLEEP_NS) {
		unsigned long long wake = deadline - FA_REPLAY_WAKE_NS;
		struct timespec ts = { wake / 1000000000ULL, wake % 1000000000ULL };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	while (now_ns() < deadline)
		;
}

/*
 * Thread t's part of a recorded workload: each touch after its compute gap,
 * counted from the end of the thread's previous access, so that a stall
 * delays what follows and compute keeps its recorded length.  A gap shorter
 * than this loop's own time (logging, the clock, a late wake-up: tens of us
 * under TCG, where xz clears a table with 12,500 first touches in a row)
 * leaves the excess owed, and the gaps that follow are shortened by it: the
 * thread's compute keeps its recorded total, never running ahead of it.
 * Every access is logged: each is a first touch in the recording.
 */
static void replay(int t)
{
	const struct fa_cfg *c = E.cfg;
	unsigned long long prev = now_ns(), compute = 0, owed = 0;
	long i;

	for (i = c->replay_first[t]; i < c->replay_first[t + 1] && !__atomic_load_n(&E.abort, __ATOMIC_RELAXED); i++) {
		long p = c->replay_page[i];
		char *a = E.area + p * PAGE + (p % 64) * 8;
		unsigned long long gap = c->replay_gap_ns[i], t0;

		wait_until(prev + (gap > owed ? gap - owed : 0));
		t0 = now_ns();
		compute += t0 - prev;
		owed = owed + (t0 - prev) > gap ? owed + (t0 - prev) - gap : 0;
		if (c->replay_write[i])
			__atomic_fetch_add(a, 0, __ATOMIC_RELAXED);	/* a write that keeps the content */
		else
			(void)*(volatile char *)a;
		prev = now_ns();
		touch_done(p, t0, prev);
		/* a replay's progress is its touches: a baseline places nothing while it runs */
		__atomic_store_n(&E.last_progress_ns, prev, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&E.replay_compute_ns, compute, __ATOMIC_RELAXED);
}

static void *vcpu(void *arg)
{
	int t = (int)(intptr_t)arg;
	long n = 0, i, *seq = E.cfg->replay_touches ? NULL : thread_sequence(t, &n);

	if (fa_thread_init(E.cfg->prefetch_around + 1, 0))
		n = 0;
	pthread_barrier_wait(&ready_line);
	pthread_barrier_wait(&start_line);
	if (sigsetjmp(T.jb, 1))
		goto out;	/* a handler gave up: the run has failed */
	T.jb_set = 1;
	if (E.cfg->replay_touches && T.tmp)
		replay(t);
	for (i = 0; i < n && !__atomic_load_n(&E.abort, __ATOMIC_RELAXED); i++) {
		long p = seq[i];
		int first = !__atomic_load_n(&E.placed[p], __ATOMIC_RELAXED);
		unsigned long long t0 = now_ns();

		(void)*(volatile char *)(E.area + p * PAGE + (p % 64) * 8);
		if (first)
			touch_done(p, t0, now_ns());
	}
out:
	T.jb_set = 0;
	fa_thread_fini();
	E.seqs[t] = seq;	/* freed after the fault phase: a free can munmap */
	return NULL;
}

/* ---- push, watchdog ------------------------------------------------------- */

/* The next pushed page into T.tmp, the n-th in order: from the push stream, or the local image. */
static int push_next(long n, uint64_t *idx)
{
	if (E.image) {
		*idx = E.cfg->push_order ? E.cfg->push_order[n] : n;
		return __atomic_load_n(&E.placed[*idx], __ATOMIC_RELAXED) ? 0 : fa_fetch(*idx);
	}
	return fa_read_all(T.sock, idx, 8) || fa_read_all(T.sock, T.tmp, PAGE) || *idx >= (uint64_t)E.pages;
}

/* Ask the source for its push stream: in page order, or in cfg->push_order (sent after the request). */
static int push_request(void)
{
	uint64_t req = E.cfg->push_order ? FA_PUSH_ORDER_REQ : FA_PUSH_REQ, *order;
	long n;
	int err;

	if (E.image)
		return 0;
	if (!E.cfg->push_order)
		return fa_write_all(T.sock, &req, 8);
	order = malloc((E.pages + 1) * 8);
	if (!order)
		return -1;
	order[0] = req;
	for (n = 0; n < E.pages; n++)
		order[n + 1] = E.cfg->push_order[n];
	err = fa_write_all(T.sock, order, (E.pages + 1) * 8);
	free(order);
	return err;
}

/* A streamed page is in: count it (pushed: with the time), unless a fault counted it first; 1 if not. */
static int stream_done(uint64_t idx, int pushed)
{
	unsigned long long t = now_ns();
	int first = mark_placed(idx);

	if (first && pushed)
		E.res->push_t_ns[__atomic_fetch_add(&E.pages_pushed, 1, __ATOMIC_RELAXED)] = t;
	__atomic_store_n(&E.last_progress_ns, t, __ATOMIC_RELAXED);
	return first;
}

/* pages_collapsed of khugepaged (every process's), or -1 */
static long khugepaged_collapsed(void)
{
	return read_long("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed");
}

/*
 * Is this batch 2 MiB that can land as one huge page: 512 pages in order,
 * from a 2 MiB boundary of the area, read into a THP of the buffer (the
 * kernel's page flags, root only)?
 */
static bool huge_batch(const long *idx, int cnt)
{
	return cnt == HUGE_BYTES / PAGE && !(idx[0] % cnt) && idx[cnt - 1] == idx[0] + cnt - 1 &&
	       !(((uintptr_t)E.area) & (HUGE_BYTES - 1)) && page_is_thp(T.buf) &&
	       page_is_thp(T.buf + (cnt - 1) * PAGE);
}

/* Drop the pages of a batch that were placed meanwhile; the count left. */
static int unplaced(long *idx, char **src, int cnt)
{
	int k, left = 0;

	for (k = 0; k < cnt; k++)
		if (!__atomic_load_n(&E.placed[idx[k]], __ATOMIC_RELAXED)) {
			idx[left] = idx[k];
			src[left++] = src[k];
		}
	return left;
}

/*
 * The push stream's pages (prefill: the whole image before the fault phase),
 * E.batch at a time: each read into the next slot of the thread's buffer
 * (T.tmp points at it, so push_next() fills it), then placed with one
 * fa_place_batch().  A page placed meanwhile is left out; in prefill,
 * nothing else places pages, so every one must go in.
 */
static void stream(int prefill)
{
	long idx[FA_MAX_BATCH], n = 0, calls = 0;
	char *src[FA_MAX_BATCH], done[FA_MAX_BATCH];
	unsigned long long t0;
	int cnt, k, err, more = 1;

	E.khugepaged_before = khugepaged_collapsed();
	while (more && n < E.pages && !__atomic_load_n(&E.abort, __ATOMIC_RELAXED)) {
		for (cnt = 0; cnt < E.batch && n < E.pages; n++) {
			uint64_t i;

			T.tmp = src[cnt] = T.buf + cnt * PAGE;
			more = !push_next(n, &i);
			if (!more)
				break;
			if (!__atomic_load_n(&E.placed[i], __ATOMIC_RELAXED))
				idx[cnt++] = (long)i;
		}
		if (!more && prefill) {
			fa_fail("prefill: the source's stream ended after %ld of %ld pages", n, E.pages);
			break;
		}
		cnt = unplaced(idx, src, cnt);	/* faults went on while the batch was read */
		if (!cnt)
			continue;
		E.huge_batches += huge_batch(idx, cnt);
		t0 = now_ns();
		err = fa_place_batch(idx, src, cnt, done, &calls);
		E.res->stream_place_ns += now_ns() - t0;
		for (k = 0; k < cnt && !err; k++) {
			if (!done[k] && prefill)
				err = EEXIST;
			else if (done[k])
				E.res->stream_pages += stream_done(idx[k], !prefill);
		}
		if (err) {
			fa_fail("%s: placing %d pages from page %ld failed: %s", prefill ? "prefill" : "push", cnt,
				idx[0], strerror(err));
			break;
		}
	}
	T.tmp = T.buf;
	E.push_calls += calls;
}

/* Right after the stream: how much of the area is huge, and whether khugepaged made any of it. */
static void stream_measure(struct fa_result *res)
{
	long after = khugepaged_collapsed();

	res->huge_kb_placed = vma_anon_huge_kb(E.area);
	res->khugepaged_collapsed = E.khugepaged_before >= 0 && after >= 0 ? after - E.khugepaged_before : -1;
}

static void *push_thread(void *arg)
{
	(void)arg;
	if (fa_thread_init(E.batch, E.cfg->tmp_thp))
		return NULL;
	__atomic_add_fetch(&E.helpers_ready, 1, __ATOMIC_RELEASE);
	if (!push_request())
		stream(0);
	fa_thread_fini();
	return NULL;
}

static int watchdog_stop;

static void *watchdog(void *arg)
{
	long long limit = (long long)E.cfg->timeout_ms * 1000000LL;

	(void)arg;
	while (!__atomic_load_n(&watchdog_stop, __ATOMIC_RELAXED)) {
		long placed = __atomic_load_n(&E.pages_placed, __ATOMIC_RELAXED);
		long long idle;

		usleep(50000);
		if (E.cfg->progress_fd >= 0 && write(E.cfg->progress_fd, &placed, 8) < 0)
			;	/* progress is best effort */
		/* last before now: a placement in between must not look like the future */
		idle = -(long long)__atomic_load_n(&E.last_progress_ns, __ATOMIC_SEQ_CST);
		idle += (long long)now_ns();
		if (limit && idle > limit)
			fa_fail("no page placed for %d ms: the source or the handler is stuck",
				E.cfg->timeout_ms);
	}
	return NULL;
}

/* ---- measurements and checks ------------------------------------------------ */

/* FNV-1a of /proc/self/maps and its line count, read without allocating. */
static void maps_digest(unsigned long long *hash, long *lines)
{
	char buf[4096];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	unsigned long long h = 0xcbf29ce484222325ULL;
	long n = 0;
	ssize_t got, i;

	while (fd >= 0 && (got = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < got; i++) {
			h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
			n += buf[i] == '\n';
		}
	if (fd >= 0)
		close(fd);
	*hash = h;
	*lines = n;
}

/* VMAs that overlap the area, from /proc/self/maps. */
static long count_area_vmas(void)
{
	unsigned long lo = (uintptr_t)E.area, hi = lo + E.pages * PAGE, start, end;
	long n = 0;
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start < hi && end > lo)
			n++;
	if (f)
		fclose(f);
	return n;
}

/*
 * The smaps entry of the VMA at the area's start: its maps line (whether it
 * is /dev/zero, private) and its THP state, read while the area is mapped.
 */
static void area_smaps(struct fa_result *res)
{
	unsigned long start, end;
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int in = 0;

	res->area_thp_eligible = res->area_huge_kb = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = start == (uintptr_t)E.area;
			if (in)
				snprintf(res->area_map, sizeof(res->area_map), "%.*s", (int)strcspn(line, "\n"), line);
		} else if (in) {
			sscanf(line, "THPeligible: %ld", &res->area_thp_eligible);
			sscanf(line, "AnonHugePages: %ld kB", &res->area_huge_kb);
		}
	}
	if (f)
		fclose(f);
}

static long area_rss_kb(void)
{
	unsigned char *vec = malloc(E.pages);
	long i, n = 0;

	if (vec && !mincore(E.area, E.pages * PAGE, vec))
		for (i = 0; i < E.pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * (PAGE / 1024);
}

/*
 * The no-fault baseline: every page placed before the fault phase.  The pages
 * come as a push stream (page 0 up, or the push order), not a request each:
 * a round trip per page made the baseline's prefill take longer than its
 * replay under TCG.  Its pages count as placed, not pushed.
 */
static void prefill(struct fa_result *res)
{
	if (fa_thread_init(E.batch, E.cfg->tmp_thp))
		return;
	res->prefill_t0_ns = now_ns();	/* the buffer is mapped: from here on, no VMA changes */
	if (push_request())
		fa_fail("prefill: cannot ask the source for its push stream: %s", strerror(errno));
	else
		stream(1);
	fa_thread_fini();
	res->prefill_t1_ns = now_ns();
	stream_measure(res);
}

/* Touch pages no vCPU touched (hot-set, zipf), so that every page is checked. */
static void drain(void)
{
	long p;

	if (fa_thread_init(E.cfg->prefetch_around + 1, 0))
		return;
	if (sigsetjmp(T.jb, 1) == 0) {
		T.jb_set = 1;
		for (p = 0; p < E.pages && !__atomic_load_n(&E.abort, __ATOMIC_RELAXED); p++)
			if (!__atomic_load_n(&E.placed[p], __ATOMIC_RELAXED))
				(void)*(volatile char *)(E.area + p * PAGE);
	}
	T.jb_set = 0;
	fa_thread_fini();
}

static void verify(struct fa_result *res)
{
	long p;

	for (p = 0; p < E.pages; p++) {
		if (!E.placed[p]) {
			if (res->missing_pages < FA_MAX_FIRST)
				res->first_missing[res->missing_pages] = p;
			res->missing_pages++;
		} else if (!page_check(E.area + p * PAGE, E.cfg->seed, p)) {
			if (res->bad_pages < FA_MAX_FIRST)
				res->first_bad[res->bad_pages] = p;
			res->bad_pages++;
		}
	}
	if (res->ok && res->bad_pages)
		snprintf(res->error, sizeof(res->error), "%ld pages differ from the source, first %ld",
			 res->bad_pages, res->first_bad[0]);
	if (res->bad_pages)
		res->ok = 0;
}

/*
 * The local source: map the page image read-only, once, before the fault
 * phase (its VMA is then part of the maps it starts with).  MAP_POPULATE, so
 * that a fetch is the memcpy alone, not a fault on the image as well.
 */
static int image_map(void)
{
	const char *path = E.cfg->source_addr + 6;
	int fd;
	struct stat st;
	void *p = MAP_FAILED;

	if (strncmp(E.cfg->source_addr, "local:", 6))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st)) {
		/* a short file would SIGBUS a fetch: refuse it here */
		if ((unsigned long)st.st_size < E.pages * PAGE)
			errno = EINVAL;
		else
			p = mmap(NULL, E.pages * PAGE, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	}
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		snprintf(E.res->error, sizeof(E.res->error), "cannot map the page image %s (%ld pages): %s", path,
			 E.pages, strerror(errno));
		E.res->ok = 0;
		return -1;
	}
	E.image = p;
	return 0;
}

static void image_unmap(void)
{
	if (E.image)
		munmap((void *)E.image, E.pages * PAGE);
	E.image = NULL;
}

/* Helpers map their buffers before pages are placed, so that the maps stay still while they are. */
static void wait_helpers(int helpers)
{
	while (__atomic_load_n(&E.helpers_ready, __ATOMIC_ACQUIRE) < helpers &&
	       !__atomic_load_n(&E.abort, __ATOMIC_RELAXED))
		usleep(1000);
}

int fa_engine_run(const struct fa_cfg *cfg, struct fa_result *res)
{
	pthread_t threads[FA_MAX_THREADS], push, dog;
	unsigned long long t0;
	int i, have_push = 0, helpers;

	memset(res, 0, sizeof(*res));
	memset(&E, 0, sizeof(E));
	res->ok = 1;
	res->vma_limit_pages = -1;
	E.cfg = cfg;
	E.res = res;
	E.pages = cfg->pages;
	E.fa_fd = E.uffd = E.pagemap_fd = -1;
	E.batch = cfg->batch ? cfg->batch :
		  cfg->backend == FA_B_KMOD || cfg->backend == FA_B_KMOD_COPY ? FA_PUSH_BATCH : 1;
	res->huge_kb_placed = res->khugepaged_collapsed = -1;
	E.abort_efd = eventfd(0, EFD_CLOEXEC);
	E.faults_cap = 2 * cfg->pages + 4096;
	E.touches_cap = 2 * cfg->pages + 4096;
	res->faults = calloc(E.faults_cap, sizeof(*res->faults));
	res->touches = calloc(E.touches_cap, sizeof(*res->touches));
	res->push_t_ns = calloc(cfg->pages, sizeof(*res->push_t_ns));	/* a page is pushed once at most */
	E.placed = calloc(cfg->pages, 1);
	if (cfg->threads < 1 || cfg->threads > FA_MAX_THREADS || E.batch > FA_MAX_BATCH ||
	    cfg->prefetch_around < 0 || cfg->prefetch_around >= FA_MAX_BATCH || !res->faults || !res->touches ||
	    !res->push_t_ns || !E.placed) {
		snprintf(res->error, sizeof(res->error), "bad thread count, batch or prefetch, or out of memory");
		return res->ok = 0;
	}
	if (image_map() || fa_backend_setup()) {	/* they said why */
		image_unmap();
		close(E.abort_efd);
		free(E.placed);
		return 0;
	}
	if (cfg->record_pfn)
		E.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	res->area_start = (uintptr_t)E.area;
	res->vmas_before = count_area_vmas();
	E.last_progress_ns = now_ns();
	helpers = fa_backend_start();
	wait_helpers(helpers);	/* the uffd handler maps its buffer: not while prefill places pages */
	if (cfg->prefill)
		prefill(res);	/* before the watchdog and the push: no fault and no push is left to do */
	pthread_create(&dog, NULL, watchdog, NULL);
	fa_ksteps_run(0);
	if (cfg->push)
		have_push = !pthread_create(&push, NULL, push_thread, NULL);
	helpers += have_push;
	wait_helpers(helpers);
	pthread_barrier_init(&ready_line, NULL, cfg->threads + 1);
	pthread_barrier_init(&start_line, NULL, cfg->threads + 1);
	for (i = 0; i < cfg->threads; i++)
		pthread_create(&threads[i], NULL, vcpu, (void *)(intptr_t)i);
	pthread_barrier_wait(&ready_line);
	/* every thread has mapped what it needs: the maps must stay as they are until the end */
	maps_digest(&res->maps_hash_before, &res->maps_lines_before);
	pthread_barrier_wait(&start_line);
	t0 = res->t_start_ns = now_ns();
	for (i = 0; i < cfg->threads; i++)
		pthread_join(threads[i], NULL);
	res->t_end_ns = now_ns();
	res->wall_ns = res->t_end_ns - t0;
	maps_digest(&res->maps_hash_after, &res->maps_lines_after);
	if (have_push) {
		pthread_join(push, NULL);
		stream_measure(res);
	}
	if (res->vma_limit_pages < 0)
		drain();
	fa_ksteps_run(1);
	res->vmas_after = count_area_vmas();
	__atomic_store_n(&watchdog_stop, 1, __ATOMIC_RELAXED);
	pthread_join(dog, NULL);
	watchdog_stop = 0;
	res->nfaults = E.nfaults < E.faults_cap ? E.nfaults : E.faults_cap;
	res->ntouches = E.ntouches < E.touches_cap ? E.ntouches : E.touches_cap;
	res->push_calls = E.push_calls;
	res->pages_prefetched = E.pages_prefetched;
	res->kwait_events = E.kwait_events;
	res->huge_batches = E.huge_batches;
	res->pages_placed = E.pages_placed;
	res->pages_pushed = res->npushes = E.pages_pushed;
	res->eexist = E.eexist;
	res->user_copy_bytes = E.user_copy_bytes;
	res->pfn_checked = E.pfn_checked;
	res->pfn_kept = E.pfn_kept;
	res->replay_compute_ns = E.replay_compute_ns;
	res->rss_kb = area_rss_kb();
	area_smaps(res);
	verify(res);
	if (res->ok && cfg->after)
		fa_after_run();
	fa_backend_stop();
	for (i = 0; i < E.nretired && i < (long)(sizeof(E.retired) / sizeof(E.retired[0])); i++)
		munmap(E.retired[i], E.retired_pages[i] * PAGE);
	for (i = 0; i < cfg->threads; i++)
		free(E.seqs[i]);
	if (E.pagemap_fd >= 0)
		close(E.pagemap_fd);
	for (i = 0; i < E.nsocks; i++)
		close(E.socks[i]);
	close(E.abort_efd);
	munmap(E.area, E.pages * PAGE);
	image_unmap();
	free(E.placed);
	return res->ok;
}

void fa_engine_free(struct fa_result *res)
{
	free(res->faults);
	free(res->touches);
	free(res->push_t_ns);
	res->faults = NULL;
	res->touches = NULL;
	res->push_t_ns = NULL;
}
