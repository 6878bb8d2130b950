#!/usr/bin/env bash
# integration/vm/selftest.sh: proves run.sh gives a pure cgroup v2 guest with
# delegated controllers, a sane /tmp, hostname, loopback, netns+veth+bridge,
# a read-only view of the host (writes stay in the guest), and that exit codes
# and timeouts propagate, and that a boot killed early is retried. Four VM
# boots; prints "N passed, N failed".
set -uo pipefail

RUN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh
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
# expect NAME VALUE WANT: VALUE must equal WANT.
expect() {
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else nok "$1: got '$2', want '$3'"; fi
}
# check NAME COMMAND...: COMMAND must succeed.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}
# has_words NAME LINE WORD...: every WORD must be a word of LINE.
has_words() {
	local name=$1 line=$2 w
	shift 2
	for w in "$@"; do
		case " $line " in *" $w "*) ;; *)
			nok "$name: '$w' missing from '$line'"
			return
			;;
		esac
	done
	ok "$name ($line)"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fnrun-vm-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/cwd"
echo from-host >"$TMP/cwd/hostfile"

# ---- 1: the guest's environment; exits 7 on purpose -------------------------
# shellcheck disable=SC2016 # expanded by the guest's shell
guest_script='
set -u
cg=/sys/fs/cgroup
echo "controllers=$(cat $cg/cgroup.controllers)"
echo "subtree=$(cat $cg/cgroup.subtree_control)"
echo "v1mounts=$(awk "\$3 == \"cgroup\"" /proc/mounts | wc -l)"
echo "cg2fs=$(awk "\$2 == \"/sys/fs/cgroup\" {print \$3}" /proc/mounts)"
mkdir $cg/selftest
echo "child_controllers=$(cat $cg/selftest/cgroup.controllers)"
echo "50000 100000" >$cg/selftest/cpu.max && echo "cpu_max=$(cat $cg/selftest/cpu.max)"
echo 64M >$cg/selftest/memory.max && echo "memory_max=$(cat $cg/selftest/memory.max)"
echo 32 >$cg/selftest/pids.max && echo "pids_max=$(cat $cg/selftest/pids.max)"
echo "incgroup=$(sh -c "echo \$\$ >$cg/selftest/cgroup.procs && cat /proc/self/cgroup")"
echo "pwd=$(pwd)"
echo "hostfile=$(cat hostfile)"
echo guest >guestfile && echo "guestfile=$(cat guestfile)"
echo "hostname=$(hostname)"
echo "localhost=$(getent hosts 127.0.0.1 | awk "{print \$2}")"
echo "self=$(getent hosts fnrun-vm | awk "{print \$1}")"
echo "tmp=$(stat -c %a:%U /tmp)"
echo "tmpwrite=$(t=$(mktemp) && echo y >$t && cat $t)"
echo "run=$(stat -f -c %T /run)"
echo "devnull=$(stat -c %t,%T /dev/null)"
echo "path_go=$(command -v go)"
echo "lo=$(ip -o link show lo | grep -o "state [A-Z]*")"
echo "ping_lo=$(busybox ping -c1 -W2 127.0.0.1 >/dev/null 2>&1 && echo ok)"
echo "nics=$(ls /sys/class/net | tr "\n" " ")"
ip netns add st && ip link add br-st type bridge && ip link add ve-st type veth peer name ve-st-in &&
ip link set ve-st master br-st && ip link set ve-st-in netns st &&
ip addr add 10.213.0.1/24 dev br-st && ip link set br-st up && ip link set ve-st up &&
ip -n st addr add 10.213.0.2/24 dev ve-st-in && ip -n st link set ve-st-in up && ip -n st link set lo up &&
echo "netns_ping=$(busybox ping -c1 -W5 10.213.0.2 >/dev/null 2>&1 && echo ok)"
exit 7
'
echo "== boot 1: guest environment (expects exit 7)"
start=$(date +%s)
(cd "$TMP/cwd" && "$RUN" --timeout 600 -- sh -c "$guest_script") | tee "$TMP/out1"
rc=${PIPESTATUS[0]}
echo "   (boot 1 took $(($(date +%s) - start))s)"
val() { sed -n "s/^$1=//p" "$TMP/out1" | tr -d '\r' | head -n1; }

expect "exit code propagates" "$rc" 7
check "begin marker" grep -q '^===== fnrun-vm: begin' "$TMP/out1"
check "end marker" grep -q '^===== fnrun-vm: end (exit 7) =====' "$TMP/out1"
has_words "root cgroup.controllers" "$(val controllers)" cpu memory pids
has_words "root cgroup.subtree_control" "$(val subtree)" cpu memory pids
has_words "child cgroup.controllers" "$(val child_controllers)" cpu memory pids
expect "no cgroup v1 mounts" "$(val v1mounts)" 0
expect "cgroup2 at /sys/fs/cgroup" "$(val cg2fs)" cgroup2
expect "cpu.max writable" "$(val cpu_max)" "50000 100000"
expect "memory.max writable" "$(val memory_max)" 67108864
expect "pids.max writable" "$(val pids_max)" 32
expect "process moved into child cgroup" "$(val incgroup)" "0::/selftest"
expect "cwd is the host's" "$(val pwd)" "$TMP/cwd"
expect "host file visible" "$(val hostfile)" from-host
expect "guest write works" "$(val guestfile)" guest
check "guest write did not reach the host" test ! -e "$TMP/cwd/guestfile"
expect "hostname" "$(val hostname)" fnrun-vm
expect "127.0.0.1 is localhost" "$(val localhost)" localhost
expect "hostname resolves" "$(val self)" 127.0.1.1
expect "/tmp mode" "$(val tmp)" 1777:root
expect "/tmp writable" "$(val tmpwrite)" y
expect "/run is the guest's tmpfs" "$(val run)" tmpfs
expect "/dev/null is the char device" "$(val devnull)" 1,3
expect "go on PATH" "$(val path_go)" /usr/local/go/bin/go
expect "loopback up" "$(val lo)" "state UNKNOWN"
expect "ping loopback" "$(val ping_lo)" ok
expect "no NIC besides lo" "$(val nics)" "lo "
expect "netns+veth+bridge ping" "$(val netns_ping)" ok

# ---- 2: false -> non-zero ------------------------------------------------------
echo "== boot 2: false (expects a non-zero exit)"
start=$(date +%s)
"$RUN" --timeout 600 -- false
rc=$?
echo "   (boot 2 took $(($(date +%s) - start))s)"
expect "false fails" "$rc" 1

# ---- 3: timeout -> 124, qemu killed ------------------------------------------------
echo "== boot 3: sleep past --timeout 5 (expects 124)"
start=$(date +%s)
"$RUN" --timeout 5 -- sleep 600 2>"$TMP/err3"
rc=$?
took=$(($(date +%s) - start))
expect "timeout exit code" "$rc" 124
check "timeout honoured (${took}s)" test "$took" -lt 30
check "timeout message" grep -q 'did not finish within 5s' "$TMP/err3"

# ---- 4: a VM killed during boot is booted once more ---------------------------
echo "== boot 4: qemu killed before COMMAND starts (expects one retry, exit 0)"
"$RUN" --timeout 600 -- echo survived-retry >"$TMP/out4" 2>&1 &
run_pid=$!
qemu_pid=
for _ in $(seq 300); do
	timeout_pid=$(pgrep -P "$run_pid" -x timeout || true)
	[ -n "$timeout_pid" ] && qemu_pid=$(pgrep -P "$timeout_pid" || true)
	[ -n "$qemu_pid" ] && break
	sleep 0.1
done
if [ -n "$qemu_pid" ]; then
	kill "$qemu_pid" # our own qemu, by pid: it is still in early boot
	wait "$run_pid"
	rc=$?
	expect "retry after a killed boot" "$rc" 0
	check "retry announced" grep -q 'booting once more' "$TMP/out4"
	check "command ran after the retry" grep -qx 'survived-retry' "$TMP/out4"
else
	wait "$run_pid"
	nok "could not find the qemu process of boot 4"
fi

# ---- no boot: a module the kernel lacks is a clear error --------------------
FNRUN_VM_EXTRA_MODULES=no_such_module_fnrun "$RUN" -- true 2>"$TMP/err5"
expect "missing module fails" "$?" 125
check "missing module named" grep -q "no module 'no_such_module_fnrun'" "$TMP/err5"

echo "selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
