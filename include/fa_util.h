/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fa_util.h - small helpers for userland programs that drive fault_area.ko:
 * the ioctls with errno results, page patterns, pagemap and maps snapshots.
 * Shared by the C engine (engine/c) and the self-tests (kmod/selftests),
 * so it lives in neither.
 */
#ifndef FA_UTIL_H
#define FA_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kernel-page-flags.h>

#include "../kmod/fault_area_uapi.h"

#define PAGE 4096UL

/* CLOCK_MONOTONIC in ns: the clock of every timing in the lab (and of bpf_ktime_get_ns). */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline int fa_open(void)
{
	return open(FA_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

/* Each returns 0 or the errno of the ioctl. */
static inline int fa_prepare_flags(int fd, void *start, unsigned long len, int signo, uint32_t flags,
				   uint64_t *prepared)
{
	struct fa_prepare p = { .start = (uintptr_t)start, .len = len, .signo = signo, .flags = flags };
	int err = ioctl(fd, FA_IOC_PREPARE, &p) ? errno : 0;

	if (prepared)
		*prepared = p.prepared;
	return err;
}

static inline int fa_prepare(int fd, void *start, unsigned long len, int signo, uint64_t *prepared)
{
	return fa_prepare_flags(fd, start, len, signo, 0, prepared);
}

static inline int fa_map(int fd, void *dst, void *src, unsigned long len, uint64_t flags,
			 int64_t *mapped)
{
	struct fa_map m = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len, .flags = flags,
			    .mapped = -1 };
	int err = ioctl(fd, FA_IOC_MAP, &m) ? errno : 0;

	if (mapped)
		*mapped = m.mapped;
	return err;
}

static inline int fa_mapv(int fd, const struct fa_iovec *vec, uint32_t count, uint32_t flags,
			  int64_t *mapped)
{
	struct fa_mapv v = { .vec = (uintptr_t)vec, .count = count, .flags = flags, .mapped = -1 };
	int err = ioctl(fd, FA_IOC_MAPV, &v) ? errno : 0;

	if (mapped)
		*mapped = v.mapped;
	return err;
}

static inline int fa_release(int fd, void *start, unsigned long len)
{
	struct fa_range r = { .start = (uintptr_t)start, .len = len };

	return ioctl(fd, FA_IOC_RELEASE, &r) ? errno : 0;
}

static inline int fa_stats(int fd, struct fa_stats *s)
{
	return ioctl(fd, FA_IOC_STATS, s) ? errno : 0;
}

/* Pages pinned by get_user_pages_fast() in the module, or -errno. */
static inline int64_t fa_gup(int fd, void *start, unsigned long npages)
{
	struct fa_gup g = { .start = (uintptr_t)start, .npages = npages };

	if (ioctl(fd, FA_IOC_GUP, &g))
		return -errno;
	return g.pinned;
}

/* An anonymous private area of n pages, without THP unless asked. */
static inline char *area_alloc(unsigned long npages, bool thp)
{
	char *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, npages * PAGE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p;
}

#define HUGE_BYTES (512UL * PAGE)	/* what one page table maps, one PMD (x86-64) */

/* len bytes of anonymous private memory with prot, starting on a 2 MiB boundary; NULL if none. */
static inline char *aligned_map(unsigned long len, int prot)
{
	char *map = mmap(NULL, len + HUGE_BYTES, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;

	if (map == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)map + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
	if (p > map)
		munmap(map, p - map);
	munmap(p + len, map + len + HUGE_BYTES - (p + len));
	return p;
}

/*
 * npages that start on a 2 MiB boundary, so that they share page tables
 * (and, with thp, 2 MiB of them can be one PMD-mapped THP).
 */
static inline char *huge_alloc(unsigned long npages, bool thp)
{
	char *p = aligned_map(npages * PAGE, PROT_READ | PROT_WRITE);

	if (p)
		madvise(p, npages * PAGE, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return p;
}

/* splitmix64: every (seed, page, word) gives a distinct, checkable word. */
static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void page_fill(void *p, uint64_t seed, uint64_t idx)
{
	uint64_t *w = p;
	unsigned int i;

	for (i = 0; i < PAGE / 8; i++)
		w[i] = mix64(seed ^ (idx << 12 | i));
}

static inline bool page_check(const void *p, uint64_t seed, uint64_t idx)
{
	const uint64_t *w = p;
	unsigned int i;

	for (i = 0; i < PAGE / 8; i++)
		if (w[i] != mix64(seed ^ (idx << 12 | i)))
			return false;
	return true;
}

/* The pagemap entry of addr read from an open /proc/self/pagemap, or 0. */
static inline uint64_t pagemap_at(int fd, const void *addr)
{
	uint64_t ent = 0;

	if (pread(fd, &ent, 8, (uintptr_t)addr / PAGE * 8) != 8)
		ent = 0;
	return ent;
}

/* The pagemap entry of addr: bit 63 present, bits 0-54 the pfn (root). */
static inline uint64_t pagemap(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent = fd < 0 ? 0 : pagemap_at(fd, addr);

	if (fd >= 0)
		close(fd);
	return ent;
}

#define PM_PRESENT (1ULL << 63)
#define PM_PFN(e) ((e) & ((1ULL << 55) - 1))

/* The /proc/kpageflags word of the page mapped at addr (root only: pfns), 0 if none. */
static inline uint64_t kpageflags(const void *addr)
{
	uint64_t ent = pagemap(addr), flags = 0;
	int fd;

	if (!(ent & PM_PRESENT) || !PM_PFN(ent))
		return 0;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &flags, 8, PM_PFN(ent) * 8) != 8)
		flags = 0;
	close(fd);
	return flags;
}

/* Whether the page mapped at addr is part of a transparent huge page (root only: pfns). */
static inline bool page_is_thp(const void *addr)
{
	return kpageflags(addr) & (1ULL << KPF_THP);
}

/*
 * /proc/self/maps into buf, without allocating (a malloc could itself
 * change the maps).  Returns false if it could not be read whole.
 */
static inline bool maps_snapshot(char *buf, size_t cap)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return false;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return n == 0;
}

/* Offset of the start of the first line where a and b differ. */
static inline size_t maps_first_diff(const char *a, const char *b)
{
	size_t i = 0, line = 0;

	while (a[i] && a[i] == b[i])
		if (a[i++] == '\n')
			line = i;
	return line;
}

/* AnonHugePages of the VMA holding addr, in kB (PMD-mapped THPs only); -1 if none holds it. */
static inline long vma_anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi;
	bool in = false;
	char line[256];
	long kb = -1;

	while (f && kb < 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
		else if (in)
			sscanf(line, "AnonHugePages: %ld kB", &kb);
	}
	if (f)
		fclose(f);
	return kb;
}

/* The number a sysfs or procfs file holds, or -1. */
static inline long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long n = -1;

	if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
		n = strtol(buf, NULL, 10);
	if (fd >= 0)
		close(fd);
	return n;
}

#define FA_KWAIT_TIMEOUT_PARAM "/sys/module/fault_area/parameters/kwait_timeout_ms"

/* Set the module parameter kwait_timeout_ms (root); its old value, or -1 if it could not be read and set. */
static inline long fa_set_kwait_timeout(long ms)
{
	long old = read_long(FA_KWAIT_TIMEOUT_PARAM);
	int fd = old < 0 ? -1 : open(FA_KWAIT_TIMEOUT_PARAM, O_WRONLY | O_CLOEXEC);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld", ms);
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, buf, len) == len;
	return close(fd) == 0 && ok ? old : -1;
}

/* AnonHugePages of this process, in kB. */
static inline long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

#endif /* FA_UTIL_H */
