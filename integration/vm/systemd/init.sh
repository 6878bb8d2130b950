#!/bin/busybox sh
# shellcheck shell=dash
# /init-systemd of the fnrun test VM (run.sh --systemd boots it with rdinit=/init-systemd).
#
# Like integration/vm/init.sh it loads the modules, mounts the host's root read-only over 9p under
# a tmpfs overlay and the results share at /run/fnrun-vm, but then it hands the overlay root to
# systemd as PID 1 (switch_root /lib/systemd/systemd) instead of running the command itself.
# systemd mounts the pure cgroup v2 hierarchy (cgroup_no_v1=all on the command line). The
# command runs from fnrun-vm-cmd.service once multi-user.target is reached; that unit writes the
# exit code to the results share and powers the VM off.

PATH=/bin
export PATH
/bin/busybox mkdir -p /proc /sys /dev /lower /upper /newroot /results
/bin/busybox --install -s /bin

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev

RESULTS=/results
VM_HOSTNAME=fnrun-vm

log() { echo "fnrun-vm init-systemd: $*" >/dev/console; }
fail() {
	log "FATAL: $*"
	echo "fnrun-vm: FATAL: $*" >/dev/ttyS1 2>/dev/null
	if [ -d "$RESULTS" ]; then
		echo "$*" >"$RESULTS/init_error" 2>/dev/null
		echo 125 >"$RESULTS/exit_code" 2>/dev/null
	fi
	sync
	poweroff -f
	reboot -f
	exit 1
}

MODDIR=
for arg in $(cat /proc/cmdline); do
	case "$arg" in fnrunvm.moddir=*) MODDIR=${arg#fnrunvm.moddir=} ;; esac
done

while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "/lib/modules/$mod" || fail "insmod $mod failed"
done </modules.list

P9OPTS=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$P9OPTS" results "$RESULTS" || fail "mount 9p results share"
mount -t 9p -o "ro,$P9OPTS,cache=loose" hostroot /lower || fail "mount 9p host root"
mount -t tmpfs -o mode=0755 tmpfs /upper || fail "mount tmpfs for overlay"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
	fail "mount overlay root"
R=/newroot
[ -x "$R/lib/systemd/systemd" ] || fail "no /lib/systemd/systemd on the host root"

# /run: the guest's own tmpfs (systemd keeps an already mounted /run), with the results share.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run" || fail "mount /run"
mkdir -p "$R/run/fnrun-vm"
mount --move "$RESULTS" "$R/run/fnrun-vm" || fail "move results share"

# The guest kernel's modules, so that modprobe works.
if [ -n "$MODDIR" ] && [ -d "$R$MODDIR" ]; then
	mkdir -p "$R/lib/modules/$(uname -r)"
	mount --bind "$R$MODDIR" "$R/lib/modules/$(uname -r)" || fail "bind kernel modules"
fi

echo "$VM_HOSTNAME" >"$R/etc/hostname"
cat >"$R/etc/hosts" <<EOT
127.0.0.1	localhost
127.0.1.1	$VM_HOSTNAME
::1	localhost ip6-localhost ip6-loopback
EOT
: >"$R/etc/machine-id" # systemd makes a transient one
mkdir -p "$R/etc/tmpfiles.d"
# The host's /tmp shows through; keep systemd-tmpfiles from cleaning it.
echo 'x /tmp/*' >"$R/etc/tmpfiles.d/fnrun-vm-keep-tmp.conf"
# Debian's tmp.conf says `D /tmp` (empty it at boot), which would hide a checkout or test
# binaries under the host's /tmp: override it (same name in /etc wins) with a plain `d`.
printf 'd /tmp 1777 root root -\nq /var/tmp 1777 root root 30d\n' >"$R/etc/tmpfiles.d/tmp.conf"

# Only what the test needs: the host's own services (databases, web servers...) stay off, and so
# do gettys and anything that waits for a network or hardware the guest does not have.
U=$R/etc/systemd/system
mkdir -p "$U/multi-user.target.wants"
for w in "$U"/multi-user.target.wants/* "$U"/*.target.wants/* "$R"/lib/systemd/system/multi-user.target.wants/*; do
	[ -e "$w" ] || [ -L "$w" ] || continue
	n=${w##*/}
	case "$n" in systemd-*.service | dbus.service | dbus-broker.service | *.target) continue ;; esac
	ln -sf /dev/null "$U/$n"
done
for n in getty@.service serial-getty@.service getty.target console-getty.service \
	systemd-networkd-wait-online.service NetworkManager-wait-online.service networking.service \
	systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
	fstrim.timer logrotate.timer systemd-firstboot.service systemd-random-seed.service; do
	ln -sf /dev/null "$U/$n"
done

# The command, as a unit started once the system is up.
cat >"$R/etc/fnrun-vm-run-cmd.sh" <<'EOT'
#!/bin/sh
# Runs the command of run.sh with its output on the second serial port, then powers off.
OUT=/dev/ttyS1
stty -F $OUT raw -echo 115200 2>/dev/null
: >/run/fnrun-vm/started
up=$(cut -d" " -f1 /proc/uptime)
echo "===== fnrun-vm: begin (kernel $(uname -r), up ${up}s, systemd $(systemctl --version | head -n1 | cut -d" " -f2), cgroup2: $(cat /sys/fs/cgroup/cgroup.controllers)) =====" >$OUT
ulimit -n 65536 2>/dev/null
/bin/sh /run/fnrun-vm/cmd.sh </dev/null >$OUT 2>&1
rc=$?
echo "===== fnrun-vm: end (exit $rc) =====" >$OUT
echo $rc >/run/fnrun-vm/exit_code
sync
systemctl poweroff --force --force
EOT
chmod 0755 "$R/etc/fnrun-vm-run-cmd.sh"
cat >"$U/fnrun-vm-cmd.service" <<'EOT'
[Unit]
Description=fnrun-vm: the command of integration/vm/run.sh
After=multi-user.target
[Service]
# exec, not oneshot: the boot (and `systemctl is-system-running --wait`) must not wait for it.
Type=exec
ExecStart=/etc/fnrun-vm-run-cmd.sh
StandardInput=null
StandardOutput=journal+console
TimeoutStartSec=infinity
EOT
ln -sf ../fnrun-vm-cmd.service "$U/multi-user.target.wants/fnrun-vm-cmd.service"

mount --move /proc "$R/proc" || fail "move /proc"
mount --move /sys "$R/sys" || fail "move /sys"
mount --move /dev "$R/dev" || fail "move /dev"
hostname "$VM_HOSTNAME"
log "switching to systemd"
exec switch_root "$R" /lib/systemd/systemd --log-level=warning --show-status=no
