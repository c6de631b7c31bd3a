#!/usr/bin/env bash
# Catalogue benchmark over real HTTP: seeds N recipes (default 10 000; ~10 ingredients, 6 steps, 3 tags each)
# for one user, then measures with wrk at 16 connections for 10 s each:
#   - the recipe list query (20 per page, nested ingredients, steps and tags);
#   - a full-text search;
# and prints requests/s, p50/p99 and server RSS, plus pgbench on the same page's SQL as the floor.
#   scripts/bench-catalogue.sh [N]        (uses DATABASE_URL, else the embedded PostgreSQL)
# Needs wrk, psql and pgbench. Rate limiting is off for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
for tool in wrk psql pgbench; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done
cargo build --release --locked --bin homechef
bin="${CARGO_TARGET_DIR:-target}/release/homechef"
export SECRET_KEY="$("$bin" generate-secret-key)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
RATE_LIMIT_ENABLED=false RUST_LOG=info,homechef::request=warn ROCKET_PORT="$port" "$bin" serve >"$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do "$bin" healthcheck --url "http://127.0.0.1:$port/health/ready" 2>/dev/null && break; sleep 0.2; done
db="${DATABASE_URL:-$(grep -o 'postgres://[^ "]*' "$log" | head -1)}"
token="$("$bin" dev-token --user bench)"
curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
  -d '{"query":"{ me { id } }"}' >/dev/null

echo "seeding $n recipes…"
psql -q "$db" -v n="$n" <<'SQL'
\set ON_ERROR_STOP on
begin;
delete from recipes where owner_id = (select id from users where clerk_id = 'dev_bench');
delete from tags where owner_id = (select id from users where clerk_id = 'dev_bench');
create temp table words (w text);
insert into words values ('tomato'),('garlic'),('basil'),('lemon'),('chicken'),('rice'),('beans'),('curry'),
  ('pasta'),('mushroom'),('ginger'),('honey'),('potato'),('spinach'),('salmon'),('coconut'),('pepper'),('onion'),
  ('carrot'),('celery'),('leek'),('fennel'),('thyme'),('rosemary'),('sage'),('parsley'),('cumin'),('paprika'),
  ('chickpea'),('lentil'),('quinoa'),('barley'),('oats'),('almond'),('walnut'),('pecan'),('apple'),('pear'),
  ('plum'),('cherry'),('mango'),('lime'),('orange'),('yogurt'),('butter'),('cream'),('cheese'),('egg'),
  ('beef'),('pork'),('lamb'),('tofu'),('tempeh'),('kale'),('cabbage'),('broccoli'),('zucchini'),('eggplant'),
  ('squash'),('corn');
create temp table seeded as
  select gen_random_uuid() as id, g as i from generate_series(1, :n) g;
insert into recipes (id, owner_id, title, description, prep_minutes, cook_minutes, total_minutes, servings, visibility)
  select s.id, u.id,
         initcap((select w from words offset (s.i % 60) limit 1)) || ' ' || (select w from words offset ((s.i / 60) % 60) limit 1) || ' #' || s.i,
         'A weeknight dish with ' || (select w from words offset ((s.i * 7) % 60) limit 1) || ' and plenty of flavour.',
         s.i % 30, s.i % 60, s.i % 30 + s.i % 60, 4, 'PRIVATE'
  from seeded s, users u where u.clerk_id = 'dev_bench';
insert into recipe_ingredients (id, recipe_id, position, quantity, unit, item, original_text)
  select gen_random_uuid(), s.id, p, (p % 4) + 1, 'cup', (select w from words offset ((s.i * 13 + p * 7) % 60) limit 1),
         ((p % 4) + 1) || ' cup ' || (select w from words offset ((s.i * 13 + p * 7) % 60) limit 1)
  from seeded s, generate_series(0, 9) p;
insert into recipe_steps (id, recipe_id, position, text)
  select gen_random_uuid(), s.id, p, 'Step ' || (p + 1) || ': stir, season and cook until done.'
  from seeded s, generate_series(0, 5) p;
insert into tags (id, owner_id, name) select gen_random_uuid(), u.id, 'tag ' || t from users u, generate_series(1, 20) t where u.clerk_id = 'dev_bench';
insert into recipe_tags (recipe_id, tag_id)
  select s.id, t.id from seeded s
  join lateral (select id from tags where owner_id = (select id from users where clerk_id = 'dev_bench')
                order by name offset (s.i % 18) limit 3) t on true;
update recipes r set ingredient_text = x.items
  from (select recipe_id, string_agg(item, ' ' order by position) items from recipe_ingredients group by recipe_id) x
  where x.recipe_id = r.id and r.id in (select id from seeded);
commit;
analyze;
SQL

run() {
  local name="$1" query="$2" body script
  body="$(mktemp)"
  script="$(mktemp)"
  python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}), end="")' "$query" >"$body"
  cat >"$script" <<LUA
wrk.method = "POST"
wrk.body   = io.open("$body"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  echo "$name (16 connections, 10 s):"
  wrk -t2 -c16 -d10s --latency -s "$script" "http://127.0.0.1:$port/graphql" | grep -E "Requests/sec| 50%| 99%|Non-2xx"
  rm -f "$script" "$body"
}
page='{ recipes(first: 20) { totalCount edges { cursor node { id title totalMinutes ingredients { quantityDisplay unit item } steps { text } tags { name } } } } }'
search='{ recipes(first: 20, filter: { text: "salmon ginger" }, sort: { field: RELEVANCE }) { totalCount edges { node { id title } } } }'
run "list: 20 recipes with ingredients, steps, tags" "$page"
run "search: full text, by relevance" "$search"
echo "server RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status) (peak $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status))"

owner="$(psql -At "$db" -c "select id from users where clerk_id = 'dev_bench'")"
sqlfile="$(mktemp)"
cat >"$sqlfile" <<SQL
select count(*) from recipes where owner_id = '$owner';
select id, title from recipes where owner_id = '$owner' order by updated_at desc, id desc limit 21;
select * from recipe_ingredients where recipe_id in (select id from recipes where owner_id = '$owner' order by updated_at desc, id desc limit 20) order by recipe_id, position;
select * from recipe_steps where recipe_id in (select id from recipes where owner_id = '$owner' order by updated_at desc, id desc limit 20) order by recipe_id, position;
select rt.recipe_id, t.* from recipe_tags rt join tags t on t.id = rt.tag_id where rt.recipe_id in (select id from recipes where owner_id = '$owner' order by updated_at desc, id desc limit 20);
SQL
echo "pgbench, the list page's SQL (16 clients, 10 s):"
pgbench -n -c16 -j2 -T10 -f "$sqlfile" "$db" 2>/dev/null | grep -E "^tps|latency average"
rm -f "$sqlfile"
