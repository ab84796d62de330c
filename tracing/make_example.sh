#!/bin/sh
# make_example.sh - run in the guest (module loaded) to make fatrace_example.txt
# from real runs: the probe list, an event stream and a counts summary of a
# kmod engine run.  Usage: python -m lab -- 'insmod kmod/fault_area.ko; sh tracing/make_example.sh'
out=${FA_RESULTS:-/tmp}/fatrace_example.txt
# a workload whose PID is known before it starts: sh execs the engine after a delay
later() {
	sh -c "sleep $1; exec python -m engine --backend kmod --pages $2 > /dev/null" &
}
{
echo "Demonstrations of fatrace, the fault-area tracer (real output from the 6.12 guest)."
echo
echo "Which probes resolve on this kernel, and why the others do not:"
echo
echo "# ./fatrace.py --list-probes"
python -m tracing.fatrace --list-probes
echo
echo "Events of an 8-page kmod run: FA_IOC_PREPARE, then per page the fault hook, the"
echo "SIGBUS to the faulting thread, and the FA_IOC_MAP that moves the page in:"
echo
later 50 8
echo "# ./fatrace.py -p $! -g kmod,signal"
timeout -s INT 75 python -m tracing.fatrace -p $! -g kmod,signal 2>/dev/null
echo
echo "Counts and latency histograms of a 4096-page kmod run, fault and kmod groups:"
echo
later 50 4096
echo "# ./fatrace.py -p $! -g fault,kmod -c 70 1"
timeout -s INT 90 python -m tracing.fatrace -p $! -g fault,kmod -c 70 1 2>/dev/null
} > "$out" 2>&1
echo "wrote $out"
