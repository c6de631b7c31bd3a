# Sourced by the catalogue benchmarks. `bench_setup TOOL...` checks the tools, builds the release binary and
# sets `bin`, SECRET_KEY and `log` (a temporary file), with an exit trap that stops the server `pid` and removes
# `log`. `serve_seeded N LOG [VAR=value ...]` builds nothing; with `bin` set to
# the release binary, it starts `serve` (rate limiting off, the extra variables given) with its output in LOG,
# waits until it is ready, signs in the user `bench` (a dev token) and seeds N recipes for it with
# scripts/seed-catalogue.sql. Sets `pid`, `port`, `db` (DATABASE_URL, else the embedded cluster's URL from
# the log) and `token`. The caller stops `pid`. `wrk_post BODY SCRIPT` writes a wrk script that POSTs the JSON
# file BODY with the bench user's token. `wrk_query NAME QUERY` runs wrk (16 connections, 10 s) on the GraphQL
# QUERY as the bench user and prints NAME, requests/s, p50 and p99.
bench_setup() {
  for tool in "$@"; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
  cargo build --release --locked --bin homechef
  bin="${CARGO_TARGET_DIR:-target}/release/homechef"
  export SECRET_KEY="$("$bin" generate-secret-key)"
  log="$(mktemp)"
  pid=""
  trap '[ -n "$pid" ] && { kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; }; rm -f "$log"' EXIT
}

serve_seeded() {
  local n="$1" log="$2"
  shift 2
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  env RATE_LIMIT_ENABLED=false ROCKET_PORT="$port" "$@" "$bin" serve >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
  db="${DATABASE_URL:-$(grep -o 'postgres://[^ "]*' "$log" | head -1)}"
  token="$("$bin" dev-token --user bench)"
  curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
    -d '{"query":"{ me { id } }"}' >/dev/null
  echo "seeding $n recipes…"
  psql -q "$db" -v n="$n" -f scripts/seed-catalogue.sql
}

wrk_post() {
  cat >"$2" <<LUA
wrk.method = "POST"
wrk.body   = io.open("$1"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
}

wrk_query() {
  local name="$1" query="$2" body script
  body="$(mktemp)"
  script="$(mktemp)"
  python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}), end="")' "$query" >"$body"
  wrk_post "$body" "$script"
  echo "$name (16 connections, 10 s):"
  wrk -t2 -c16 -d10s --latency -s "$script" "http://127.0.0.1:$port/graphql" | grep -E "Requests/sec| 50%| 99%|Non-2xx"
  rm -f "$script" "$body"
}
