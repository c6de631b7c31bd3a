#!/usr/bin/env bash
# The container, built and run for real, checked from outside (docs/deployment.md, "Verified"):
#  1. the image from the Dockerfile as it is (only RUST_IMAGE and RUNTIME_IMAGE point at local stand-ins, made
#     by scripts/container/standins.sh: no registry is reachable here); size and build time; every layer
#     scanned for a shell, a package manager, source, .env files and secrets;
#  2. docker-compose.yml with podman-compose, with the proxy (Caddy, its own CA) and the antivirus (clamd),
#     a .env made from .env.production.example as the guide says; from outside the containers: TLS only
#     through Caddy, HTTP -> HTTPS, security headers on every answer, uid 65532, read-only root, no
#     capabilities, no-new-privileges, the compose limits, HEALTHCHECK healthy, nothing on a public
#     interface, EICAR rejected by the real clamd, a real photo promoted and its variant served by the proxy,
#     the security and upload logs read out of the shell-less container, a shared list watched live over
#     wss:// through the proxy (graphql-ws) and a socket from another site's page refused;
#  3. 1 100 slow clients (headers a byte a second) against Caddy while a normal client is answered;
#  4. backup and restore into a fresh stack; an upgrade from the previous release's image under a write load
#     (migrations once, data kept, no acknowledged write lost), then the documented rollback;
#  5. docker-compose.scale.yml: two replicas, one stopped under a write load.
#
#   PREVIOUS_RELEASE=<commit> picks the release the upgrade starts from (default below); its image is built
#   once from that commit's own Dockerfile and kept in podman's store.
#
#   bash scripts/verify-container.sh          all of it, then removes the stack it started
#   KEEP=1 bash scripts/verify-container.sh   leaves the stack running on 127.0.0.1:8443 (CA file and curl printed)
#   bash scripts/verify-container.sh down     removes what it made (stack, volumes, image); keeps the stand-ins
#
# Installs podman, runc, debootstrap and podman-compose (PyPI, pinned, in a virtual environment) if missing.
# Podman here: runtime runc (crun fails on hybrid cgroups) and explicit ulimits no higher than this shell's
# (raising them is not permitted in the sandbox); no systemd, so this script runs the HEALTHCHECKs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tools="${HOMECHEF_TOOLS_DIR:-/var/tmp/homechef-tools}"
work="${HOMECHEF_VERIFY_DIR:-/var/tmp/homechef-verify}"
project=homechef-verify
stack="$work/stack"
image=homechef:latest
compose_bin="$tools/podman-compose-1.6.0/bin/podman-compose"

say() { printf 'verify-container: %s\n' "$*"; }
fail() { printf 'verify-container: FAIL %s\n' "$*" >&2; exit 1; }

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" slirp4netns uidmap >/dev/null
  fi
  if [ ! -x "$compose_bin" ]; then
    say "installing podman-compose 1.6.0 (PyPI) into $tools/podman-compose-1.6.0"
    rm -rf "$tools/podman-compose-1.6.0"
    python3 -m venv "$tools/podman-compose-1.6.0"
    "$tools/podman-compose-1.6.0/bin/pip" install -q --disable-pip-version-check 'podman-compose==1.6.0'
  fi
  mkdir -p "$work"
  bash scripts/container/standins.sh >/dev/null
  # Explicit limits: podman's default asks for more open files than this sandbox lets a process raise to, and
  # runc is refused some values below the shell's own limits; take the largest that a container accepts.
  local nofile nproc
  nofile=$(ulimit -Sn) nproc=$(ulimit -Su)
  [ "$nofile" = unlimited ] && nofile=65536
  [ "$nproc" = unlimited ] && nproc=65536
  export CONTAINERS_CONF="$work/containers.conf"
  while :; do
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\n' \
      "$nofile" "$nofile" "$nproc" "$nproc" >"$CONTAINERS_CONF"
    podman run --rm --network none localhost/standin/debian:bookworm true >/dev/null 2>&1 && break
    [ "$nproc" -gt 1024 ] || fail "no container starts here, whatever the ulimits (podman run ... true)"
    nproc=$((nproc / 2))
  done
}

pc() { (cd "$stack" && "$compose_bin" -p "$project" --profile proxy "$@"); }
# Services in dependency order, each without podman's --requires: podman 4.3 cannot wait for `service_healthy`
# anyway, and its dependency graph failed to start the proxy ("depends on container ... not found in input
# list") when the chain proxy -> backend -> db was started in one go. The backend restarts until the database
# answers, as with compose.
pc_up() { pc up -d --no-deps db clamav && pc up -d --no-deps backend && pc up -d --no-deps proxy; }
container() { podman ps -a -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1" | head -1; }

# Removes both stacks (this run's or one a failed run left behind), by their compose labels.
down() {
  if [ -d "$stack" ]; then
    pc down -v -t 15 >/dev/null 2>&1 || true
  fi
  local name
  for name in "$project" "$project-scale" "$project-upgrade"; do
    podman ps -a -q --filter "label=com.docker.compose.project=$name" | xargs -r podman rm -f -t 5 >/dev/null 2>&1 || true
    podman volume ls -q --filter "label=com.docker.compose.project=$name" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network ls -q --filter "label=com.docker.compose.project=$name" | xargs -r podman network rm -f >/dev/null 2>&1 || true
  done
  [ -f "$work/healthchecks.pid" ] && kill "$(cat "$work/healthchecks.pid")" 2>/dev/null || true
  rm -rf "$stack" "$work/scale" "$work/upgrade" "$work/healthchecks.pid"
}

upload_photo() { # recipe id, file name, path -> the upload's JSON answer
  "${tls[@]}" "$api/graphql" -H "Authorization: Bearer $token" -H 'GraphQL-Require-Preflight: 1' \
    -F operations='{"query":"mutation($r: UUID!, $f: [Upload!]!) { uploadRecipeImages(recipeId: $r, files: $f) { status findings { code } image { variants { name url } } } }","variables":{"r":"'"$1"'","f":[null]}}' \
    -F map='{"0":["variables.f.0"]}' -F "0=@$3;filename=$2;type=image/jpeg"
}
real_photo() { # a photo nobody here made: Grace Hopper, from Debian's matplotlib sample data
  if [ ! -s "$tools/grace_hopper.jpg" ]; then
    (cd "$work" && apt-get download -q python-matplotlib-data >/dev/null 2>&1) || fail "apt-get download python-matplotlib-data"
    dpkg-deb --fsys-tarfile "$work"/python-matplotlib-data_*.deb \
      | tar -xO ./usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg >"$tools/grace_hopper.jpg"
    rm -f "$work"/python-matplotlib-data_*.deb
  fi
  printf '%s\n' "$tools/grace_hopper.jpg"
}

# Part 5: docker-compose.scale.yml (two replicas, Redis, the S3 stand-in, Caddy balancing) under a write load
# through the proxy; one replica stopped mid-load.
scale_drill() {
  local scale="$work/scale" p="$project-scale"
  mkdir -p "$scale/deploy"
  cp docker-compose.scale.yml "$scale/"
  cp deploy/Caddyfile.scale "$scale/deploy/"
  {
    cat "$work/production.env"
    echo "MINIO_ROOT_USER=homechef"
    echo "MINIO_ROOT_PASSWORD=$(openssl rand -hex 24)"
    echo "REDIS_PASSWORD=$(openssl rand -hex 24)"
    echo "REDIS_IMAGE=localhost/standin/redis:7"
    echo "MINIO_IMAGE=localhost/standin/s3:moto"
    echo "MC_IMAGE=localhost/standin/s3:moto"
  } >"$scale/.env"
  pcs() { (cd "$scale" && "$compose_bin" -p "$p" -f docker-compose.scale.yml "$@"); }
  say "docker-compose.scale.yml: two replicas, Redis, the S3 stand-in, Caddy"
  # podman 4.3 cannot wait for compose's `service_healthy` and `service_completed_successfully` (podman-compose
  # skips the first and waits forever on the second), so the dependencies come first, as compose would order
  # them, and the replicas and the proxy after the bucket job has succeeded.
  pcs up -d --no-deps db redis minio clamav bucket >"$work/scale-up.log" 2>&1 || { tail -30 "$work/scale-up.log" >&2; fail "scale compose up"; }
  local job=""
  for _ in $(seq 1 90); do
    job=$(podman ps -a --filter "label=com.docker.compose.project=$p" --filter "label=com.docker.compose.service=bucket" --format '{{.Status}}')
    case "$job" in Exited\ \(0\)*) break ;; Exited*) fail "the bucket job failed: $job" ;; esac
    sleep 2
  done
  case "$job" in Exited\ \(0\)*) ;; *) fail "the bucket job did not finish: $job" ;; esac
  pcs up -d --no-deps backend-a backend-b proxy >>"$work/scale-up.log" 2>&1 || { tail -30 "$work/scale-up.log" >&2; fail "scale compose up"; }
  local a b
  a=$(podman ps -q --filter "label=com.docker.compose.project=$p" --filter "label=com.docker.compose.service=backend-a")
  b=$(podman ps -q --filter "label=com.docker.compose.project=$p" --filter "label=com.docker.compose.service=backend-b")
  [ -n "$a" ] && [ -n "$b" ] || { tail -30 "$work/scale-up.log" >&2; fail "the replicas did not start"; }
  wait_healthy "$a" backend-a
  wait_healthy "$b" backend-b
  wait_proxy "$(podman ps -q --filter "label=com.docker.compose.project=$p" --filter "label=com.docker.compose.service=proxy")"
  for _ in $(seq 1 60); do
    "${tls[@]}" "$api/health" | grep -q '"antivirus":"up"' && break
    sleep 2
  done
  # An image uploaded through one replica is served by both (the bucket).
  local recipe_id photo variant codes
  recipe_id=$(gql '{"query":"mutation { createRecipe(input: { title: \"Scale check\" }) { id } }"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createRecipe"]["id"])') || fail "createRecipe on the scale stack"
  photo=$(upload_photo "$recipe_id" grace_hopper.jpg "$(real_photo)")
  grep -q '"status":"PROMOTED"' <<<"$photo" || fail "the photo on the scale stack: $photo"
  variant=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["uploadRecipeImages"][0]["image"]["variants"][0]["url"])' <<<"$photo")
  # Four requests, round robin: two per replica. A replica that has not yet reached the bucket (CI once saw
  # 503 from one of them, right after start-up) gets three more rounds, 5 s apart; what it answered is shown.
  for round in 1 2 3 4; do
    codes=""
    for i in 1 2 3 4; do codes+="$("${tls[@]}" -o "$work/variant.$i" -w '%{http_code}' "$variant") "; done
    [ "$codes" = "200 200 200 200 " ] && break
    say "round $round, the variant through both replicas: $codes"
    for i in 1 2 3 4; do head -c 300 "$work/variant.$i" | grep -av JFIF >&2 || true; done
    for replica in "$a" "$b"; do podman logs --tail 10 "$replica" >&2 2>&1 || true; done
    [ "$round" = 4 ] && fail "the variant through both replicas: $codes"
    sleep 5
  done
  # Which replica served what: each writes its own request log line.
  local served_a served_b
  served_a=$(podman logs "$a" 2>&1 | grep -c '/media/' || true)
  served_b=$(podman logs "$b" 2>&1 | grep -c '/media/' || true)
  [ "$served_a" -gt 0 ] && [ "$served_b" -gt 0 ] || fail "the variant was not served by both replicas ($served_a, $served_b)"
  say "a photo uploaded through one replica: served by both (requests logged: a $served_a, b $served_b)"
  # The write load; backend-a stopped after 5 s (SIGTERM, 10 s grace as docker stop).
  python3 scripts/container/write-load.py 127.0.0.1 8443 "$api_host" "$ca" "$token" 4 25 >"$work/load.json" &
  local load=$!
  sleep 5
  podman stop -t 10 "$a" >/dev/null
  local stopped_at=$SECONDS
  wait "$load"
  local stored
  stored=$(pcs exec -T db psql -U homechef -d homechef -Atc "select id from recipes" 2>/dev/null)
  python3 - "$work/load.json" "$stored" <<'PY' || fail "the write load across a stopped replica"
import json, sys
answers = json.load(open(sys.argv[1]))
stored = set(sys.argv[2].split())
acknowledged = [a[2] for a in answers if a[1] == 200 and a[2] and len(a[2]) == 36]
lost = [i for i in acknowledged if i not in stored]
by_status = {}
for _, status, _ in answers:
    by_status[status] = by_status.get(status, 0) + 1
# The proxy stopped sending to the stopped replica: no 502 (its dial or a retry failing) and no dropped
# connection in the last 5 s. A rare 503 "no upstreams available" from Caddy 2.6 during its retries is
# reported, not failed: it is an unacknowledged write the client retries with its Idempotency-Key.
late_failures = [a for a in answers if a[0] >= 20 and a[1] in (0, 502)]
late_other = [a for a in answers if a[0] >= 20 and a[1] not in (0, 200, 429, 502)]
if late_other:
    print(f"verify-container: in the last 5 s also {late_other[:5]}")
first_two = [a for a in answers if a[0] < 2 and a[1] == 200 and a[2] and len(a[2]) == 36]
print(f"verify-container: write load: {len(answers)} answers {by_status}; {len(acknowledged)} acknowledged, "
      f"{len(lost)} lost; acknowledged in the first 2 s: {len(first_two)} (one shared burst of 15)")
assert acknowledged and not lost, lost
assert not late_failures, late_failures[:5]  # the proxy stopped sending to the stopped replica
assert len(first_two) <= 17, first_two       # one limit across both replicas (Redis), not 15 each
PY
  pcs down -v -t 15 >/dev/null 2>&1 || true
  say "scale stack removed"
}

# The previous release (a landed commit whose CI passed): c32c373, the release of 2 December before the meal-plan
# and import migrations, so that the upgrade has migrations to run. Its image is built from its own Dockerfile
# with the same stand-ins, once, and kept as localhost/homechef:release-<commit>.
previous_release="${PREVIOUS_RELEASE:-c32c3733066845b0ee8c5b8c8abb3ad2533d3149}"
build_previous() {
  local commit src started
  # Kept from an earlier run (the tag names the commit): no history needed.
  previous="localhost/homechef:release-${previous_release:0:7}"
  podman image exists "$previous" && { say "the previous release's image: $previous (kept from an earlier run)"; return 0; }
  # A shallow clone lacks the commit: the history comes from where the clone came from, once.
  if ! git cat-file -e "$previous_release^{commit}" 2>/dev/null; then
    git fetch -q --unshallow 2>/dev/null || git fetch -q origin 2>/dev/null || true
  fi
  if ! commit=$(git rev-parse --short=7 "$previous_release^{commit}" 2>/dev/null); then
    previous=""
    say "SKIPPED the upgrade drill: PREVIOUS_RELEASE $previous_release is not in this clone's history and could not be fetched"
    return 0
  fi
  previous="localhost/homechef:release-$commit"
  podman image exists "$previous" && { say "the previous release's image: $previous (kept from an earlier run)"; return 0; }
  src="$work/previous-src"
  rm -rf "$src"
  mkdir -p "$src"
  git archive "$commit" | tar -x -C "$src"
  say "building the previous release's image $previous from its own Dockerfile (once)"
  started=$(date +%s)
  podman build --format docker \
    --build-arg RUST_IMAGE=localhost/standin/rust:1.95.0-slim-bookworm \
    --build-arg RUNTIME_IMAGE=localhost/standin/distroless-cc-debian12:nonroot \
    -t "$previous" "$src" >"$work/build-previous.log" 2>&1 || { tail -40 "$work/build-previous.log" >&2; fail "the previous release's image"; }
  rm -rf "$src"
  say "the previous release's image built in $(( $(date +%s) - started ))s"
}

# Part 4, upgrade: docker-compose.yml on the previous release's image with a catalogue in it; four users write
# through the proxy while the backend is replaced by this image as docs/deployment.md says ("Updating"); then
# the documented rollback to the previous image.
upgrade_drill() {
  [ -n "$previous" ] || return 0
  # A stack of its own: pc, pc_up and container act on it while these two are in scope.
  local stack="$work/upgrade" project="$project-upgrade"
  mkdir -p "$stack/deploy"
  cp docker-compose.yml "$stack/"
  cp deploy/Caddyfile "$stack/deploy/"
  { cat "$work/production.env"; echo "HOMECHEF_IMAGE=$previous"; } >"$stack/.env"
  psql_up() { pc exec -T db psql -U homechef -d homechef -Atc "$1" 2>/dev/null; }
  say "upgrade: docker-compose.yml on the previous release ($previous)"
  pc_up >"$work/upgrade-up.log" 2>&1 || { tail -30 "$work/upgrade-up.log" >&2; fail "compose up on the previous release"; }
  wait_healthy "$(container backend)" "the previous release's backend"
  wait_proxy "$(container proxy)"
  local catalogue_query='{"query":"{ recipes(first: 100) { edges { node { id title version } } } }"}'
  local i before after
  for i in 1 2 3; do
    gql '{"query":"mutation { createRecipe(input: { title: \"Before the upgrade '"$i"'\", ingredients: [{ line: \"'"$i"' eggs\" }] }) { id } }"}' \
      | grep -q '"createRecipe":{"id"' || fail "createRecipe on the previous release"
  done
  before=$(gql "$catalogue_query")
  local migrations_before migrations_now
  migrations_before=$(psql_up "select count(*) from __diesel_schema_migrations")
  migrations_now=$(find migrations -mindepth 1 -maxdepth 1 -type d | wc -l)
  [ "$migrations_before" -lt "$migrations_now" ] \
    || say "note: the previous release has all $migrations_now migrations already; the upgrade applies none"
  # Four users (four write limits) for 60 s; the backend replaced after 10 s.
  local tokens="" n
  for n in 1 2 3 4; do tokens+="${tokens:+,}$(session_token "user_upgrade_$n")"; done
  python3 scripts/container/write-load.py 127.0.0.1 8443 "$api_host" "$ca" "$tokens" 4 60 >"$work/upgrade-load.json" &
  local load=$!
  sleep 10
  # docs/deployment.md, "Updating": the compose file's image is now this build; `up -d --no-deps backend`.
  sed -i "s|^HOMECHEF_IMAGE=.*|HOMECHEF_IMAGE=$image|" "$stack/.env"
  local replaced=$SECONDS
  pc up -d --no-deps backend >>"$work/upgrade-up.log" 2>&1 || { tail -30 "$work/upgrade-up.log" >&2; fail "the upgrade (compose up)"; }
  local new
  new=$(container backend)
  wait_healthy "$new" "the upgraded backend"
  say "upgrade: the new backend healthy $(( SECONDS - replaced ))s after the replacement began"
  wait "$load"
  local stored applied_lines
  stored=$(psql_up "select id from recipes")
  applied_lines=$(podman logs "$new" 2>&1 | grep '"migrations applied"' || true)
  python3 - "$work/upgrade-load.json" "$stored" "$migrations_before" "$migrations_now" \
    "$(psql_up "select count(*) from __diesel_schema_migrations")" "$applied_lines" <<'PY' || fail "the upgrade under a write load"
import json, sys
answers = json.load(open(sys.argv[1]))
stored = set(sys.argv[2].split())
before, embedded, after = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
applied = [json.loads(line) for line in sys.argv[6].splitlines() if line.strip()]
acknowledged = [a[2] for a in answers if a[1] == 200 and a[2] and len(a[2]) == 36]
lost = [i for i in acknowledged if i not in stored]
by_status = {}
for _, status, _ in answers:
    by_status[status] = by_status.get(status, 0) + 1
failed = [a[0] for a in answers if a[1] not in (200, 429)]
window = f"{min(failed):.1f}-{max(failed):.1f} s" if failed else "none"
counts = [entry.get("fields", entry).get("count") for entry in applied]
print(f"verify-container: upgrade under load: {len(answers)} answers {by_status}; {len(acknowledged)} acknowledged, "
      f"{len(lost)} lost; unanswered writes (never acknowledged) between {window}")
print(f"verify-container: migrations: {before} before, {after} after, {embedded} embedded; the new backend logged "
      f"'migrations applied' {len(applied)} time(s), count {counts}")
assert acknowledged and not lost, lost
assert after == embedded, (after, embedded)
assert len(applied) == 1 and counts == [embedded - before], applied
assert any(a[0] > max(failed, default=0) and a[1] == 200 for a in answers), "no write acknowledged after the upgrade"
PY
  wait_proxy "$(container proxy)"
  after=$(gql "$catalogue_query")
  python3 - "$before" "$after" <<'PY' || fail "the catalogue after the upgrade"
import json, sys
nodes = lambda s: {e["node"]["id"]: e["node"] for e in json.loads(s)["data"]["recipes"]["edges"]}
before, after = nodes(sys.argv[1]), nodes(sys.argv[2])
assert len(before) == 3 and before == after, (before, after)
PY
  say "upgrade: the catalogue written by the previous release is the same (ids, titles, versions)"
  # docs/deployment.md, "Rollback": the previous image against the newer schema.
  sed -i "s|^HOMECHEF_IMAGE=.*|HOMECHEF_IMAGE=$previous|" "$stack/.env"
  pc up -d --no-deps backend >>"$work/upgrade-up.log" 2>&1 || { tail -30 "$work/upgrade-up.log" >&2; fail "the rollback (compose up)"; }
  wait_healthy "$(container backend)" "the rolled-back backend"
  wait_proxy "$(container proxy)"
  after=$(gql "$catalogue_query")
  [ "$after" = "$before" ] || fail "the catalogue after the rollback: $after"
  gql '{"query":"mutation { createRecipe(input: { title: \"After the rollback\" }) { id } }"}' \
    | grep -q '"createRecipe":{"id"' || fail "createRecipe after the rollback"
  say "rollback: the previous release serves the newer schema (same catalogue, writes answered)"
  pc down -v -t 15 >/dev/null 2>&1 || true
  say "upgrade stack removed"
}

if [ "${1:-}" = down ]; then
  install_tools
  down
  podman rmi -f "$image" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
  say "removed the stack, its volumes and $image (the stand-ins stay: podman images localhost/standin/*)"
  exit 0
fi

install_tools
down

# --- 1. the image ---------------------------------------------------------------------------------------------
# Canaries: a secret in files the build context must never carry (.dockerignore); the scan below looks for it.
canary="verify-canary-$(openssl rand -hex 12)"
made_env=0
[ -e .env ] || { printf 'SECRET_KEY=%s\n' "$canary" >.env; made_env=1; }
printf 'SECRET_KEY=%s\n' "$canary" >.env.verify-canary
cleanup_canaries() { rm -f .env.verify-canary; [ "$made_env" = 1 ] && rm -f .env; return 0; }
trap cleanup_canaries EXIT
say "building $image from the Dockerfile (RUST_IMAGE and RUNTIME_IMAGE: the local stand-ins)"
started=$(date +%s)
podman build --format docker \
  --build-arg RUST_IMAGE=localhost/standin/rust:1.95.0-slim-bookworm \
  --build-arg RUNTIME_IMAGE=localhost/standin/distroless-cc-debian12:nonroot \
  -t "$image" . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "image build"; }
build_secs=$(( $(date +%s) - started ))
cleanup_canaries
trap - EXIT
size=$(podman image inspect "$image" --format '{{.Size}}')
say "image built in ${build_secs}s (a cached build reuses the dependency layer), $(( size / 1000000 )) MB"

podman save -q --format docker-archive -o "$work/image.tar" "$image"
python3 - "$work/image.tar" "$canary" <<'PY' || fail "image scan"
import io, json, re, sys, tarfile
archive, canary = sys.argv[1], sys.argv[2].encode()
outer = tarfile.open(archive)
manifest = json.load(outer.extractfile("manifest.json"))[0]
config = outer.extractfile(manifest["Config"]).read()
bad = []
if canary in config:
    bad.append("the canary secret is in the image configuration")
cfg = json.loads(config)["config"]
if cfg.get("User") != "65532:65532":
    bad.append(f"runs as {cfg.get('User')!r}, not 65532:65532")
if not cfg.get("Healthcheck"):
    bad.append("no HEALTHCHECK")
shells = re.compile(r"(^|/)(s?bin)/(sh|bash|dash|ash|zsh|busybox)$")
managers = re.compile(r"(^|/)(s?bin)/(apt|apt-get|dpkg|rpm|yum|dnf|apk|pip3?)$|^var/lib/dpkg/|^var/lib/apt/")
source = re.compile(r"\.rs$|(^|/)Cargo\.(toml|lock)$|(^|/)\.git/|(^|/)src/")
dotenv = re.compile(r"(^|/)\.env(\..*)?$")
private = re.compile(rb"-----BEGIN ([A-Z ]+ )?PRIVATE KEY-----")
files = 0
for layer in manifest["Layers"]:
    inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read()))
    for member in inner:
        name = member.name.lstrip("./")
        files += 1
        for what, pattern in (("shell", shells), ("package manager", managers), ("source", source), (".env file", dotenv)):
            if pattern.search(name):
                bad.append(f"{what}: /{name}")
        if member.isfile():
            data = inner.extractfile(member).read()
            if canary in data:
                bad.append(f"the canary secret is in /{name}")
            if not data.startswith(b"\x7fELF") and private.search(data):
                bad.append(f"a private key in /{name}")
print(f"verify-container: scanned {files} entries in {len(manifest['Layers'])} layers: "
      + ("nothing found" if not bad else f"{len(bad)} findings"))
for b in bad[:40]:
    print(f"verify-container:   {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
rm -f "$work/image.tar"
build_previous

# --- the deployer's .env ------------------------------------------------------------------------------------
mkdir -p "$work/keys"
# Clerk in networkless PEM mode with a key pair made here, so the script can sign session tokens itself.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/keys/clerk.pem" 2>/dev/null
openssl pkey -in "$work/keys/clerk.pem" -pubout -out "$work/keys/clerk.pub"
clerk_host=clerk.homechef.internal
origin=https://app.homechef.internal
api_host=api.homechef.internal
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
{
  # The example as a deployer fills it in: every placeholder replaced, the rest left as it is.
  sed -e '/^POSTGRES_PASSWORD=/d' -e '/^SECRET_KEY=/d' -e '/^ALLOWED_ORIGINS=/d' -e '/^PUBLIC_BASE_URL=/d' \
    -e '/^CLERK_PUBLISHABLE_KEY=/d' -e '/^CLERK_SECRET_KEY=/d' -e '/^CLERK_WEBHOOK_SECRET=/d' -e '/^PUBLIC_HOST=/d' \
    -e '/^CADDY_CERTS=/d' -e '/^HTTP_PUBLISH=/d' -e '/^HTTPS_PUBLISH=/d' .env.production.example
  echo "POSTGRES_PASSWORD=$(openssl rand -hex 8)@/:#$(openssl rand -hex 8)"
  echo "SECRET_KEY=$(podman run --rm "$image" generate-secret-key 2>/dev/null)"
  echo "ALLOWED_ORIGINS=$origin"
  echo "PUBLIC_BASE_URL=https://$api_host:8443"
  echo "CLERK_PUBLISHABLE_KEY=pk_live_$(printf '%s$' "$clerk_host" | openssl base64 -A | tr -d '=')"
  echo "CLERK_SECRET_KEY=sk_live_$(openssl rand -hex 16)"
  echo "CLERK_WEBHOOK_SECRET=whsec_$(openssl rand -base64 32)"
  echo "CLERK_ISSUER=https://$clerk_host"
  echo "CLERK_JWT_KEY=$(awk '{printf "%s\\n", $0}' "$work/keys/clerk.pub")"
  echo "PUBLIC_HOST=$api_host"
  echo "CADDY_CERTS=local_certs"
  echo "HTTP_PUBLISH=127.0.0.1:8080"
  echo "HTTPS_PUBLISH=127.0.0.1:8443"
  echo "POSTGRES_IMAGE=localhost/standin/postgres:15"
  echo "CADDY_IMAGE=localhost/standin/caddy:2"
  echo "CLAMAV_IMAGE=localhost/standin/clamav:1"
} >"$work/production.env"
chmod 0600 "$work/production.env"
# A signed-in user, as Clerk would sign them (RS256, kid, iss, azp).
session_token() { # subject -> a session token for an hour
  local now header claims signature
  now=$(date +%s)
  header=$(printf '{"alg":"RS256","typ":"JWT","kid":"verify"}' | b64url)
  claims=$(printf '{"sub":"%s","iss":"https://%s","azp":"%s","iat":%d,"nbf":%d,"exp":%d,"email":"%s@homechef.internal"}' \
    "$1" "$clerk_host" "$origin" "$now" "$((now - 5))" "$((now + 3600))" "$1" | b64url)
  signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$work/keys/clerk.pem" -binary | b64url)
  printf '%s.%s.%s\n' "$header" "$claims" "$signature"
}
token=$(session_token user_verify)
tls=(curl -sS --max-time 10 --cacert "$work/caddy-root.crt" --resolve "$api_host:8443:127.0.0.1")
api="https://$api_host:8443"
ca="$work/caddy-root.crt"
gql() { "${tls[@]}" "$api/graphql" -H "Authorization: Bearer $token" -H 'content-type: application/json' --data "$1"; }
wait_healthy() { # container, what -> waits for its HEALTHCHECK
  local status=""
  for _ in $(seq 1 90); do
    status=$(podman inspect "$1" --format '{{.State.Health.Status}}' 2>/dev/null || true)
    [ "$status" = healthy ] && return 0
    sleep 2
  done
  podman logs --tail 40 "$1" >&2
  fail "$2 HEALTHCHECK is '$status', not healthy"
}
wait_proxy() { # proxy container -> waits until Caddy answers over TLS with its CA (made at its first start)
  for _ in $(seq 1 60); do
    if podman cp "$1:/data/caddy/pki/authorities/local/root.crt" "$ca" 2>/dev/null \
      && [ "$("${tls[@]}" -o /dev/null -w '%{http_code}' "$api/health/ready" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    sleep 1
  done
  podman logs --tail 20 "$1" >&2
  fail "the proxy never answered https://$api_host:8443/health/ready"
}
# No systemd here to run HEALTHCHECKs on a timer: this loop is that timer.
( while :; do
    for c in $(podman ps -q); do
      podman healthcheck run "$c" >/dev/null 2>&1 || true
    done
    sleep 5
  done ) &
echo $! >"$work/healthchecks.pid"
# A failed check stops the timer too (with KEEP=1 it keeps running for the stack left up; `down` stops it).
trap '[ "${KEEP:-0}" = 1 ] || kill "$(cat "$work/healthchecks.pid" 2>/dev/null)" 2>/dev/null || true' EXIT

# --- 5 and the upgrade first (they need the ports the single stack keeps with KEEP=1) --------------------------
scale_drill
upgrade_drill

# --- 2. the stack ---------------------------------------------------------------------------------------------
mkdir -p "$stack/deploy"
cp docker-compose.yml "$stack/"
cp deploy/Caddyfile "$stack/deploy/"
cp "$work/production.env" "$stack/.env"
say "docker-compose.yml with podman-compose --profile proxy (service by service)"
pc_up >"$work/up.log" 2>&1 || { tail -30 "$work/up.log" >&2; fail "compose up"; }
backend=$(container backend)
[ -n "$backend" ] || { pc logs >&2 || true; fail "no backend container"; }
wait_healthy "$backend" backend
say "backend HEALTHCHECK: healthy"

wait_proxy "$(container proxy)"

# TLS through Caddy, with the security headers on every kind of answer.
headers_of() { "${tls[@]}" -o /dev/null -D - "$@" | tr -d '\r' | tr 'A-Z' 'a-z'; }
for request in "$api/health/ready" "$api/no-such-page" "$api/graphql?query=%7Bhealth%7Bstatus%7D%7D" \
  "-X POST -H content-type:application/json --data {\"query\":\"{\" $api/graphql"; do
  # shellcheck disable=SC2086
  got=$(headers_of $request)
  for header in strict-transport-security x-content-type-options x-frame-options referrer-policy \
    content-security-policy cross-origin-opener-policy; do
    grep -q "^$header:" <<<"$got" || fail "no $header on $request"
  done
done
say "TLS through Caddy (its own CA); security headers on 200, 404, GET and error answers"
redirect=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H "Host: $api_host" http://127.0.0.1:8080/health/ready)
case "$redirect" in 30[178]\ https://$api_host/health/ready) ;; *) fail "HTTP is not redirected to HTTPS: $redirect" ;; esac
say "HTTP -> HTTPS: $redirect"
# An Idempotency-Key that is not UTF-8 never reaches the service (Rocket would drop it): Caddy refuses it.
key_status=$("${tls[@]}" -o "$work/key.json" -w '%{http_code}' -H $'Idempotency-Key: caf\xe9' \
  "$api/graphql?query=%7Bhealth%7Bstatus%7D%7D")
[ "$key_status" = 400 ] && grep -q '"BAD_REQUEST"' "$work/key.json" \
  || fail "a Latin-1 Idempotency-Key through Caddy: $key_status $(cat "$work/key.json")"
say "a Latin-1 Idempotency-Key: 400 BAD_REQUEST at the proxy"

# The app container as the kernel sees it, from outside.
pid=$(podman inspect "$backend" --format '{{.State.Pid}}')
status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
[ "$(status_of Uid)" = 65532 ] || fail "the service runs as uid $(status_of Uid)"
[ "$(status_of CapEff)" = 0000000000000000 ] || fail "capabilities left: $(status_of CapEff)"
[ "$(status_of CapBnd)" = 0000000000000000 ] || fail "bounding capabilities left: $(status_of CapBnd)"
[ "$(status_of NoNewPrivs)" = 1 ] || fail "no-new-privileges is off"
limits=$(podman inspect "$backend" --format '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}')
[ "$limits" = "true 536870912 1000000000 256" ] || fail "read-only/memory/cpus/pids are '$limits', not 'true 536870912 1000000000 256'"
if podman exec "$backend" /bin/sh -c true >/dev/null 2>&1; then fail "the app container has a shell"; fi
say "uid 65532, no capabilities, no-new-privileges, read-only root, 512 MiB, 1 CPU, 256 pids, no shell to exec"
# Published ports: loopback only (the proxy's 8080/8443 and the app's 8000); the database publishes none.
published=$(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}} {{.Ports}}')
if grep -E '(^| )0\.0\.0\.0:|\[::\]:|(^| ):::' <<<"$published"; then fail "a port is published on every interface"; fi
[ -z "$(podman port "$(container db)")" ] || fail "the database publishes a port"
[ -z "$(podman port "$(container clamav)")" ] || fail "clamd publishes a port"
say "published: $(tr '\n' ';' <<<"$published")"

recipe=$(gql '{"query":"mutation { createRecipe(input: { title: \"Container check\", ingredients: [{ line: \"1 egg\" }] }) { id } }"}')
recipe_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["createRecipe"]["id"])' <<<"$recipe") \
  || fail "createRecipe through the proxy: $recipe"
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$work/eicar.jpg"
for _ in $(seq 1 60); do # clamd loads its signatures after it starts; until then uploads wait in quarantine
  health=$("${tls[@]}" "$api/health")
  grep -q '"antivirus":"up"' <<<"$health" && break
  sleep 2
done
grep -q '"antivirus":"up"' <<<"$health" || fail "the antivirus never came up: $health"
eicar=$(upload_photo "$recipe_id" eicar.jpg "$work/eicar.jpg")
grep -q '"status":"REJECTED"' <<<"$eicar" && grep -q ANTIVIRUS_DETECTED <<<"$eicar" \
  || fail "EICAR through the proxy was not rejected by clamd: $eicar"
say "EICAR upload: REJECTED, ANTIVIRUS_DETECTED (the real clamd)"
photo=$(upload_photo "$recipe_id" grace_hopper.jpg "$(real_photo)")
grep -q '"status":"PROMOTED"' <<<"$photo" || fail "a real JPEG was not promoted: $photo"
variant=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["uploadRecipeImages"][0]["image"]["variants"][0]["url"])' <<<"$photo")
served=$("${tls[@]}" -o "$work/variant" -w '%{http_code} %{content_type} %{size_download}' "$variant")
case "$served" in 200\ image/*) ;; *) fail "the variant $variant through the proxy: $served" ;; esac
say "a real JPEG: PROMOTED; its variant through the proxy: $served"

# The logs of a container with no shell: copied out (podman cp works on any container).
podman cp "$backend:/app/logs/security_events.log" "$work/security_events.log"
podman cp "$backend:/app/logs/file_uploads.log" "$work/file_uploads.log"
grep -q 'ANTIVIRUS_DETECTED\|upload_rejected' "$work/security_events.log" "$work/file_uploads.log" \
  || fail "the rejection is not in the logs"
say "logs read with podman cp: $(wc -l <"$work/security_events.log") security events, $(wc -l <"$work/file_uploads.log") upload lines"

# Live changes through the proxy: bob, a second member, watches a shared list over wss:// (Caddy passes the
# WebSocket upgrade on) with the real graphql-ws client while alice ticks it; a page of another site is refused.
(cd examples/web-client && npm ci --silent --no-audit --no-fund)
json_at() { python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
bob=$(session_token user_verify_bob)
home=$(gql '{"query":"mutation { createHousehold(name: \"Container kitchen\") { id } }"}' | json_at createHousehold.id) \
  || fail "createHousehold through the proxy"
code=$(gql '{"query":"mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { code } }","variables":{"h":"'"$home"'"}}' \
  | json_at createHouseholdInvite.code) || fail "createHouseholdInvite through the proxy"
token=$bob gql '{"query":"mutation($c: String!) { acceptHouseholdInvite(code: $c) { id } }","variables":{"c":"'"$code"'"}}' \
  | json_at acceptHouseholdInvite.id >/dev/null || fail "bob could not join"
list=$(gql '{"query":"mutation($h: UUID!) { createShoppingList(from: \"2027-03-01\", to: \"2027-03-02\", householdId: $h) { id } }","variables":{"h":"'"$home"'"}}' \
  | json_at createShoppingList.id) || fail "createShoppingList through the proxy"
item=$(gql '{"query":"mutation($l: UUID!) { addShoppingListItem(listId: $l, text: \"2 lemons\") { id } }","variables":{"l":"'"$list"'"}}' \
  | json_at addShoppingListItem.id) || fail "addShoppingListItem through the proxy"
HOMECHEF_URL="$api" HOMECHEF_TOKEN="$bob" HOMECHEF_CA_FILE="$ca" HOMECHEF_CONNECT_TO=127.0.0.1 \
  timeout 60 node examples/web-client/watch.mjs "$list" 1 >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
for _ in $(seq 1 60); do grep -q watching "$work/watch.err" && break; sleep 0.5; done
grep -q watching "$work/watch.err" || { cat "$work/watch.err" >&2; fail "bob's socket through the proxy did not open"; }
sleep 1
gql '{"query":"mutation($i: UUID!) { checkShoppingListItem(id: $i) { checked } }","variables":{"i":"'"$item"'"}}' >/dev/null
wait "$watcher" || { cat "$work/watch.err" >&2; fail "bob's watcher through the proxy failed"; }
grep -q '"action":"CHECKED"' "$work/watch.out" || fail "bob did not see alice's tick: $(cat "$work/watch.out")"
say "live through the proxy: bob's socket (wss:// via Caddy, graphql-ws) saw alice's tick: $(python3 -c 'import json,sys; c=json.loads(sys.stdin.readline()); print(c["action"], "version", c["version"])' <"$work/watch.out")"
hijack=$("${tls[@]}" --http1.1 -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
  -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
  -H 'Sec-WebSocket-Protocol: graphql-transport-ws' -H 'Origin: https://evil.example' "$api/graphql/ws")
[ "$hijack" = 403 ] || fail "a socket opened from another site's page through the proxy: $hijack"
say "a socket from another site's page (Origin https://evil.example) through the proxy: $hijack"

# --- 3. slow clients are the proxy's job -------------------------------------------------------------------
say "1100 clients sending headers a byte a second through Caddy, one normal client beside them (30 s)"
slow=$(python3 scripts/container/slow-clients.py 127.0.0.1 8443 "$ca" "$api_host" 1100 30)
say "slow clients: $slow"
python3 - "$slow" <<'PY' || fail "slow clients stopped a normal client"
import json, sys
r = json.loads(sys.argv[1])
assert r["slow_opened"] >= 1000, r
assert r["normal_requests"] > 0 and r["normal_ok"] == r["normal_requests"], r
assert r["slow_closed_by_proxy"] >= r["slow_opened"] * 0.9, r  # Caddy's read_header 10s
PY

# --- 4. backup, then restore into a fresh stack (the commands of docs/deployment.md) -------------------------
catalogue() { gql '{"query":"{ recipes(first: 100) { totalCount edges { node { id title version images { id variants { name url } } } } } }"}'; }
before=$(catalogue)
grep -q '"totalCount":1' <<<"$before" || fail "the catalogue before the backup: $before"
sha256sum "$work/variant" | cut -d' ' -f1 >"$work/variant.sha256"
started=$(date +%s)
pc exec -T db pg_dump -U homechef -Fc homechef >"$work/homechef.dump"
podman run --rm -v "${project}_media:/media:ro" -v "$work:/backup" localhost/standin/debian:bookworm \
  tar -C /media -czf /backup/media.tgz .
say "backup: pg_dump $(stat -c %s "$work/homechef.dump") bytes, media $(stat -c %s "$work/media.tgz") bytes, $(( $(date +%s) - started ))s"
pc down -v -t 15 >/dev/null 2>&1
podman volume exists "${project}_pgdata" && fail "the old stack's database volume survived down -v"
started=$(date +%s)
pc up -d --no-deps db >"$work/up.log" 2>&1 || { tail -20 "$work/up.log" >&2; fail "db up"; }
for _ in $(seq 1 60); do pc exec -T db pg_isready -U homechef -d homechef >/dev/null 2>&1 && break; sleep 1; done
pc exec -T db pg_restore -U homechef -d homechef --no-owner <"$work/homechef.dump" || fail "pg_restore"
podman volume exists "${project}_media" || podman volume create --label "com.docker.compose.project=$project" "${project}_media" >/dev/null
podman run --rm -v "${project}_media:/media" -v "$work:/backup:ro" localhost/standin/debian:bookworm \
  sh -c 'tar -C /media -xzf /backup/media.tgz && chown -R 65532:65532 /media'
pc_up >"$work/up.log" 2>&1 || { tail -20 "$work/up.log" >&2; fail "compose up after the restore"; }
backend=$(container backend)
wait_healthy "$backend" "the restored backend"
wait_proxy "$(container proxy)"
after=$(catalogue)
[ "$after" = "$before" ] || fail "the restored catalogue differs: $before / $after"
"${tls[@]}" -o "$work/variant" "$variant"
[ "$(sha256sum "$work/variant" | cut -d' ' -f1)" = "$(cat "$work/variant.sha256")" ] || fail "the restored image differs"
say "restore into a fresh stack: the same catalogue (ids, versions, images) and the same image bytes, $(( $(date +%s) - started ))s"

if [ "${KEEP:-0}" = 1 ]; then
  say "KEEP=1: the stack stays up. API: https://$api_host:8443 on 127.0.0.1 (Caddy's certificate names that host); CA: $ca"
  say "  curl --cacert $ca --resolve $api_host:8443:127.0.0.1 https://$api_host:8443/health/ready"
  say "  a browser: add '127.0.0.1 $api_host' to /etc/hosts, trust $ca, open https://$api_host:8443/health"
  say "  remove it all: bash scripts/verify-container.sh down"
else
  down
  say "stack removed"
fi
say "PASS"
