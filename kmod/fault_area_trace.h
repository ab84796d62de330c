/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fault_area.ko's tracepoints (tracefs: events/fault_area/): each operation
 * has an _enter event with its arguments and an _exit event with its
 * result.  tracing/ attaches BPF to them as raw tracepoints, which cost a
 * call where a kprobe/kretprobe pair costs two breakpoint traps, and perf
 * or ftrace can read them without BPF.  A disabled tracepoint is a static
 * branch: no cost on the fault path.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fault_area

#if !defined(_FAULT_AREA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FAULT_AREA_TRACE_H

#include <linux/mm_types.h>
#include <linux/tracepoint.h>

/* a fault on one of our markers reaches fa_fault_hook() */
TRACE_EVENT(fa_fault_hook_enter,
	TP_PROTO(unsigned long addr, unsigned int fault_flags),
	TP_ARGS(addr, fault_flags),
	TP_STRUCT__entry(
		__field(unsigned long, addr)
		__field(unsigned int, fault_flags)
	),
	TP_fast_assign(
		__entry->addr = addr;
		__entry->fault_flags = fault_flags;
	),
	TP_printk("addr=%#lx fault_flags=%#x", __entry->addr, __entry->fault_flags)
);

TRACE_EVENT(fa_fault_hook_exit,
	TP_PROTO(unsigned long addr, vm_fault_t ret),
	TP_ARGS(addr, ret),
	TP_STRUCT__entry(
		__field(unsigned long, addr)
		__field(unsigned int, ret)
	),
	TP_fast_assign(
		__entry->addr = addr;
		__entry->ret = ret;
	),
	TP_printk("addr=%#lx vm_fault=%#x", __entry->addr, __entry->ret)
);

/* a kernel access in a KWAIT range sleeps for its page (flags: FA_EV_*), its fault lock dropped */
TRACE_EVENT(fa_kwait_enter,
	TP_PROTO(unsigned long addr, unsigned int flags),
	TP_ARGS(addr, flags),
	TP_STRUCT__entry(
		__field(unsigned long, addr)
		__field(unsigned int, flags)
	),
	TP_fast_assign(
		__entry->addr = addr;
		__entry->flags = flags;
	),
	TP_printk("addr=%#lx flags=%#x", __entry->addr, __entry->flags)
);

/* and wakes (why: enum fa_wake, 1 map .. 6 kill); the fault then returns VM_FAULT_RETRY */
TRACE_EVENT(fa_kwait_exit,
	TP_PROTO(unsigned long addr, int why),
	TP_ARGS(addr, why),
	TP_STRUCT__entry(
		__field(unsigned long, addr)
		__field(int, why)
	),
	TP_fast_assign(
		__entry->addr = addr;
		__entry->why = why;
	),
	TP_printk("addr=%#lx why=%d", __entry->addr, __entry->why)
);

/* one FA_IOC_PREPARE of [start, end) */
TRACE_EVENT(fa_prepare_enter,
	TP_PROTO(unsigned long start, unsigned long end, int signo),
	TP_ARGS(start, end, signo),
	TP_STRUCT__entry(
		__field(unsigned long, start)
		__field(unsigned long, end)
		__field(int, signo)
	),
	TP_fast_assign(
		__entry->start = start;
		__entry->end = end;
		__entry->signo = signo;
	),
	TP_printk("start=%#lx end=%#lx signo=%d", __entry->start, __entry->end, __entry->signo)
);

/* one FA_IOC_MAP call; one FA_IOC_MAPV call: its first element's dst and src, every element's bytes */
TRACE_EVENT(fa_map_enter,
	TP_PROTO(unsigned long dst, unsigned long src, unsigned long len, unsigned long flags),
	TP_ARGS(dst, src, len, flags),
	TP_STRUCT__entry(
		__field(unsigned long, dst)
		__field(unsigned long, src)
		__field(unsigned long, len)
		__field(unsigned long, flags)
	),
	TP_fast_assign(
		__entry->dst = dst;
		__entry->src = src;
		__entry->len = len;
		__entry->flags = flags;
	),
	TP_printk("dst=%#lx src=%#lx len=%lu flags=%#lx", __entry->dst, __entry->src, __entry->len,
		  __entry->flags)
);

/* one page of FA_IOC_MAP, or one run of pages of FA_IOC_MAPV (its first pair) */
TRACE_EVENT(fa_map_page_enter,
	TP_PROTO(unsigned long dst, unsigned long src),
	TP_ARGS(dst, src),
	TP_STRUCT__entry(
		__field(unsigned long, dst)
		__field(unsigned long, src)
	),
	TP_fast_assign(
		__entry->dst = dst;
		__entry->src = src;
	),
	TP_printk("dst=%#lx src=%#lx", __entry->dst, __entry->src)
);

/* one FA_IOC_RELEASE of [start, end) */
TRACE_EVENT(fa_release_range_enter,
	TP_PROTO(unsigned long start, unsigned long end),
	TP_ARGS(start, end),
	TP_STRUCT__entry(
		__field(unsigned long, start)
		__field(unsigned long, end)
	),
	TP_fast_assign(
		__entry->start = start;
		__entry->end = end;
	),
	TP_printk("start=%#lx end=%#lx", __entry->start, __entry->end)
);

/* the end of an operation above: 0 or -errno */
DECLARE_EVENT_CLASS(fa_exit,
	TP_PROTO(int ret),
	TP_ARGS(ret),
	TP_STRUCT__entry(
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->ret = ret;
	),
	TP_printk("ret=%d", __entry->ret)
);
DEFINE_EVENT(fa_exit, fa_prepare_exit, TP_PROTO(int ret), TP_ARGS(ret));
DEFINE_EVENT(fa_exit, fa_map_exit, TP_PROTO(int ret), TP_ARGS(ret));
DEFINE_EVENT(fa_exit, fa_map_page_exit, TP_PROTO(int ret), TP_ARGS(ret));
DEFINE_EVENT(fa_exit, fa_release_range_exit, TP_PROTO(int ret), TP_ARGS(ret));

#endif /* _FAULT_AREA_TRACE_H */

/* an out-of-tree module: define_trace.h finds this file through -I$(src) (Kbuild) */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE fault_area_trace
#include <trace/define_trace.h>
