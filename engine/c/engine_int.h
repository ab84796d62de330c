/* SPDX-License-Identifier: GPL-2.0 */
/* engine_int.h - what the engine's C files share, beyond engine_api.h. */
#ifndef ENGINE_INT_H
#define ENGINE_INT_H

#include <setjmp.h>
#include <stdint.h>

#include "../../include/fa_util.h"

#define FA_PUSH_REQ UINT64_MAX	/* request: turn this connection into a push stream */
#define FA_PUSH_ORDER_REQ (UINT64_MAX - 1)	/* the same in the order of the `pages` u64 indexes that follow */
/* A fault request's bits 48..59: how many neighbours (fa_window()) the source sends after the page. */
#define FA_REQ_AROUND_SHIFT 48
#define FA_REQ_PAGE_MASK ((1ULL << FA_REQ_AROUND_SHIFT) - 1)
#define FA_REQ_AROUND_MAX 0xfff

/*
 * The pages [*lo, *lo + *n) that a fault on idx brings with `around`
 * neighbours: centred on idx, shifted inward at the area's ends, so that
 * around neighbours come whenever the area has them.  Source and destination
 * both compute it; the source sends idx first, then the others upward.
 */
static inline void fa_window(long idx, long around, long pages, long *lo, long *n)
{
	*n = around + 1 < pages ? around + 1 : pages;
	*lo = idx - around / 2;
	if (*lo + *n > pages)
		*lo = pages - *n;
	if (*lo < 0)
		*lo = 0;
}

int fa_write_all(int fd, const void *buf, size_t len);
int fa_read_all(int fd, void *buf, size_t len);

/* The run in progress: one per process (signal handlers reach it here). */
struct engine {
	const struct fa_cfg *cfg;
	struct fa_result *res;
	char *area;
	long pages;
	int fa_fd;		/* kmod backends */
	int uffd;		/* uffd backends */
	int abort_efd;		/* eventfd: wakes the handler thread on abort */
	unsigned char *placed;	/* per page: 1 once placed here */
	const char *image;	/* the local source: the page image, mapped read-only; else NULL */
	long nfaults, ntouches;	/* atomic indexes into res->faults, res->touches */
	long faults_cap, touches_cap;
	long pages_placed, pages_pushed, eexist, pages_prefetched, kwait_events;	/* atomic */
	long push_calls;	/* the push thread's, or prefill's */
	int batch;		/* cfg->batch, or the backend's own */
	long huge_batches;	/* the stream's */
	long khugepaged_before;	/* khugepaged's pages_collapsed as the stream began, or -1 */
	long user_copy_bytes;	/* atomic */
	unsigned long long last_progress_ns;		/* atomic */
	int abort;		/* atomic: stop now */
	int socks[FA_MAX_THREADS + 16];	/* every connection (vCPUs + handler, push, main), shut down on abort */
	int nsocks;
	char *retired[FA_MAX_THREADS + 16];	/* threads' temporary buffers, unmapped once the fault phase is over */
	long retired_pages[FA_MAX_THREADS + 16];
	long nretired;		/* atomic */
	long *seqs[FA_MAX_THREADS];	/* each vCPU's page sequence, freed with the temporary pages */
	int pagemap_fd;		/* cfg->record_pfn: /proc/self/pagemap */
	int helpers_ready;	/* atomic: handler and push threads past fa_thread_init */
	long pfn_checked, pfn_kept;	/* atomic */
	unsigned long long replay_compute_ns;	/* atomic */
};
extern struct engine E;

/*
 * Per thread: its connection to the source (-1 for the local source) and its
 * temporary buffer of npages, 2 MiB aligned (one page table: a batch out of
 * it takes one TLB flush).  tmp is the page to fill and move: the buffer's
 * first, or the slot a batch fills next.
 */
struct fa_thread {
	int sock;
	char *buf;
	long npages;
	char *tmp;
	int tid;
	int jb_set;
	sigjmp_buf jb;		/* a signal handler that must give up jumps here */
};
extern __thread struct fa_thread T;

void fa_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fa_stop(void);	/* stop the run without an error (the mprotect VMA limit) */
/* Connect, and map a buffer of npages (THP when thp); 0, or -1 once the run fails. */
int fa_thread_init(long npages, int thp);
void fa_thread_fini(void);
/* Fetch page idx into T.tmp: from the socket, or a memcpy from the local image; 0, or -1 once the run fails. */
int fa_fetch(long idx);
/* Fetch page idx into T.tmp and place it; 0, or -1 once the run stops. */
int fa_resolve(long idx, unsigned long long t_start, int tid);
/* Place T.tmp (holding page idx) at its address; 0 or an errno. */
int fa_place(long idx);
/* Place page idx[k] from src[k], k < n, with as few calls as the backend can; see backends.c. */
int fa_place_batch(const long *idx, char *const *src, int n, char *done, long *calls);

/* backends.c */
int fa_backend_setup(void);
int fa_backend_start(void);
void fa_backend_stop(void);

/* ksteps.c */
void fa_ksteps_run(int after);

/* after.c: cfg->after, once every page is placed and checked */
void fa_after_run(void);

#endif /* ENGINE_INT_H */
