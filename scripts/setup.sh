#!/usr/bin/env bash
# setup.sh - install everything fault-area needs on Debian 12 or 13, as root.
#
# Idempotent: when every package is present and the venv matches
# requirements.txt, it only checks and exits (well under 5 s).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
	echo "setup: ERROR: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: apt-get, insmod and qemu need it (for example: sudo make test)"
[ -r /etc/os-release ] || die "no /etc/os-release: this project supports Debian 12 or 13 only"
. /etc/os-release
case "${VERSION_CODENAME:-}" in
bookworm) kernel_suite=bookworm-backports ;;
trixie) kernel_suite= ;;
*) die "unsupported system '${PRETTY_NAME:-?}': use Debian 12 (bookworm) or 13 (trixie)" ;;
esac

pkgs=(
	# the guest: qemu (TCG or KVM), a static busybox for virtme-ng's init
	qemu-system-x86 busybox-static
	# module tools used inside the guest (insmod/rmmod), e2fsprogs for scratch ext4
	kmod e2fsprogs iproute2 procps
	# vng runs 'file' on the kernel image; a minimal Debian lacks it
	file
	# BCC for the tracer, importable from /usr/bin/python3
	python3-bpfcc bpfcc-tools
	# Python venv and the C toolchain for the module and cffi
	python3-venv python3-dev build-essential libffi-dev
	# a 32-bit build of the self-tests (signal layout of compat tasks)
	gcc-multilib
	# the programs of the recorded workloads (workloads/recipes.py; gcc comes with build-essential)
	sqlite3 redis-server redis-tools xz-utils
)
# linux-libc-dev of the same release: the selftests need UFFDIO_MOVE (6.8+)
kernel_pkgs=(linux-image-amd64 linux-headers-amd64 linux-libc-dev)
venv=.venv
stamp=$venv/.setup-stamp
want_stamp=$(cat requirements.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
	done
}

guest_kernel_ok() {
	scripts/guest-kernel >/dev/null 2>&1 && grep -q UFFDIO_MOVE /usr/include/linux/userfaultfd.h 2>/dev/null
}

# Fast path: nothing to do.
if [ -z "$(missing_pkgs "${pkgs[@]}" "${kernel_pkgs[@]}")" ] && guest_kernel_ok &&
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
	echo "setup: up to date (guest kernel $(scripts/guest-kernel))"
	exit 0
fi

apt_fail() {
	die "'$*' failed (see the apt output above). Check the network and /etc/apt/sources.list.d/, then run 'make setup' again."
}

export DEBIAN_FRONTEND=noninteractive
if [ -n "$kernel_suite" ]; then
	src=/etc/apt/sources.list.d/fault-area-backports.sources
	if [ ! -f "$src" ]; then
		# The 6.12 kernel comes from bookworm-backports, on the mirror apt already uses.
		mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ && $2 !~ /security/ {print $2; exit}' \
			/etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		[ -n "$mirror" ] || mirror=$(awk '/^deb / && $3 == "bookworm" {print $2; exit}' \
			/etc/apt/sources.list 2>/dev/null || true)
		[ -n "$mirror" ] || die "cannot find the Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; add bookworm-backports by hand (see ../shared/GUIDE.md section 1)"
		echo "setup: adding bookworm-backports ($mirror) as $src"
		cat >"$src" <<EOT
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
		rm -f /var/lib/apt/periodic/fault-area-updated
	fi
fi

need=$(missing_pkgs "${pkgs[@]}" "${kernel_pkgs[@]}")
if [ -n "$need" ] || ! guest_kernel_ok; then
	echo "setup: installing:" $need
	apt-get update -q || apt_fail apt-get update
	apt-get install -y -q --no-install-recommends "${pkgs[@]}" || apt_fail apt-get install "${pkgs[@]}"
	if [ -n "$kernel_suite" ]; then
		apt-get install -y -q --no-install-recommends -t "$kernel_suite" "${kernel_pkgs[@]}" ||
			apt_fail apt-get install -t "$kernel_suite" "${kernel_pkgs[@]}"
	else
		apt-get install -y -q --no-install-recommends "${kernel_pkgs[@]}" || apt_fail apt-get install "${kernel_pkgs[@]}"
	fi
	guest_kernel_ok || die "no 6.12 kernel with headers after install: $(scripts/guest-kernel 2>&1)"
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
	# --system-site-packages so Debian's python3-bpfcc (module 'bcc') imports.
	if [ ! -x $venv/bin/python ] || ! $venv/bin/python -c 'import bcc' 2>/dev/null; then
		rm -rf $venv
		/usr/bin/python3 -m venv --system-site-packages $venv || die "creating $venv failed: is python3-venv installed?"
	fi
	$venv/bin/pip install -q --disable-pip-version-check -r requirements.txt ||
		die "pip install -r requirements.txt failed (see above). Check access to PyPI, then run 'make setup' again."
	$venv/bin/python -c 'import bcc, yaml, cffi, pytest' || die "the venv cannot import bcc, yaml, cffi and pytest; remove .venv and run 'make setup' again"
	echo "$want_stamp" >"$stamp"
fi
echo "setup: done (guest kernel $(scripts/guest-kernel))"
