#!/bin/sh
# make_example.sh - run in the guest (module loaded) to make fatrace_example.txt
# from real runs: the probe list, an event stream and a counts summary of a
# kmod engine run.  Usage: python -m lab -- 'insmod kmod/fault_area.ko; sh tracing/make_example.sh'
out=${FA_RESULTS:-/tmp}/fatrace_example.txt
go=/tmp/fa-example-go err=/tmp/fa-example-err
# a workload whose PID is known before it starts: sh blocks on a fifo (no child
# process to pollute the trace), then execs the engine
later() {
	rm -f $go; mkfifo $go
	sh -c "read x < $go; exec python -m engine --backend kmod --pages $1 > /dev/null" &
}
# traced PID ARGS...: fatrace on PID until the workload is done; the workload
# starts once fatrace says its probes are attached (a BPF compile takes 12-60 s)
traced() {
	pid=$1; shift
	echo "# ./fatrace.py -p $pid $*"
	python -m tracing.fatrace -p $pid "$@" 2>$err &
	ft=$!
	while ! grep -q '^Tracing' $err; do sleep 1; done
	echo go > $go
	wait $pid
	sleep 2  # the last events leave the entry-order buffer
	kill -TERM $ft  # a background job of sh ignores SIGINT; fatrace ends cleanly on either
	wait $ft
}
{
echo "Demonstrations of fatrace, the fault-area tracer (real output from the 6.12 guest)."
echo
echo "Which probes resolve on this kernel, and why the others do not:"
echo
echo "# ./fatrace.py --list-probes"
python -m tracing.fatrace --list-probes
echo
echo "Events of an 8-page kmod run, in entry-time order: FA_IOC_PREPARE, then per page the"
echo "fault hook, the SIGBUS to the faulting thread, and the FA_IOC_MAP that moves the page in:"
echo
later 8
traced $! -g kmod,signal
echo
echo "Counts and latency histograms of a 4096-page kmod run, fault and kmod groups:"
echo
later 4096
traced $! -g fault,kmod -c
} > "$out" 2>&1
rm -f $go $err
echo "wrote $out"
