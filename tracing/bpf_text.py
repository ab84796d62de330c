"""The tracer's BPF program: one text holding every probe, compiled once.

Probe ids (P_<name>), the work counter kinds (W_<kind>), the filters and
which vmlinux functions exist (HAVE_<name>) come in as -D flags from
tracing.probes.cflags().  Every probe first drops a task outside the traced
tgids (one hash lookup; a process a traced one forks joins them; a return
half looks up its own thread's parked entry instead, which only a traced
thread has), then
counts into the per-CPU `counts`; probes with a return half also feed the
per-CPU log2 latency histogram `hist`; while config[CFG_EVENTS] is set each
call becomes one event in the ring buffer, and a full buffer counts in `lost`.

vmlinux functions are probed with fentry/fexit (bcc's kfunc__/kretfunc__
programs, as KFUNC_PROBE makes them): the fexit half has the arguments and
the return value, so the fentry half only stamps the entry time in `stamps`.  fault_area.ko's
operations have their own tracepoints (kmod/fault_area_trace.h), attached
as raw tracepoints: the _enter program parks the arguments in `entries`
for the _exit program.  bcc attaches every kfunc__ program when it loads
the text, so the tracer detaches them at once and attaches per round; the
raw tracepoint programs here carry no autoload prefix for the same reason.

The work counters (raw tracepoints, attached when a round asks for them)
count kernel work per traced tgid in the per-CPU hash `work`: syscalls by
number, ioctls by cmd, signals, context switches, TLB flushes by reason,
pages allocated and freed, pages allocated inside a placement ioctl
(FA_IOC_MAP, UFFDIO_COPY, UFFDIO_MOVE: the thread is marked in `placing`
from sys_enter to sys_exit), and the bytes each placement ioctl reports it
copied or moved (read back from its argument at sys_exit).
"""

BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>
#include <linux/mm.h>
#include <linux/sched.h>

struct event_t {
    u64 ts;         /* ns, bpf_ktime_get_ns() */
    u64 addr;
    u64 len;
    u64 flags;
    s64 ret;
    u64 lat;        /* ns, entry to return */
    u64 arg;
    u32 cpu;
    u32 tgid;
    u32 tid;
    u32 probe;
    s32 stack;      /* kernel stack id, flush_tlb_mm_range only */
    char comm[16];
};

struct entry_key_t {
    u32 tid;
    u32 probe;
};

struct entry_t {
    u64 ts;
    u64 addr;
    u64 len;
    u64 flags;
    u64 arg;
};

struct work_key_t {
    u32 tgid;
    u32 kind;       /* W_* */
    u64 sub;        /* syscall number, ioctl cmd, signal, TLB flush reason, ... */
};

struct place_t {
    u64 argp;       /* the ioctl's user argument: its result field is read at sys_exit */
    u32 cmd;
    u32 copy;       /* 1: the placement copies (UFFDIO_COPY, FA_IOC_MAP with FA_MAP_COPY) */
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(counts, u64, NPROBES);
BPF_PERCPU_ARRAY(lost, u64, 1);
BPF_ARRAY(config, u64, NCONFIG);   /* CFG_*: 1 = on */
BPF_PERCPU_ARRAY(hist, u64, NPROBES * 64);   /* probe * 64 + log2(ns) */
BPF_HASH(entries, struct entry_key_t, struct entry_t, 16384);
BPF_HASH(stamps, struct entry_key_t, u64, 16384);
BPF_HASH(targets, u32, u8, 64);
/* The flush's caller is a few frames up: the map's depth bounds the unwinding (bpf_get_stackid
   walks no deeper than a value holds), which under TCG costs more than the rest of the probe. */
struct tlb_stack_t {
    u64 ip[TLB_STACK_DEPTH];
};
BPF_TABLE("stacktrace", int, struct tlb_stack_t, stacks, 1024);
BPF_PERCPU_HASH(work, struct work_key_t, u64, 4096);
BPF_HASH(placing, u32, struct place_t, 1024);

/* explicit reads: the arguments are cast from registers */
#define KREAD(var, src) bpf_probe_read_kernel(&(var), sizeof(var), &(src))

/* The caller's tgid when it is traced, else 0: the first thing every probe asks. */
static inline u32 traced_tgid(void)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
#if FILTER_TGID
    if (!targets.lookup(&tgid))
        return 0;
#endif
    return tgid;
}

/* A process a traced one forks is traced too (raw tracepoint sched_process_fork, attached with
   the tgid filter): value 2 marks it, so that the next round forgets it. */
int tp_sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid(), child = 0;
    u8 followed = 2;

    if (!tgid)
        return 0;
    KREAD(child, ((struct task_struct *)ctx->args[1])->tgid);
    if (child != tgid)
        targets.update(&child, &followed);
    return 0;
}

static inline int traced_addr(u64 addr)
{
#if FILTER_ADDR
    if (addr < ADDR_LO || addr >= ADDR_HI)
        return 0;
#endif
    return 1;
}

static inline int switched_on(u32 which)
{
    u64 *on = config.lookup(&which);

    return on && *on;
}

/* ts is the return time (or the call time, for one-shot probes): one clock read, so
   ts - lat is exactly the entry time. */
static inline void emit(u32 probe, struct entry_t *e, s64 ret, u64 ts, u64 lat, s32 stack)
{
    u32 zero = 0;
    u64 *n = counts.lookup(&probe);

    if (n)
        (*n)++;
    if (lat) {
        u32 slot = probe * 64 + bpf_log2l(lat);
        u64 *h = hist.lookup(&slot);

        if (h)
            (*h)++;
    }
    if (!switched_on(CFG_EVENTS))
        return;
    struct event_t *ev = events.ringbuf_reserve(sizeof(struct event_t));

    if (!ev) {
        u64 *l = lost.lookup(&zero);

        if (l)
            (*l)++;
        return;
    }
    u64 id = bpf_get_current_pid_tgid();

    ev->ts = ts;
    ev->addr = e->addr;
    ev->len = e->len;
    ev->flags = e->flags;
    ev->arg = e->arg;
    ev->ret = ret;
    ev->lat = lat;
    ev->cpu = bpf_get_smp_processor_id();
    ev->tgid = id >> 32;
    ev->tid = (u32)id;
    ev->probe = probe;
    ev->stack = stack;
    bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
    events.ringbuf_submit(ev, BPF_RB_NO_WAKEUP);   /* the tracer drains on a clock */
}

/* _enter tracepoint of a module operation: park the arguments for its _exit */
static inline int enter(u32 probe, u64 addr, u64 len, u64 flags, u64 arg)
{
    if (!traced_tgid() || !traced_addr(addr))
        return 0;
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid(), .probe = probe };
    struct entry_t e = { .ts = bpf_ktime_get_ns(), .addr = addr, .len = len, .flags = flags, .arg = arg };

    entries.update(&key, &e);
    return 0;
}

/* The return halves ask no tgid: only a traced thread parks an entry (the tracer clears them
   between rounds), so the lookup of its own entry is the filter, one hash lookup instead of two. */
static inline int leave(u32 probe, s64 ret)
{
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid(), .probe = probe };
    struct entry_t *e = entries.lookup(&key);

    if (!e)
        return 0;
    u64 now = bpf_ktime_get_ns();

    emit(probe, e, ret, now, now - e->ts, -1);
    entries.delete(&key);
    return 0;
}

/* fentry half of a pair: the entry time alone */
static inline int stamp(u32 probe, u64 addr)
{
    if (!traced_tgid() || !traced_addr(addr))
        return 0;
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid(), .probe = probe };
    u64 ts = bpf_ktime_get_ns();

    stamps.update(&key, &ts);
    return 0;
}

/* fexit half: arguments and return value at once, for a call whose entry was stamped */
static inline int done(u32 probe, u64 addr, u64 len, u64 flags, u64 arg, s64 ret)
{
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid(), .probe = probe };
    u64 *t = stamps.lookup(&key);

    if (!t)
        return 0;
    u64 now = bpf_ktime_get_ns();
    struct entry_t e = { .addr = addr, .len = len, .flags = flags, .arg = arg };

    emit(probe, &e, ret, now, now - *t, -1);
    stamps.delete(&key);
    return 0;
}

/* one event with no return half */
static inline int once(u32 probe, u64 addr, u64 len, u64 flags, u64 arg, s32 stack)
{
    struct entry_t e = { .addr = addr, .len = len, .flags = flags, .arg = arg };

    emit(probe, &e, 0, bpf_ktime_get_ns(), 0, stack);
    return 0;
}

/* fentry/fexit programs, as bcc's KFUNC_PROBE/KRETFUNC_PROBE name them (the kfunc__ and kretfunc__
   prefixes choose the attach type and the BTF function).  A(n) is argument n (from 0); an fexit finds
   the return value after the last argument, at NARGS_<name>, which cflags() takes from the kernel's
   BTF: a prototype that changed cannot shift it. */
#define FENTRY(name) int kfunc__##name(u64 *ctx)
#define FEXIT(name) int kretfunc__##name(u64 *ctx)
#define A(n) (ctx[n])
#define RET(name) ((s64)ctx[NARGS_##name])
#define RET32(name) ((s64)(int)ctx[NARGS_##name])
/* the fentry half of a pair, stamping calls about addr */
#define STAMP(name, addr) FENTRY(name) { return stamp(P_##name, (addr)); }

/* a VMA's range */
static inline u64 vma_start(struct vm_area_struct *vma)
{
    u64 start = 0;

    KREAD(start, vma->vm_start);
    return start;
}

static inline u64 vma_len(struct vm_area_struct *vma)
{
    u64 end = 0;

    KREAD(end, vma->vm_end);
    return end - vma_start(vma);
}

/* fault entry (vma, address, flags, regs): arg = 1 when regs == NULL (a gup fault) */
#ifdef HAVE_handle_mm_fault
STAMP(handle_mm_fault, A(1))
FEXIT(handle_mm_fault)
{ return done(P_handle_mm_fault, A(1), 0, (u32)A(2), A(3) == 0, (u32)RET(handle_mm_fault)); }
#endif

/* gup (start, nr_pages, gup_flags, pages): len = pages asked, ret = pages returned or -errno */
#ifdef HAVE_get_user_pages_fast
STAMP(get_user_pages_fast, A(0))
FEXIT(get_user_pages_fast)
{ return done(P_get_user_pages_fast, A(0), (int)A(1), (u32)A(2), 0, RET32(get_user_pages_fast)); }
#endif
#ifdef HAVE_pin_user_pages_fast
STAMP(pin_user_pages_fast, A(0))
FEXIT(pin_user_pages_fast)
{ return done(P_pin_user_pages_fast, A(0), (int)A(1), (u32)A(2), 0, RET32(pin_user_pages_fast)); }
#endif
#ifdef HAVE_gup_fast_fallback
STAMP(gup_fast_fallback, A(0))
FEXIT(gup_fast_fallback)
{ return done(P_gup_fast_fallback, A(0), A(1), (u32)A(2), 0, RET32(gup_fast_fallback)); }
#endif
/* (start, end, gup_flags, pages) */
#ifdef HAVE_gup_fast
STAMP(gup_fast, A(0))
FEXIT(gup_fast)
{ return done(P_gup_fast, A(0), (A(1) - A(0)) >> 12, (u32)A(2), 0, RET(gup_fast)); }
#endif
/* (mm, start, nr_pages, gup_flags, pages, locked) */
#ifdef HAVE___get_user_pages
STAMP(__get_user_pages, A(1))
FEXIT(__get_user_pages)
{ return done(P___get_user_pages, A(1), A(2), (u32)A(3), 0, RET(__get_user_pages)); }
#endif
/* (vma, address, flags, unshare, locked) */
#ifdef HAVE_faultin_page
STAMP(faultin_page, A(1))
FEXIT(faultin_page)
{ return done(P_faultin_page, A(1), 0, 0, 0, RET32(faultin_page)); }
#endif

/* VMA life: addr/len where the function has them */
#ifdef HAVE_vm_area_alloc
STAMP(vm_area_alloc, 0)
FEXIT(vm_area_alloc)
{ return done(P_vm_area_alloc, 0, 0, 0, 0, RET(vm_area_alloc)); }
#endif
/* (orig) */
#ifdef HAVE_vm_area_dup
STAMP(vm_area_dup, 0)
FEXIT(vm_area_dup)
{
    struct vm_area_struct *orig = (struct vm_area_struct *)A(0);

    return done(P_vm_area_dup, vma_start(orig), vma_len(orig), 0, 0, RET(vm_area_dup));
}
#endif
/* (vmi, vma, addr, new_below) */
#ifdef HAVE___split_vma
STAMP(__split_vma, 0)
FEXIT(__split_vma)
{
    struct vm_area_struct *vma = (struct vm_area_struct *)A(1);

    return done(P___split_vma, vma_start(vma), vma_len(vma), 0, A(2), RET32(__split_vma));
}
#endif
#ifdef HAVE_vma_merge_new_range
STAMP(vma_merge_new_range, 0)
FEXIT(vma_merge_new_range)
{ return done(P_vma_merge_new_range, 0, 0, 0, 0, RET(vma_merge_new_range)); }
#endif
#ifdef HAVE_vma_merge_existing_range
STAMP(vma_merge_existing_range, 0)
FEXIT(vma_merge_existing_range)
{ return done(P_vma_merge_existing_range, 0, 0, 0, 0, RET(vma_merge_existing_range)); }
#endif
#ifdef HAVE_vma_expand
STAMP(vma_expand, 0)
FEXIT(vma_expand)
{ return done(P_vma_expand, 0, 0, 0, 0, RET32(vma_expand)); }
#endif
/* (vmap, addr, len, ...) */
#ifdef HAVE_copy_vma
STAMP(copy_vma, A(1))
FEXIT(copy_vma)
{ return done(P_copy_vma, A(1), A(2), 0, 0, RET(copy_vma)); }
#endif
/* (file, addr, len, vm_flags, ...) */
#ifdef HAVE_mmap_region
STAMP(mmap_region, A(1))
FEXIT(mmap_region)
{ return done(P_mmap_region, A(1), A(2), A(3), 0, RET(mmap_region)); }
#endif

/* fault_area.ko's tracepoints (raw: ctx->args are the TP_PROTO arguments, kmod/fault_area_trace.h) */
#define ENTER(name) int ent_##name(struct bpf_raw_tracepoint_args *ctx)
#define ARG(n) (ctx->args[n])
/* the _exit events of the ioctls carry an int: sign-extend, so -EFAULT reads as -14 */
#define EXIT(name) int ret_##name(struct bpf_raw_tracepoint_args *ctx) { return leave(P_##name, (s64)(int)ARG(0)); }
/* (addr, fault_flags) / (addr, vm_fault) */
ENTER(fa_fault_hook) { return enter(P_fa_fault_hook, ARG(0), 0, (u32)ARG(1), 0); }
int ret_fa_fault_hook(struct bpf_raw_tracepoint_args *ctx) { return leave(P_fa_fault_hook, (u32)ARG(1)); }
/* (start, end, signo) */
ENTER(fa_prepare) { return enter(P_fa_prepare, ARG(0), ARG(1) - ARG(0), 0, (int)ARG(2)); }
EXIT(fa_prepare)
/* (dst, src, len, flags) */
ENTER(fa_map) { return enter(P_fa_map, ARG(0), ARG(2), ARG(3), ARG(1)); }
EXIT(fa_map)
/* (dst, src) */
ENTER(fa_map_page) { return enter(P_fa_map_page, ARG(0), 4096, 0, ARG(1)); }
EXIT(fa_map_page)
/* (start, end) */
ENTER(fa_release_range) { return enter(P_fa_release_range, ARG(0), ARG(1) - ARG(0), 0, 0); }
EXIT(fa_release_range)
/* (addr, FA_EV_* flags) / (addr, why) */
ENTER(fa_kwait) { return enter(P_fa_kwait, ARG(0), 0, (u32)ARG(1), 0); }
int ret_fa_kwait(struct bpf_raw_tracepoint_args *ctx) { return leave(P_fa_kwait, (int)ARG(1)); }

/* a move: the folio changes anon_vma (arg = folio) */
#ifdef HAVE_folio_move_anon_rmap
FENTRY(folio_move_anon_rmap)   /* (folio, vma) */
{
    if (!traced_tgid())
        return 0;
    return once(P_folio_move_anon_rmap, 0, 0, 0, A(0), -1);
}
#endif

/* a page allocated for a user mapping, inside a placement call only (the copy path
   allocates, a move must not); the call's fentry or _enter tracepoint has its entry parked */
static inline int placing_now(u32 tid)
{
    struct entry_key_t map = { .tid = tid, .probe = P_fa_map };
    struct entry_key_t copy = { .tid = tid, .probe = P_mfill_atomic_copy };
    struct entry_key_t move = { .tid = tid, .probe = P_move_pages };

    return entries.lookup(&map) || stamps.lookup(&copy) || stamps.lookup(&move);
}
#ifdef HAVE_vma_alloc_folio_noprof
FENTRY(vma_alloc_folio_noprof)   /* (gfp, order, vma, addr, ...) */
{
    if (!traced_tgid() || !placing_now((u32)bpf_get_current_pid_tgid()) || !traced_addr(A(3)))
        return 0;
    return once(P_vma_alloc_folio_noprof, A(3), 0, (u32)A(0), 0, -1);
}
#endif

/* mainline path */
#ifdef HAVE_handle_userfault
/* (vmf, reason) */
FENTRY(handle_userfault)
{
    if (!traced_tgid())
        return 0;
    u64 addr = 0;

    KREAD(addr, ((struct vm_fault *)A(0))->real_address);
    return stamp(P_handle_userfault, addr);
}
FEXIT(handle_userfault)
{
    if (!traced_tgid())
        return 0;
    struct vm_fault *vmf = (struct vm_fault *)A(0);
    u64 addr = 0;
    u32 flags = 0;

    KREAD(addr, vmf->real_address);
    KREAD(flags, vmf->flags);
    return done(P_handle_userfault, addr, 0, flags, A(1), (u32)RET(handle_userfault));
}
#endif
/* (uffd ctx, dst, src, len, mode or flags): ret = bytes or -errno */
#ifdef HAVE_move_pages
STAMP(move_pages, A(1))
FEXIT(move_pages)
{ return done(P_move_pages, A(1), A(3), 0, A(2), RET(move_pages)); }
#endif
#ifdef HAVE_mfill_atomic_copy
STAMP(mfill_atomic_copy, A(1))
FEXIT(mfill_atomic_copy)
{ return done(P_mfill_atomic_copy, A(1), A(3), 0, A(2), RET(mfill_atomic_copy)); }
#endif

/* Who asked for a flush: the innermost placement or release the thread is inside (its _enter or
   fentry parked an entry this round), as -2 - its probe id; else the kernel stack's id, or -1 when
   there is none (get_stackid's -errno would read as a probe).  Under
   icount a stack id costs ~8000 instructions, more than the rest of the event, the lookups a few
   hundred; the stack stays for flushes outside the traced operations (mprotect, munmap, ...). */
static inline s32 flush_caller(void *ctx)
{
    u32 parked[] = { P_fa_map_page, P_fa_map, P_fa_release_range, P_fa_prepare };
    u32 stamped[] = { P_move_pages, P_mfill_atomic_copy };
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid() };

#pragma unroll
    for (int i = 0; i < sizeof(parked) / sizeof(parked[0]); i++) {
        key.probe = parked[i];
        if (entries.lookup(&key))
            return -2 - (s32)parked[i];
    }
#pragma unroll
    for (int i = 0; i < sizeof(stamped) / sizeof(stamped[0]); i++) {
        key.probe = stamped[i];
        if (stamps.lookup(&key))
            return -2 - (s32)stamped[i];
    }
    s32 id = stacks.get_stackid(ctx, 0);

    return id < 0 ? -1 : id;
}

/* TLB flushes, with who asked for them (when events are on) */
#ifdef HAVE_flush_tlb_mm_range
FENTRY(flush_tlb_mm_range)   /* (mm, start, end, ...) */
{
    if (!traced_tgid() || !traced_addr(A(1)))
        return 0;
    return once(P_flush_tlb_mm_range, A(1), A(2) - A(1), 0, 0, switched_on(CFG_EVENTS) ? flush_caller(ctx) : -1);
}
#endif

/* the work counters */
static inline void add_work(u32 tgid, u32 kind, u64 sub, u64 n)
{
    if (!switched_on(CFG_WORK))
        return;
    struct work_key_t key = { .tgid = tgid, .kind = kind, .sub = sub };
    u64 *v = work.lookup(&key);

    if (v)
        *v += n;
    else
        work.update(&key, &n);
}

/* signals sent (raw tracepoint signal:signal_generate): by the workload, or to it;
   a counter (signal number) and, for group signal, an event */
int tp_signal_generate(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid(), target = 0, pid = 0;
    struct task_struct *task = (struct task_struct *)ctx->args[2];

    if (!tgid) {
        KREAD(target, task->tgid);
        if (!targets.lookup(&target))
            return 0;
    }
    int sig = (int)ctx->args[0];
    u64 info = ctx->args[1];
    int code = 0;   /* SEND_SIG_NOINFO (0): SI_USER; SEND_SIG_PRIV (1): SI_KERNEL, as the tracepoint says */

    if (info == 1)
        code = 0x80;
    else if (info > 1)
        KREAD(code, ((struct kernel_siginfo *)info)->si_code);
    KREAD(pid, task->pid);
    if (switched_on(CFG_WORK))
        add_work(tgid ? tgid : target, W_signal_generate, sig, 1);
    if (switched_on(CFG_SIGNAL)) {
        struct entry_t e = { .flags = (u64)(s64)code, .arg = sig, .len = pid };

        emit(P_signal_generate, &e, (int)ctx->args[4], bpf_ktime_get_ns(), 0, -1);
    }
    return 0;
}

int tp_signal_deliver(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid();

    if (tgid)
        add_work(tgid, W_signal_deliver, (int)ctx->args[0], 1);
    return 0;
}

/* a switch away from a workload thread; sub: 1 when it was preempted */
int tp_sched_switch(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid();

    if (tgid)
        add_work(tgid, W_sched_switch, ctx->args[0] & 1, 1);
    return 0;
}

/* sub: enum tlb_flush_reason; TLB_REMOTE_SEND_IPI is the sender's side of a remote flush */
int tp_tlb_flush(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid();

    if (tgid)
        add_work(tgid, W_tlb_flush, (int)ctx->args[0], 1);
    return 0;
}

int tp_mm_page_alloc(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid(), tid = (u32)bpf_get_current_pid_tgid();
    u64 pages = 1ULL << (ctx->args[1] & 31);

    if (!tgid)
        return 0;
    add_work(tgid, W_mm_page_alloc, 0, pages);
    if (placing.lookup(&tid))
        add_work(tgid, W_page_alloc_placement, 0, pages);
    return 0;
}

/* every free passes free_pages_prepare(), which fires mm_page_free (a batched free too) */
int tp_mm_page_free(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid();

    if (tgid)
        add_work(tgid, W_mm_page_free, 0, 1ULL << (ctx->args[1] & 31));
    return 0;
}

/* syscalls by number; an ioctl by cmd, and a placement ioctl marks its thread until sys_exit */
int tp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid();

    if (!tgid || !switched_on(CFG_WORK))
        return 0;
    u64 nr = ctx->args[1];

    add_work(tgid, W_sys_enter, nr, 1);
    if (nr != NR_IOCTL)
        return 0;
    struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
    u64 cmd = 0;
    struct place_t p = {};

    KREAD(cmd, regs->si);
    KREAD(p.argp, regs->dx);
    p.cmd = (u32)cmd;
    add_work(tgid, W_ioctl, p.cmd, 1);
    if (p.cmd == UFFDIO_COPY_CMD) {
        p.copy = 1;
    } else if (p.cmd == FA_IOC_MAP_CMD) {
        u64 flags = 0;   /* struct fa_map.flags */

        bpf_probe_read_user(&flags, sizeof(flags), (void *)(p.argp + 24));
        p.copy = (flags & FA_MAP_COPY_FLAG) != 0;
    } else if (p.cmd != UFFDIO_MOVE_CMD) {
        return 0;
    }
    u32 tid = (u32)bpf_get_current_pid_tgid();

    placing.update(&tid, &p);
    return 0;
}

/* a placement ioctl's end: the bytes it reports (fa_map.mapped, uffdio_copy.copy, uffdio_move.move,
   each at offset 32), as copied or moved */
int tp_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
    u32 tgid = traced_tgid(), tid = (u32)bpf_get_current_pid_tgid();

    if (!tgid)
        return 0;
    struct place_t *p = placing.lookup(&tid);

    if (!p)
        return 0;
    s64 bytes = 0;

    bpf_probe_read_user(&bytes, sizeof(bytes), (void *)(p->argp + 32));
    if (bytes > 0)
        add_work(tgid, p->copy ? W_bytes_copied : W_bytes_moved, p->cmd, bytes);
    placing.delete(&tid);
    return 0;
}
"""
