#!/usr/bin/env bash
# cleanup.sh OWNED — removes what a benchmark run recorded in OWNED ("kind value" lines written
# by integration/bench_common_test.go): runc containers, processes it started, its cgroup roots
# (their processes are killed first) and bridges. Nothing that is not listed is touched.
set -uo pipefail
owned=${1:?usage: cleanup.sh OWNED}
[ -f "$owned" ] || exit 0

# cgroup_dirs ROOT lists ROOT's directory in every mounted hierarchy (v1 and cgroup2).
cgroup_dirs() {
	local r=$1
	case $r in
	/sys/fs/cgroup/*) [ -d "$r" ] && echo "$r" ;;
	*) for d in /sys/fs/cgroup/*"$r" /sys/fs/cgroup/"$r"; do [ -d "$d" ] && echo "$d"; done | sort -u ;;
	esac
}

while read -r kind value; do
	case $kind in
	runc-root | crun-root)
		tool=${kind%-root}
		if [ -d "$value" ] && command -v "$tool" >/dev/null; then
			for id in $("$tool" --root "$value" list -q 2>/dev/null); do "$tool" --root "$value" delete -f "$id" >/dev/null 2>&1; done
			rm -rf "$value"
		fi
		;;
	pid)
		# Only a daemon of ours: the pid must still run fnrund.
		if grep -qs fnrund "/proc/$value/cmdline"; then kill -TERM "$value" 2>/dev/null; fi
		;;
	esac
done <"$owned"
sleep 1
while read -r kind value; do
	[ "$kind" = cgroup ] || continue
	for d in $(cgroup_dirs "$value"); do
		for _ in 1 2 3 4 5; do
			pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
			[ -z "$pids" ] && break
			kill -KILL $pids 2>/dev/null
			sleep 0.5
		done
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
done <"$owned"
while read -r kind value; do
	[ "$kind" = bridge ] && ip link del "$value" 2>/dev/null
done <"$owned"
rm -f "$owned"
exit 0
