// SPDX-License-Identifier: GPL-2.0
/*
 * after.c - what the area can do once post-copy is over (kmod backends).
 * Each action fills res->after_vals in the slots FA_AV_<ACTION>_* (engine_api.h),
 * which engine/config.py reads by name.
 *
 *   collapse  FA_IOC_RELEASE the area, then MADV_COLLAPSE: the seed's
 *             "switch back to a regular anonymous vma" with huge pages
 *   ksm       make pages identical, MADV_MERGEABLE, wait for ksmd, then
 *             try to move a merged page (EBUSY) and to copy it (works)
 *   shared    share a page with a forked child, then the same two maps
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "engine_api.h"
#include "engine_int.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define HUGE (2UL << 20)
#define KSM_PAGES 64L
#define KSM_WAIT_MS 30000

static long *v;	/* E.res->after_vals */

static void write_long(const char *path, long n)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), len = snprintf(buf, sizeof(buf), "%ld", n);

	if (fd >= 0 && write(fd, buf, len) < 0)
		fa_fail("writing %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Move, then copy, src onto a fresh marker page: the two errnos, and whether the copy is right. */
static void map_onto_marker(char *src, long idx, int move_slot, int copy_slot, int right_slot)
{
	char *dst = area_alloc(1, false);
	int err = dst ? fa_prepare(E.fa_fd, dst, PAGE, SIGBUS, NULL) : errno;

	if (err) {
		fa_fail("after: cannot prepare a marker page: %s", strerror(err));
		return;
	}
	v[move_slot] = fa_map(E.fa_fd, dst, src, PAGE, 0, NULL);
	v[copy_slot] = fa_map(E.fa_fd, dst, src, PAGE, FA_MAP_COPY, NULL);
	v[right_slot] = !v[copy_slot] && page_check(dst, E.cfg->seed, idx);
	fa_release(E.fa_fd, dst, PAGE);
	munmap(dst, PAGE);
}

static void collapse(void)
{
	uintptr_t lo = ((uintptr_t)E.area + HUGE - 1) & ~(HUGE - 1);
	uintptr_t hi = ((uintptr_t)E.area + E.pages * PAGE) & ~(HUGE - 1);
	long p;

	v[FA_AV_COLLAPSE_HUGE_KB_BEFORE] = anon_huge_kb();
	v[FA_AV_COLLAPSE_RELEASE_ERRNO] = fa_release(E.fa_fd, E.area, E.pages * PAGE);
	v[FA_AV_COLLAPSE_COLLAPSE_ERRNO] = madvise(E.area, E.pages * PAGE, MADV_COLLAPSE) ? errno : 0;
	v[FA_AV_COLLAPSE_HUGE_KB_AFTER] = anon_huge_kb();
	v[FA_AV_COLLAPSE_HUGE_KB_POSSIBLE] = hi > lo ? (long)((hi - lo) / 1024) : 0;
	for (p = 0; p < E.pages && page_check(E.area + p * PAGE, E.cfg->seed, p); p++)
		;
	v[FA_AV_COLLAPSE_PAGES_RIGHT] = p;
}

static void ksm(void)
{
	long n = E.pages < KSM_PAGES ? E.pages : KSM_PAGES, p, waited;
	long old_run = read_long("/sys/kernel/mm/ksm/run");
	long old_sleep = read_long("/sys/kernel/mm/ksm/sleep_millisecs");

	if (old_run < 0) {
		fa_fail("after: KSM is not available (/sys/kernel/mm/ksm/run)");
		return;
	}
	for (p = 1; p < n; p++)
		memcpy(E.area + p * PAGE, E.area, PAGE);
	v[FA_AV_KSM_PAGES_IDENTICAL] = n;
	if (madvise(E.area, n * PAGE, MADV_MERGEABLE)) {
		fa_fail("after: MADV_MERGEABLE: %s", strerror(errno));
		return;
	}
	write_long("/sys/kernel/mm/ksm/sleep_millisecs", 10);
	write_long("/sys/kernel/mm/ksm/run", 1);
	for (waited = 0; waited < KSM_WAIT_MS && read_long("/proc/self/ksm_merging_pages") < n; waited += 50)
		usleep(50000);
	v[FA_AV_KSM_PAGES_MERGED] = read_long("/proc/self/ksm_merging_pages");
	v[FA_AV_KSM_WAITED_MS] = waited;
	map_onto_marker(E.area + PAGE, 0, FA_AV_KSM_MOVE_ERRNO, FA_AV_KSM_COPY_ERRNO, FA_AV_KSM_COPY_RIGHT);	/* page 1 now holds page 0's content */
	write_long("/sys/kernel/mm/ksm/run", old_run);
	write_long("/sys/kernel/mm/ksm/sleep_millisecs", old_sleep);
}

static void shared(void)
{
	char *src = area_alloc(1, false), c;
	int pfd[2];
	pid_t pid;

	if (!src || pipe(pfd)) {
		fa_fail("after: %s", strerror(errno));
		return;
	}
	page_fill(src, E.cfg->seed, 0);
	pid = fork();
	if (pid == 0) {		/* holds the COW-shared page until the parent is done */
		close(pfd[1]);
		_exit(read(pfd[0], &c, 1) < 0);
	}
	close(pfd[0]);
	if (pid < 0)
		fa_fail("after: fork: %s", strerror(errno));
	else
		map_onto_marker(src, 0, FA_AV_SHARED_MOVE_ERRNO, FA_AV_SHARED_COPY_ERRNO, FA_AV_SHARED_COPY_RIGHT);
	close(pfd[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	munmap(src, PAGE);
}

void fa_after_run(void)
{
	v = E.res->after_vals;
	if (E.fa_fd < 0) {
		fa_fail("the after-migration actions need a kmod backend");
		return;
	}
	switch (E.cfg->after) {
	case FA_AFTER_COLLAPSE:
		collapse();
		break;
	case FA_AFTER_KSM:
		ksm();
		break;
	case FA_AFTER_SHARED:
		shared();
		break;
	default:
		fa_fail("unknown after-migration action %d", E.cfg->after);
	}
}
