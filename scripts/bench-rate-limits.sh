#!/usr/bin/env bash
# What the shared rate limiter costs: three servers on one database, the same request, interleaved wrk rounds
# (16 connections, 10 s): rate limits off, counted in process, counted in Redis (REDIS_URL, a redis-server of
# the script's own on a free port). Each request comes from a new client address (X-Forwarded-For from a
# trusted proxy), so the limiter is asked every time and never refuses.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-rate-limits.sh [ROUNDS]
# Needs wrk, redis-server and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk redis-server python3; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
: "${DATABASE_URL:?set DATABASE_URL (the three servers share one database)}"
rounds="${1:-3}"
cargo build --release --locked --bin homechef
bin="${CARGO_TARGET_DIR:-target}/release/homechef"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
export SECRET_KEY="$("$bin" generate-secret-key)" TRUSTED_PROXIES=127.0.0.1/32 RUST_LOG=warn
declare -A ports
for mode in off in-process redis; do
  ports[$mode]="$(free_port)"
  env_for=(ROCKET_PORT="${ports[$mode]}" LOG_DIR="$work/$mode/logs" MEDIA_DIR="$work/$mode/media" QUARANTINE_DIR="$work/$mode/q")
  case "$mode" in
    off) env_for+=(RATE_LIMIT_ENABLED=false) ;;
    redis) env_for+=(REDIS_URL="redis://127.0.0.1:$redis_port/") ;;
  esac
  env "${env_for[@]}" "$bin" serve >"$work/$mode.log" 2>&1 &
  pids+=($!)
done
for mode in off in-process redis; do
  for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:${ports[$mode]}/health/ready" 2>/dev/null && break; sleep 0.2; done
done
cat >"$work/request.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format()
end
LUA
echo "POST /graphql { __typename } from a new client address each time, 16 connections, 10 s per round"
printf '%-6s %-11s %9s %9s %9s\n' round limiter req/s p50 p99
for round in $(seq 1 "$rounds"); do
  for mode in off in-process redis; do
    out="$(wrk -t2 -c16 -d10s --latency -s "$work/request.lua" "http://127.0.0.1:${ports[$mode]}/graphql")"
    non2xx="$(grep -oE 'Non-2xx or 3xx responses: [0-9]+' <<<"$out" | grep -oE '[0-9]+$' || echo 0)"
    printf '%-6s %-11s %9s %9s %9s  %s\n' "$round" "$mode" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
      "$(awk '$1=="99%" {print $2}' <<<"$out")" "$( [ "$non2xx" = 0 ] || echo "($non2xx refused)")"
  done
done
