#!/bin/busybox sh
# shellcheck shell=dash disable=SC2013
# PID 1 of the fnrun test VM (copied into the initramfs as /init by run.sh).
#
# It loads the virtio/9p/overlay/network modules, mounts the host's root
# read-only over 9p ("hostroot") under a tmpfs overlay, mounts the result
# share ("results", holding cmd.sh, written by run.sh), moves /proc, /sys and
# /dev into the new root, mounts a pure cgroup v2 hierarchy with every
# controller delegated from the root, chroots, runs /run/fnrun-vm/cmd.sh with
# its output on the second serial port (/dev/ttyS1, streamed by run.sh), writes
# the exit code to /run/fnrun-vm/exit_code and powers off.
#
# Kernel command-line parameters read here:
#   fnrunvm.mode=run|probe   probe: only prove the guest boots (KVM probe)
#   fnrunvm.moddir=PATH      host path of the guest kernel's module tree,
#                            bind-mounted at /lib/modules/$(uname -r)
# Exit codes written by this init itself: 125 = the VM could not be set up.

PATH=/bin
export PATH
/bin/busybox mkdir -p /proc /sys /dev /tmp /lower /upper /newroot /results
/bin/busybox --install -s /bin

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev

OUT=/dev/ttyS1
RESULTS=/results
VM_HOSTNAME=fnrun-vm

log() {
	echo "fnrun-vm init: $*" >/dev/console
}

halt_vm() {
	sync
	poweroff -f
	# poweroff failed (no ACPI?): rebooting ends qemu too (-no-reboot), and
	# if even that fails, exiting PID 1 panics and panic=-1 reboots.
	reboot -f
	exit 1
}

fail() {
	log "FATAL: $*"
	echo "fnrun-vm: FATAL: $*" >"$OUT" 2>/dev/null
	if [ -d "$RESULTS" ]; then
		echo "$*" >"$RESULTS/init_error" 2>/dev/null
		echo 125 >"$RESULTS/exit_code" 2>/dev/null
	fi
	halt_vm
}

MODE=run
MODDIR=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	fnrunvm.mode=*) MODE=${arg#fnrunvm.mode=} ;;
	fnrunvm.moddir=*) MODDIR=${arg#fnrunvm.moddir=} ;;
	esac
done

# Modules, in dependency order (computed by run.sh with modprobe --show-depends).
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "/lib/modules/$mod" || fail "insmod $mod failed"
done </modules.list

P9OPTS=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$P9OPTS" results "$RESULTS" || fail "mount 9p results share"

if [ "$MODE" = probe ]; then
	echo ok >"$RESULTS/probe"
	halt_vm
fi

# Host root, read-only, with a tmpfs overlay on top: every write stays in RAM.
mount -t 9p -o "ro,$P9OPTS,cache=loose" hostroot /lower || fail "mount 9p host root"
mount -t tmpfs -o mode=0755 tmpfs /upper || fail "mount tmpfs for overlay"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	fail "mount overlay root"

R=/newroot
mount --move /proc "$R/proc" || fail "move /proc"
mount --move /sys "$R/sys" || fail "move /sys"
mount --move /dev "$R/dev" || fail "move /dev"
mkdir -p "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts" || fail "mount devpts"
[ -e "$R/dev/ptmx" ] || ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm" || fail "mount /dev/shm"
mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue" 2>/dev/null || log "no mqueue (ignored)"
[ -e "$R/dev/fd" ] || ln -s /proc/self/fd "$R/dev/fd"
[ -e "$R/dev/stdin" ] || ln -s /proc/self/fd/0 "$R/dev/stdin"
[ -e "$R/dev/stdout" ] || ln -s /proc/self/fd/1 "$R/dev/stdout"
[ -e "$R/dev/stderr" ] || ln -s /proc/self/fd/2 "$R/dev/stderr"

# /run is the guest's own (the host's pid files and sockets mean nothing here).
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run" || fail "mount /run"
mkdir -p "$R/run/lock" "$R/run/fnrun-vm"
chmod 1777 "$R/run/lock"
mount --move "$RESULTS" "$R/run/fnrun-vm" || fail "move results share"
RESULTS=$R/run/fnrun-vm

# /tmp shows the host's /tmp read-only underneath (so host-built test binaries
# under /tmp run); writes land in the overlay's tmpfs.
mkdir -p "$R/tmp" "$R/var/tmp"
chmod 1777 "$R/tmp" "$R/var/tmp"

# Pure cgroup v2 (cgroup_no_v1=all on the kernel command line), every
# available controller enabled for the root's children.
CG=$R/sys/fs/cgroup
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 "$CG" || fail "mount cgroup2"
for c in $(cat "$CG/cgroup.controllers"); do
	echo "+$c" >"$CG/cgroup.subtree_control" || fail "enable cgroup controller $c"
done

# The guest kernel's modules, so that modprobe works inside the chroot.
if [ -n "$MODDIR" ] && [ -d "$R$MODDIR" ]; then
	KVER=$(uname -r)
	mkdir -p "$R/lib/modules/$KVER"
	mount --bind "$R$MODDIR" "$R/lib/modules/$KVER" || fail "bind kernel modules"
fi

hostname "$VM_HOSTNAME"
echo "$VM_HOSTNAME" >"$R/etc/hostname"
cat >"$R/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$VM_HOSTNAME
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
ip link set lo up || fail "bring up loopback"

# The output port: raw (no \n -> \r\n), no echo.
stty -F "$R$OUT" raw -echo 115200 2>/dev/null || log "stty $OUT failed (ignored)"
ulimit -n 65536 2>/dev/null

up=$(cut -d" " -f1 "$R/proc/uptime")
: >"$RESULTS/started"
echo "===== fnrun-vm: begin (kernel $(uname -r), up ${up}s, cgroup2: $(cat "$CG/cgroup.controllers")) =====" >"$R$OUT"
env -i /bin/chroot "$R" /bin/sh /run/fnrun-vm/cmd.sh <"$R/dev/null" >"$R$OUT" 2>&1
rc=$?
echo "===== fnrun-vm: end (exit $rc) =====" >"$R$OUT"
echo "$rc" >"$RESULTS/exit_code"
halt_vm
