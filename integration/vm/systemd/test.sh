#!/usr/bin/env bash
# integration/vm/systemd/test.sh: the systemd service test. Builds bin/fnrun, bin/fnrund and the
# .deb on the host, then boots the VM with systemd as PID 1 (run.sh --systemd) once per install
# method and runs guest.sh there: install, start fnrund.service, deploy examples/autoscale-cpu as a
# member of the fnrun group, check the delegated cgroups, restart, stop.
#
# Usage: integration/vm/systemd/test.sh [make|deb]...   (default: make deb)
# Environment: NOBUILD=1 uses bin/ as it is; FNRUN_VM_* as for run.sh.
# Exit status: 0 when every boot passed every check.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(make deb)
GO=${GO:-go}

if [ -z "${NOBUILD:-}" ]; then
	"$GO" build -o bin/fnrun ./cmd/fnrun
	"$GO" build -o bin/fnrund ./cmd/fnrund
fi
deb=
for m in "${methods[@]}"; do
	case "$m" in
	make) ;;
	deb)
		deb=$("$GO" run ./cmd/fnrund/systemd/mkdeb -fnrun bin/fnrun -fnrund bin/fnrund \
			-src cmd/fnrund/systemd -version "0.1.0+vmtest" -out bin)
		echo "vm-systemd-test: built $deb"
		;;
	*)
		echo "usage: $0 [make|deb]..." >&2
		exit 2
		;;
	esac
done

failed=()
for m in "${methods[@]}"; do
	echo "=== vm-systemd-test: install via $m"
	rc=0
	integration/vm/run.sh --systemd --timeout "${FNRUN_VM_SYSTEMD_TIMEOUT:-900}" \
		-e FNRUN_SYSTEMD_VIA="$m" -e FNRUN_DEB="$deb" -- integration/vm/systemd/guest.sh || rc=$?
	if [ "$rc" = 0 ]; then echo "=== vm-systemd-test: $m: PASS"; else
		echo "=== vm-systemd-test: $m: FAIL (exit $rc)"
		failed+=("$m")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "vm-systemd-test: FAILED: ${failed[*]}"
	exit 1
fi
echo "vm-systemd-test: all passed (${methods[*]})"
