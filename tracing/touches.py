#!/usr/bin/env python3
"""touches - record a program's first touches of its private anonymous pages.

USAGE: touches [-h] [-o FILE] [-n NAME] [-j] [--load CMD] [--load-delay S]
               [--timeout S] [--ring-pages N] [--ebpf] -- CMD [ARG...]

Runs CMD with transparent huge pages off (prctl PR_SET_THP_DISABLE, inherited
across exec: a 2 MiB first touch would hide 511 others) and records, from
its exec to its exit, the first fault on each page of a private anonymous VMA
(heap, stack, anonymous mappings; not file pages, not shared memory) of its
threads: one fentry program on handle_mm_fault (user and kernel-mode faults
alike: a read() into a fresh buffer is a first touch too), deduplicated per
page in a BPF hash map, so that only first touches reach the ring buffer.
The VMA comes with the event (its range at the time of the fault), so a
short-lived mapping is named as well as a lasting one.  With -o the
recording is written as a workload (workloads/README.md); a recording that
lost events is refused.  Forked children are not recorded; a second exec of
the program is refused (record the program itself, not a shell around it).
"""
import argparse
import ctypes
import json
import os
import platform
import shlex
import signal
import struct
import subprocess
import sys
import time

if __package__ in (None, ""):  # run as ./tracing/touches.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tracing.ring import Ring  # noqa: E402
from workloads import fawl  # noqa: E402

EXAMPLES = """examples:
    ./touches.py -- python3 -c 'bytearray(1 << 22)'   # a summary per thread and region
    ./touches.py -j -- xz -9 -k big.tar                 # every first touch as a JSON line
    ./touches.py -o xz.fawl -n xz -- xz -9 -k big.tar   # a workload file for replay
    ./touches.py --load 'redis-benchmark -q -n 20000' -- redis-server --save ''
    ./touches.py --ebpf -- true                         # print the BPF program, then exit
"""
PR_SET_THP_DISABLE = 41
KINDS = ("anon", "heap", "stack")
EVENT = struct.Struct("<QQQQII")  # t_ns, addr, vm_start, vm_end, tid, flags (bit 0 write, bits 1-2 kind)

BPF_TEXT = r"""
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/sched.h>

struct touch {
    u64 t_ns, addr, vm_start, vm_end;
    u32 tid, flags;
};

BPF_RINGBUF_OUTPUT(events, RING_PAGES);
BPF_HASH(seen, u64, u8, MAX_PAGES);   /* pages touched: only the first fault on each is sent */
BPF_ARRAY(state, u64, 4);             /* 0: target tgid, 1: its exec time, 2: execs, 3: lost events */

/* the target's exec arms the recorder: faults before it belong to the forked recorder's image */
TRACEPOINT_PROBE(sched, sched_process_exec)
{
    int k0 = 0, k1 = 1, k2 = 2;
    u64 *target = state.lookup(&k0), *t0 = state.lookup(&k1), *execs = state.lookup(&k2);

    if (!target || !t0 || !execs || args->pid != *target)
        return 0;
    *t0 = bpf_ktime_get_ns();
    __sync_fetch_and_add(execs, 1);
    return 0;
}

static inline void lose(void)
{
    int k3 = 3;
    u64 *lost = state.lookup(&k3);

    if (lost)
        __sync_fetch_and_add(lost, 1);
}

/* handle_mm_fault(vma, address, flags, regs) */
int kfunc__handle_mm_fault(u64 *ctx)
{
    struct vm_area_struct *vma = (void *)ctx[0];
    u64 addr = ctx[1] & ~4095ULL, id = bpf_get_current_pid_tgid();
    int k0 = 0, k2 = 2;
    u64 *target = state.lookup(&k0), *execs = state.lookup(&k2);
    struct mm_struct *mm = NULL;
    const void *ops = NULL;
    void *file = NULL;
    u64 vm_flags = 0, start = 0, end = 0, brk = 0, start_brk = 0, start_stack = 0;
    u8 one = 1;
    u32 kind = 0;
    struct touch *t;
    int ret;

    if (!target || !execs || !*execs || (id >> 32) != *target)
        return 0;
    bpf_probe_read_kernel(&ops, sizeof(ops), &vma->vm_ops);
    bpf_probe_read_kernel(&file, sizeof(file), &vma->vm_file);
    bpf_probe_read_kernel(&vm_flags, sizeof(vm_flags), &vma->vm_flags);
    if (ops || file || (vm_flags & VM_SHARED))   /* private anonymous VMAs have no vm_ops */
        return 0;
    ret = seen.insert(&addr, &one);
    if (ret == -EEXIST)
        return 0;
    if (ret) {                                  /* the map is full: this first touch is lost */
        lose();
        return 0;
    }
    bpf_probe_read_kernel(&start, sizeof(start), &vma->vm_start);
    bpf_probe_read_kernel(&end, sizeof(end), &vma->vm_end);
    bpf_probe_read_kernel(&mm, sizeof(mm), &vma->vm_mm);
    bpf_probe_read_kernel(&brk, sizeof(brk), &mm->brk);
    bpf_probe_read_kernel(&start_brk, sizeof(start_brk), &mm->start_brk);
    bpf_probe_read_kernel(&start_stack, sizeof(start_stack), &mm->start_stack);
    if (start <= brk && end >= start_brk && brk > start_brk)
        kind = 1;
    else if (start <= start_stack && start_stack < end)
        kind = 2;
    t = events.ringbuf_reserve(sizeof(*t));
    if (!t) {
        lose();
        return 0;
    }
    t->t_ns = bpf_ktime_get_ns();
    t->addr = addr;
    t->vm_start = start;
    t->vm_end = end;
    t->tid = (u32)id;
    t->flags = ((u32)ctx[2] & FAULT_FLAG_WRITE ? 1 : 0) | kind << 1;
    events.ringbuf_submit(t, 0);
    return 0;
}
"""


class RecordError(Exception):
    pass


def cflags(ring_pages, max_pages):
    return [f"-DRING_PAGES={ring_pages}", f"-DMAX_PAGES={max_pages}",
            "-Wno-duplicate-decl-specifier", "-Wno-ignored-attributes"]  # kernel headers under clang


class Recorder:
    """The BPF program, loaded once; run() records one program."""

    def __init__(self, ring_pages=4096, max_pages=1 << 18):
        from bcc import BPF

        self.ring_pages, self.max_pages = ring_pages, max_pages
        self.bpf = BPF(text=BPF_TEXT.encode(), cflags=cflags(ring_pages, max_pages))
        self.ring = Ring(self.bpf[b"events"].map_fd, ring_pages * os.sysconf("SC_PAGE_SIZE"), EVENT.size)

    def _state(self, i, value=None):
        st = self.bpf[b"state"]
        if value is not None:
            st[ctypes.c_int(i)] = ctypes.c_ulonglong(value)
        return st[ctypes.c_int(i)].value

    def run(self, cmd, load=None, load_delay=1.0, timeout=None, on_touch=None):
        """Run cmd (argv) to its exit; returns (faults, t0_ns, duration_ns, lost): each fault a tuple
        (t_ns, tid, addr, write, vm_start, vm_end, kind).  load (a shell command) starts load_delay s
        after the exec; when it ends, cmd gets SIGTERM.  on_touch(fault) sees each one as it comes."""
        self.bpf[b"seen"].clear()
        for i in range(4):
            self._state(i, 0)
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the program: THP off, wait for the recorder, exec
            try:
                os.close(go_w)
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)
                os.read(go_r, 1)
                os.execvp(cmd[0], cmd)
            except OSError as e:
                print(f"touches: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)
        os.close(go_r)
        self._state(0, pid)
        os.write(go_w, b"g")
        os.close(go_w)
        faults, loader, stopped, status, started = [], None, False, None, time.monotonic()
        while status is None:
            time.sleep(0.05)
            faults += self._drain(on_touch)
            done, status = os.waitpid(pid, os.WNOHANG)
            status = status if done else None
            if load and loader is None and time.monotonic() - started >= load_delay:
                loader = subprocess.Popen(load, shell=True)
            if loader and not stopped and loader.poll() is not None and status is None:
                os.kill(pid, signal.SIGTERM)
                stopped = True
            if timeout and status is None and time.monotonic() - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise RecordError(f"{cmd[0]} ran longer than {timeout} s; killed (raise --timeout)")
        end_ns = time.monotonic_ns()
        if loader and loader.poll() is None:  # the program ended first: its load has nothing left to load
            loader.kill()
            loader.wait()
        faults += self._drain(on_touch)
        t0, execs, lost = self._state(1), self._state(2), self._state(3)
        if execs != 1:
            raise RecordError(f"{cmd[0]} exec'd {execs} times (exit status {status:#x}); record the program "
                              "itself: one exec, not a shell or a wrapper that execs again")
        if loader and loader.returncode:
            raise RecordError(f"the load command {load!r} failed with exit status {loader.returncode}")
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, -signal.SIGTERM if load else 0):
            raise RecordError(f"{shlex.join(cmd)} exited with status {code}; a failed run is no workload")
        return faults, t0, end_ns - t0, lost

    def _drain(self, on_touch):
        chunk = self.ring.read()
        out = [(t, tid, addr, flags & 1, start, end, KINDS[flags >> 1])
               for t, addr, start, end, tid, flags in (EVENT.unpack(r) for r in self.ring.records(chunk))]
        for f in out if on_touch else ():
            on_touch(f)
        return out


def summary(wl):
    """Per thread and per region, as fixed-width tables."""
    per = wl.per_thread()
    lines = [f"{'THREAD':>6} {'TOUCHES':>8} {'WRITES':>7} {'FIRST(ms)':>10} {'COMPUTE(ms)':>12}"]
    for i, seq in enumerate(per):
        first = next(t.t_ns for t in wl.touches if t.thread == i)
        lines.append(f"{i:>6} {len(seq):>8} {sum(w for *_, w in seq):>7} {first / 1e6:>10.1f} "
                     f"{sum(g for _, g, _ in seq) / 1e6:>12.1f}")
    lines.append(f"\n{'REGION':>6} {'KIND':<6} {'START':<18} {'PAGES':>8} {'TOUCHED':>8}")
    counts = [0] * len(wl.regions)
    for t in wl.touches:
        counts[t.region] += 1
    for i, r in enumerate(wl.regions):
        lines.append(f"{i:>6} {r.kind:<6} {r.start:#018x} {r.pages:>8} {counts[i]:>8}")
    lines.append(f"\n{len(wl.touches)} first touches by {wl.threads} threads in {wl.duration_ns / 1e9:.2f} s, "
                 f"lost events: {wl.lost}")
    return "\n".join(lines)


def record(cmd, name, out=None, as_json=False, load=None, load_delay=1.0, timeout=None, ring_pages=4096):
    """Record cmd; print the summary (or JSON lines); write the workload to out; return the Workload."""
    rec = Recorder(ring_pages)
    print(f"Recording {shlex.join(cmd)}...", file=sys.stderr, flush=True)
    faults, t0, duration, lost = rec.run(cmd, load, load_delay, timeout)
    wl = fawl.from_faults(faults, t0, name=name, command=list(cmd), kernel=platform.release(),
                          created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), duration_ns=duration,
                          lost=lost)
    if as_json:
        for t in wl.touches:
            print(json.dumps({"t_ns": t.t_ns, "thread": t.thread, "region": t.region, "page": t.page,
                              "write": t.write, "kind": wl.regions[t.region].kind}))
    else:
        print(summary(wl), flush=True)
    if out:
        fawl.save(wl, out)  # refuses a recording that lost events
        print(f"workload written: {out} ({os.path.getsize(out)} bytes)", file=sys.stderr)
    elif lost:
        raise RecordError(f"lost {lost} events: the recording is incomplete (raise --ring-pages)")
    return wl


def main(argv=None):
    ap = argparse.ArgumentParser(description="Record a program's first touches of its private anonymous pages.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
    ap.add_argument("-o", "--output", help="write the workload (.fawl) here")
    ap.add_argument("-n", "--name", help="the workload's name (default: the program's)")
    ap.add_argument("-j", "--json", action="store_true", help="print each first touch as a JSON line")
    ap.add_argument("--load", help="a shell command that loads the program (a benchmark client); "
                    "the program gets SIGTERM when it ends")
    ap.add_argument("--load-delay", type=float, default=1.0, help="seconds from the exec to the load (default 1)")
    ap.add_argument("--timeout", type=float, help="kill the program after this many seconds (a failed recording)")
    ap.add_argument("--ring-pages", type=int, default=4096, help="ring buffer pages, a power of two (default 4096)")
    ap.add_argument("--ebpf", action="store_true", help="print the BPF program and its -D flags, then exit")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the program and its arguments")
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if args.ebpf:
        print("\n".join(cflags(args.ring_pages, 1 << 18)))
        print(BPF_TEXT)
        return 0
    if not cmd:
        ap.error("no program given: touches [options] -- CMD [ARG...]")
    try:
        record(cmd, args.name or os.path.basename(cmd[0]), args.output, args.json, args.load, args.load_delay,
               args.timeout, args.ring_pages)
    except (RecordError, fawl.WorkloadError, ValueError) as e:
        print(f"touches: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
