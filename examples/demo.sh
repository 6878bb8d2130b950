#!/usr/bin/env bash
# The demo of fnrun's main job on its embedded defaults: start fnrund, deploy the CPU-autoscaling
# FastAPI example, print the app table, send requests, show a scale-up to two replicas, clean up.
# KEEP=1 leaves the daemon and the app running.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FNRUN=$ROOT/bin/fnrun
FNRUND=$ROOT/bin/fnrund
SOCK=${FNRUN_SOCKET:-/run/fnrun/fnrun.sock}
export FNRUN_SOCKET=$SOCK
LOG=${FNRUN_DEMO_LOG:-/tmp/fnrund-demo.log}

if [ "$(id -u)" != 0 ]; then echo "demo: run as root (fnrund creates cgroups)"; exit 1; fi

started=""
app=""
cleanup() {
	if [ "${KEEP:-}" = 1 ]; then
		echo; echo "KEEP=1: fnrund (log $LOG) and ${app:-the app} keep running. Stop with: $FNRUN remove $app; pkill fnrund"
		return
	fi
	[ -n "$app" ] && "$FNRUN" remove "$app" >/dev/null 2>&1 || true
	if [ -n "$started" ]; then
		kill -TERM "$started" 2>/dev/null || true
		wait "$started" 2>/dev/null || true
		ip link del fnrun0 2>/dev/null || true # the replicas' bridge, made by the daemon we started
		for c in /sys/fs/cgroup/fnrun /sys/fs/cgroup/{cpu,cpuacct,memory,pids,freezer}/fnrun; do
			[ -d "$c" ] && rmdir "$c" 2>/dev/null || true # the daemon's (now empty) cgroup root
		done
	fi
}
trap cleanup EXIT

if "$FNRUN" list >/dev/null 2>&1; then
	echo "== using the fnrund already serving $SOCK"
else
	echo "== starting fnrund (socket $SOCK, router 127.0.0.1:8080, state /var/lib/fnrun; log $LOG)"
	"$FNRUND" >"$LOG" 2>&1 &
	started=$!
	for _ in $(seq 1 100); do "$FNRUN" list >/dev/null 2>&1 && break; sleep 0.1; done
	"$FNRUN" list >/dev/null || { cat "$LOG"; exit 1; }
	grep -m1 'cgroup mode' "$LOG" || true
fi

echo; echo "== fnrun deploy app:app   (in examples/autoscale-cpu, jcloud.yml: C3, autoscale 1..2 on cpu target 40)"
cd "$ROOT/examples/autoscale-cpu"
"$FNRUN" deploy app:app --name fastapi | tee /tmp/fnrun-demo-table.txt
app=$("$FNRUN" list -o json | jq -r '[.[] | select(.name=="fastapi")] | sort_by(.created_at) | last | .id')
endpoint=$("$FNRUN" status "$app" -o json | jq -r .endpoint)

echo; echo "== curl -s $endpoint/load/1000000 | jq"
curl -s "$endpoint/load/1000000" | jq

echo; echo "== a long request pins the replica's core: curl $endpoint/load/300000000 &"
curl -s -o /dev/null "$endpoint/load/300000000" &
long=$!
echo "== meanwhile, a request every 0.5 s; the autoscaler adds a second replica within seconds"
declare -A seen=()
for i in $(seq 1 60); do
	out=$(curl -s "$endpoint/load/1000000")
	h=$(jq -r .hostname <<<"$out")
	seen[$h]=1
	echo "$out" | jq -c .
	if [ "${#seen[@]}" -ge 2 ] && [ "$i" -ge 6 ]; then break; fi
	sleep 0.5
done
echo; echo "== answered by ${#seen[@]} replicas: ${!seen[*]}"
echo; echo "== fnrun status $app"
"$FNRUN" status "$app"
kill "$long" 2>/dev/null || true
