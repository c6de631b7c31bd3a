#!/usr/bin/env bash
# Restart under load: 8 clients create recipes as fast as they can while the PostgreSQL cluster behind the
# server is restarted (pg_ctl restart -m fast), then stopped for 6 seconds and started again. Prints writes
# per second, what was acknowledged, what was lost (acknowledged but not stored: must be 0) and the answers
# by HTTP status and error code.
#   scripts/fault-restart.sh
# Runs its own throw-away cluster on 127.0.0.1 (never DATABASE_URL's), from the system's PostgreSQL binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin homechef
bin="$(pwd)/${CARGO_TARGET_DIR:-target}/release/homechef"
[ -x "$bin" ] || bin="${CARGO_TARGET_DIR:-target}/release/homechef"

pg_bin="$(dirname "$(command -v pg_ctl 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
work="$(mktemp -d /tmp/homechef-fault.XXXXXX)"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port="$(free_port)"
app_port="$(free_port)"
pg_ctl() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w "$@" >/dev/null; }
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust >/dev/null
pg_ctl -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=''" start
url="postgres://postgres@127.0.0.1:$pg_port/postgres"

secret="$("$bin" generate-secret-key)"
(cd "$work" && DATABASE_URL="$url" SECRET_KEY="$secret" RATE_LIMIT_ENABLED=false RUST_LOG=warn \
  ROCKET_PORT="$app_port" exec "$bin" serve >"$work/server.log" 2>&1) &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  pg_ctl -m immediate stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$app_port/health/ready" 2>/dev/null && break; sleep 0.2; done
token="$(SECRET_KEY="$secret" "$bin" dev-token --user fault-run)"

APP_PORT="$app_port" TOKEN="$token" DATABASE="$url" WORK="$work" \
  PG_BIN="$pg_bin" PG_PORT="$pg_port" AS_PG="${as_pg[*]}" python3 - <<'PY'
import collections, http.client, json, os, subprocess, threading, time

port, token = int(os.environ["APP_PORT"]), os.environ["TOKEN"]
pg = os.environ["AS_PG"].split() + [f'{os.environ["PG_BIN"]}/pg_ctl', "-D", f'{os.environ["WORK"]}/pg',
                                    "-l", f'{os.environ["WORK"]}/pg.log', "-w"]
opts = f"-c listen_addresses=127.0.0.1 -p {os.environ['PG_PORT']} -c unix_socket_directories=''"
query = "mutation($t: String!) { createRecipe(input: { title: $t }) { id } }"
answers, acknowledged, lock = collections.Counter(), [], threading.Lock()
running, started = True, time.monotonic()

def writer(n):
    conn, i = None, 0
    while running:
        i += 1
        body = json.dumps({"query": query, "variables": {"t": f"w{n}-{i}"}})
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/graphql", body, {"Content-Type": "application/json",
                                                    "Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            payload = json.loads(response.read() or b"null") or {}
        except (OSError, http.client.HTTPException, ValueError):
            conn = None
            with lock:
                answers["no answer"] += 1
            continue
        recipe = (payload.get("data") or {}).get("createRecipe") or {}
        code = ((payload.get("errors") or [{}])[0].get("extensions") or {}).get("code", "OK")
        with lock:
            answers[f"{response.status} {code}"] += 1
            if response.status == 200 and recipe.get("id"):
                acknowledged.append(recipe["id"])
        if response.status == 503:
            time.sleep(0.05)

threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
def at(second, what):
    time.sleep(max(0, started + second - time.monotonic()))
    print(f"{time.monotonic() - started:5.1f} s  {what}", flush=True)
at(4, "pg_ctl restart -m fast")
subprocess.run(pg + ["-m", "fast", "restart", "-o", opts], check=True, stdout=subprocess.DEVNULL)
at(10, "pg_ctl stop -m fast (6 s outage)")
subprocess.run(pg + ["-m", "fast", "stop"], check=True, stdout=subprocess.DEVNULL)
at(16, "pg_ctl start")
subprocess.run(pg + ["start", "-o", opts], check=True, stdout=subprocess.DEVNULL)
at(22, "end of load")
running = False
for t in threads:
    t.join()
elapsed = time.monotonic() - started

stored = set(subprocess.run(["psql", os.environ["DATABASE"], "-Atc", "select id from recipes"],
                            check=True, capture_output=True, text=True).stdout.split())
lost = [i for i in acknowledged if i not in stored]
print(f"writes acknowledged: {len(acknowledged)} in {elapsed:.1f} s ({len(acknowledged) / elapsed:.0f}/s, 8 clients)")
print(f"rows stored: {len(stored)} (acknowledged or committed as the connection dropped)")
print(f"lost (acknowledged, not stored): {len(lost)}")
print("answers by status and code:")
for answer, count in sorted(answers.items()):
    print(f"  {answer:32} {count}")
raise SystemExit(1 if lost or any(a.endswith("INTERNAL") or a.startswith("500") for a in answers) else 0)
PY
