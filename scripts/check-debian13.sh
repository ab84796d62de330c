#!/usr/bin/env bash
# check-debian13.sh - run 'make test' as a new user would on Debian 13 (trixie).
#
# USAGE: scripts/check-debian13.sh          (as root, on a Debian host; 10-25 min)
#
# Debootstraps a fresh trixie into build/debian13, gives it the host's package
# sources (apt mirror, pip configuration and indexes, CA certificates), clones
# this repository's HEAD into it and runs 'make test' there: setup.sh installs
# everything from scratch, then every test runs, guests included (under TCG,
# on trixie's own 6.12 kernel).  Uncommitted changes are not tested.
# Not part of CI: it takes minutes.  'make test' runs under /tmp/fa-guest.lock, so
# it never boots a guest while another one runs.  Exit status: make test's.
# The root (about 2 GB) stays for inspection until the next run or 'make clean';
# never run 'make clean' while this runs: /dev, /proc and /sys are mounted in it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=$repo/build/debian13
log() { echo "check-debian13: $*"; }
die() {
	echo "check-debian13: ERROR: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: debootstrap, mount and chroot need it"
if ! command -v debootstrap >/dev/null; then
	apt-get install -y -q debootstrap || die "apt-get install debootstrap failed; install it by hand"
fi

mounted() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r; }

cleanup() {
	local pid
	# Processes left in the chroot (a guest after a timeout) would pin its mounts.
	for pid in /proc/[0-9]*; do
		[ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "${pid#/proc/}" 2>/dev/null || true
	done
	mounted | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A fresh root every time: a new user has none of the previous run's packages.
cleanup
[ -z "$(mounted)" ] || die "still mounted under $root: $(mounted | tr '\n' ' '); unmount them first"
rm -rf --one-file-system "$root"
mkdir -p "$root"

mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
security=$(awk '/^URIs:/ && $2 ~ /debian-security\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}
log "debootstrap trixie from $mirror into $root"
t0=$(date +%s)
# git to clone the repository and make to run it: what a user brings to 'make test'.
debootstrap --include=git,make,ca-certificates trixie "$root" "$mirror" >"$repo/build/debian13-debootstrap.log" 2>&1 ||
	die "debootstrap failed, see $repo/build/debian13-debootstrap.log"

# The host's package sources, so the chroot reaches what the host reaches.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOT
Types: deb
URIs: $mirror
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
for f in /etc/apt/apt.conf.d/*; do
	grep -q '^Acquire' "$f" 2>/dev/null && cp "$f" "$root/etc/apt/apt.conf.d/"
done
cp /etc/resolv.conf /etc/hosts "$root/etc/"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" # no daemons start in the chroot
chmod +x "$root/usr/sbin/policy-rc.d"
if [ -d /usr/local/share/ca-certificates ]; then
	cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
pip_conf=()
for p in /etc/pip.conf /etc/xdg/pip /root/.config/pip /root/.pip; do
	[ -e "$p" ] || continue
	mkdir -p "$root$(dirname "$p")"
	cp -r "$p" "$root$p"
	pip_conf+=("$p")
done

mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
! mountpoint -q /dev/shm || mount --bind /dev/shm "$root/dev/shm"
# Local package indexes named by the pip configuration or PIP_FIND_LINKS, read-only; a
# file:// simple index links to files beside it, so its parent is mounted.
pip_dirs=$( (cat $(find "${pip_conf[@]}" -type f 2>/dev/null) /dev/null; echo "${PIP_FIND_LINKS:-}") |
	grep -oE '(file://)?/[^ ,]+' | sed -e 's|^file://||' -e 's|/simple/*$||' | sort -u)
for d in $pip_dirs; do
	[ -d "$d" ] && [[ $d != /etc/* ]] || continue
	mkdir -p "$root$d"
	mount --bind -o ro "$d" "$root$d"
done

head=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || log "warning: uncommitted changes are not tested (HEAD is $head)"
git clone -q --no-hardlinks "$repo" "$root/root/fault-area"
git -C "$root/root/fault-area" checkout -q --detach "$head"

# The environment a root login would have, plus the host's pip and CA settings.
env_args=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
while IFS='=' read -r name value; do
	env_args+=("$name=$value")
done < <(env | grep -E '^(PIP_[A-Z_]+|[A-Z_]*CA_(BUNDLE|CERTS?)[A-Z_]*|SSL_CERT_(FILE|DIR)|https?_proxy|no_proxy)=')
log "setup took $(($(date +%s) - t0)) s; running 'make test' in the chroot (commit $head), waiting for /tmp/fa-guest.lock"
t1=$(date +%s)
set +e
flock /tmp/fa-guest.lock timeout -k 10 2400 chroot "$root" /usr/bin/env -i "${env_args[@]}" \
	sh -c 'cd /root/fault-area && make test'
rc=$?
set -e
pyver=$(chroot "$root" python3 -V 2>&1 || true)
kernel=$(chroot "$root" sh -c 'cd /root/fault-area && scripts/guest-kernel' 2>&1 || true)
verdict=$([ $rc = 0 ] && echo passed || echo "FAILED (exit status $rc)")
log "make test $verdict on Debian 13 ($pyver, guest kernel $kernel) in $(($(date +%s) - t1)) s" \
	"($(($(date +%s) - t0)) s with debootstrap)"
exit $rc
