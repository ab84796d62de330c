#!/bin/sh
# make_example.sh - run in the guest (module loaded) to make fatrace_example.txt
# from real runs: the probe list, an event stream and a counts summary of a
# kmod engine run.  Usage: python -m lab -- 'insmod kmod/fault_area.ko; sh tracing/make_example.sh'
out=${FA_RESULTS:-/tmp}/fatrace_example.txt
{
echo "Demonstrations of fatrace, the fault-area tracer (real output from the 6.12 guest)."
echo
echo "Which probes resolve on this kernel, and why the others do not:"
echo
echo "# ./fatrace.py --list-probes"
python -m tracing.fatrace --list-probes
echo
echo "Events of a 16-page kmod run (markers, SIGBUS, FA_IOC_MAP), kmod and signal groups:"
echo
echo "# ./fatrace.py -g kmod,signal"
timeout -s INT 70 python -m tracing.fatrace -g kmod,signal 2>/dev/null &
sleep 50
python -m engine --backend kmod --pages 16 > /dev/null
wait
echo
echo "Counts and latency histograms of a 4096-page kmod run, fault and kmod groups:"
echo
echo "# ./fatrace.py -g fault,kmod -c 70 1"
timeout -s INT 90 python -m tracing.fatrace -g fault,kmod -c 70 1 2>/dev/null &
sleep 50
python -m engine --backend kmod --pages 4096 > /dev/null
wait
} > "$out" 2>&1
echo "wrote $out"
