#!/usr/bin/env bash
# bench.sh — wrk benchmark of fnrun's router against a direct backend, nginx, HAProxy and a bare
# fasthttp proxy (the ceiling for a fasthttp-based router).
# Tunables (env): DURATION=10s CONNECTIONS=64 THREADS=2 RUNS=3 BASE_PORT=18180.
# Prints a markdown table (median of RUNS runs per target) to stdout; progress goes to stderr.
# Everything listens on 127.0.0.1; every process started here is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
BASE_PORT=${BASE_PORT:-18180}
PORT_UP=$((BASE_PORT + 1))
PORT_FN=$((BASE_PORT + 2))
PORT_NGINX=$((BASE_PORT + 3))
PORT_HAPROXY=$((BASE_PORT + 4))
PORT_BARE=$((BASE_PORT + 5))
PORT_NGINX_H2=$((BASE_PORT + 6))
HOST_HEADER="bench.localhost"

for tool in go wrk nginx haproxy curl; do
	command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/fnrun-bench.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# Refuse ports somebody else listens on: wrk would measure their server.
for port in "$PORT_UP" "$PORT_FN" "$PORT_NGINX" "$PORT_HAPROXY" "$PORT_BARE" "$PORT_NGINX_H2"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "bench.sh: port $port is already in use; set BASE_PORT to a free range" >&2
		exit 1
	fi
done

wait_ready() { # wait_ready name port
	for _ in $(seq 1 100); do
		if curl -fsS -o /dev/null -H "Host: $HOST_HEADER" "http://127.0.0.1:$2/"; then return 0; fi
		sleep 0.1
	done
	echo "bench.sh: $1 on port $2 did not become ready" >&2
	exit 1
}

log "building upstream, router and the bare fasthttp proxy"
(cd "$ROOT" && go build -o "$TMP/upstream" ./router/bench/upstream &&
	go build -o "$TMP/fnrunrouter" ./router/bench/fnrunrouter &&
	go build -o "$TMP/fasthttpbare" ./router/bench/fasthttpbare)

"$TMP/upstream" -addr "127.0.0.1:$PORT_UP" 2>"$TMP/upstream.log" &
PIDS+=($!)
declare -A PROC=([direct]=$!)
"$TMP/fnrunrouter" -listen "127.0.0.1:$PORT_FN" -app bench -backend "127.0.0.1:$PORT_UP" 2>"$TMP/fnrunrouter.log" &
PIDS+=($!)
PROC[fnrun]=$!

"$TMP/fasthttpbare" -listen "127.0.0.1:$PORT_BARE" -backend "127.0.0.1:$PORT_UP" 2>"$TMP/fasthttpbare.log" &
PIDS+=($!)
PROC[fasthttp-bare]=$!

mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    upstream app {
        server 127.0.0.1:$PORT_UP;
        keepalive 128;
    }
    server {
        listen 127.0.0.1:$PORT_NGINX;
        listen 127.0.0.1:$PORT_NGINX_H2 http2; # h2c with prior knowledge, for h2load
        keepalive_requests 10000000;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>"$TMP/nginx/stderr.log" &
PIDS+=($!)
PROC[nginx]=$!

cat >"$TMP/haproxy.cfg" <<CONF
global
    maxconn 8192
    nbthread 2
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    http-reuse always
    option forwardfor
frontend fe
    bind 127.0.0.1:$PORT_HAPROXY
    default_backend be
backend be
    server up 127.0.0.1:$PORT_UP
CONF
haproxy -db -f "$TMP/haproxy.cfg" 2>"$TMP/haproxy.log" &
PIDS+=($!)
PROC[haproxy]=$!

wait_ready upstream "$PORT_UP"
wait_ready fnrun "$PORT_FN"
wait_ready nginx "$PORT_NGINX"
wait_ready haproxy "$PORT_HAPROXY"
wait_ready fasthttp-bare "$PORT_BARE"

declare -A PORT=([direct]=$PORT_UP [fnrun]=$PORT_FN [nginx]=$PORT_NGINX [haproxy]=$PORT_HAPROXY [fasthttp-bare]=$PORT_BARE)
TARGETS=(direct fnrun nginx haproxy fasthttp-bare)

# to_ms converts a wrk duration ("850.00us", "1.23ms", "1.02s") to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else { printf "%s", v }
	}'
}

# cpu_ticks prints the user+system CPU clock ticks of a process and its children (nginx's workers).
cpu_ticks() {
	local total=0 pid
	for pid in "$1" $(pgrep -P "$1" || true); do
		read -r -a st <"/proc/$pid/stat" || continue
		total=$((total + st[13] + st[14])) # utime, stime (the comm field has no spaces here)
	done
	echo "$total"
}
TICK=$(getconf CLK_TCK)

# Runs are interleaved (direct, fnrun, nginx, haproxy, fasthttp-bare, direct, ...) so that background load on the
# machine spreads over all targets alike.
for run in $(seq 1 "$RUNS"); do
	for t in "${TARGETS[@]}"; do
		log "run $run/$RUNS: $t"
		before=$(cpu_ticks "${PROC[$t]}")
		out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $HOST_HEADER" "http://127.0.0.1:${PORT[$t]}/")
		after=$(cpu_ticks "${PROC[$t]}")
		rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		# CPU µs the proxy (for direct: the upstream itself) spent per request.
		us=$(awk -v d=$((after - before)) -v hz="$TICK" -v n="$reqs" 'BEGIN {printf "%.2f", (n > 0 ? d / hz / n * 1e6 : 0)}')
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
		errs=$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print "socket:" $0}' <<<"$out" | tr '\n' ' ')
		[ -n "$errs" ] && log "  $t errors: $errs"
		echo "$t $rps $p50 $p99 $us" >>"$TMP/results"
	done
done

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -v t="$1" -v c="$2" '$1 == t {print $c}' "$TMP/results"; }

declare -A RPS P50 P99 ALL US
for t in "${TARGETS[@]}"; do
	RPS[$t]=$(col "$t" 2 | median)
	US[$t]=$(col "$t" 5 | median)
	P50[$t]=$(col "$t" 3 | median)
	P99[$t]=$(col "$t" 4 | median)
	ALL[$t]=$(col "$t" 2 | awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1}')
done

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS interleaved runs per target (median shown), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| target | req/s (median) | p50 ms | p99 ms | CPU µs / request | req/s of each run |"
echo "|---|---:|---:|---:|---:|---|"
for t in "${TARGETS[@]}"; do
	printf '| %s | %.0f | %.2f | %.2f | %.1f | %s |\n' "$t" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "${US[$t]}" "${ALL[$t]}"
done
echo
echo "CPU µs / request: user+system CPU time of the proxy's processes (nginx: its workers; direct: the upstream server itself) during the run, divided by the requests wrk completed. On a 2-CPU host wrk, the upstream and the proxy share the CPUs, so a proxy's throughput follows its CPU cost per request."
echo
awk -v f="${RPS[fnrun]}" -v n="${RPS[nginx]}" -v d="${RPS[direct]}" -v h="${RPS[haproxy]}" -v b="${RPS[fasthttp-bare]}" 'BEGIN {
	printf "| ratio | value |\n|---|---:|\n"
	printf "| fnrun / nginx | %.2f |\n", f / n
	printf "| fnrun / direct | %.2f |\n", f / d
	printf "| fnrun / haproxy | %.2f |\n", f / h
	printf "| fnrun / fasthttp-bare | %.2f |\n", f / b
	printf "| nginx / direct | %.2f |\n", n / d
}'

# h2c (HTTP/2 with prior knowledge) through fnrun and nginx, to the same HTTP/1.1 upstream.
if ! command -v h2load >/dev/null; then
	echo
	echo "h2c: not measured (h2load, from Debian's nghttp2-client, is not installed)."
	exit 0
fi
declare -A H2PORT=([fnrun]=$PORT_FN [nginx]=$PORT_NGINX_H2)
H2SECS=${DURATION%s}
for run in $(seq 1 "$RUNS"); do
	for t in fnrun nginx; do
		log "h2c run $run/$RUNS: $t"
		out=$(h2load -D "$H2SECS" -c "$CONNECTIONS" -m 1 -t "$THREADS" -H ":authority: $HOST_HEADER" "http://127.0.0.1:${H2PORT[$t]}/")
		rps=$(awk '/^finished in/ {print $4}' <<<"$out")
		failed=$(awk '/^requests:/ {print $10}' <<<"$out")
		[ "${failed:-0}" != 0 ] && log "  $t: $failed failed requests"
		echo "$t $rps" >>"$TMP/h2results"
	done
done
h2col() { awk -v t="$1" '$1 == t {print $2}' "$TMP/h2results"; }
H2F=$(h2col fnrun | median)
H2N=$(h2col nginx | median)
echo
echo "h2c: h2load -c$CONNECTIONS -m1 -t$THREADS -D$H2SECS (HTTP/2 with prior knowledge; one stream per connection), $RUNS interleaved runs, median; the upstream is the same HTTP/1.1 server."
echo
echo "| target | req/s (median) | req/s of each run |"
echo "|---|---:|---|"
for t in fnrun nginx; do
	printf '| %s h2c | %.0f | %s |\n' "$t" "$(h2col "$t" | median)" "$(h2col "$t" | awk '{printf "%s%.0f", (NR > 1 ? ", " : ""), $1}')"
done
awk -v f="$H2F" -v n="$H2N" 'BEGIN { printf "\n| ratio | value |\n|---|---:|\n| fnrun h2c / nginx h2c | %.2f |\n", f / n }'
