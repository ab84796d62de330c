/*
 * engine_api.h - the C engine's interface, read by cffi as its cdef (so it
 * holds plain declarations only) and included by the C sources.
 *
 * A post-copy destination: an area of `pages` pages starts empty, `threads`
 * vCPU threads touch it, and each missing page is fetched into a temporary
 * page (from the source process over a socket, or copied from a page image
 * in shared memory), then placed by a backend.
 */

#define FA_PAGE 4096

/*
 * Every FA_* integer below reaches Python as lib.FA_* (cffi); engine/config.py
 * derives the names of backends (FA_B_*), patterns (FA_P_*), kernel steps
 * (FA_K_*) and after-migration actions (FA_AFTER_*) from these constant names.
 */

/* backends */
#define FA_B_KMOD 0
#define FA_B_KMOD_COPY 1
#define FA_B_UFFD_COPY 2
#define FA_B_UFFD_MOVE 3
#define FA_B_UFFD_SIGBUS 4
#define FA_B_UFFD_SIGBUS_MOVE 5
#define FA_B_MPROTECT 6

/* access patterns */
#define FA_P_SEQUENTIAL 0
#define FA_P_RANDOM 1
#define FA_P_HOT_SET 2
#define FA_P_ZIPF 3
#define FA_P_STRIDE 4

/* kernel-access steps */
#define FA_K_ODIRECT 0
#define FA_K_PROCESS_VM_READV 1
#define FA_K_PIPE_READ 2
#define FA_K_PIPE_WRITE 3

#define FA_MAX_KSTEPS 16		/* kernel steps per run */
#define FA_MAX_THREADS 256	/* vCPU threads per run */
#define FA_MAX_FIRST 8		/* first_bad[], first_missing[] */
#define FA_MAX_AFTER_VALS 8	/* after_vals[] */

/*
 * A replay waits out a recorded compute gap by spinning when it is shorter
 * than FA_REPLAY_SLEEP_NS (a sleep's wake-up under TCG is late by a large
 * share of such a gap), else by sleeping until FA_REPLAY_WAKE_NS before the
 * deadline and spinning the rest (a long gap is not worth a vCPU).
 */
#define FA_REPLAY_SLEEP_NS 1000000
#define FA_REPLAY_WAKE_NS 200000

/* what to do once every page is placed (kmod backends) */
#define FA_AFTER_NONE 0
#define FA_AFTER_COLLAPSE 1	/* FA_IOC_RELEASE, then MADV_COLLAPSE of the area */
#define FA_AFTER_KSM 2		/* duplicate pages, MADV_MERGEABLE, then move a merged page */
#define FA_AFTER_SHARED 3	/* move a page shared with a forked child, then copy it */

/* the slots of after_vals[] each action fills: FA_AV_<ACTION>_<FIGURE> */
#define FA_AV_COLLAPSE_HUGE_KB_BEFORE 0	/* AnonHugePages kB before */
#define FA_AV_COLLAPSE_RELEASE_ERRNO 1
#define FA_AV_COLLAPSE_COLLAPSE_ERRNO 2
#define FA_AV_COLLAPSE_HUGE_KB_AFTER 3
#define FA_AV_COLLAPSE_HUGE_KB_POSSIBLE 4	/* kB of the area that huge pages can cover */
#define FA_AV_COLLAPSE_PAGES_RIGHT 5	/* pages still matching the image, from the first */
#define FA_AV_KSM_PAGES_IDENTICAL 0
#define FA_AV_KSM_PAGES_MERGED 1
#define FA_AV_KSM_WAITED_MS 2
#define FA_AV_KSM_MOVE_ERRNO 3		/* FA_IOC_MAP of a merged page */
#define FA_AV_KSM_COPY_ERRNO 4		/* the same with FA_MAP_COPY */
#define FA_AV_KSM_COPY_RIGHT 5		/* the copy holds the right content */
#define FA_AV_SHARED_MOVE_ERRNO 0
#define FA_AV_SHARED_COPY_ERRNO 1
#define FA_AV_SHARED_COPY_RIGHT 2

struct fa_kstep_result {
	int kind;
	long page;
	long before_ret;	/* bytes, or -1 */
	int before_errno;	/* while the page was missing */
	long after_ret;
	int after_errno;	/* after the page was placed */
	int before_tid, after_tid;	/* the thread that made the access (a helper for remote reads) */
	unsigned long long before_t0, before_t1;	/* CLOCK_MONOTONIC around the access */
	unsigned long long after_t0, after_t1;
};

struct fa_cfg {
	int backend;
	long pages;
	int threads;
	int pattern;
	unsigned long long seed;
	double hot_fraction;	/* hot-set: share of pages that are hot */
	double hot_probability;	/* hot-set: share of accesses that go to them */
	double zipf_s;		/* zipf exponent */
	long accesses;		/* hot-set/zipf: accesses per thread (0: pages/threads) */
	long stride;		/* stride: step in pages */
	int thp;
	int dev_zero;		/* map /dev/zero MAP_PRIVATE instead of anonymous */
	const char *source_addr;	/* "unix:PATH", "tcp:HOST:PORT", or "local:PATH": a page image file */
	int push;		/* a background push connection */
	int timeout_ms;		/* no progress for this long: fail the run */
	int nksteps;
	int ksteps[FA_MAX_KSTEPS];		/* FA_K_* */
	long kstep_pages[FA_MAX_KSTEPS];
	const char *odirect_path;
	int progress_fd;	/* -1, or a pipe: 8-byte count of pages placed, now and then */
	int record_pfn;		/* read the pfn of every moved page before and after (pagemap) */
	int after;		/* FA_AFTER_* */
	/* a recorded workload replaces the pattern when replay_touches > 0: its touches grouped by thread */
	long replay_touches;
	const long *replay_page;	/* the area page of each touch */
	const unsigned long long *replay_gap_ns;	/* compute before it, from the thread's previous access */
	const unsigned char *replay_write;	/* 1: a write access */
	const long *replay_first;	/* threads + 1 offsets: thread t's touches are [first[t], first[t + 1]) */
	const long *push_order;	/* the push stream's order, every page once; NULL: sequential */
	int prefill;		/* place every page before the fault phase (a no-fault baseline) */
	int batch;		/* pages a placement call of the push stream or prefill places (0: the backend's
				 * own, FA_PUSH_BATCH for kmod, else 1); at most FA_MAX_BATCH */
	int tmp_thp;		/* the stream's buffer is THP: 2 MiB of the source arrives as one huge page */
	int prefetch_around;	/* a fault also fetches and places this many neighbours (fa_window()) */
	int kernel_wait;	/* kmod: FA_PREPARE_KWAIT, and a handler thread on the file's fault events */
};

struct fa_fault {
	unsigned long long addr;
	int tid;		/* the faulting thread */
	unsigned long long t_start_ns;	/* CLOCK_MONOTONIC at handler entry / event read */
	unsigned long long fetch_ns;	/* entry to the page in the temporary page */
	unsigned long long resolve_ns;	/* entry to the place call's return */
	int won;		/* 1: this placement put the page in; 0: it lost a race (EEXIST) */
};

/* A first touch of a page, as its vCPU thread saw it. */
struct fa_touch {
	unsigned long long addr;
	int tid;
	unsigned long long t0_ns, t1_ns;	/* CLOCK_MONOTONIC before the access, and once it completed */
};

struct fa_result {
	int ok;
	char error[256];
	long nfaults;		/* records in faults[] */
	struct fa_fault *faults;
	long ntouches;
	struct fa_touch *touches;	/* first touches, as a vCPU thread saw them */
	unsigned long long wall_ns;	/* first access to last access */
	long pages_placed;
	long pages_pushed;
	long push_calls;	/* placement calls of the push stream and of prefill (ioctls; kmod: one FA_IOC_MAPV a batch) */
	long stream_pages;	/* pages the push stream and prefill placed */
	unsigned long long stream_place_ns;	/* their time inside placement calls */
	long pages_prefetched;	/* pages placed as a fault's neighbours (prefetch_around) */
	long kwait_events;	/* kernel_wait: fault events read (kernel accesses waiting for a page) */
	unsigned long long prefill_t0_ns, prefill_t1_ns;	/* CLOCK_MONOTONIC: prefill's start and end; 0 without */
	long huge_batches;	/* batches of 2 MiB, aligned at dst, read into a THP of the buffer and placed */
	long huge_kb_placed;	/* the area's AnonHugePages once the stream ended (prefill; push: at its join); -1 */
	long khugepaged_collapsed;	/* khugepaged's pages_collapsed over the stream up to that reading; -1 */
	long eexist;
	long user_copy_bytes;	/* bytes placement copied in user space (the mprotect backend's memcpy) */
	long vmas_before;	/* VMAs overlapping the area */
	long vmas_after;
	long rss_kb;
	long bad_pages;		/* pages that differ from the source image */
	long first_bad[FA_MAX_FIRST];
	long missing_pages;	/* never arrived */
	long first_missing[FA_MAX_FIRST];
	long vma_limit_pages;	/* mprotect: pages placed when mprotect hit ENOMEM, else -1 */
	unsigned long long area_start;	/* where the area was mapped */
	unsigned long long t_start_ns, t_end_ns;	/* CLOCK_MONOTONIC: the fault phase */
	unsigned long long maps_hash_before, maps_hash_after;	/* FNV-1a of /proc/self/maps */
	long maps_lines_before, maps_lines_after;	/* its lines: every VMA of the process */
	char area_map[256];	/* the /proc/self/maps line of the VMA at the area's start, after the run */
	long area_thp_eligible, area_huge_kb;	/* its smaps THPeligible and AnonHugePages kB (-1: not read) */
	long pfn_checked;	/* record_pfn: places whose pfns were read */
	long pfn_kept;		/* and where the page kept its pfn (a move, not a copy) */
	long after_vals[FA_MAX_AFTER_VALS];	/* the FA_AFTER_* action's figures, slots FA_AV_* */
	unsigned long long replay_compute_ns;	/* a replay: the time its threads spent between accesses */
	long npushes;		/* records in push_t_ns[] */
	unsigned long long *push_t_ns;	/* per pushed page, CLOCK_MONOTONIC once placed */
	int nksteps;
	struct fa_kstep_result ksteps[FA_MAX_KSTEPS];
};

#define FA_PUSH_BATCH 64	/* the kmod backends' default batch */
#define FA_MAX_BATCH 512	/* batch, and prefetch_around + 1: one page table of the buffer */

int fa_engine_run(const struct fa_cfg *cfg, struct fa_result *res);
void fa_engine_free(struct fa_result *res);

/* the source: a child process serving the image (seed, pages) on a listening socket; its pid, or -errno */
int fa_source_spawn(int listen_fd, long pages, unsigned long long seed);
/* the same image in memory, for the local source: pages * FA_PAGE bytes at buf */
void fa_image_fill(char *buf, long pages, unsigned long long seed);
