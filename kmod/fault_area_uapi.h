/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fault_area_uapi.h - the contract between fault_area.ko and userland.
 *
 * All addresses are in the address space of the process that opened
 * FA_DEVICE_PATH; an ioctl from any other mm fails with EPERM.
 * No ioctl here creates, splits, merges or changes a VMA.
 */
#ifndef _UAPI_FAULT_AREA_H
#define _UAPI_FAULT_AREA_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FA_DEVICE_PATH "/dev/fault_area"

/* FA_IOC_PREPARE: discard [start, start+len) and fill it with markers. */
struct fa_prepare {
	__u64 start;	/* (in) page aligned */
	__u64 len;	/* (in) page aligned, > 0 */
	__u32 signo;	/* (in) signal for a user-mode access to a marker; 0 = SIGBUS; SIGBUS or
			 * SIGSEGV (address in si_addr), or 32..64 (SIGRTMIN..SIGRTMAX,
			 * SI_QUEUE, address in si_value.sival_ptr) */
	__u32 flags;	/* (in) 0 or FA_PREPARE_KWAIT */
	__u64 prepared;	/* (out) bytes now holding markers */
};
/*
 * A kernel access to a marker of the range (gup, uaccess) waits until the
 * page is mapped, where the fault may retry, instead of failing at once; it
 * shows on the file as a struct fa_event (read(), poll()).  A user access
 * still gets the signal.
 */
#define FA_PREPARE_KWAIT (1U << 0)   /* fa_prepare.flags: kernel accesses wait */
#define FA_PREPARE_UWAIT (1U << 1)   /* optional: user accesses wait too, no signal (not implemented: EINVAL) */

/* FA_IOC_MAP: move (or copy) the pages of [src, src+len) onto the markers of [dst, dst+len). */
struct fa_map {
	__u64 dst;	/* (in) page aligned; every page must hold a marker */
	__u64 src;	/* (in) page aligned; every page present, anonymous, exclusive */
	__u64 len;	/* (in) page aligned, > 0 */
	__u64 flags;	/* (in) 0 or FA_MAP_COPY */
	__s64 mapped;	/* (out) bytes mapped; on error, the bytes done before it */
};
#define FA_MAP_COPY	(1ULL << 0)	/* copy into a new page; src is left as it was */

/* FA_IOC_RELEASE: markers in the range become empty ptes; the range is unregistered. */
struct fa_range {
	__u64 start;	/* (in) page aligned */
	__u64 len;	/* (in) page aligned, > 0 */
};

/* FA_IOC_STATS: counters of this open file. */
struct fa_stats {
	__u64 pages_prepared;	/* markers installed */
	__u64 pages_mapped;	/* markers replaced by FA_IOC_MAP */
	__u64 user_faults;	/* user-mode accesses to a marker (signals sent) */
	__u64 kernel_faults;	/* kernel accesses to a marker (gup, uaccess) that failed */
	__u64 map_errors;	/* FA_IOC_MAP calls that failed */
};

/* FA_IOC_GUP: test hook; get_user_pages_fast() on the range, pages released at once. */
struct fa_gup {
	__u64 start;	/* (in) page aligned */
	__u64 npages;	/* (in) > 0 */
	__s64 pinned;	/* (out) pages returned, or -errno */
};

/*
 * FA_IOC_MAPV: FA_IOC_MAP of many ranges in one call.  Each element follows
 * FA_IOC_MAP's rules and errors, in order; the first error ends the call.
 * The pages of one element that share their src and dst page tables move
 * under one lock hold with one TLB flush (kmod/README.md).
 */
struct fa_iovec {
	__u64 dst;	/* (in) as fa_map.dst */
	__u64 src;	/* (in) as fa_map.src */
	__u64 len;	/* (in) as fa_map.len */
};

struct fa_mapv {
	__u64 vec;	/* (in) user pointer to struct fa_iovec[count] */
	__u32 count;	/* (in) 1..FA_MAPV_MAX */
	__u32 flags;	/* (in) 0 or FA_MAP_COPY */
	__s64 mapped;	/* (out) bytes placed; on error, the bytes done before it */
};
#define FA_MAPV_MAX	1024

/*
 * read() of the file: one record per page a kernel access waits for, once
 * until the page is mapped (poll() says readable while one is unread).
 */
struct fa_event {
	__u64 addr;	/* (out) page aligned */
	__u32 tid;	/* (out) the waiting thread, as gettid() shows it */
	__u32 flags;	/* (out) FA_EV_* */
};
#define FA_EV_KERNEL (1U << 0)
#define FA_EV_WRITE  (1U << 1)

#define FA_IOC_MAGIC	0xFA
#define FA_IOC_PREPARE	_IOWR(FA_IOC_MAGIC, 0x01, struct fa_prepare)
#define FA_IOC_MAP	_IOWR(FA_IOC_MAGIC, 0x02, struct fa_map)
#define FA_IOC_RELEASE	_IOW(FA_IOC_MAGIC, 0x03, struct fa_range)
#define FA_IOC_STATS	_IOR(FA_IOC_MAGIC, 0x04, struct fa_stats)
#define FA_IOC_GUP	_IOWR(FA_IOC_MAGIC, 0x05, struct fa_gup)
#define FA_IOC_MAPV	_IOWR(FA_IOC_MAGIC, 0x06, struct fa_mapv)

#endif /* _UAPI_FAULT_AREA_H */
