#!/usr/bin/env bash
# HTTP benchmark of the running service over real sockets: requests/s, p50/p99 latency at concurrency 16
# for a database-backed GraphQL query, the same query by GET without and with the ETag it was answered with
# (bytes and requests/s a revalidating client saves), and liveness, plus server RSS idle and under load.
#   scripts/bench-http.sh            (uses DATABASE_URL, else the embedded PostgreSQL)
# Needs wrk (Debian package `wrk`). Rate limiting is switched off for the run: one client address would
# otherwise be throttled after 20 requests.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --bin homechef
bin="${CARGO_TARGET_DIR:-target}/release/homechef"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RATE_LIMIT_ENABLED=false RUST_LOG=warn ROCKET_PORT="$port" "$bin" serve >/tmp/homechef-bench.log 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
script="$(mktemp)"
cat >"$script" <<'LUA'
wrk.method = "POST"
wrk.body   = '{"query":"{ health { status database migrations } }"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "POST /graphql { health } (2 SQL statements per request), 16 connections, 10 s:"
wrk -t2 -c16 -d10s --latency -s "$script" "http://127.0.0.1:$port/graphql" | grep -E "Requests/sec| 50%| 99%"
# A repeated GET: the client that kept the answer's ETag gets 304 without a body (the query still runs).
query='/graphql?query=%7Bhealth%7Bstatus%20database%20migrations%7D%7D'
etag="$(curl -s -D - -o /dev/null "http://127.0.0.1:$port$query" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {print $2}')"
echo "GET $query: $(curl -s -o /dev/null -w '%{http_code} %{size_download} body bytes' "http://127.0.0.1:$port$query");" \
  "with If-None-Match: $(curl -s -o /dev/null -w '%{http_code} %{size_download} body bytes' -H "If-None-Match: $etag" "http://127.0.0.1:$port$query")"
for held in "" "$etag"; do
  echo "GET { health } ${held:+with If-None-Match }(16 connections, 10 s):"
  wrk -t2 -c16 -d10s --latency ${held:+-H "If-None-Match: $held"} "http://127.0.0.1:$port$query" | grep -E "Requests/sec|Transfer/sec| 50%| 99%"
done
echo "GET /health/live, 16 connections, 10 s:"
wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$port/health/live" | grep -E "Requests/sec| 50%| 99%"
echo "RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status) (peak $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status))"
rm -f "$script"
