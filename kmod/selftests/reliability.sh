#!/bin/sh
# The reliability battery of fault_area.ko in one go (make stress runs it in
# the guest, as root): the ioctl fuzzer, the lifetime cases, the stress run,
# then the figures, with the kernel's free and anonymous pages before and
# after the whole battery.  Usage: reliability.sh STRESS_SECONDS [FUZZ_SEED]
set -u
cd "$(dirname "$0")/../.." || exit 2
secs=${1:-300}
seed=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ko=$PWD/kmod/fault_area.ko
# free (with the per-CPU lists), anonymous, slab and page-table pages, page cache dropped
books() {
	sleep 1; echo 3 > /proc/sys/vm/drop_caches
	pcp=$(awk '$1 == "count:" {n += $2} END {print n + 0}' /proc/zoneinfo)
	awk -v pcp="$pcp" '{v[$1] = $2} END {print v["nr_free_pages"] + pcp, v["nr_anon_pages"],
		v["nr_slab_reclaimable"] + v["nr_slab_unreclaimable"], v["nr_page_table_pages"]}' /proc/vmstat
}
insmod "$ko" || exit 2
before=$(books)
# each to a file first: in a pipeline $? would be tee's status
kmod/selftests/fa_fuzz -n 100000 -s "$seed" -t 2 > /tmp/fa-fuzz.out 2>&1; fuzz=$?; cat /tmp/fa-fuzz.out
kmod/selftests/fa_lifetime -k "$ko" > /tmp/fa-lifetime.out 2>&1; lifetime=$?; cat /tmp/fa-lifetime.out
kmod/selftests/fa_stress -d "$secs" > /tmp/fa-stress.out 2>&1; stress=$?; cat /tmp/fa-stress.out
after=$(books)
rmmod fault_area; unload=$?
echo "== figures"
grep -h "^fuzz: [0-9]* calls" /tmp/fa-fuzz.out || echo "fuzz: no summary (exit status $fuzz: crashed)"
grep -h "^# lifetime:" /tmp/fa-lifetime.out | cut -c3-
grep -h "minutes held" /tmp/fa-stress.out || echo "stress: no summary (exit status $stress)"
set -- $before $after	# free anon slab pagetables, before then after
[ $unload -eq 0 ] && unloaded=ok || unloaded=FAILED
gone=$(($1 - $5)); explained=$(($6 - $2 + $7 - $3 + $8 - $4))
echo "pages not given back over the battery: $gone (anonymous $2 -> $6, slab $3 -> $7, page tables $4 -> $8): $((gone - explained)) unexplained; rmmod: $unloaded"
[ $fuzz -eq 0 ] && [ $lifetime -eq 0 ] && [ $stress -eq 0 ] && [ $unload -eq 0 ]
