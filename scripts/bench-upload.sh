#!/usr/bin/env bash
# Upload benchmark over real HTTP: a photo-like JPEG (default 2400 × 1800 at q92, 4 MB) sent through the whole pipeline
# (multipart → quarantine → scan → decode → four re-encoded variants → media store → database row).
# Prints latency one request at a time, throughput and latency with 10 concurrent uploads, and the server's
# peak RSS (VmHWM).       scripts/bench-upload.sh [WIDTH HEIGHT QUALITY]   (e.g. 7300 5470 50: 40 MP, 5 MB)
# Uses DATABASE_URL, else the embedded PostgreSQL.
# Needs wrk and curl. Rate limits and quotas are lifted for the run; files go to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
cargo build --release --locked --bin homechef --example upload_fixture
target="${CARGO_TARGET_DIR:-target}/release"
bin="$target/homechef"
work="$(mktemp -d)"
"$target/examples/upload_fixture" "$work/photo.jpg" "${1:-2400}" "${2:-1800}" "${3:-92}"
export SECRET_KEY="$("$bin" generate-secret-key)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RATE_LIMIT_ENABLED=false UPLOAD_DAILY_FILE_LIMIT=100000000 UPLOAD_QUOTA_BYTES=1000000000000000 \
  MEDIA_DIR="$work/media" QUARANTINE_DIR="$work/quarantine" LOG_DIR="$work/logs" \
  RUST_LOG=warn ROCKET_PORT="$port" "$bin" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
token="$("$bin" dev-token --user bench-upload)"
# A recipe holds at most 30 images: spread the uploads over 100 recipes.
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
    -d '{"query":"mutation { createRecipe(input: { title: \"Upload benchmark\" }) { id } }"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["createRecipe"]["id"])'
done >"$work/recipes"

boundary="homechef-bench-boundary"
python3 - "$work/photo.jpg" "$work/body" "RECIPE-ID-PLACEHOLDER" "$boundary" <<'PY'
import json, sys
photo, out, recipe, boundary = sys.argv[1:]
query = ("mutation($r: UUID!, $f: [Upload!]!) { uploadRecipeImages(recipeId: $r, files: $f) "
         "{ status score image { variants { name } } } }")
parts = [
    ("operations", None, json.dumps({"query": query, "variables": {"r": recipe, "f": [None]}}).encode()),
    ("map", None, json.dumps({"0": ["variables.f.0"]}).encode()),
    ("0", "photo.jpg", open(photo, "rb").read()),
]
body = b""
for name, filename, data in parts:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"\r\nContent-Type: image/jpeg' if filename else "")
    body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
body += f"--{boundary}--\r\n".encode()
open(out, "wb").write(body)
PY
sed "s/RECIPE-ID-PLACEHOLDER/$(head -1 "$work/recipes")/" "$work/body" >"$work/one"
check="$(curl -s "http://127.0.0.1:$port/graphql" -H "authorization: Bearer $token" -H 'GraphQL-Require-Preflight: 1' \
  -H "content-type: multipart/form-data; boundary=$boundary" --data-binary @"$work/one")"
echo "one upload: $check"
echo "$check" | grep -q '"status":"PROMOTED"' || { echo "bench: the upload was not promoted" >&2; exit 1; }

cat >"$work/upload.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=$boundary"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["GraphQL-Require-Preflight"] = "1"
local body = io.open("$work/body", "rb"):read("*a")
local cut = string.find(body, "RECIPE-ID-PLACEHOLDER", 1, true)
local head, tail = string.sub(body, 1, cut - 1), string.sub(body, cut + string.len("RECIPE-ID-PLACEHOLDER"))
local recipes = {}
for line in io.lines("$work/recipes") do table.insert(recipes, line) end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; errors = 0 end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, head .. recipes[n % #recipes + 1] .. tail)
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"PROMOTED"', 1, true) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("errors") end
  io.write(string.format("not promoted: %d\n", failed))
end
LUA
size="$(stat -c %s "$work/photo.jpg")"
for connections in 1 10; do
  echo "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB JPEG uploads, $connections connection(s), 20 s:"
  wrk -t1 -c"$connections" -d20s --timeout 60s --latency -s "$work/upload.lua" "http://127.0.0.1:$port/graphql" \
    | grep -E "Requests/sec| 50%| 99%|Non-2xx|timeout|not promoted" \
    | awk -v size="$size" '/Requests\/sec/ { printf "%s  (%.1f MB/s of images)\n", $0, $2 * size / 1e6; next } { print }'
done
sleep 2  # requests wrk abandoned at the deadline finish on the server
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{ printf "%.0f MB", $2 / 1024 }'), now: $(grep VmRSS /proc/$pid/status | awk '{ printf "%.0f MB", $2 / 1024 }')"
echo "media store: $(find "$work/media" -type f | wc -l) files; left in quarantine: $(find "$work/quarantine" -type f | wc -l) files"
