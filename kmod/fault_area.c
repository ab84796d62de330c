// SPDX-License-Identifier: GPL-2.0
/*
 * fault_area.ko - magic ptes that signal, and a zero-copy pte-move map,
 * after Andrea Arcangeli's 2011 fault_area_prepare/fault_area_map proposal.
 *
 * The contract with userland is fault_area_uapi.h.  Every ioctl acts on the
 * mm of the process that opened /dev/fault_area; any other mm gets EPERM.
 * No ioctl creates, splits, merges or changes a VMA: only ptes change.
 *
 * A marker is a PTE_MARKER_POISONED entry: non-present, so gup_fast cannot
 * take it; copied by fork; and without this module a fault on it is a plain
 * SIGBUS.  Faults on non-present ptes reach do_swap_page(), which an ftrace
 * hook (IPMODIFY) redirects to fa_fault_hook() for our own markers (those
 * with FA_MARKER_OWN); everything else goes on to the real do_swap_page().
 *
 * Tracepoints (fault_area_trace.h), an _enter and an _exit event each:
 *   fa_fault_hook    a fault on one of our markers (exit: the vm_fault_t)
 *   fa_kwait         a kernel access sleeping for its page (exit: what woke it)
 *   fa_prepare       one FA_IOC_PREPARE (exit: 0 or -errno)
 *   fa_map           one FA_IOC_MAP call (exit: 0 or -errno)
 *   fa_map_page      one page of FA_IOC_MAP (exit: 0 or -errno)
 *   fa_release_range one FA_IOC_RELEASE (exit: 0 or -errno)
 *
 * Lock order:
 *   PREPARE, RELEASE, the mmu notifier (munmap): mmap_lock -> fm->lock.
 *   close: fm->lock, then (not nested) fa_lock.  open: fa_lock alone.
 *   fa_lock guards only the fa_mms hash and each fa_mm's nfiles; fm->lock,
 *   one per mm, guards that mm's registry (the maple tree's external lock),
 *   so one mm's long close or PREPARE never holds up another mm's munmap.
 *   MAP (mmap_read_lock, neither lock: its registry lookup is RCU):
 *     mmap_lock -> [mmu notifier range] -> folio lock -> anon_vma lock (write)
 *     -> the dst and src pte locks, in the order of their addresses.
 *     A src page is faulted in (swap, migration) with only mmap_lock held.
 * The fault path takes none of these for its lookup: RCU only.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/ftrace.h>
#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/kprobes.h>
#include <linux/maple_tree.h>
#include <linux/memcontrol.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_context.h>		/* arch_vma_access_permitted() */
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/swap.h>		/* before swapops.h, which needs it */
#include <linux/swapops.h>
#include <linux/uaccess.h>
#include <asm/ibt.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include "fault_area_uapi.h"
#define CREATE_TRACE_POINTS
#include "fault_area_trace.h"

/* Kernel functions this module needs that are not exported, found at load. */
static struct {
	vm_fault_t (*do_swap_page)(struct vm_fault *vmf);
	pte_t *(*pte_offset_map_nolock)(struct mm_struct *mm, pmd_t *pmd,
					unsigned long addr, spinlock_t **ptlp);
	pte_t *(*pte_offset_map_lock)(struct mm_struct *mm, pmd_t *pmd,
				      unsigned long addr, spinlock_t **ptlp);
	pte_t (*ptep_clear_flush)(struct vm_area_struct *vma, unsigned long addr, pte_t *ptep);
	struct folio *(*vm_normal_folio)(struct vm_area_struct *vma, unsigned long addr, pte_t pte);
	void (*split_pmd)(struct vm_area_struct *vma, pmd_t *pmd, unsigned long addr,
			       bool freeze, struct folio *folio);
	int (*split_folio_to)(struct page *page, struct list_head *list, unsigned int new_order);
	struct anon_vma *(*folio_get_anon_vma)(struct folio *folio);
	void (*put_anon_vma)(struct anon_vma *anon_vma);
	int (*anon_vma_prepare)(struct vm_area_struct *vma);
	void (*folio_move_anon_rmap)(struct folio *folio, struct vm_area_struct *vma);
	void (*folio_add_new_anon_rmap)(struct folio *folio, struct vm_area_struct *vma,
					unsigned long addr, rmap_t flags);
	void (*folio_add_lru_vma)(struct folio *folio, struct vm_area_struct *vma);
	int (*mem_cgroup_charge)(struct folio *folio, struct mm_struct *mm, gfp_t gfp);
	int (*mmu_notifier_start)(struct mmu_notifier_range *range);
	void (*mmu_notifier_end)(struct mmu_notifier_range *range);
	void (*flush_tlb_mm_range)(struct mm_struct *mm, unsigned long start, unsigned long end,
				   unsigned int stride_shift, bool freed_tables);
	void (*force_fatal_sig)(int sig);
	void (*lru_add_drain)(void);
	bool (*folio_free_swap)(struct folio *folio);
	void (*pgtable_deposit)(struct mm_struct *mm, pmd_t *pmdp, pgtable_t pgtable);
	pgtable_t (*pgtable_withdraw)(struct mm_struct *mm, pmd_t *pmdp);
	void (*pte_free_defer)(struct mm_struct *mm, pgtable_t pgtable);
} fa_k;

static const struct {
	const char *name;
	void **addr;
} fa_syms[] = {
	{ "do_swap_page", (void **)&fa_k.do_swap_page },
	{ "pte_offset_map_nolock", (void **)&fa_k.pte_offset_map_nolock },
	{ "__pte_offset_map_lock", (void **)&fa_k.pte_offset_map_lock },
	{ "ptep_clear_flush", (void **)&fa_k.ptep_clear_flush },
	{ "vm_normal_folio", (void **)&fa_k.vm_normal_folio },
	{ "__split_huge_pmd", (void **)&fa_k.split_pmd },
	{ "split_huge_page_to_list_to_order", (void **)&fa_k.split_folio_to },
	{ "folio_get_anon_vma", (void **)&fa_k.folio_get_anon_vma },
	{ "__put_anon_vma", (void **)&fa_k.put_anon_vma },
	{ "__anon_vma_prepare", (void **)&fa_k.anon_vma_prepare },
	{ "folio_move_anon_rmap", (void **)&fa_k.folio_move_anon_rmap },
	{ "folio_add_new_anon_rmap", (void **)&fa_k.folio_add_new_anon_rmap },
	{ "folio_add_lru_vma", (void **)&fa_k.folio_add_lru_vma },
	{ "__mem_cgroup_charge", (void **)&fa_k.mem_cgroup_charge },
	{ "__mmu_notifier_invalidate_range_start", (void **)&fa_k.mmu_notifier_start },
	{ "__mmu_notifier_invalidate_range_end", (void **)&fa_k.mmu_notifier_end },
	{ "flush_tlb_mm_range", (void **)&fa_k.flush_tlb_mm_range },
	{ "force_fatal_sig", (void **)&fa_k.force_fatal_sig },
	{ "lru_add_drain", (void **)&fa_k.lru_add_drain },
	{ "folio_free_swap", (void **)&fa_k.folio_free_swap },
	{ "pgtable_trans_huge_deposit", (void **)&fa_k.pgtable_deposit },
	{ "pgtable_trans_huge_withdraw", (void **)&fa_k.pgtable_withdraw },
	{ "pte_free_defer", (void **)&fa_k.pte_free_defer },
};

/*
 * Registry.  An fa_mm per mm that has an open file, holding a maple tree
 * from address ranges to the slot of the file and signal that prepared them.
 * Readers (the fault hook, MAP) use RCU; writers hold fm->lock, the tree's
 * external lock (a mutex: writers may allocate, and close may reschedule).
 * Tree nodes are charged to the memory cgroup of the task that writes.
 */
struct fa_slot {
	struct fa_file *ff;
	int signo;
	bool kwait;			/* FA_PREPARE_KWAIT: kernel accesses wait */
};

struct fa_mm {
	struct mm_struct *mm;
	struct mutex lock;		/* writers of areas */
	struct maple_tree areas;	/* address -> struct fa_slot *; RCU readers */
	struct hlist_node node;		/* in fa_mms */
	int nfiles;			/* open files on this mm; fa_lock */
	bool mn_registered;		/* mn is on mm; mmap_write_lock(mm) at the first PREPARE */
	struct mmu_notifier mn;		/* unregisters ranges that are unmapped */
	struct rcu_head rcu;
};

struct fa_file {
	struct mm_struct *mm;		/* mmgrab()ed at open: the only mm allowed */
	struct fa_mm *fm;
	struct fa_slot slots[2][_NSIG + 1];	/* tree entries point here, by KWAIT and signal number */
	atomic64_t pages_prepared, pages_mapped, user_faults, kernel_faults, map_errors;
	/*
	 * Kernel accesses waiting in KWAIT ranges (struct fa_waiter, on the
	 * waiters' stacks), the pages read() reported (page index -> 1, until
	 * the page is mapped, released or unmapped), and the accesses whose
	 * wait timed out (struct fa_expired): their retry fails.  All under
	 * wait_lock, taken with interrupts on (never from interrupt context).
	 */
	spinlock_t wait_lock;
	struct list_head waiters;
	struct xarray reported;
	struct list_head expired;
	bool closing;			/* close began: no new waits; wait_lock */
	wait_queue_head_t wait_wq;	/* waiters sleep here */
	wait_queue_head_t event_wq;	/* read() and poll() sleep here */
	refcount_t refs;		/* the open file, and each waiter */
	struct rcu_head rcu;
};

static DEFINE_MUTEX(fa_lock);
static DEFINE_HASHTABLE(fa_mms, 6);

/* Caller holds rcu_read_lock() or fa_lock. */
static struct fa_mm *fa_mm_find(struct mm_struct *mm)
{
	struct fa_mm *fm;

	hash_for_each_possible_rcu(fa_mms, fm, node, (unsigned long)mm)
		if (fm->mm == mm)
			return fm;
	return NULL;
}

/* The slot covering addr in mm, or NULL.  Caller holds rcu_read_lock(). */
static struct fa_slot *fa_slot_find(struct mm_struct *mm, unsigned long addr)
{
	struct fa_mm *fm = fa_mm_find(mm);

	return fm ? mtree_load(&fm->areas, addr) : NULL;
}

/*
 * Does [start, end) lie wholly in areas of ff (want_own) or touch an area
 * of another file (!want_own)?  Caller holds rcu_read_lock() or fm->lock.
 */
static bool fa_covered(struct fa_file *ff, unsigned long start, unsigned long end)
{
	MA_STATE(mas, &ff->fm->areas, start, start);
	unsigned long next = start;
	struct fa_slot *slot;

	mas_for_each(&mas, slot, end - 1) {
		if (mas.index > next || slot->ff != ff)
			return false;
		next = mas.last + 1;
		if (next >= end || next == 0)
			return true;
	}
	return false;
}

static bool fa_overlaps_other(struct fa_file *ff, unsigned long start, unsigned long end)
{
	MA_STATE(mas, &ff->fm->areas, start, start);
	struct fa_slot *slot;

	mas_for_each(&mas, slot, end - 1)
		if (slot->ff != ff)
			return true;
	return false;
}

/* [start, end) -> entry (NULL: unregister).  Caller holds fm->lock. */
static int fa_store(struct fa_mm *fm, unsigned long start, unsigned long end, void *entry, gfp_t gfp)
{
	MA_STATE(mas, &fm->areas, start, end - 1);

	return mas_store_gfp(&mas, entry, gfp);
}

/*
 * Unregister [start, end) where nothing may be left behind: a registration
 * outliving its file would point the fault hook at freed memory, and one
 * left by a failed PREPARE would make the range look prepared.  Storing
 * NULL allocates (the tree copies nodes in RCU mode), hence __GFP_NOFAIL;
 * it is a few nodes per call.  Caller holds fm->lock.
 */
static void fa_unregister(struct fa_mm *fm, unsigned long start, unsigned long end)
{
	fa_store(fm, start, end, NULL, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
}

/* ---- kernel accesses that wait (FA_PREPARE_KWAIT) -------------------------- */

static unsigned int kwait_timeout_ms = 10000;
module_param(kwait_timeout_ms, uint, 0644);
MODULE_PARM_DESC(kwait_timeout_ms, "how long a kernel access in a KWAIT range waits for its page, in ms "
		 "(0: no limit); then the access fails");

/* What ended a wait (the fa_kwait_exit tracepoint's "why"). */
enum fa_wake {
	FA_WAKE_NONE,
	FA_WAKE_MAP,		/* the page was mapped: the retry finds it */
	FA_WAKE_RELEASE,	/* the range was released: the retry faults in a zero page */
	FA_WAKE_UNMAP,		/* the range was unmapped: the retry fails (no VMA) */
	FA_WAKE_CLOSE,		/* the file was closed: the retry fails */
	FA_WAKE_TIMEOUT,	/* kwait_timeout_ms passed: the retry fails (struct fa_expired) */
	FA_WAKE_KILL,		/* a fatal signal: the access ends with the task */
};

/* A kernel access waiting for its page, on the waiting task's stack. */
struct fa_waiter {
	struct list_head node;		/* ff->waiters; wait_lock */
	unsigned long addr;		/* the page */
	u32 tid, flags;			/* as struct fa_event */
	bool asleep;			/* past the pte re-check: read() may report it; wait_lock */
	enum fa_wake woken;		/* set by the waker under wait_lock */
};

/*
 * A wait that timed out.  The access must then fail, but the fault lock is
 * gone, so the wait returns VM_FAULT_RETRY like any other; the retry of the
 * same page by the same task finds this entry and fails.  Also dropped when
 * the page is mapped, released or unmapped, or at close.
 */
struct fa_expired {
	struct list_head node;		/* ff->expired; wait_lock */
	struct task_struct *task;	/* compared, never dereferenced */
	pid_t tid;
	unsigned long addr;
};

static void fa_file_free(struct rcu_head *rcu)
{
	struct fa_file *ff = container_of(rcu, struct fa_file, rcu);

	xa_destroy(&ff->reported);
	kfree(ff);
}

/* The open file and each waiter hold a reference; the last frees ff after RCU (the hook reads slots). */
static void fa_file_put(struct fa_file *ff)
{
	struct fa_expired *e, *next;

	if (!refcount_dec_and_test(&ff->refs))
		return;
	list_for_each_entry_safe(e, next, &ff->expired, node)
		kfree(e);
	call_rcu(&ff->rcu, fa_file_free);
}

/* Are no kernel accesses waiting, reported or expired here?  The fast path of every waker. */
static bool fa_no_waits(struct fa_file *ff)
{
	/* Order the caller's pte change before these reads; fa_wait_begin() pairs with it. */
	smp_mb();
	return list_empty_careful(&ff->waiters) && xa_empty(&ff->reported) && list_empty_careful(&ff->expired);
}

/* Wake the waiters on pages of [start, end), and forget what was reported or expired there. */
static void fa_wake_range(struct fa_file *ff, unsigned long start, unsigned long end, enum fa_wake why)
{
	struct fa_expired *e, *next;
	struct fa_waiter *w;
	unsigned long idx;
	bool any = false;
	void *entry;

	if (fa_no_waits(ff))
		return;
	spin_lock(&ff->wait_lock);
	list_for_each_entry(w, &ff->waiters, node) {
		if (w->addr >= start && w->addr < end && !w->woken) {
			w->woken = why;
			any = true;
		}
	}
	xa_for_each_range(&ff->reported, idx, entry, start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT)
		xa_erase(&ff->reported, idx);
	list_for_each_entry_safe(e, next, &ff->expired, node) {
		if (e->addr >= start && e->addr < end) {
			list_del(&e->node);
			kfree(e);
		}
	}
	spin_unlock(&ff->wait_lock);
	if (any)
		wake_up_all(&ff->wait_wq);
}

/*
 * Close: no new wait begins (fa_wait_begin() checks closing under
 * wait_lock), and every waiter already listed wakes (its retry fails).
 */
static void fa_wake_all_closing(struct fa_file *ff)
{
	spin_lock(&ff->wait_lock);
	ff->closing = true;
	spin_unlock(&ff->wait_lock);
	fa_wake_range(ff, 0, TASK_SIZE, FA_WAKE_CLOSE);
	wake_up_all(&ff->event_wq);
}

/* Did this task's wait for addr time out?  Then forget it: the caller fails the access. */
static bool fa_take_expired(struct fa_file *ff, unsigned long addr)
{
	struct fa_expired *e, *found = NULL;

	if (list_empty_careful(&ff->expired))
		return false;
	spin_lock(&ff->wait_lock);
	list_for_each_entry(e, &ff->expired, node) {
		if (e->task == current && e->tid == current->pid && e->addr == addr) {
			list_del(&e->node);
			found = e;
			break;
		}
	}
	spin_unlock(&ff->wait_lock);
	kfree(found);
	return found;
}

/*
 * May this fault on a marker of a KWAIT range wait for its page?  As
 * handle_userfault() decides: a kernel access (no FAULT_FLAG_USER) whose
 * fault may retry with the lock dropped, and not by an exiting or
 * core-dumping task.
 */
static bool fa_may_wait(const struct fa_slot *slot, const struct vm_fault *vmf)
{
	return slot->kwait && !(vmf->flags & FAULT_FLAG_USER) && (vmf->flags & FAULT_FLAG_ALLOW_RETRY) &&
	       !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT) && !(current->flags & (PF_EXITING | PF_DUMPCORE));
}

/*
 * Join ff's waiters, before the caller re-checks the pte under its lock: a
 * MAP that changes the pte after that check then finds w in the list (the
 * barrier pairs with fa_no_waits()).  false if ff is closing or going.
 * Caller holds rcu_read_lock() (ff is alive).
 */
static bool fa_wait_begin(struct fa_file *ff, struct fa_waiter *w, const struct vm_fault *vmf)
{
	if (!refcount_inc_not_zero(&ff->refs))
		return false;
	w->addr = vmf->address & PAGE_MASK;
	w->tid = task_pid_vnr(current);
	w->flags = FA_EV_KERNEL | (vmf->flags & FAULT_FLAG_WRITE ? FA_EV_WRITE : 0);
	spin_lock(&ff->wait_lock);
	if (ff->closing) {
		spin_unlock(&ff->wait_lock);
		fa_file_put(ff);
		return false;
	}
	list_add_tail(&w->node, &ff->waiters);
	spin_unlock(&ff->wait_lock);
	smp_mb();
	return true;
}

/* The pte changed before the wait began: leave without sleeping. */
static void fa_wait_cancel(struct fa_file *ff, struct fa_waiter *w)
{
	spin_lock(&ff->wait_lock);
	list_del(&w->node);
	spin_unlock(&ff->wait_lock);
	fa_file_put(ff);
}

/*
 * Sleep until a waker sets w->woken, a fatal signal, or kwait_timeout_ms,
 * with the fault's lock (mmap_lock or the per-VMA lock) dropped first, as
 * handle_userfault() does; the fault then retries (VM_FAULT_RETRY).  vmf->vma
 * must not be touched once the lock is gone.  As handle_userfault(), the
 * readers of the event fd are woken only once this task is on wait_wq and
 * no longer TASK_RUNNING: a reader that preempts it here then finds it
 * asleep, and the map's wake-up hands the CPU straight back (otherwise the
 * waiter would sit preempted, unwoken, until the reader slept again).
 */
static vm_fault_t fa_wait(struct fa_file *ff, struct fa_waiter *w, struct vm_fault *vmf)
{
	long left = kwait_timeout_ms ? msecs_to_jiffies(kwait_timeout_ms) : MAX_SCHEDULE_TIMEOUT;
	struct fa_expired *e = NULL;
	DEFINE_WAIT(wait);
	enum fa_wake why;
	bool told = false;

	release_fault_lock(vmf);
	trace_fa_kwait_enter(w->addr, w->flags);
	for (;;) {
		prepare_to_wait(&ff->wait_wq, &wait, TASK_KILLABLE);
		if (READ_ONCE(w->woken) || fatal_signal_pending(current) || !left)
			break;
		if (!told) {
			spin_lock(&ff->wait_lock);
			w->asleep = true;
			spin_unlock(&ff->wait_lock);
			wake_up_poll(&ff->event_wq, EPOLLIN | EPOLLRDNORM);
			told = true;
		}
		left = schedule_timeout(left);
	}
	finish_wait(&ff->wait_wq, &wait);
	if (!left && !READ_ONCE(w->woken))
		e = kmalloc(sizeof(*e), GFP_KERNEL);
	spin_lock(&ff->wait_lock);
	list_del(&w->node);
	why = w->woken ?: left ? FA_WAKE_KILL : FA_WAKE_TIMEOUT;
	if (why == FA_WAKE_TIMEOUT && e) {
		*e = (struct fa_expired){ .task = current, .tid = current->pid, .addr = w->addr };
		list_add(&e->node, &ff->expired);
		e = NULL;
	}
	spin_unlock(&ff->wait_lock);
	kfree(e);	/* not used: woken after all */
	trace_fa_kwait_exit(w->addr, why);
	fa_file_put(ff);
	return VM_FAULT_RETRY;
}

/*
 * Kernel accesses waiting in [start, end), which is being unmapped, wake:
 * their retry finds no VMA and fails.  Caller holds fm->lock (the files of
 * the slots stay alive).
 */
static void fa_wake_unmapped(struct fa_mm *fm, unsigned long start, unsigned long end)
{
	MA_STATE(mas, &fm->areas, start, start);
	struct fa_slot *slot;

	mas_for_each(&mas, slot, end - 1)
		fa_wake_range(slot->ff, max(start, mas.index), min(end, mas.last + 1), FA_WAKE_UNMAP);
}

/*
 * munmap (and mremap's unmap of the old range) ends a registration: the
 * range may be mapped again by anything, and another file must then be able
 * to prepare it.  Only MMU_NOTIFY_UNMAP counts: a zap, a THP split or a
 * migration leaves the registration alone.  munmap holds mmap_write_lock,
 * so taking fm->lock here keeps the lock order (mmap_lock -> fm->lock); the
 * PREPARE path's own zaps, and reclaim's unmaps, are MMU_NOTIFY_CLEAR and
 * never get here.  No sleeping allocation here (reclaim could recurse into
 * mmu notifiers): GFP_NOWAIT.  If it fails, the range stays registered to
 * its (live) file: harmless to the kernel, since munmap took its markers and
 * only a marker reaches the hook.  What shows: another file's PREPARE there
 * gets EBUSY, and markers that mremap() moves into it still signal, until
 * this file prepares, releases or closes it.
 */
static int fa_mn_invalidate_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct fa_mm *fm = container_of(mn, struct fa_mm, mn);

	if (range->event != MMU_NOTIFY_UNMAP)
		return 0;
	if (!mmu_notifier_range_blockable(range)) {
		/*
		 * The OOM reaper (or process_mrelease()) reaping a dying mm:
		 * __oom_reap_task_mm() sets MMF_UNSTABLE before its first
		 * non-blockable unmap.  Let it reap without touching the
		 * registry, which would need fm->lock: no task of this mm will
		 * fault again, and the stale ranges go with the files (at
		 * close, at the latest when the exiting task closes its files)
		 * and the fa_mm with the last of them.  Refusing would leave
		 * the memory unreaped and make the OOM killer kill more.  Any
		 * other non-blockable unmap (none exists today) is refused.
		 */
		return test_bit(MMF_UNSTABLE, &range->mm->flags) ? 0 : -EAGAIN;
	}
	mutex_lock(&fm->lock);
	fa_wake_unmapped(fm, range->start, range->end);
	fa_store(fm, range->start, range->end, NULL, GFP_NOWAIT | __GFP_NOWARN);
	mutex_unlock(&fm->lock);
	return 0;
}

static const struct mmu_notifier_ops fa_mn_ops = {
	.invalidate_range_start = fa_mn_invalidate_start,
};

/* ---- markers ---------------------------------------------------------- */

/*
 * Our markers carry a bit of their own above PTE_MARKER_MASK, which the
 * core mm masks off (pte_marker_get()): to it they are PTE_MARKER_POISONED.
 * The bit tells our markers from UFFDIO_POISON's and swap-in errors' once
 * no area covers them (a file closed without RELEASE).  fork() copies a
 * marker without it (copy_pte_marker()).
 */
#define FA_MARKER_OWN	BIT(16)

static inline pte_t fa_marker(void)
{
	return make_pte_marker(PTE_MARKER_POISONED | FA_MARKER_OWN);
}

static inline bool fa_is_marker(pte_t pte)
{
	swp_entry_t entry;

	if (!is_swap_pte(pte))
		return false;
	entry = pte_to_swp_entry(pte);
	return is_pte_marker_entry(entry) && (pte_marker_get(entry) & PTE_MARKER_POISONED);
}

static inline bool fa_is_own_marker(pte_t pte)
{
	return fa_is_marker(pte) && (swp_offset(pte_to_swp_entry(pte)) & FA_MARKER_OWN);
}

/* The pmd entry of addr, whatever it holds; NULL when an upper level is none, huge or bad. */
static pmd_t *fa_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;

	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_leaf(*pud) || pud_bad(*pud))
		return NULL;
	pmd = pmd_offset(pud, addr);
	return pmd;
}

/* A pmd that points to a page table (not none, not a leaf, not a swap or migration entry). */
static bool fa_pmd_is_table(pmd_t pmd)
{
	return !pmd_none(pmd) && pmd_present(pmd) && !pmd_leaf(pmd);
}

/*
 * Is the mapped pte still in the page table that pmd points to?  A 2 MiB
 * move takes a table of markers away, markers and all (fa_move_huge()):
 * whoever found a marker through the pmd before, and locks the pte now,
 * asks this under the pte lock.
 */
static bool fa_pte_in_pmd(pmd_t *pmd, pte_t *pte)
{
	pmd_t val = pmdp_get_lockless(pmd);

	return fa_pmd_is_table(val) && pmd_page(val) == virt_to_page(pte);
}

/* ---- the fault hook ----------------------------------------------------- */

/*
 * Deliver signo for a user access at addr, or kill the process with SIGBUS
 * if signo is blocked, ignored or at its default action, or cannot be
 * queued: re-faulting with nobody to map the page would live-lock.
 *
 * The siginfo's layout carries the address (fa_signo_ok() allows no other
 * signal), so signalfd and 32-bit (compat) handlers see it too: SIGBUS and
 * SIGSEGV as a page fault's, in si_addr; a real-time signal as sigqueue()'s,
 * in si_value (si_ptr), with si_pid 0: sent by no process.
 */
static void fa_signal(int signo, unsigned long addr, bool write)
{
	struct k_sigaction *ka = &current->sighand->action[signo - 1];
	kernel_siginfo_t info;
	bool caught;

	spin_lock_irq(&current->sighand->siglock);
	caught = ka->sa.sa_handler != SIG_DFL && ka->sa.sa_handler != SIG_IGN &&
		 !sigismember(&current->blocked, signo);
	spin_unlock_irq(&current->sighand->siglock);
	if (!caught) {
		fa_k.force_fatal_sig(SIGBUS);
		return;
	}
	clear_siginfo(&info);
	info.si_signo = signo;
	if (signo >= SIGRTMIN) {
		info.si_code = SI_QUEUE;
		info.si_ptr = (void __user *)addr;
	} else {
		info.si_code = signo == SIGBUS ? BUS_ADRERR : SEGV_ACCERR;
		info.si_addr = (void __user *)addr;
	}
	/* what the handler's ucontext shows (REG_TRAPNO, REG_ERR, REG_CR2), as set_signal_archinfo() */
	current->thread.trap_nr = X86_TRAP_PF;
	current->thread.error_code = X86_PF_USER | (write ? X86_PF_WRITE : 0);	/* not present */
	current->thread.cr2 = addr;
	/* A real-time signal fails past RLIMIT_SIGPENDING (EAGAIN): die rather than spin. */
	if (send_sig_info(signo, &info, current))
		fa_k.force_fatal_sig(SIGBUS);
}

/* Hook calls between the ftrace redirect and their return; fa_exit waits. */
static atomic_t fa_hooks_running = ATOMIC_INIT(0);

/*
 * Does the pte still hold what the fault read (vmf->orig_pte), in the page
 * table the pmd still points to (fa_pte_in_pmd())?  The pte is mapped, and
 * vmf->ptl set, by handle_pte_fault()'s pte_offset_map_nolock() before
 * do_swap_page() is called (6.12), so its lock is at hand.
 */
static bool fa_pte_unchanged(struct vm_fault *vmf)
{
	bool same;

	spin_lock(vmf->ptl);
	same = pte_same(ptep_get(vmf->pte), vmf->orig_pte) && fa_pte_in_pmd(vmf->pmd, vmf->pte);
	spin_unlock(vmf->ptl);
	return same;
}

/*
 * Runs instead of do_swap_page() for one of our markers (the ftrace
 * callback below redirects only those).  Entered like do_swap_page:
 * vmf->pte is mapped but not locked, and must be unmapped before return.
 * Runs under the mmap_lock or only the per-VMA lock.  It sleeps only in a
 * KWAIT range, for a kernel access, after dropping that lock (fa_wait()).
 */
static noinline vm_fault_t fa_fault_hook(struct vm_fault *vmf)
{
	struct fa_file *wait_ff = NULL;
	struct fa_waiter w = {};
	struct fa_slot *slot;
	vm_fault_t ret;
	bool same, expired = false;

	trace_fa_fault_hook_enter(vmf->real_address, vmf->flags);
	rcu_read_lock();
	slot = fa_slot_find(vmf->vma->vm_mm, vmf->address);
	if (slot && slot->kwait && !(vmf->flags & FAULT_FLAG_USER)) {
		expired = fa_take_expired(slot->ff, vmf->address & PAGE_MASK);
		if (!expired && fa_may_wait(slot, vmf) && fa_wait_begin(slot->ff, &w, vmf))
			wait_ff = slot->ff;
	}
	/* The pte lock orders us after a racing FA_IOC_MAP or FA_IOC_RELEASE. */
	same = fa_pte_unchanged(vmf);
	pte_unmap(vmf->pte);
	vmf->pte = NULL;
	if (wait_ff && same) {
		rcu_read_unlock();	/* wait_ff holds a reference of its own */
		ret = fa_wait(wait_ff, &w, vmf);
		goto out;
	}
	if (wait_ff)
		fa_wait_cancel(wait_ff, &w);
	if (!same) {
		/*
		 * Mapped, or released (RELEASE clears the markers under the
		 * pte lock before it unregisters them): retry the access.
		 */
		ret = 0;
	} else if (!slot) {
		/*
		 * A marker no area covers (its file was closed without
		 * RELEASE, or mremap() moved it): a plain SIGBUS (BUS_ADRERR)
		 * for a user access, EFAULT for a kernel one, without the core
		 * mm's "MCE: Killing ..." for what is no hardware error.
		 */
		ret = VM_FAULT_SIGBUS;
	} else if (!(vmf->flags & FAULT_FLAG_USER)) {
		/*
		 * gup or uaccess: fail at once, as beyond EOF of a shared file;
		 * in a KWAIT range, where it may not wait, after its wait timed
		 * out (expired), or once the file is closing.
		 */
		atomic64_inc(&slot->ff->kernel_faults);
		ret = VM_FAULT_SIGBUS;
	} else {
		atomic64_inc(&slot->ff->user_faults);
		fa_signal(slot->signo, vmf->real_address, vmf->flags & FAULT_FLAG_WRITE);
		ret = VM_FAULT_NOPAGE;
	}
	rcu_read_unlock();
out:
	trace_fa_fault_hook_exit(vmf->real_address, ret);
	atomic_dec(&fa_hooks_running);
	return ret;
}

/*
 * ftrace callback at the entry of do_swap_page(), preemption disabled (an
 * RCU read-side section).  Faults of other processes, and swap-ins, pay a
 * pte test, then go on to the real do_swap_page().  Every marker of ours
 * (FA_MARKER_OWN) is redirected, registered or not: one read before a
 * racing FA_IOC_RELEASE must be re-checked under the pte lock, or the core
 * mm would take the stale marker for poison.  A fork()ed child's copies
 * lack the bit (copy_pte_marker() keeps only the core's bits) and stay the
 * core mm's.
 */
static void notrace fa_ftrace_cb(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct vm_fault *vmf = (struct vm_fault *)ftrace_regs_get_argument(fregs, 0);

	if (!fa_is_own_marker(vmf->orig_pte))
		return;
	atomic_inc(&fa_hooks_running);
	ftrace_regs_set_instruction_pointer(fregs, (unsigned long)fa_fault_hook);
}

static struct ftrace_ops fa_ftrace_ops = {
	.func = fa_ftrace_cb,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION | FTRACE_OPS_FL_IPMODIFY,
};

/* ---- FA_IOC_PREPARE ------------------------------------------------------ */

static int fa_set_marker(pte_t *pte, unsigned long addr, void *data)
{
	struct mm_struct *mm = data;

	/* The range was just zapped under mmap_write_lock: only none or markers. */
	if (!pte_none(ptep_get(pte)) && !fa_is_marker(ptep_get(pte)))
		return -EBUSY;
	set_pte_at(mm, addr, pte, fa_marker());
	return 0;
}

static bool fa_vma_ok(struct vm_area_struct *vma)
{
	/* as mainline's vma_move_compatible(): no shadow stacks, no droppable */
	return vma_is_anonymous(vma) && !(vma->vm_flags & (VM_SHARED | VM_PFNMAP | VM_IO |
							   VM_MIXEDMAP | VM_HUGETLB |
							   VM_SHADOW_STACK | VM_DROPPABLE));
}

/*
 * May the caller write to vma as far as its protection key goes?  The
 * ioctls change memory as the caller's own writes would, and act on the
 * caller's mm only, so its PKRU is the one that applies.
 */
static bool fa_pkey_allows(struct vm_area_struct *vma, bool write)
{
	return arch_vma_access_permitted(vma, write, false, false);
}

/*
 * Check every VMA of [start, end): EFAULT for a hole, EINVAL for a VMA that
 * is not anonymous-private, EPERM for a sealed one (mseal(): its contents
 * must not be discarded), EFAULT if the caller's protection key forbids
 * writing it (PREPARE discards, as a write would).  Caller holds
 * mmap_write_lock.
 */
static int fa_check_vmas(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr = start;
	VMA_ITERATOR(vmi, mm, start);

	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > addr)
			return -EFAULT;
		if (!fa_vma_ok(vma))
			return -EINVAL;
		if (vma->vm_flags & VM_SEALED)
			return -EPERM;
		if (!fa_pkey_allows(vma, true))
			return -EFAULT;
		addr = vma->vm_end;
	}
	return addr < end ? -EFAULT : 0;
}

/* Zap [start, end), VMA by VMA.  Caller holds mmap_write_lock(mm). */
static void fa_zap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, start);

	for_each_vma_range(vmi, vma, end)
		zap_page_range_single(vma, max(start, vma->vm_start),
				      min(end, vma->vm_end) - max(start, vma->vm_start), NULL);
}

/*
 * Caller holds mmap_write_lock(mm) and fm->lock.  *prepared: the bytes from
 * start that hold markers.  The zap and the markers go one PMD-sized chunk
 * at a time, with a reschedule and a fatal-signal check between chunks:
 * on SIGKILL it stops with -EINTR, [start, start + *prepared) prepared.
 * The rest keeps its pages and stays registered to ff: harmless, as only a
 * marker reaches the fault hook and a MAP onto a page is EEXIST; and
 * unregistering it would drop ff's own earlier areas there.
 */
static int fa_prepare(struct fa_file *ff, unsigned long start, unsigned long end, int signo, bool kwait,
		      u64 *prepared)
{
	struct mm_struct *mm = ff->mm;
	struct vm_area_struct *vma;
	unsigned long addr, next;
	int err;
	VMA_ITERATOR(vmi, mm, start);

	bool other;

	*prepared = 0;
	err = fa_check_vmas(mm, start, end);
	if (err)
		return err;
	rcu_read_lock();
	other = fa_overlaps_other(ff, start, end);
	rcu_read_unlock();
	if (other)
		return -EBUSY;
	/*
	 * What can fail for lack of memory comes first, while nothing is
	 * discarded yet.  Write-lock each VMA so per-VMA-lock faults wait
	 * too: nothing may fill a pte (or a huge pmd) until the markers are
	 * in, and no fault may meet a marker before it is registered.
	 */
	for_each_vma_range(vmi, vma, end) {
		vma_start_write(vma);
		if (!vma->anon_vma) {
			/* FA_IOC_MAP moves pages into this VMA's anon_vma. */
			err = fa_k.anon_vma_prepare(vma);
			if (err)
				return err;
		}
	}
	err = fa_store(ff->fm, start, end, &ff->slots[kwait][signo], GFP_KERNEL_ACCOUNT);
	if (err)
		return err;
	for (addr = start; addr < end; addr = next) {
		if (addr > start) {
			cond_resched();
			if (fatal_signal_pending(current)) {
				err = -EINTR;
				break;
			}
		}
		next = min(pmd_addr_end(addr, end), end);
		fa_zap(mm, addr, next);
		err = apply_to_page_range(mm, addr, next - addr, fa_set_marker, mm);
		if (err) {
			/* Back to empty ptes, unregistered: the data was discarded as asked. */
			fa_zap(mm, start, next);
			fa_unregister(ff->fm, start, end);
			addr = start;
			break;
		}
	}
	*prepared = addr - start;
	atomic64_add((addr - start) >> PAGE_SHIFT, &ff->pages_prepared);
	return err;
}

static int fa_do_prepare(struct fa_file *ff, struct fa_prepare *p)
{
	struct fa_mm *fm = ff->fm;
	int err;

	if (mmap_write_lock_killable(ff->mm))
		return -EINTR;
	if (!fm->mn_registered) {	/* before fm->lock: registering takes locks of its own */
		fm->mn.ops = &fa_mn_ops;
		err = __mmu_notifier_register(&fm->mn, ff->mm);
		if (err) {
			mmap_write_unlock(ff->mm);
			return err;
		}
		fm->mn_registered = true;
	}
	mutex_lock(&fm->lock);
	trace_fa_prepare_enter(p->start, p->start + p->len, p->signo ?: SIGBUS);
	err = fa_prepare(ff, p->start, p->start + p->len, p->signo ?: SIGBUS, p->flags & FA_PREPARE_KWAIT,
			 &p->prepared);
	trace_fa_prepare_exit(err);
	mutex_unlock(&fm->lock);
	mmap_write_unlock(ff->mm);
	return err;
}

/* ---- FA_IOC_MAP ----------------------------------------------------------- */

/* A user range every ioctl accepts: page aligned, not empty, below TASK_SIZE. */
static bool fa_range_ok(__u64 start, __u64 len)
{
	return len && PAGE_ALIGNED(start) && PAGE_ALIGNED(len) &&
	       start + len > start && start + len <= TASK_SIZE;
}

/* FA_IOC_MAP's arguments, and each FA_IOC_MAPV element's: good ranges, known flags, no overlap. */
static bool fa_map_args_ok(__u64 dst, __u64 src, __u64 len, __u64 flags)
{
	return fa_range_ok(dst, len) && fa_range_ok(src, len) && !(flags & ~FA_MAP_COPY) &&
	       !(dst < src + len && src < dst + len);
}

/* A place in a placement call's walk: an element, and an offset in it. */
struct fa_pos {
	u32 el;
	unsigned long off;
};

/*
 * One placement call: its elements (FA_IOC_MAP's one, FA_IOC_MAPV's vector)
 * walked a page at a time, in order.  dst and src are the pair at `at`.
 */
struct fa_map_ctx {
	const struct fa_iovec *iov;
	u32 count;
	struct fa_pos at;
	unsigned long dst, src;
	bool runs;		/* FA_IOC_MAPV: a move takes the pairs after it that share its locks */
	bool copy;
	struct mm_struct *mm;
	pmd_t *src_pmd;		/* src's pmd entry, found by fa_src_folio() (see fa_lock_ptes()) */
	struct vm_area_struct *dst_vma, *src_vma;
};

/* Step p a page on; false past the walk's end. */
static bool fa_pos_next(const struct fa_map_ctx *c, struct fa_pos *p)
{
	p->off += PAGE_SIZE;
	if (p->off < c->iov[p->el].len)
		return true;
	p->el++;
	p->off = 0;
	return p->el < c->count;
}

static unsigned long fa_pos_dst(const struct fa_map_ctx *c, const struct fa_pos *p)
{
	return c->iov[p->el].dst + p->off;
}

static unsigned long fa_pos_src(const struct fa_map_ctx *c, const struct fa_pos *p)
{
	return c->iov[p->el].src + p->off;
}

/*
 * The pte for page at dst: dirty, writable if the VMA is.  Write before
 * dirty, so that on shadow-stack CPUs the dirty bit is the real one.
 * (pte_mkwrite() is out of reach for modules; fa_vma_ok() refuses
 * shadow-stack VMAs, so the _novma form is the same here.)
 */
static pte_t fa_mkpte(struct vm_area_struct *vma, struct page *page)
{
	pte_t pte = mk_pte(page, vma->vm_page_prot);

	if (vma->vm_flags & VM_WRITE)
		pte = pte_mkwrite_novma(pte);
	return pte_mkdirty(pte);
}

/* Lock two pte locks in a fixed order; they may be the same lock. */
static void fa_double_pt_lock(spinlock_t *a, spinlock_t *b)
{
	if (a == b) {
		spin_lock(a);
	} else if (a < b) {
		spin_lock(a);
		spin_lock_nested(b, SINGLE_DEPTH_NESTING);
	} else {
		spin_lock(b);
		spin_lock_nested(a, SINGLE_DEPTH_NESTING);
	}
}

static void fa_double_pt_unlock(spinlock_t *a, spinlock_t *b)
{
	spin_unlock(a);
	if (a != b)
		spin_unlock(b);
}

static void fa_put_anon_vma(struct anon_vma *anon_vma)
{
	if (atomic_dec_and_test(&anon_vma->refcount))
		fa_k.put_anon_vma(anon_vma);
}

/*
 * Does dst hold a marker?  A look without the lock, before anything is
 * done for src that is not the plain move: before an error about src, so
 * that a dst already mapped is EEXIST whatever src is (a racing handler
 * learns that its page is in), and before src is split or faulted in or a
 * copy allocated.  A plain move learns it in fa_lock_ptes(), which (as
 * fa_copy_one()) looks again under the lock.
 */
static bool fa_dst_is_marker(struct fa_map_ctx *c)
{
	pmd_t *pmd = fa_pmd(c->mm, c->dst);
	spinlock_t *ptl;
	pte_t *pte;
	bool marker;

	if (!pmd)
		return false;
	pte = fa_k.pte_offset_map_nolock(c->mm, pmd, c->dst, &ptl);
	if (!pte)
		return false;	/* none or huge: no marker */
	marker = fa_is_marker(ptep_get(pte));
	pte_unmap(pte);
	return marker;
}

/*
 * The src page exists but is not mapped: a swap entry, a migration entry
 * (pte or pmd), a device entry.  Fault it in as a read access would: the
 * core mm waits for the migration or reads the page from swap (it may
 * stay in the swap cache), then the caller looks again.  A read fault
 * never unshares, so a page that a swap entry shares stays shared and a
 * move of it gets EBUSY, as for a present page.  Without
 * FAULT_FLAG_ALLOW_RETRY the mmap_lock we hold is never dropped.
 */
static int fa_fault_in_src(struct fa_map_ctx *c)
{
	vm_fault_t ret = handle_mm_fault(c->src_vma, c->src, 0, NULL);

	if (ret & VM_FAULT_OOM)
		return -ENOMEM;
	if (ret & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE))
		return -EHWPOISON;
	if (ret & VM_FAULT_ERROR)
		return -EFAULT;
	return -EAGAIN;
}

/* None, or a marker (ours, uffd's, a swap-in error's): src has no page. */
static bool fa_src_absent(pte_t pte)
{
	return pte_none(pte) || is_pte_marker_entry(pte_to_swp_entry(pte));
}

/* err for src, unless dst holds no marker: then EEXIST. */
static struct folio *fa_src_err(struct fa_map_ctx *c, int err)
{
	return ERR_PTR(fa_dst_is_marker(c) ? err : -EEXIST);
}

/*
 * Read the src pte of c->src with a folio reference.  For a move, splits
 * a huge pmd or a large folio first, so the folio is always order 0.
 * Returns the folio or an ERR_PTR: ENOENT for no page, EBUSY for a page
 * that is not an exclusive anonymous page, EAGAIN to retry, the error of
 * faulting a page on the move back in (fa_fault_in_src()), or EEXIST when
 * src is any of these and dst holds no marker.
 */
static struct folio *fa_src_folio(struct fa_map_ctx *c, pte_t *orig)
{
	struct folio *folio;
	spinlock_t *ptl;
	pmd_t *pmd, pmdval;
	pte_t *pte;
	int err;

	pmd = c->src_pmd = fa_pmd(c->mm, c->src);
	if (!pmd)
		return fa_src_err(c, -ENOENT);
	pmdval = pmdp_get_lockless(pmd);
	if (pmd_none(pmdval))
		return fa_src_err(c, -ENOENT);
	if (!pmd_present(pmdval) || pmd_trans_huge(pmdval)) {
		if (!fa_dst_is_marker(c))
			return ERR_PTR(-EEXIST);
		if (is_pmd_migration_entry(pmdval))
			return ERR_PTR(fa_fault_in_src(c));
		if (pmd_trans_huge(pmdval))
			fa_k.split_pmd(c->src_vma, pmd, c->src, false, NULL);
		return ERR_PTR(-EAGAIN);
	}
	pte = fa_k.pte_offset_map_lock(c->mm, pmd, c->src, &ptl);
	if (!pte)
		return ERR_PTR(-EAGAIN);
	*orig = ptep_get(pte);
	if (!pte_present(*orig)) {
		pte_unmap_unlock(pte, ptl);
		if (fa_src_absent(*orig))
			return fa_src_err(c, -ENOENT);
		return fa_dst_is_marker(c) ? ERR_PTR(fa_fault_in_src(c)) : ERR_PTR(-EEXIST);
	}
	folio = fa_k.vm_normal_folio(c->src_vma, c->src, *orig);
	if (!folio && c->copy && is_zero_pfn(pte_pfn(*orig)))
		folio = page_folio(pte_page(*orig));	/* copying zeros is fine */
	if (folio)
		folio_get(folio);
	pte_unmap_unlock(pte, ptl);
	if (!folio)
		return fa_src_err(c, -EBUSY);	/* the zero page is shared: no move */
	if (!c->copy && (!folio_test_anon(folio) || folio_test_ksm(folio))) {
		folio_put(folio);
		return fa_src_err(c, -EBUSY);
	}
	if (!c->copy && folio_test_large(folio)) {
		if (!fa_dst_is_marker(c)) {
			folio_put(folio);
			return ERR_PTR(-EEXIST);
		}
		/*
		 * Never wait for the lock holding a reference: that reference
		 * would make the holder's split fail (mainline does the same).
		 */
		err = -EAGAIN;
		if (folio_trylock(folio)) {
			if (folio_test_large(folio))	/* not split meanwhile */
				err = fa_k.split_folio_to(&folio->page, NULL, 0);
			folio_unlock(folio);
		}
		folio_put(folio);
		return ERR_PTR(err == -EAGAIN || !err ? -EAGAIN : -EBUSY);
	}
	/*
	 * A page shared by fork() may be ours alone again (fa_folio_exclusive()),
	 * unless a per-CPU LRU batch still holds it: drain this CPU's, as
	 * do_wp_page() does, before any lock is taken.
	 */
	if (!c->copy && !PageAnonExclusive(&folio->page) && !folio_test_lru(folio))
		fa_k.lru_add_drain();
	return folio;
}

/*
 * Map the dst and src ptes and take both locks; re-check that neither
 * changed since they were read.  Returns 0, EEXIST (dst holds no marker)
 * or EAGAIN (something moved: retry).  src's pmd entry is the one
 * fa_src_folio() found: under mmap_read_lock no pmd table of an anonymous
 * VMA is freed, and pte_offset_map_nolock() checks what the entry holds now.
 */
static int fa_lock_ptes(struct fa_map_ctx *c, pte_t orig_src, pte_t **dst_pte, pte_t **src_pte,
			spinlock_t **dst_ptl, spinlock_t **src_ptl)
{
	pmd_t *dst_pmd = fa_pmd(c->mm, c->dst), *src_pmd = c->src_pmd;

	if (!dst_pmd)
		return -EEXIST;		/* no page table: no marker */
	if (!src_pmd)
		return -ENOENT;
	*dst_pte = fa_k.pte_offset_map_nolock(c->mm, dst_pmd, c->dst, dst_ptl);
	if (!*dst_pte)
		return -EEXIST;
	*src_pte = fa_k.pte_offset_map_nolock(c->mm, src_pmd, c->src, src_ptl);
	if (!*src_pte) {
		pte_unmap(*dst_pte);
		return -EAGAIN;
	}
	fa_double_pt_lock(*dst_ptl, *src_ptl);
	if (!fa_pte_in_pmd(dst_pmd, *dst_pte) || !fa_is_marker(ptep_get(*dst_pte)) ||
	    !pte_same(ptep_get(*src_pte), orig_src)) {
		int err = fa_is_marker(ptep_get(*dst_pte)) ? -EAGAIN : -EEXIST;

		fa_double_pt_unlock(*dst_ptl, *src_ptl);
		pte_unmap(*src_pte);
		pte_unmap(*dst_pte);
		return err;
	}
	return 0;
}

static void fa_unlock_ptes(pte_t *dst_pte, pte_t *src_pte, spinlock_t *dst_ptl, spinlock_t *src_ptl)
{
	fa_double_pt_unlock(dst_ptl, src_ptl);
	pte_unmap(src_pte);
	pte_unmap(dst_pte);
}

/*
 * Is the folio this mapping's alone?  PageAnonExclusive says so.  Without
 * it (a page fork() shared whose child has gone), do_wp_page()'s reuse
 * test decides: no reference but the src mapping's and ours (a vmsplice()d
 * pipe holds one that the map count does not show), and no swap entry
 * elsewhere that could map it again, so the swap cache must let it go.
 * Then it is exclusive, and marked so, as do_wp_page() marks a reused page.
 * Caller holds the folio lock and the src pte lock; mapcount is 1.
 */
static bool fa_folio_exclusive(struct folio *folio)
{
	if (PageAnonExclusive(&folio->page))
		return true;
	if (folio_ref_count(folio) > 2 + folio_test_swapcache(folio))
		return false;
	if (folio_test_swapcache(folio) && !fa_k.folio_free_swap(folio))
		return false;
	if (folio_ref_count(folio) != 2)
		return false;
	SetPageAnonExclusive(&folio->page);
	return true;
}

/*
 * One pte of a move: src's pte goes onto dst's marker and the folio follows
 * it into dst's anon_vma and index.  With flush, src's TLB entry is flushed
 * at the clear; without (a run of more pages), the caller flushes the run
 * before it drops the src pte lock.  A pin that gup_fast took between the
 * caller's checks and the clear puts the pte back: EBUSY (gup_fast checks
 * the pte again after pinning, so a pin taken after the clear is dropped by
 * gup_fast itself).  Caller holds the folio lock, the anon_vma write lock
 * and both pte locks.
 */
static int fa_move_pte(struct fa_map_ctx *c, struct folio *folio, unsigned long dst, unsigned long src,
		       pte_t *dst_pte, pte_t *src_pte, bool flush)
{
	pte_t pte = flush ? fa_k.ptep_clear_flush(c->src_vma, src, src_pte) :
			    ptep_get_and_clear(c->mm, src, src_pte);

	if (folio_maybe_dma_pinned(folio)) {
		set_pte_at(c->mm, src, src_pte, pte);
		return -EBUSY;
	}
	fa_k.folio_move_anon_rmap(folio, c->dst_vma);
	folio->index = linear_page_index(c->dst_vma, dst);
	/* The dst pte held a marker: nothing to flush there. */
	set_pte_at(c->mm, dst, dst_pte, fa_mkpte(c->dst_vma, &folio->page));
	return 0;
}

/*
 * The folio of the src pte of a pair after a run's first, locked, if it
 * moves as simply as the first: present, order 0, anonymous, exclusive,
 * mapped once, unpinned, of the anon_vma the caller holds, onto a marker.
 * NULL ends the run there; that pair then goes through fa_map_page() on its
 * own, with all its checks and waits.  Caller holds both pte locks (the
 * folio stays mapped), so the folio lock is only tried.
 */
static struct folio *fa_run_folio(struct fa_map_ctx *c, struct anon_vma *anon_vma, unsigned long src,
				  pte_t *dst_pte, pte_t *src_pte)
{
	pte_t orig = ptep_get(src_pte);
	struct folio *folio;

	if (!pte_present(orig) || !fa_is_marker(ptep_get(dst_pte)))
		return NULL;
	folio = fa_k.vm_normal_folio(c->src_vma, src, orig);
	if (!folio || folio_test_large(folio) || !folio_test_anon(folio) || folio_test_ksm(folio) ||
	    !folio_trylock(folio))
		return NULL;
	if ((unsigned long)folio->mapping != ((unsigned long)anon_vma | PAGE_MAPPING_ANON) ||
	    !PageAnonExclusive(&folio->page) || folio_mapcount(folio) != 1 ||
	    folio_maybe_dma_pinned(folio)) {
		folio_unlock(folio);
		return NULL;
	}
	return folio;
}

/* The dst page table a run writes into: its pte for index 0, its lock, where it starts. */
struct fa_run_dst {
	pte_t *base;
	spinlock_t *ptl;
	unsigned long table;
};

/*
 * Make dst's page table the run's.  If it is another one, map it and try
 * its lock (the caller holds the src pte lock: a trylock keeps the order
 * of fa_double_pt_lock() out of it), then let the last one go: what is at
 * dst may be reached from the moment its pte is set, only src slots wait
 * for the flush.  False ends the run; the table held stays held.
 */
static bool fa_run_dst_table(struct fa_map_ctx *c, unsigned long dst, struct fa_run_dst *t,
			     spinlock_t *src_ptl)
{
	spinlock_t *ptl;
	bool own;	/* ptl is not one the run holds already */
	pmd_t *pmd;
	pte_t *pte;

	if ((dst & PMD_MASK) == t->table)
		return true;
	pmd = fa_pmd(c->mm, dst);
	if (!pmd)
		return false;
	pte = fa_k.pte_offset_map_nolock(c->mm, pmd, dst, &ptl);
	if (!pte)
		return false;	/* none or huge: no markers */
	own = ptl != src_ptl && ptl != t->ptl;
	if (own && !spin_trylock(ptl)) {
		pte_unmap(pte);
		return false;
	}
	if (!fa_pte_in_pmd(pmd, pte)) {
		if (own)
			spin_unlock(ptl);
		pte_unmap(pte);
		return false;
	}
	if (t->ptl != src_ptl && t->ptl != ptl)
		spin_unlock(t->ptl);
	pte_unmap(t->base);
	*t = (struct fa_run_dst){ pte - pte_index(dst), ptl, dst & PMD_MASK };
	return true;
}

/*
 * As mmu_notifier_invalidate_range_start(), which modules cannot call: a
 * sleepable MMU_NOTIFY_CLEAR range of src, started before any lock is taken.
 */
static void fa_notify_start(struct fa_map_ctx *c, struct mmu_notifier_range *range, unsigned long start,
			    unsigned long end)
{
	might_sleep();
	mmu_notifier_range_init(range, MMU_NOTIFY_CLEAR, 0, c->mm, start, end);
	if (mm_has_notifiers(c->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		fa_k.mmu_notifier_start(range);
	}
}

static void fa_notify_end(struct mmu_notifier_range *range)
{
	if (range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE)
		fa_k.mmu_notifier_end(range);
}

/*
 * Lock the folio, then its anon_vma for writing, as mainline's UFFDIO_MOVE
 * does: rmap walkers (reclaim, migration, and a THP split, which walks the
 * anon_vma chain without the folio lock) keep off the folio meanwhile.
 * Returns the anon_vma, or NULL when the folio was unmapped meanwhile (its
 * lock is dropped again).
 */
static struct anon_vma *fa_lock_folio(struct folio *folio)
{
	struct anon_vma *anon_vma;

	folio_lock(folio);
	anon_vma = fa_k.folio_get_anon_vma(folio);
	if (!anon_vma) {
		folio_unlock(folio);
		return NULL;
	}
	anon_vma_lock_write(anon_vma);
	return anon_vma;
}

static void fa_unlock_folio(struct folio *folio, struct anon_vma *anon_vma)
{
	anon_vma_unlock_write(anon_vma);
	fa_put_anon_vma(anon_vma);
	folio_unlock(folio);
}

/*
 * Move the pair at the walk's place, whose src folio fa_src_folio() found,
 * and with runs (FA_IOC_MAPV) the pairs after it while their src lies in
 * [src_start, src_end), the first's src page table within its VMA
 * (fa_run_range()), their dst in its dst VMA, and each moves as simply
 * (fa_run_folio()): they follow under the same src locks, their dst in any
 * page table whose lock can be had (fa_run_dst_table()).  The folio lock
 * and the src anon_vma write lock keep rmap walkers (reclaim, migration)
 * off each folio meanwhile, as in mainline's UFFDIO_MOVE.  Returns
 * the pairs moved (>= 1) or -errno.
 */
static int fa_move(struct fa_map_ctx *c, struct folio *folio, pte_t orig_src, unsigned long src_start,
		   unsigned long src_end)
{
	struct mmu_notifier_range range;
	unsigned long done, lo = c->src, hi = c->src;
	struct fa_pos p = c->at;
	struct anon_vma *anon_vma;
	struct fa_run_dst t;
	spinlock_t *src_ptl;
	pte_t *src_pte;
	int err;

	fa_notify_start(c, &range, src_start, src_end);
	anon_vma = fa_lock_folio(folio);
	if (!anon_vma) {
		err = -EAGAIN;	/* unmapped meanwhile */
		goto err_notify;
	}
	err = fa_lock_ptes(c, orig_src, &t.base, &src_pte, &t.ptl, &src_ptl);
	if (err)
		goto err_folio;
	/*
	 * One mapping, no pin, ours alone.  The swap cache may hold it: the
	 * moved pte is dirty, so reclaim writes it out again (as UFFDIO_MOVE).
	 */
	if (folio_test_large(folio) || folio_test_ksm(folio) || folio_maybe_dma_pinned(folio) ||
	    folio_mapcount(folio) != 1 || !fa_folio_exclusive(folio)) {
		err = -EBUSY;
		goto err_ptes;
	}
	err = fa_move_pte(c, folio, c->dst, c->src, t.base, src_pte, !c->runs);
	if (err)
		goto err_ptes;
	t.base -= pte_index(c->dst);
	t.table = c->dst & PMD_MASK;
	src_pte -= pte_index(c->src);
	for (done = 1; c->runs && done < PTRS_PER_PTE && fa_pos_next(c, &p); done++) {
		unsigned long dst = fa_pos_dst(c, &p), src = fa_pos_src(c, &p);
		struct folio *next;

		if (src < src_start || src >= src_end || dst < c->dst_vma->vm_start ||
		    dst >= c->dst_vma->vm_end || !fa_run_dst_table(c, dst, &t, src_ptl))
			break;
		next = fa_run_folio(c, anon_vma, src, t.base + pte_index(dst), src_pte + pte_index(src));
		if (!next)
			break;
		err = fa_move_pte(c, next, dst, src, t.base + pte_index(dst), src_pte + pte_index(src), false);
		folio_unlock(next);
		if (err)
			break;	/* pinned meanwhile: its pte is back; the run ends before it */
		lo = min(lo, src);
		hi = max(hi, src);
	}
	/*
	 * One flush for the run's src ptes, before the src pte lock goes: until
	 * then no fault can put a new page in a src slot that another CPU may
	 * still translate to the page that is now at dst (kmod/README.md,
	 * FA_IOC_MAPV).
	 */
	if (c->runs)
		fa_k.flush_tlb_mm_range(c->mm, lo, hi + PAGE_SIZE, PAGE_SHIFT, false);
	err = done;
err_ptes:
	fa_unlock_ptes(t.base, src_pte, t.ptl, src_ptl);
err_folio:
	fa_unlock_folio(folio, anon_vma);
err_notify:
	fa_notify_end(&range);
	return err;
}

/*
 * May the pair at the walk's place move as one 2 MiB page?  A move, both
 * addresses 2 MiB aligned, 2 MiB of the element left from here, both VMAs
 * covering their 2 MiB (fa_map_vmas() checked that they agree).
 */
static bool fa_huge_fits(const struct fa_map_ctx *c)
{
	return !c->copy && IS_ALIGNED(c->dst | c->src, HPAGE_PMD_SIZE) &&
	       c->iov[c->at.el].len - c->at.off >= HPAGE_PMD_SIZE &&
	       c->src + HPAGE_PMD_SIZE <= c->src_vma->vm_end && c->dst + HPAGE_PMD_SIZE <= c->dst_vma->vm_end;
}

/*
 * Are all 512 ptes of dst's page table our markers, as PREPARE wrote them?
 * Then none of them maps a page, and a move may take the whole table away.
 * One pass of xor and or over the raw values (pte_val() may be a paravirt
 * call), no branch: the scan is about 45 % of a 2 MiB move's instructions
 * (kmod/README.md).  Caller holds the table's lock.
 */
static bool fa_table_all_markers(pte_t *pte)
{
	const pteval_t marker = native_pte_val(fa_marker());
	pteval_t diff = 0;
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++)
		diff |= READ_ONCE(pte[i].pte) ^ marker;
	return !diff;
}

/*
 * Move the PMD-mapped THP at c->src whole onto the 512 markers at c->dst,
 * as mainline's move_pages_huge_pmd() moves one onto an empty pmd; here
 * dst's pmd holds a page table of markers, which goes.  Under the src and
 * dst pmd locks (and dst's pte lock, taken after them, as khugepaged does):
 * src's pmd is cleared, dst's pmd gets the huge pmd, the folio joins dst's
 * anon_vma and index, and src's deposited page table (for a later split)
 * goes with it to dst.  dst's markers stay in the table that goes: a walker
 * still inside it (a fault on a marker, our own MAP) asks fa_pte_in_pmd()
 * under the pte lock.  One flush covers both ranges (freed_tables: CPUs'
 * paging-structure caches may point to dst's table) before the pmd locks
 * go; the table itself is freed after an RCU grace period
 * (pte_free_defer()), since lockless walkers (gup_fast, pte_offset_map())
 * may be reading it.  Returns HPAGE_PMD_NR (pages moved), 0 when src or dst
 * is not so (fa_map_page() then splits src and moves a page at a time, with
 * every per-page error), EAGAIN (something changed: retry) or EBUSY
 * (pinned).
 */
static int fa_move_huge(struct fa_map_ctx *c)
{
	pmd_t *src_pmd = fa_pmd(c->mm, c->src), *dst_pmd = fa_pmd(c->mm, c->dst);
	unsigned long lo = min(c->src, c->dst), hi = max(c->src, c->dst) + HPAGE_PMD_SIZE;
	spinlock_t *src_ptl, *dst_ptl, *pte_ptl;
	struct mmu_notifier_range range;
	pmd_t src_pmdval, dst_pmdval, huge;
	struct anon_vma *anon_vma;
	struct folio *folio;
	bool own_pte_ptl;	/* split pte locks: dst's pte lock is not a pmd lock */
	pte_t *pte;
	int err;

	if (!src_pmd || !dst_pmd)
		return 0;
	src_pmdval = pmdp_get_lockless(src_pmd);
	dst_pmdval = pmdp_get_lockless(dst_pmd);
	if (!pmd_trans_huge(src_pmdval) || !fa_pmd_is_table(dst_pmdval))
		return 0;
	src_ptl = pmd_lock(c->mm, src_pmd);
	if (!pmd_same(pmdp_get(src_pmd), src_pmdval)) {
		spin_unlock(src_ptl);
		return -EAGAIN;
	}
	/* The huge zero page, or a THP that fork() shared: the page path's rules */
	folio = page_folio(pmd_page(src_pmdval));
	if (!folio_test_anon(folio) || !PageAnonExclusive(&folio->page)) {
		spin_unlock(src_ptl);
		return 0;
	}
	folio_get(folio);
	spin_unlock(src_ptl);

	fa_notify_start(c, &range, c->src, c->src + HPAGE_PMD_SIZE);
	anon_vma = fa_lock_folio(folio);
	if (!anon_vma) {
		err = -EAGAIN;
		goto err_notify;
	}
	dst_ptl = pmd_lockptr(c->mm, dst_pmd);
	fa_double_pt_lock(src_ptl, dst_ptl);
	err = -EAGAIN;
	if (!pmd_same(pmdp_get(src_pmd), src_pmdval) || !pmd_same(pmdp_get(dst_pmd), dst_pmdval))
		goto err_pmds;
	err = -EBUSY;
	if (folio_maybe_dma_pinned(folio))
		goto err_pmds;
	err = -EAGAIN;
	pte = fa_k.pte_offset_map_nolock(c->mm, dst_pmd, c->dst, &pte_ptl);
	if (!pte)
		goto err_pmds;
	/* the pte lock's class is the pmd locks' (one ptdesc lock): a third subclass */
	own_pte_ptl = pte_ptl != src_ptl && pte_ptl != dst_ptl;
	if (own_pte_ptl)
		spin_lock_nested(pte_ptl, SINGLE_DEPTH_NESTING + 1);
	err = 0;
	if (!fa_table_all_markers(pte))
		goto err_pte;
	src_pmdval = pmdp_huge_get_and_clear(c->mm, c->src, src_pmd);
	if (folio_maybe_dma_pinned(folio)) {
		/* gup_fast pinned it between the check and the clear; it re-checks the pmd after */
		set_pmd_at(c->mm, c->src, src_pmd, src_pmdval);
		err = -EBUSY;
		goto err_pte;
	}
	pmd_clear(dst_pmd);
	fa_k.folio_move_anon_rmap(folio, c->dst_vma);
	folio->index = linear_page_index(c->dst_vma, c->dst);
	huge = mk_huge_pmd(&folio->page, c->dst_vma->vm_page_prot);
	if (c->dst_vma->vm_flags & VM_WRITE)
		huge = pmd_mkwrite_novma(huge);
	set_pmd_at(c->mm, c->dst, dst_pmd, pmd_mkdirty(huge));
	fa_k.pgtable_deposit(c->mm, dst_pmd, fa_k.pgtable_withdraw(c->mm, src_pmd));
	fa_k.flush_tlb_mm_range(c->mm, lo, hi, PMD_SHIFT, true);
	err = HPAGE_PMD_NR;
err_pte:
	if (own_pte_ptl)
		spin_unlock(pte_ptl);
	pte_unmap(pte);
err_pmds:
	fa_double_pt_unlock(src_ptl, dst_ptl);
	if (err == HPAGE_PMD_NR) {
		fa_k.pte_free_defer(c->mm, pmd_pgtable(dst_pmdval));
		mm_dec_nr_ptes(c->mm);
	}
	fa_unlock_folio(folio, anon_vma);
err_notify:
	fa_notify_end(&range);
	folio_put(folio);
	return err;
}

/*
 * Copy: a new folio gets the src contents; src stays as it was.  The copy
 * survives a machine check on a poisoned src page: EHWPOISON, and the
 * page goes to memory_failure() as the core mm's copies send it.
 */
static int fa_copy_one(struct fa_map_ctx *c, pte_t orig_src)
{
	spinlock_t *ptl;
	struct folio *folio;
	pmd_t *pmd;
	pte_t *pte, val;
	int err;

	if (!fa_dst_is_marker(c))
		return -EEXIST;		/* nothing allocated, copied or charged for it */
	folio = vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, c->dst_vma, c->dst, false);
	if (!folio)
		return -ENOMEM;
	if (copy_mc_highpage(&folio->page, pfn_to_page(pte_pfn(orig_src)))) {
		err = -EHWPOISON;
		goto err_folio;
	}
	if (!mem_cgroup_disabled() && fa_k.mem_cgroup_charge(folio, c->mm, GFP_KERNEL)) {
		err = -ENOMEM;
		goto err_folio;
	}
	__folio_mark_uptodate(folio);
	pmd = fa_pmd(c->mm, c->dst);
	err = -EEXIST;
	if (!pmd)
		goto err_folio;
	pte = fa_k.pte_offset_map_lock(c->mm, pmd, c->dst, &ptl);
	if (!pte)
		goto err_folio;
	if (!fa_is_marker(ptep_get(pte))) {
		pte_unmap_unlock(pte, ptl);
		goto err_folio;
	}
	fa_k.folio_add_new_anon_rmap(folio, c->dst_vma, c->dst, RMAP_EXCLUSIVE);
	fa_k.folio_add_lru_vma(folio, c->dst_vma);
	/* inc_mm_counter() without its tracepoint, which modules cannot reach */
	percpu_counter_inc(&c->mm->rss_stat[MM_ANONPAGES]);
	val = fa_mkpte(c->dst_vma, &folio->page);
	set_pte_at(c->mm, c->dst, pte, val);
	pte_unmap_unlock(pte, ptl);
	return 0;
err_folio:
	folio_put(folio);
	return err;
}

#define FA_MAP_RETRIES 10000	/* races that resolve; past this, a livelock: EBUSY */

/*
 * Where the src pages of a run from the walk's place may lie: with runs,
 * the first's src page table within its VMA (its pte lock is held for the
 * run), else its one page.  Which pairs of the range a run takes shows as
 * it goes (fa_move()); the range is what the mmu notifiers are told, wider
 * than the pages that move, as mainline's move_pages() tells the whole
 * call's range even when it stops early.
 */
static void fa_run_range(struct fa_map_ctx *c, unsigned long *src_start, unsigned long *src_end)
{
	*src_start = c->runs ? max(c->src & PMD_MASK, c->src_vma->vm_start) : c->src;
	*src_end = c->runs ? pmd_addr_end(c->src, c->src_vma->vm_end) : c->src + PAGE_SIZE;
}

/* The pair at the walk's place, a page of it (copy) or a run (move): pairs placed or -errno. */
static int fa_place_small(struct fa_map_ctx *c)
{
	unsigned long start, end;
	struct folio *folio;
	pte_t orig_src;
	int err;

	folio = fa_src_folio(c, &orig_src);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	if (c->copy) {
		err = fa_copy_one(c, orig_src) ?: 1;
	} else {
		fa_run_range(c, &start, &end);
		err = fa_move(c, folio, orig_src, start, end);
	}
	folio_put(folio);
	return err;
}

/*
 * The pair at the walk's place: 2 MiB whole where src is a PMD-mapped THP
 * and dst 512 markers, else a page for a copy, a run for a move.  Returns
 * the pairs placed (>= 1) or -errno.  Caller holds mmap_read_lock.
 */
static int fa_map_page(struct fa_map_ctx *c)
{
	int err, tries;

	/* PREPARE gave dst's VMA an anon_vma; the rmap calls below need it. */
	if (unlikely(!c->dst_vma->anon_vma) && fa_k.anon_vma_prepare(c->dst_vma))
		return -ENOMEM;
	for (tries = 0; tries < FA_MAP_RETRIES; tries++) {
		err = fa_huge_fits(c) ? fa_move_huge(c) : 0;
		if (!err)
			err = fa_place_small(c);
		if (err != -EAGAIN)
			return err;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return -EBUSY;
}

/*
 * The two VMAs must agree on protections, as the 2011 proposal asks:
 * a moved pte takes dst's vm_page_prot.  As validate_move_areas() for
 * UFFDIO_MOVE, dst must be writable (EINVAL): a map writes it.  The
 * caller's protection keys must allow writing dst and, for a move, src,
 * whose page goes away (EFAULT, as a uaccess would fail).  Caller holds
 * mmap_read_lock.
 */
static int fa_map_vmas(struct fa_map_ctx *c)
{
	const unsigned long access = VM_READ | VM_WRITE | VM_EXEC | VM_LOCKED;

	if (c->dst_vma && c->dst >= c->dst_vma->vm_start && c->dst < c->dst_vma->vm_end &&
	    c->src >= c->src_vma->vm_start && c->src < c->src_vma->vm_end)
		return 0;	/* still inside the VMAs checked last */
	c->dst_vma = vma_lookup(c->mm, c->dst);
	c->src_vma = vma_lookup(c->mm, c->src);
	if (!c->dst_vma || !c->src_vma)
		return -EFAULT;
	if (!fa_vma_ok(c->dst_vma) || !fa_vma_ok(c->src_vma))
		return -EINVAL;
	if (pgprot_val(c->dst_vma->vm_page_prot) != pgprot_val(c->src_vma->vm_page_prot) ||
	    (c->dst_vma->vm_flags & access) != (c->src_vma->vm_flags & access) ||
	    !(c->dst_vma->vm_flags & VM_WRITE))
		return -EINVAL;
	if (!fa_pkey_allows(c->dst_vma, true) || !fa_pkey_allows(c->src_vma, !c->copy))
		return -EFAULT;
	return 0;
}

/* Step p n pages on; false past the walk's end. */
static bool fa_pos_skip(const struct fa_map_ctx *c, struct fa_pos *p, unsigned long n)
{
	unsigned long bytes = n << PAGE_SHIFT;

	while (bytes >= c->iov[p->el].len - p->off) {
		bytes -= c->iov[p->el].len - p->off;
		p->off = 0;
		if (++p->el == c->count)
			return false;
	}
	p->off += bytes;
	return true;
}

/*
 * Place every pair of c's elements, in order.  Every element's dst must lie
 * in ff's prepared ranges: EINVAL before any page moves.  As mainline's
 * move_pages(), a reschedule and a fatal-signal check before every page
 * (or run) after the first: SIGKILL ends it with -EINTR.  *mapped counts
 * the bytes placed.  Caller holds mmap_read_lock(ff->mm).
 */
static int fa_map(struct fa_file *ff, struct fa_map_ctx *c, __s64 *mapped)
{
	struct fa_pos p = { 0, 0 };
	bool ours = true;
	u32 i;
	int n;

	rcu_read_lock();
	for (i = 0; i < c->count && ours; i++)
		ours = fa_covered(ff, c->iov[i].dst, c->iov[i].dst + c->iov[i].len);
	rcu_read_unlock();
	if (!ours)
		return -EINVAL;
	do {
		if (p.el || p.off) {
			cond_resched();
			if (fatal_signal_pending(current))
				return -EINTR;
		}
		c->at = p;
		c->dst = fa_pos_dst(c, &p);
		c->src = fa_pos_src(c, &p);
		n = fa_map_vmas(c);
		if (!n) {
			trace_fa_map_page_enter(c->dst, c->src);
			n = fa_map_page(c);	/* pairs placed, or -errno */
			trace_fa_map_page_exit(min(n, 0));
		}
		if (n < 0)
			return n;
		*mapped += (__s64)n << PAGE_SHIFT;
		atomic64_add(n, &ff->pages_mapped);
	} while (fa_pos_skip(c, &p, n));
	return 0;
}

/* Wake the waiters on the pages a MAP or MAPV placed: the first `mapped` bytes of its elements. */
static void fa_wake_mapped(struct fa_file *ff, const struct fa_iovec *iov, u32 count, s64 mapped)
{
	u32 i;

	if (fa_no_waits(ff))
		return;
	for (i = 0; i < count && mapped > 0; i++) {
		u64 n = min_t(u64, iov[i].len, mapped);

		fa_wake_range(ff, iov[i].dst, iov[i].dst + n, FA_WAKE_MAP);
		mapped -= n;
	}
}

static int fa_do_map(struct fa_file *ff, struct fa_map *m)
{
	struct fa_iovec iov = { .dst = m->dst, .src = m->src, .len = m->len };
	struct fa_map_ctx c = { .iov = &iov, .count = 1, .copy = m->flags & FA_MAP_COPY, .mm = ff->mm };
	int err;

	if (mmap_read_lock_killable(ff->mm))
		return -EINTR;
	trace_fa_map_enter(m->dst, m->src, m->len, m->flags);
	err = fa_map(ff, &c, &m->mapped);
	trace_fa_map_exit(err);
	mmap_read_unlock(ff->mm);
	fa_wake_mapped(ff, &iov, 1, m->mapped);
	return err;
}

/* ---- FA_IOC_MAPV ---------------------------------------------------------- */

/*
 * Every element as FA_IOC_MAP, in order, under one mmap_read_lock; a move
 * takes the pairs after each page that share its src locks at once, across
 * elements (fa_move()).  An invalid element fails the call before any page
 * moves.  One fa_map event: the first element's dst and src, every
 * element's bytes.
 */
static int fa_do_mapv(struct fa_file *ff, struct fa_mapv *v)
{
	struct fa_map_ctx c = { .count = v->count, .runs = true, .copy = v->flags & FA_MAP_COPY,
				.mm = ff->mm };
	struct fa_iovec *iov;
	u64 len = 0;
	int err = 0;
	u32 i;

	iov = kvmalloc_array(v->count, sizeof(*iov), GFP_KERNEL);
	if (!iov)
		return -ENOMEM;
	if (copy_from_user(iov, u64_to_user_ptr(v->vec), array_size(v->count, sizeof(*iov)))) {
		err = -EFAULT;
		goto err_iov;
	}
	for (i = 0; i < v->count; i++) {
		if (!fa_map_args_ok(iov[i].dst, iov[i].src, iov[i].len, v->flags)) {
			err = -EINVAL;
			goto err_iov;
		}
		len += iov[i].len;
	}
	if (mmap_read_lock_killable(ff->mm)) {
		err = -EINTR;
		goto err_iov;
	}
	c.iov = iov;
	trace_fa_map_enter(iov[0].dst, iov[0].src, len, v->flags);
	err = fa_map(ff, &c, &v->mapped);
	trace_fa_map_exit(err);
	mmap_read_unlock(ff->mm);
	fa_wake_mapped(ff, iov, v->count, v->mapped);
err_iov:
	kvfree(iov);
	return err;
}

/* ---- FA_IOC_RELEASE ------------------------------------------------------- */

/* Markers of [start, end) become none ptes.  Caller holds mmap_read_lock. */
static void fa_clear_markers(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	unsigned long addr, next;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	for (addr = start; addr < end; addr = next) {
		next = min(pmd_addr_end(addr, end), end);
		pmd = fa_pmd(mm, addr);
		if (!pmd)
			continue;
		pte = fa_k.pte_offset_map_lock(mm, pmd, addr, &ptl);
		if (!pte)
			continue;	/* none or huge: no markers here */
		for (; addr < next; addr += PAGE_SIZE, pte++)
			if (fa_is_marker(ptep_get(pte)))
				pte_clear(mm, addr, pte);	/* non-present: no flush */
		pte_unmap_unlock(pte - 1, ptl);
	}
}

/* Caller holds mmap_read_lock(ff->mm) and fm->lock. */
static int fa_release_range(struct fa_file *ff, unsigned long start, unsigned long end)
{
	bool ours;
	int err;

	rcu_read_lock();
	ours = fa_covered(ff, start, end);
	rcu_read_unlock();
	if (!ours)
		return -EINVAL;
	/* Clear before unregistering: a fault meanwhile must not meet an unowned marker. */
	fa_clear_markers(ff->mm, start, end);
	err = fa_store(ff->fm, start, end, NULL, GFP_KERNEL_ACCOUNT);
	fa_wake_range(ff, start, end, FA_WAKE_RELEASE);	/* their retry faults in a zero page */
	return err;
}

static int fa_do_release(struct fa_file *ff, struct fa_range *r)
{
	int err;

	if (mmap_read_lock_killable(ff->mm))
		return -EINTR;
	mutex_lock(&ff->fm->lock);
	trace_fa_release_range_enter(r->start, r->start + r->len);
	err = fa_release_range(ff, r->start, r->start + r->len);
	trace_fa_release_range_exit(err);
	mutex_unlock(&ff->fm->lock);
	mmap_read_unlock(ff->mm);
	return err;
}

/* ---- FA_IOC_GUP ------------------------------------------------------------ */

#define FA_GUP_BATCH 64

static long fa_gup(unsigned long start, unsigned long npages)
{
	struct page *pages[FA_GUP_BATCH];
	unsigned long done = 0;
	int n, i, want;

	while (done < npages) {
		want = min_t(unsigned long, npages - done, FA_GUP_BATCH);
		n = get_user_pages_fast(start + done * PAGE_SIZE, want, 0, pages);
		if (n < 0)
			return done ? done : n;
		for (i = 0; i < n; i++)
			put_page(pages[i]);
		done += n;
		if (n < want)
			break;
	}
	return done;
}

/* ---- the device -------------------------------------------------------------- */

/*
 * 0 (SIGBUS), SIGBUS, SIGSEGV or a real-time signal, up to SIGRTMAX: those
 * whose siginfo carries the address (fa_signal()).  Other signals have no
 * such layout, or lose their siginfo to a pending kill() of the same signal.
 */
static bool fa_signo_ok(__u32 signo)
{
	return signo == 0 || signo == SIGBUS || signo == SIGSEGV || (signo >= SIGRTMIN && signo <= SIGRTMAX);
}

/*
 * Who may open the device: root only (mode 0600) by default; with group=GID
 * the node is 0666 and fa_open() lets in members of GID and CAP_SYS_ADMIN.
 */
static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group, "gid of a group whose members may open /dev/fault_area (default -1: root only)");
static kgid_t fa_gid = INVALID_GID;

static int fa_open(struct inode *inode, struct file *file)
{
	struct fa_file *ff;
	struct fa_mm *fm;
	int i;

	if (gid_valid(fa_gid) && !in_group_p(fa_gid) && !capable(CAP_SYS_ADMIN))
		return -EACCES;
	if (!current->mm)
		return -EINVAL;
	ff = kzalloc(sizeof(*ff), GFP_KERNEL_ACCOUNT);
	if (!ff)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(ff->slots[0]); i++) {
		ff->slots[0][i] = (struct fa_slot){ .ff = ff, .signo = i };
		ff->slots[1][i] = (struct fa_slot){ .ff = ff, .signo = i, .kwait = true };
	}
	spin_lock_init(&ff->wait_lock);
	INIT_LIST_HEAD(&ff->waiters);
	INIT_LIST_HEAD(&ff->expired);
	xa_init(&ff->reported);
	init_waitqueue_head(&ff->wait_wq);
	init_waitqueue_head(&ff->event_wq);
	refcount_set(&ff->refs, 1);
	ff->mm = current->mm;
	mutex_lock(&fa_lock);
	rcu_read_lock();
	fm = fa_mm_find(ff->mm);
	rcu_read_unlock();	/* fa_lock keeps fm alive */
	if (!fm) {
		fm = kzalloc(sizeof(*fm), GFP_KERNEL_ACCOUNT);
		if (!fm) {
			mutex_unlock(&fa_lock);
			kfree(ff);
			return -ENOMEM;
		}
		fm->mm = ff->mm;
		mutex_init(&fm->lock);
		mt_init_flags(&fm->areas, MT_FLAGS_USE_RCU | MT_FLAGS_LOCK_EXTERN);
		mt_set_external_lock(&fm->areas, &fm->lock);
		hash_add_rcu(fa_mms, &fm->node, (unsigned long)fm->mm);
	}
	fm->nfiles++;
	ff->fm = fm;
	mutex_unlock(&fa_lock);
	mmgrab(ff->mm);
	file->private_data = ff;
	return 0;
}

/*
 * Unregister every area of ff, in one walk of the tree: each of its ranges
 * is overwritten with NULL and the walk goes on after it, so the cost is
 * O(n log n) in the areas of the mm, however the files interleave.  It holds
 * fm->lock, a mutex: it reschedules on the way.  The markers stay: an access
 * is then a plain SIGBUS, never zeros where data was due.
 */
static void fa_forget_file(struct fa_file *ff)
{
	struct fa_mm *fm = ff->fm;
	MA_STATE(mas, &fm->areas, 0, 0);
	struct fa_slot *slot;

	mutex_lock(&fm->lock);
	while ((slot = mas_find(&mas, ULONG_MAX))) {
		/*
		 * After a store the state covers the stored range (or, after a
		 * rebalance, restarts at its index), so mas_find() goes on from
		 * there: no walk from the root per erased area.
		 */
		if (slot->ff == ff)
			mas_store_gfp(&mas, NULL, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
		cond_resched();	/* no mas_pause(): under fm->lock the tree stays as it is */
	}
	mutex_unlock(&fm->lock);
}

/*
 * The last file of fm is gone and fm is unhashed.  The notifier callback
 * may still be running: unregistering waits for it, then nothing else
 * writes the tree.
 */
static void fa_mm_free(struct fa_mm *fm)
{
	if (fm->mn_registered)
		mmu_notifier_unregister(&fm->mn, fm->mm);	/* waits for running callbacks */
	mutex_lock(&fm->lock);
	__mt_destroy(&fm->areas);
	mutex_unlock(&fm->lock);
	kfree_rcu(fm, rcu);	/* the fault hook may still be reading it */
}

static int fa_release(struct inode *inode, struct file *file)
{
	struct fa_file *ff = file->private_data;
	struct fa_mm *fm = ff->fm;
	bool last;

	fa_wake_all_closing(ff);
	fa_forget_file(ff);
	mutex_lock(&fa_lock);
	last = !--fm->nfiles;
	if (last)
		hash_del_rcu(&fm->node);
	mutex_unlock(&fa_lock);
	if (last)
		fa_mm_free(fm);
	mmdrop(ff->mm);
	fa_file_put(ff);	/* waiters still leaving hold ff; the fault hook may still hold a slot */
	return 0;
}

union fa_args {
	struct fa_prepare prepare;
	struct fa_map map;
	struct fa_range range;
	struct fa_stats stats;
	struct fa_gup gup;
	struct fa_mapv mapv;
};

static bool fa_known_cmd(unsigned int cmd)
{
	return cmd == FA_IOC_PREPARE || cmd == FA_IOC_MAP || cmd == FA_IOC_RELEASE ||
	       cmd == FA_IOC_STATS || cmd == FA_IOC_GUP || cmd == FA_IOC_MAPV;
}

/* EINVAL for arguments no state can make valid; 0 otherwise. */
static int fa_validate(unsigned int cmd, union fa_args *u)
{
	switch (cmd) {
	case FA_IOC_PREPARE:
		if (!fa_range_ok(u->prepare.start, u->prepare.len) || (u->prepare.flags & ~FA_PREPARE_KWAIT) ||
		    !fa_signo_ok(u->prepare.signo))
			return -EINVAL;
		return 0;
	case FA_IOC_MAP:
		return fa_map_args_ok(u->map.dst, u->map.src, u->map.len, u->map.flags) ? 0 : -EINVAL;
	case FA_IOC_MAPV:
		if (!u->mapv.count || u->mapv.count > FA_MAPV_MAX || (u->mapv.flags & ~FA_MAP_COPY))
			return -EINVAL;
		return 0;
	case FA_IOC_RELEASE:
		return fa_range_ok(u->range.start, u->range.len) ? 0 : -EINVAL;
	case FA_IOC_GUP:
		if (!u->gup.npages || u->gup.npages > TASK_SIZE >> PAGE_SHIFT ||
		    !fa_range_ok(u->gup.start, u->gup.npages << PAGE_SHIFT))
			return -EINVAL;
		return 0;
	default:	/* FA_IOC_STATS */
		return 0;
	}
}

static long fa_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct fa_file *ff = file->private_data;
	void __user *uarg = (void __user *)arg;
	union fa_args u = {};
	int err;

	if (current->mm != ff->mm)
		return -EPERM;
	if (!fa_known_cmd(cmd))
		return -ENOTTY;
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;
	err = fa_validate(cmd, &u);

	switch (cmd) {
	case FA_IOC_PREPARE:
		u.prepare.prepared = 0;
		if (!err)
			err = fa_do_prepare(ff, &u.prepare);
		break;
	case FA_IOC_MAP:
		u.map.mapped = 0;
		if (!err)
			err = fa_do_map(ff, &u.map);
		if (err)
			atomic64_inc(&ff->map_errors);
		break;
	case FA_IOC_MAPV:
		u.mapv.mapped = 0;
		if (!err)
			err = fa_do_mapv(ff, &u.mapv);
		if (err)
			atomic64_inc(&ff->map_errors);
		break;
	case FA_IOC_RELEASE:
		if (!err)
			err = fa_do_release(ff, &u.range);
		break;
	case FA_IOC_STATS:
		u.stats.pages_prepared = atomic64_read(&ff->pages_prepared);
		u.stats.pages_mapped = atomic64_read(&ff->pages_mapped);
		u.stats.user_faults = atomic64_read(&ff->user_faults);
		u.stats.kernel_faults = atomic64_read(&ff->kernel_faults);
		u.stats.map_errors = atomic64_read(&ff->map_errors);
		break;
	case FA_IOC_GUP:
		u.gup.pinned = err ? err : fa_gup(u.gup.start, u.gup.npages);
		break;
	}
	/* (out) fields go back on failure too: fa_map(v).mapped counts the pages done. */
	if ((_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
		return -EFAULT;
	return err;
}

/* ---- the fault-event file descriptor ------------------------------------------ */

#define FA_READ_EVENTS 64	/* records one read() returns at most */

/* Is a waiter asleep on a page read() has not reported?  Caller holds wait_lock. */
static bool fa_unreported(struct fa_file *ff, const struct fa_waiter *w)
{
	return w->asleep && !w->woken && !xa_load(&ff->reported, w->addr >> PAGE_SHIFT);
}

static bool fa_has_events(struct fa_file *ff)
{
	struct fa_waiter *w;
	bool any = false;

	spin_lock(&ff->wait_lock);
	list_for_each_entry(w, &ff->waiters, node) {
		any = fa_unreported(ff, w);
		if (any)
			break;
	}
	spin_unlock(&ff->wait_lock);
	return any;
}

/*
 * Up to max records of waiting pages not yet reported, each page once (it
 * is reported until mapped, released or unmapped: fa_wake_range()).  If
 * the note cannot be stored (no memory), the page is reported again later.
 */
static int fa_take_events(struct fa_file *ff, struct fa_event *ev, int max)
{
	struct fa_waiter *w;
	int n = 0;

	spin_lock(&ff->wait_lock);
	list_for_each_entry(w, &ff->waiters, node) {
		if (n == max)
			break;
		if (!fa_unreported(ff, w))
			continue;
		xa_store(&ff->reported, w->addr >> PAGE_SHIFT, xa_mk_value(1), GFP_NOWAIT | __GFP_NOWARN);
		ev[n++] = (struct fa_event){ .addr = w->addr, .tid = w->tid, .flags = w->flags };
	}
	spin_unlock(&ff->wait_lock);
	return n;
}

/*
 * read(): struct fa_event records, one per page a kernel access waits for;
 * blocks until there is one unless O_NONBLOCK (EAGAIN).  Only the mm that
 * opened the file may read (EPERM), as for every ioctl.
 */
static ssize_t fa_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct fa_file *ff = file->private_data;
	struct fa_event *ev;
	ssize_t ret;
	int n;

	if (current->mm != ff->mm)
		return -EPERM;
	if (count < sizeof(*ev))
		return -EINVAL;
	ev = kmalloc_array(FA_READ_EVENTS, sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -ENOMEM;
	while (!(n = fa_take_events(ff, ev, min_t(size_t, count / sizeof(*ev), FA_READ_EVENTS)))) {
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out;
		ret = -ERESTARTSYS;
		if (wait_event_interruptible(ff->event_wq, fa_has_events(ff)))
			goto out;
	}
	ret = copy_to_user(buf, ev, n * sizeof(*ev)) ? -EFAULT : n * sizeof(*ev);
out:
	kfree(ev);
	return ret;
}

/* poll(): readable while a kernel access waits on a page read() has not reported; another mm: EPOLLERR. */
static __poll_t fa_poll(struct file *file, struct poll_table_struct *wait)
{
	struct fa_file *ff = file->private_data;

	if (current->mm != ff->mm)
		return EPOLLERR;
	poll_wait(file, &ff->event_wq, wait);
	return fa_has_events(ff) ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_operations fa_fops = {
	.owner = THIS_MODULE,
	.open = fa_open,
	.release = fa_release,
	.read = fa_read,
	.poll = fa_poll,
	.unlocked_ioctl = fa_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice fa_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "fault_area",
	.fops = &fa_fops,
	.mode = 0600,
};

/*
 * With IBT, functions only ever called directly have their ENDBR sealed at
 * boot, and our indirect calls into them would take a #CP fault.
 */
static bool fa_ibt_sealed(void *fn)
{
#ifdef CONFIG_X86_KERNEL_IBT
	return cpu_feature_enabled(X86_FEATURE_IBT) && !is_endbr(*(u32 *)fn);
#else
	return false;
#endif
}

/* kallsyms_lookup_name is not exported either; a kprobe on it reveals it. */
static int fa_resolve_syms(void)
{
	unsigned long (*lookup)(const char *name);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int i, missing = 0;

	if (register_kprobe(&kp) < 0) {
		pr_err("cannot find kallsyms_lookup_name (kprobes disabled?)\n");
		return -ENOENT;
	}
	lookup = (void *)kp.addr;
	unregister_kprobe(&kp);
	for (i = 0; i < ARRAY_SIZE(fa_syms); i++) {
		*fa_syms[i].addr = (void *)lookup(fa_syms[i].name);
		if (!*fa_syms[i].addr) {
			pr_err("kernel symbol %s not found: this kernel is not supported\n",
			       fa_syms[i].name);
			missing++;
		} else if (fa_ibt_sealed(*fa_syms[i].addr)) {
			pr_err("%s lost its ENDBR (IBT): an indirect call would fault; boot with ibt=off\n",
			       fa_syms[i].name);
			missing++;
		}
	}
	return missing ? -ENOENT : 0;
}

static int __init fa_init(void)
{
	int err;

	if (group >= 0) {
		fa_gid = make_kgid(current_user_ns(), group);
		if (!gid_valid(fa_gid)) {
			pr_err("group=%d is not a valid gid\n", group);
			return -EINVAL;
		}
		fa_misc.mode = 0666;	/* fa_open() checks the group */
	}
	err = fa_resolve_syms();
	if (err)
		return err;
	err = ftrace_set_filter_ip(&fa_ftrace_ops, (unsigned long)fa_k.do_swap_page, 0, 0);
	if (err) {
		pr_err("cannot filter ftrace on do_swap_page: %d\n", err);
		return err;
	}
	err = register_ftrace_function(&fa_ftrace_ops);
	if (err) {
		pr_err("cannot hook do_swap_page: %d\n", err);
		goto err_filter;
	}
	err = misc_register(&fa_misc);
	if (err)
		goto err_hook;
	return 0;

err_hook:
	unregister_ftrace_function(&fa_ftrace_ops);
err_filter:
	ftrace_set_filter_ip(&fa_ftrace_ops, (unsigned long)fa_k.do_swap_page, 1, 0);
	return err;
}

static void __exit fa_exit(void)
{
	misc_deregister(&fa_misc);
	unregister_ftrace_function(&fa_ftrace_ops);
	ftrace_set_filter_ip(&fa_ftrace_ops, (unsigned long)fa_k.do_swap_page, 1, 0);
	/*
	 * No file is open (each holds a module reference), so a redirected
	 * fault finds no slot and leaves at once; wait for those before the
	 * text goes.
	 */
	while (atomic_read(&fa_hooks_running))
		schedule_timeout_uninterruptible(1);
	/* a task preempted in the last instructions of the hook has left them */
	synchronize_rcu_tasks();
	rcu_barrier();	/* fa_file_free() callbacks queued by the last closes */
}

module_init(fa_init);
module_exit(fa_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("fault_area: magic ptes that signal, and a zero-copy pte-move map");
