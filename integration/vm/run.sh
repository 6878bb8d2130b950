#!/usr/bin/env bash
# integration/vm/run.sh: run one command inside a throwaway QEMU VM whose
# kernel mounts only cgroup v2 (cgroup_no_v1=all), and exit with its status.
#
# The guest is Debian's stock amd64 kernel with a busybox initramfs
# (integration/vm/init.sh). Its root is this host's / shared read-only over 9p
# with a tmpfs overlay on top, so every host file (Go, python3, the repo, test
# binaries under /tmp) is visible and every write stays in guest RAM. The
# command runs as root in the current directory; its stdout+stderr stream live
# over a second serial port, framed by "===== fnrun-vm: begin/end =====" lines;
# its exit code comes back through a writable 9p share. The guest has no NIC.
#
# Usage: integration/vm/run.sh [--timeout SECONDS] [--systemd] [-e NAME=VALUE]... -- COMMAND [ARG...]
#        integration/vm/run.sh --build-only
#
# --systemd boots systemd as PID 1 on the overlay root (integration/vm/systemd/init.sh) and runs
# COMMAND from a unit once multi-user.target is up; systemd owns the cgroup v2 tree.
#
# Environment:
#   FNRUN_VM_CACHE   cache dir for kernel, modules, initramfs (default /var/cache/fnrun-vm)
#   FNRUN_VM_ACCEL   auto (default: KVM if a quick probe boots, else TCG), kvm or tcg
#   FNRUN_VM_MEM     guest memory in MiB (default 2048)
#   FNRUN_VM_CPUS    guest vCPUs (default 2)
#   FNRUN_VM_EXTRA_MODULES  more kernel modules to load at boot (space-separated);
#                    any other module can be modprobe'd inside the guest
#   FNRUN_VM_VERBOSE=1  print the guest's kernel console log after the run
# Passed into the guest: GO*, CI and FNRUN_* (except FNRUN_VM_*) variables,
# plus -e NAME=VALUE; HOME=/root, PATH starts with /usr/local/go/bin.
#
# Exit status: COMMAND's; 2 usage error; 3 missing host tools; 124 timeout;
# 125 the VM could not be built, booted or set up.
set -euo pipefail

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR
readonly INIT_TEMPLATE=$SELF_DIR/init.sh
readonly SYSTEMD_INIT_TEMPLATE=$SELF_DIR/systemd/init.sh
readonly CACHE=${FNRUN_VM_CACHE:-/var/cache/fnrun-vm}
readonly MEM=${FNRUN_VM_MEM:-2048}
readonly CPUS=${FNRUN_VM_CPUS:-2}
readonly ACCEL_WANTED=${FNRUN_VM_ACCEL:-auto}
readonly GUEST_PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Loaded in this order at boot (dependencies are added by modprobe --show-depends).
readonly BASE_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p overlay veth llc stp bridge"
readonly KVM_PROBE_TIMEOUT=20

log() { echo "fnrun-vm: $*" >&2; }
die() {
	local code=$1
	shift
	log "error: $*"
	exit "$code"
}

usage() {
	sed -n '13,14p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
	exit 2
}

timeout_s=1800
build_only=0
systemd=0
extra_env=()
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout)
		[ $# -ge 2 ] || usage
		timeout_s=$2
		shift 2
		;;
	--timeout=*)
		timeout_s=${1#--timeout=}
		shift
		;;
	-e | --env)
		[ $# -ge 2 ] || usage
		extra_env+=("$2")
		shift 2
		;;
	--build-only)
		build_only=1
		shift
		;;
	--systemd)
		systemd=1
		shift
		;;
	--)
		shift
		break
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
case "$timeout_s" in '' | *[!0-9]*) die 2 "--timeout wants whole seconds, got '$timeout_s'" ;; esac
if [ "$build_only" = 0 ] && [ $# -eq 0 ]; then
	usage
fi
for kv in "${extra_env[@]+"${extra_env[@]}"}"; do
	case "$kv" in [A-Za-z_]*=*) ;; *) die 2 "-e wants NAME=VALUE, got '$kv'" ;; esac
done

# ---- host tools -----------------------------------------------------------

check_tools() {
	local missing=() t
	for t in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio \
		depmod:kmod modprobe:kmod dpkg:dpkg gzip:gzip sha256sum:coreutils \
		timeout:coreutils flock:util-linux ldd:libc-bin; do
		if ! command -v "${t%%:*}" >/dev/null 2>&1 && [ ! -x "/usr/sbin/${t%%:*}" ] && [ ! -x "/sbin/${t%%:*}" ]; then
			missing+=("${t#*:}")
		fi
	done
	if command -v busybox >/dev/null 2>&1; then
		case "$(LC_ALL=C ldd "$(command -v busybox)" 2>&1 || true)" in
		*"not a dynamic executable"*) ;;
		*) missing+=(busybox-static) ;; # the initramfs has no libc
		esac
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		die 3 "missing host packages: ${missing[*]} (apt-get install -y ${missing[*]}, or 'make deps')"
	fi
}

PATH=$PATH:/usr/sbin:/sbin
check_tools
if [ "$(id -u)" != 0 ]; then
	log "warning: not root: the guest will only see host files this user can read, and the cache must be writable"
fi

# ---- cache: kernel ---------------------------------------------------------

# kernel_pkg prints the versioned Debian kernel package behind linux-image-amd64.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

# ensure_kernel fetches and unpacks the kernel once; sets KVER and KROOT.
ensure_kernel() {
	local k pkg tmp
	for k in "$CACHE"/kernel/*/boot/vmlinuz-*; do
		if [ -f "$k" ] && [ -f "$(dirname "$k")/../.complete" ]; then
			KVER=${k##*/vmlinuz-}
			KROOT=$CACHE/kernel/$KVER
			return 0
		fi
	done
	command -v apt-get >/dev/null 2>&1 || die 3 "no cached kernel in $CACHE and no apt-get to fetch one"
	pkg=${FNRUN_VM_KERNEL_PKG:-$(kernel_pkg)}
	if [ -z "$pkg" ]; then
		log "apt-get update (to resolve linux-image-amd64)"
		apt-get update -qq >&2 || die 125 "apt-get update failed"
		pkg=$(kernel_pkg)
	fi
	[ -n "$pkg" ] || die 125 "cannot resolve the Debian kernel package behind linux-image-amd64"
	KVER=${pkg#linux-image-}
	KROOT=$CACHE/kernel/$KVER
	tmp=$(mktemp -d "$CACHE/kernel-dl.XXXXXX")
	log "fetching $pkg"
	if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); then
		log "apt-get download failed; running apt-get update and retrying"
		apt-get update -qq >&2 || die 125 "apt-get update failed"
		(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) || {
			rm -rf "$tmp"
			die 125 "apt-get download $pkg failed"
		}
	fi
	rm -rf "$KROOT"
	mkdir -p "$KROOT"
	dpkg -x "$tmp"/*.deb "$KROOT" || die 125 "dpkg -x $pkg failed"
	rm -rf "$tmp"
	[ -f "$KROOT/boot/vmlinuz-$KVER" ] || die 125 "$pkg has no /boot/vmlinuz-$KVER"
	depmod -b "$KROOT" "$KVER" || die 125 "depmod for $KVER failed"
	touch "$KROOT/.complete"
}

# boot_image prints the image to hand to qemu -kernel. Under TCG, decompressing
# the xz bzImage takes several seconds, so when the kernel has a PVH entry
# point the uncompressed ELF vmlinux (cached) is booted instead.
boot_image() {
	local vmlinuz=$KROOT/boot/vmlinuz-$KVER elf=$KROOT/boot/vmlinux-$KVER off
	if [ -f "$elf" ]; then
		echo "$elf"
		return
	fi
	if grep -q '^CONFIG_PVH=y' "$KROOT/boot/config-$KVER" 2>/dev/null && command -v xz >/dev/null 2>&1; then
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" 2>/dev/null | head -n1 | cut -d: -f1 || true)
		if [ -n "$off" ]; then
			# tail dies of SIGPIPE once xz has read the one stream: ignore its status.
			tail -c +"$((off + 1))" "$vmlinuz" 2>/dev/null | xz -dcq --single-stream >"$elf.tmp" 2>/dev/null || true
		fi
		if [ -s "$elf.tmp" ] && [ "$(head -c 4 "$elf.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			mv -f "$elf.tmp" "$elf"
			echo "$elf"
			return
		fi
		rm -f "$elf.tmp"
		log "cannot extract an ELF vmlinux from $vmlinuz; booting the bzImage (slower)"
	fi
	echo "$vmlinuz"
}

# ---- cache: initramfs ------------------------------------------------------

# module_plan prints "insmod PATH" lines, dependencies first, each once;
# built-in modules are skipped, missing ones are fatal.
module_plan() {
	local m out line seen=" "
	for m in $BASE_MODULES ${FNRUN_VM_EXTRA_MODULES:-}; do
		if ! out=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>&1); then
			die 125 "kernel $KVER has no module '$m' (neither loadable nor built in): $out"
		fi
		while read -r line; do
			case "$line" in
			"insmod "*)
				line=${line#insmod }
				line=${line%% *}
				case "$seen" in *" $line "*) ;; *)
					seen="$seen$line "
					echo "$line"
					;;
				esac
				;;
			"builtin "*) ;; # compiled into the kernel: nothing to load
			*) die 125 "unexpected modprobe output for $m: $line" ;;
			esac
		done <<<"$out"
	done
}

ensure_initramfs() {
	local plan stamp stage f bb
	plan=$(module_plan)
	bb=$(command -v busybox)
	stamp=$(cat "${BASH_SOURCE[0]}" "$INIT_TEMPLATE" "$SYSTEMD_INIT_TEMPLATE" "$bb" <(echo "$KVER" "$plan") | sha256sum)
	stamp=${stamp%% *}
	INITRAMFS=$CACHE/initramfs-$KVER.cpio.gz
	if [ -f "$INITRAMFS" ] && [ "$(cat "$INITRAMFS.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	log "building initramfs for $KVER"
	stage=$(mktemp -d "$CACHE/initramfs-stage.XXXXXX")
	mkdir -p "$stage/bin" "$stage/lib/modules"
	cp "$bb" "$stage/bin/busybox"
	install -m 0755 "$INIT_TEMPLATE" "$stage/init"
	install -m 0755 "$SYSTEMD_INIT_TEMPLATE" "$stage/init-systemd"
	: >"$stage/modules.list"
	while read -r f; do
		[ -n "$f" ] || continue
		# Flat layout: module file names are unique.
		cp "$f" "$stage/lib/modules/"
		basename "$f" >>"$stage/modules.list"
	done <<<"$plan"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 | gzip -1) >"$INITRAMFS.tmp" ||
		die 125 "cpio of initramfs failed"
	mv -f "$INITRAMFS.tmp" "$INITRAMFS"
	echo "$stamp" >"$INITRAMFS.stamp"
	rm -rf "$stage"
}

mkdir -p "$CACHE" || die 125 "cannot create cache dir $CACHE"
exec 9>"$CACHE/.lock"
flock 9 || die 125 "cannot lock $CACHE/.lock"
build_start=$(date +%s)
ensure_kernel
ensure_initramfs
build_s=$(($(date +%s) - build_start))
[ "$build_s" -gt 1 ] && log "build took ${build_s}s (cached in $CACHE)"
VMLINUZ=$(boot_image)
BIOS_ARGS=()
# qboot (shipped with Debian's qemu) starts a -kernel guest faster than SeaBIOS.
[ -f /usr/share/qemu/qboot.rom ] && BIOS_ARGS=(-bios /usr/share/qemu/qboot.rom)
MODDIR=$KROOT/lib/modules/$KVER
case "$MODDIR" in *[[:space:]]*) MODDIR= ;; esac # cannot go on the kernel command line

# ---- boot -------------------------------------------------------------------

WORK=
QEMU_PID=
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

# run_qemu ACCEL MODE SECONDS SHARE_DIR CONSOLE_LOG: boots the guest in the
# background under timeout(1) and waits; returns timeout's/qemu's status.
run_qemu() {
	local accel=$1 mode=$2 secs=$3 share=$4 console=$5 rc=0 rdinit=
	local -a accel_args
	if [ "$mode" = run ] && [ "$systemd" = 1 ]; then
		rdinit=" rdinit=/init-systemd"
	fi
	if [ "$accel" = kvm ]; then
		accel_args=(-accel kvm -cpu host)
	else
		accel_args=(-accel "tcg,thread=multi" -cpu max)
	fi
	timeout --foreground -k 10 "$secs" qemu-system-x86_64 \
		"${accel_args[@]}" -smp "$CPUS" -m "$MEM" "${BIOS_ARGS[@]+"${BIOS_ARGS[@]}"}" \
		-nodefaults -display none -monitor none -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$INITRAMFS" \
		-append "console=ttyS0 quiet panic=-1 mitigations=off systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all fnrunvm.mode=$mode${MODDIR:+ fnrunvm.moddir=$MODDIR}$rdinit" \
		-serial "file:$console" \
		-chardev stdio,id=cmdout,signal=off -serial chardev:cmdout \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$share,mount_tag=results,security_model=none,multidevs=remap" \
		</dev/null &
	QEMU_PID=$!
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	return "$rc"
}

# choose_accel prints kvm or tcg. A KVM probe boot result is cached per host boot.
choose_accel() {
	local boot_id cached probe_dir rc=0
	case "$ACCEL_WANTED" in
	kvm | tcg)
		echo "$ACCEL_WANTED"
		return
		;;
	auto) ;;
	*) die 2 "FNRUN_VM_ACCEL must be auto, kvm or tcg, not '$ACCEL_WANTED'" ;;
	esac
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	cached=$(cat "$CACHE/accel" 2>/dev/null || true)
	if [ "${cached%% *}" = "$boot_id" ]; then
		echo "${cached#* }"
		return
	fi
	probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/fnrun-vm-probe.XXXXXX")
	log "probing KVM (up to ${KVM_PROBE_TIMEOUT}s)"
	run_qemu kvm probe "$KVM_PROBE_TIMEOUT" "$probe_dir" "$probe_dir/console.log" >/dev/null 2>&1 || rc=$?
	if [ "$rc" = 0 ] && [ -f "$probe_dir/probe" ]; then
		cached=kvm
	else
		cached=tcg
		log "KVM does not boot a guest here (status $rc); using TCG"
	fi
	rm -rf "$probe_dir"
	echo "$boot_id $cached" >"$CACHE/accel"
	echo "$cached"
}

ACCEL=$(choose_accel)
flock -u 9
if [ "$build_only" = 1 ]; then
	log "ready: kernel $KVER, initramfs $INITRAMFS, accel $ACCEL"
	exit 0
fi

# sq quotes one word for POSIX sh.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fnrun-vm.XXXXXX")
SHARE=$WORK/share
mkdir -p "$SHARE"
chmod 0755 "$WORK" "$SHARE"
{
	echo "# generated by integration/vm/run.sh"
	echo "export PATH=$(sq "$GUEST_PATH") HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8"
	while IFS= read -r name; do
		case "$name" in FNRUN_VM_*) continue ;; esac
		echo "export $name=$(sq "${!name}")"
	done < <(compgen -e | grep -E '^(GO[A-Z0-9_]*|CI|FNRUN_[A-Za-z0-9_]*)$' || true)
	for kv in "${extra_env[@]+"${extra_env[@]}"}"; do
		echo "export ${kv%%=*}=$(sq "${kv#*=}")"
	done
	echo "cd $(sq "$PWD") || exit 125"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(sq "$a")"; done
	echo
} >"$SHARE/cmd.sh"

case "$PWD" in /run | /run/* | /proc | /proc/* | /sys | /sys/* | /dev | /dev/*)
	log "warning: $PWD is not visible in the guest (the guest has its own /run, /proc, /sys, /dev)"
	;;
esac

cmd_line=$* # for the log only
[ ${#cmd_line} -le 120 ] || cmd_line="${cmd_line:0:117}..."
log "booting $KVER ($ACCEL, ${CPUS} vCPU, ${MEM} MiB, timeout ${timeout_s}s): ${cmd_line//$'\n'/ }"
show_console() {
	log "guest console log (last 40 lines):"
	tail -n 40 "$WORK/console.log" >&2 2>/dev/null || true
}

start=$(date +%s)
for attempt in 1 2; do
	rc=0
	left=$((timeout_s - ($(date +%s) - start)))
	if [ "$left" -lt 1 ]; then
		rc=124
		break
	fi
	run_qemu "$ACCEL" run "$left" "$SHARE" "$WORK/console.log" || rc=$?
	# A VM that died before COMMAND started had no effect anywhere (the guest
	# cannot write to the host): boot once more. Timeouts and setup errors
	# reported by the guest's init are not retried.
	if [ "$attempt" = 1 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] &&
		[ ! -e "$SHARE/started" ] && [ ! -e "$SHARE/init_error" ]; then
		show_console
		log "the VM stopped (qemu status $rc) before COMMAND started; booting once more"
		rm -f "$SHARE/exit_code" "$SHARE/init_error"
		continue
	fi
	break
done
elapsed=$(($(date +%s) - start))

if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	show_console
	log "error: the VM did not finish within ${timeout_s}s; qemu killed"
	exit 124
fi
if [ ! -f "$SHARE/exit_code" ]; then
	show_console
	die 125 "the VM stopped (qemu status $rc) after ${elapsed}s without reporting an exit code"
fi
code=$(cat "$SHARE/exit_code")
if [ -f "$SHARE/init_error" ]; then
	show_console
	die 125 "guest setup failed: $(cat "$SHARE/init_error")"
fi
[ "${FNRUN_VM_VERBOSE:-0}" = 1 ] && show_console
log "finished in ${elapsed}s with exit code $code"
case "$code" in '' | *[!0-9]*) die 125 "bad exit code from guest: '$code'" ;; esac
exit "$code"
