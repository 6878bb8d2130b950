#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through check/wait_for
# integration/vm/systemd/guest.sh: runs inside the VM of `run.sh --systemd` (systemd is PID 1,
# pure cgroup v2), from the repository root. Installs fnrun (make install, or the .deb named by
# FNRUN_DEB), starts fnrund.service, deploys examples/autoscale-cpu as an unprivileged member of the
# fnrun group and checks that the replicas live in the service's delegated cgroup, survive
# `systemctl restart fnrund`, and are gone after `systemctl stop fnrund`. Prints one line per
# check and "N passed, N failed"; exits 1 when a check failed.
set -uo pipefail

REPO=$(pwd)
VIA=${FNRUN_SYSTEMD_VIA:-make} # make | deb
SUBTREE=/sys/fs/cgroup/system.slice/fnrund.service
pass=0
fail=0
ok() {
	pass=$((pass + 1))
	echo "ok   - $*"
}
nok() {
	fail=$((fail + 1))
	echo "FAIL - $*"
}
# check NAME COMMAND...: COMMAND must succeed.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}
# expect NAME GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else nok "$1: got '$2', want '$3'"; fi
}
# wait_for SECONDS COMMAND...: retries COMMAND every 0.5 s.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}
as_tester() { runuser -u tester -- "$@"; }
dump_logs() {
	echo "--- journalctl -u fnrund (last 40 lines)"
	journalctl -u fnrund --no-pager -n 40 2>&1 | sed 's/^/    /'
}

expect "systemd is PID 1" "$(cat /proc/1/comm)" systemd
state=$(systemctl is-system-running --wait 2>/dev/null)
case "$state" in running | degraded) ok "system booted ($state)" ;; *) nok "system state: $state" ;; esac
expect "pure cgroup v2" "$(stat -f -c %T /sys/fs/cgroup)" cgroup2fs

# A fresh host: the fnrun users and group the host may have are removed (in the guest only).
userdel fnrun 2>/dev/null
userdel fnrun-app 2>/dev/null
groupdel fnrun 2>/dev/null
groupdel fnrun-app 2>/dev/null
if getent group fnrun >/dev/null || id fnrun-app >/dev/null 2>&1; then nok "cannot remove the host's fnrun group / fnrun-app user"; else ok "no fnrun group or fnrun-app user before install"; fi

# ---- install -----------------------------------------------------------------------------------
if [ "$VIA" = deb ]; then
	if [ -z "${FNRUN_DEB:-}" ] || [ ! -f "$FNRUN_DEB" ]; then
		nok "FNRUN_DEB names no package: '${FNRUN_DEB:-}'"
		finish
	fi
	check "apt-get install ./$(basename "$FNRUN_DEB")" \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$FNRUN_DEB"
	BINDIR=/usr/bin
	UNIT=/lib/systemd/system/fnrund.service
else
	check "make install" make -s -f Makefile -f cmd/fnrund/systemd/install.mk install NOBUILD=1
	BINDIR=/usr/local/bin
	UNIT=/etc/systemd/system/fnrund.service
fi
check "binaries in $BINDIR" test -x "$BINDIR/fnrun" -a -x "$BINDIR/fnrund"
check "unit $UNIT" grep -q '^Delegate=yes' "$UNIT"
check "config /etc/fnrun/fnrund.yaml" test -f /etc/fnrun/fnrund.yaml
check "group fnrun" sh -c "getent group fnrun >/dev/null"
check "systemd knows fnrund.service" systemctl cat fnrund.service >/dev/null

# ---- start -------------------------------------------------------------------------------------
# Bridge networking needs the VM's veth/bridge modules; the default config is used as installed.
useradd -m -G fnrun tester
check "systemctl enable --now fnrund (Type=notify: returns once serving)" systemctl enable --now fnrund
expect "fnrund.service active" "$(systemctl is-active fnrund)" active
pid=$(systemctl show -p MainPID --value fnrund)
expect "daemon in its leaf" "$(cat "/proc/$pid/cgroup" 2>/dev/null)" "0::/system.slice/fnrund.service/daemon"
expect "no process in the subtree's own cgroup" "$(cat $SUBTREE/cgroup.procs | wc -l)" 0
check "subtree enables cpu memory pids for its children" \
	grep -qE '(^| )cpu( |$).*memory.*pids' $SUBTREE/cgroup.subtree_control
check "fnrun list as group member tester" sh -c "runuser -u tester -- $BINDIR/fnrun list >/dev/null"
if runuser -u nobody -- "$BINDIR/fnrun" list >/dev/null 2>&1; then nok "non-member nobody reached the API"; else ok "non-member nobody is refused"; fi

# ---- deploy as tester --------------------------------------------------------------------------
rm -rf /home/tester/app
cp -r "$REPO/examples/autoscale-cpu" /home/tester/app
chown -R tester: /home/tester/app
app=$(cd /home/tester/app && as_tester "$BINDIR/fnrun" deploy app:app --name fastapi -o json | jq -r .id)
if [ -n "$app" ] && [ "$app" != null ]; then ok "tester deployed examples/autoscale-cpu ($app)"; else
	nok "deploy as tester"
	dump_logs
	finish
fi
endpoint=$(as_tester "$BINDIR/fnrun" status "$app" -o json | jq -r .endpoint)
serves() { curl -fsS -m 20 "$endpoint/load/1000" >/dev/null; }
check "app answers at $endpoint" wait_for 60 serves

# replica_pids prints the pids in the cgroups under the sandboxes' root, and replica_cgroups the
# cgroups of the app's python processes.
replica_pids() { find $SUBTREE/apps -name cgroup.procs -exec cat {} + 2>/dev/null; }
app_procs() { pgrep -f 'uvicorn|app:app' || true; }
n=$(replica_pids | wc -l)
if [ "$n" -gt 0 ]; then ok "replica processes under $SUBTREE/apps ($n)"; else nok "no process under $SUBTREE/apps"; fi
outside=0
for p in $(app_procs); do
	cg=$(cut -d: -f3 "/proc/$p/cgroup" 2>/dev/null) || continue
	case "$cg" in /system.slice/fnrund.service/apps/*) ;; *)
		outside=$((outside + 1))
		echo "    pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60)) in $cg"
		;;
	esac
done
expect "app processes outside the delegated subtree" "$outside" 0
# The replicas' user must not be able to reach the API socket.
if id -nG fnrun-app 2>/dev/null | tr " " "\n" | grep -qx fnrun; then nok "replica user fnrun-app is in group fnrun"; else ok "replica user fnrun-app is not in group fnrun ($(id fnrun-app 2>&1))"; fi
# cgroupfs files show size 0: read each cgroup.procs for the first leaf with a process.
leaf=$(find $SUBTREE/apps -name cgroup.procs 2>/dev/null | while read -r f; do
	if [ -n "$(cat "$f")" ]; then
		dirname "$f"
		break
	fi
done)
if [ -f "$leaf/cpu.max" ] && [ "$(cat "$leaf/cpu.max")" != "max 100000" ]; then
	ok "replica cgroup has a CPU quota ($(cat "$leaf/cpu.max"))"
else nok "replica cgroup $leaf has no CPU quota"; fi

# ---- restart keeps the app ---------------------------------------------------------------------
check "systemctl restart fnrund" systemctl restart fnrund
expect "fnrund.service active after restart" "$(systemctl is-active fnrund)" active
check "app listed after restart" wait_for 30 sh -c "runuser -u tester -- $BINDIR/fnrun list | grep -q $app"
check "app answers after restart" wait_for 90 serves
pid2=$(systemctl show -p MainPID --value fnrund)
if [ "$pid2" != "$pid" ]; then ok "a new daemon ($pid -> $pid2)"; else nok "MainPID unchanged ($pid)"; fi
expect "new daemon in its leaf" "$(cat "/proc/$pid2/cgroup" 2>/dev/null)" "0::/system.slice/fnrund.service/daemon"
n=$(replica_pids | wc -l)
if [ "$n" -gt 0 ]; then ok "replicas under $SUBTREE/apps after restart ($n)"; else nok "no replica after restart"; fi

# ---- stop drains and leaves nothing ------------------------------------------------------------
check "systemctl stop fnrund" systemctl stop fnrund
expect "fnrund.service inactive" "$(systemctl is-active fnrund)" inactive
left=$(app_procs | wc -l)
expect "app processes left after stop" "$left" 0
expect "processes left in the subtree" "$(find $SUBTREE -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)" 0
if journalctl -u fnrund --no-pager | grep -q 'shutting down: draining'; then ok "fnrund drained on SIGTERM"; else nok "no drain in the journal"; fi
if journalctl -u fnrund --no-pager | grep -qi 'killing process'; then nok "systemd had to SIGKILL leftovers"; else ok "no process needed SIGKILL from systemd"; fi
check "socket dir /run/fnrun kept (RuntimeDirectoryPreserve)" test -d /run/fnrun

[ "$fail" = 0 ] || dump_logs
finish
