#!/usr/bin/env bash
# Live changes measured from outside (issue #31): two release servers on one fresh database, the real
# `graphql-ws` client (examples/web-client/live.mjs).
#  1. alice ticks an item of a shared list TICKS times through instance A while bob watches it on instance B:
#     delay from the mutation's send to bob's socket, p50/p99/max, and lost/doubled changes; carol, in no
#     household, is refused and receives nothing;
#  2. SOCKETS idle signed-in sockets (one subscription each, 16 per user) on instance A: its RSS before and
#     with them, and its CPU over IDLE_SECONDS while they sit idle.
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-live.sh [TICKS] [SOCKETS]
set -euo pipefail
cd "$(dirname "$0")/.."
ticks="${1:-1000}"
sockets="${2:-2000}"
idle_seconds="${IDLE_SECONDS:-10}"
server="${TEST_DATABASE_URL:?bench-live: TEST_DATABASE_URL is needed}"

(cd examples/web-client && npm ci --silent --no-audit --no-fund)
cargo build --release --locked --bin homechef
bin="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/homechef"
database="homechef_live_$$"
psql -q "$server" -c "create database $database" >/dev/null
work="$(mktemp -d /tmp/homechef-live.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  psql -q "$server" -c "drop database if exists $database with (force)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export SECRET_KEY="$("$bin" generate-secret-key)" APP_ENV=development
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() {
  local port="$1" dir="$work/$1"
  mkdir -p "$dir"
  (cd "$dir" && exec env DATABASE_URL="${server%/*}/$database" ROCKET_PORT="$port" RATE_LIMIT_ENABLED=false \
    RUST_LOG=warn "$bin" serve) >"$dir/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && return; sleep 0.5; done
  echo "bench-live: the server on $port did not start"; cat "$dir/serve.log"; exit 1
}
a="$(free_port)"; start "$a"; pid_a="${pids[0]}"
b="$(free_port)"; start "$b"
token() { "$bin" dev-token --user "$1"; }

HOMECHEF_URL="http://127.0.0.1:$a" HOMECHEF_URL_2="http://127.0.0.1:$b" HOMECHEF_TOKEN="$(token alice)" \
  HOMECHEF_TOKEN_2="$(token bob)" HOMECHEF_TOKEN_3="$(token carol)" node examples/web-client/live.mjs "$ticks"

rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid_a/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid_a/stat"; }
before="$(rss)"
users=$(( (sockets + 15) / 16 ))
tokens="$(for n in $(seq 1 "$users"); do token "idle$n"; done | paste -sd,)"
HOMECHEF_URL="http://127.0.0.1:$a" HOMECHEF_TOKENS="$tokens" node examples/web-client/live.mjs --idle "$sockets" \
  >"$work/idle.log" 2>&1 &
idle=$!
pids+=("$idle")
for _ in $(seq 1 600); do grep -q "sockets open" "$work/idle.log" && break; sleep 0.5; done
cat "$work/idle.log"
sleep 2
start_cpu="$(cpu_ticks)"
sleep "$idle_seconds"
used=$(( $(cpu_ticks) - start_cpu ))
hz="$(getconf CLK_TCK)"
echo "bench-live: instance A RSS $before MB before, $(rss) MB with $sockets idle sockets;" \
  "CPU over ${idle_seconds} s idle: $(python3 -c "print(f'{$used / $hz:.2f} s ({100 * $used / $hz / $idle_seconds:.1f} % of a core)')")"
