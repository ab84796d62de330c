"""The tracer's BPF program: one text holding every probe, compiled once.

Probe ids (P_<name>) and the filters come in as -D flags from
tracing.probes.cflags().  Every probe counts into `counts`; probes with a
return half also feed the log2 latency histogram `hist`; while
config[CFG_EVENTS] is set each call becomes one event in the ring buffer,
and a full buffer counts in `lost`.  The switches in `config` are set at
run time, so one compile serves every run of a session.  Entry halves park
their arguments in `entries`, keyed by thread and probe, for the return
half to emit.
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

struct hist_key_t {
    u64 probe;      /* u64: no padding, so equal keys hash equal */
    u64 slot;
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_ARRAY(counts, u64, NPROBES);
BPF_ARRAY(lost, u64, 1);
BPF_ARRAY(config, u64, 2);   /* CFG_EVENTS, CFG_SIGNAL: 1 = on */
BPF_HISTOGRAM(hist, struct hist_key_t, NPROBES * 64);
BPF_HASH(entries, struct entry_key_t, struct entry_t, 16384);
BPF_HASH(targets, u32, u8, 64);
BPF_STACK_TRACE(stacks, 1024);

/* The workload: a target tgid or a child of one (a helper process). */
static inline int traced_task(void)
{
#if FILTER_TGID
    u32 tgid = bpf_get_current_pid_tgid() >> 32, parent = 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task(), *up = NULL;

    bpf_probe_read_kernel(&up, sizeof(up), &task->real_parent);
    bpf_probe_read_kernel(&parent, sizeof(parent), &up->tgid);

    if (!targets.lookup(&tgid) && !targets.lookup(&parent))
        return 0;
#endif
    return 1;
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
        __sync_fetch_and_add(n, 1);
    if (lat) {
        struct hist_key_t key = { .probe = probe, .slot = bpf_log2l(lat) };

        hist.increment(key);
    }
    if (!switched_on(CFG_EVENTS))
        return;
    struct event_t *ev = events.ringbuf_reserve(sizeof(struct event_t));

    if (!ev) {
        u64 *l = lost.lookup(&zero);

        if (l)
            __sync_fetch_and_add(l, 1);
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
    events.ringbuf_submit(ev, 0);
}

static inline int enter(u32 probe, u64 addr, u64 len, u64 flags, u64 arg)
{
    if (!traced_task() || !traced_addr(addr))
        return 0;
    struct entry_key_t key = { .tid = (u32)bpf_get_current_pid_tgid(), .probe = probe };
    struct entry_t e = { .ts = bpf_ktime_get_ns(), .addr = addr, .len = len, .flags = flags, .arg = arg };

    entries.update(&key, &e);
    return 0;
}

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

/* one event with no return half */
static inline int once(void *ctx, u32 probe, u64 addr, u64 len, u64 flags, u64 arg, s32 stack)
{
    if (!traced_task() || !traced_addr(addr))
        return 0;
    struct entry_t e = { .addr = addr, .len = len, .flags = flags, .arg = arg };

    emit(probe, &e, 0, bpf_ktime_get_ns(), 0, stack);
    return 0;
}

/* explicit reads: the arguments below are cast from registers */
#define KREAD(var, src) bpf_probe_read_kernel(&(var), sizeof(var), &(src))
#define P(n) PARM_##n
#define PARM_1 PT_REGS_PARM1(ctx)
#define PARM_2 PT_REGS_PARM2(ctx)
#define PARM_3 PT_REGS_PARM3(ctx)
#define PARM_4 PT_REGS_PARM4(ctx)
#define RET_OF(name) int ret_##name(struct pt_regs *ctx) { return leave(P_##name, PT_REGS_RC(ctx)); }
/* for functions returning int: sign-extend, so -EFAULT reads as -14 */
#define RET32_OF(name) int ret_##name(struct pt_regs *ctx) { return leave(P_##name, (s64)(int)PT_REGS_RC(ctx)); }

/* fault entry: arg = 1 when regs == NULL (a gup fault) */
int ent_handle_mm_fault(struct pt_regs *ctx)
{ return enter(P_handle_mm_fault, P(2), 0, P(3), P(4) == 0); }
RET_OF(handle_mm_fault)

/* gup: len = pages asked, ret = pages returned or -errno */
int ent_get_user_pages_fast(struct pt_regs *ctx)
{ return enter(P_get_user_pages_fast, P(1), P(2), P(3), 0); }
RET32_OF(get_user_pages_fast)
int ent_pin_user_pages_fast(struct pt_regs *ctx)
{ return enter(P_pin_user_pages_fast, P(1), P(2), P(3), 0); }
RET32_OF(pin_user_pages_fast)
int ent_gup_fast_fallback(struct pt_regs *ctx)
{ return enter(P_gup_fast_fallback, P(1), P(2), P(3), 0); }
RET32_OF(gup_fast_fallback)
int ent_gup_fast(struct pt_regs *ctx)
{ return enter(P_gup_fast, P(1), (P(2) - P(1)) >> 12, P(3), 0); }
RET_OF(gup_fast)
int ent___get_user_pages(struct pt_regs *ctx)
{ return enter(P___get_user_pages, P(2), P(3), P(4), 0); }
RET_OF(__get_user_pages)
int ent_faultin_page(struct pt_regs *ctx)
{ return enter(P_faultin_page, P(2), 0, 0, 0); }
RET32_OF(faultin_page)

/* VMA life: addr/len where the function has them */
int ent_vm_area_alloc(struct pt_regs *ctx)
{ return enter(P_vm_area_alloc, 0, 0, 0, 0); }
RET_OF(vm_area_alloc)
/* a VMA seen from a probe: the entry of its range */
static inline int enter_vma(u32 probe, struct vm_area_struct *vma, u64 arg)
{
    u64 start = 0, end = 0;

    KREAD(start, vma->vm_start);
    KREAD(end, vma->vm_end);
    return enter(probe, start, end - start, 0, arg);
}
int ent_vm_area_dup(struct pt_regs *ctx)
{ return enter_vma(P_vm_area_dup, (struct vm_area_struct *)P(1), 0); }
RET_OF(vm_area_dup)
int ent___split_vma(struct pt_regs *ctx)
{ return enter_vma(P___split_vma, (struct vm_area_struct *)P(2), P(3)); }
RET32_OF(__split_vma)
int ent_vma_merge_new_range(struct pt_regs *ctx)
{ return enter(P_vma_merge_new_range, 0, 0, 0, 0); }
RET_OF(vma_merge_new_range)
int ent_vma_merge_existing_range(struct pt_regs *ctx)
{ return enter(P_vma_merge_existing_range, 0, 0, 0, 0); }
RET_OF(vma_merge_existing_range)
int ent_vma_expand(struct pt_regs *ctx)
{ return enter(P_vma_expand, 0, 0, 0, 0); }
RET32_OF(vma_expand)
int ent_copy_vma(struct pt_regs *ctx)
{ return enter(P_copy_vma, P(2), P(3), 0, 0); }
RET_OF(copy_vma)
int ent_mmap_region(struct pt_regs *ctx)
{ return enter(P_mmap_region, P(2), P(3), P(4), 0); }
RET_OF(mmap_region)

/* module path (fault_area.ko) */
/* a fault seen from a probe: its exact address and FAULT_FLAG_* bits */
static inline int enter_vmf(u32 probe, struct vm_fault *vmf, u64 arg)
{
    u64 addr = 0;
    u32 flags = 0;

    KREAD(addr, vmf->real_address);
    KREAD(flags, vmf->flags);
    return enter(probe, addr, 0, flags, arg);
}
int ent_fa_fault_hook(struct pt_regs *ctx)
{ return enter_vmf(P_fa_fault_hook, (struct vm_fault *)P(1), 0); }
RET_OF(fa_fault_hook)
int ent_fa_prepare(struct pt_regs *ctx)
{ return enter(P_fa_prepare, P(2), P(3) - P(2), 0, P(4)); }
RET32_OF(fa_prepare)
int ent_fa_map(struct pt_regs *ctx)
{
    u64 m[4] = {};   /* struct fa_map: dst, src, len, flags */

    bpf_probe_read_kernel(m, sizeof(m), (void *)P(2));
    return enter(P_fa_map, m[0], m[2], m[3], m[1]);
}
RET32_OF(fa_map)
int ent_fa_map_page(struct pt_regs *ctx)
{
    u64 c[2] = {};   /* struct fa_map_ctx begins with dst, src */

    bpf_probe_read_kernel(c, sizeof(c), (void *)P(1));
    return enter(P_fa_map_page, c[0], 4096, 0, c[1]);
}
RET32_OF(fa_map_page)
int ent_fa_release_range(struct pt_regs *ctx)
{ return enter(P_fa_release_range, P(2), P(3) - P(2), 0, 0); }
RET32_OF(fa_release_range)
/* a move: the folio changes anon_vma (arg = folio) */
int ent_folio_move_anon_rmap(struct pt_regs *ctx)
{ return once(ctx, P_folio_move_anon_rmap, 0, 0, 0, P(1), -1); }
/* a page allocated for a user mapping (the copy path allocates, a move must not) */
int ent_vma_alloc_folio_noprof(struct pt_regs *ctx)
{ return once(ctx, P_vma_alloc_folio_noprof, P(4), 0, P(1), 0, -1); }

/* mainline path */
int ent_handle_userfault(struct pt_regs *ctx)
{ return enter_vmf(P_handle_userfault, (struct vm_fault *)P(1), P(2)); }
RET_OF(handle_userfault)
int ent_move_pages(struct pt_regs *ctx)
{ return enter(P_move_pages, P(2), P(4), 0, P(3)); }
RET_OF(move_pages)
int ent_mfill_atomic_copy(struct pt_regs *ctx)
{ return enter(P_mfill_atomic_copy, P(2), P(4), 0, P(3)); }
RET_OF(mfill_atomic_copy)

/* TLB flushes, with the kernel stack that asked for them */
int ent_flush_tlb_mm_range(struct pt_regs *ctx)
{ return once(ctx, P_flush_tlb_mm_range, P(2), P(3) - P(2), 0, 0, stacks.get_stackid(ctx, 0)); }

/* signals sent to the workload (tracepoint signal:signal_generate; it attaches
   itself at load, so the signal group is switched on and off in config) */
TRACEPOINT_PROBE(signal, signal_generate)
{
    u32 pid = args->pid;

    if (!switched_on(CFG_SIGNAL))
        return 0;
    if (!traced_task() && !targets.lookup(&pid))
        return 0;
    struct entry_t e = { .flags = args->code, .arg = args->sig, .len = args->pid };

    emit(P_signal_generate, &e, args->result, bpf_ktime_get_ns(), 0, -1);
    return 0;
}
"""
