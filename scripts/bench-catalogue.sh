#!/usr/bin/env bash
# Catalogue benchmark over real HTTP: seeds N recipes (default 10 000; ~10 ingredients, 6 steps, 3 tags each)
# for one user, then measures with wrk at 16 connections for 10 s each:
#   - the recipe list query (20 per page, nested ingredients, steps and tags), first (with and without
#     totalCount) and halfway down;
#   - a full-text search, and one with a typo (the trigram fallback);
# and prints requests/s, p50/p99 and server RSS, plus pgbench on the same page's SQL as the floor.
#   scripts/bench-catalogue.sh [N]        (uses DATABASE_URL, else the embedded PostgreSQL)
# Needs wrk, psql and pgbench. Rate limiting is off for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
source scripts/bench-seeded.sh
bench_setup wrk psql pgbench
serve_seeded "$n" "$log" RUST_LOG=info,homechef::request=warn

page='{ recipes(first: 20) { totalCount edges { cursor node { id title totalMinutes ingredients { quantityDisplay unit item } steps { text } tags { name } } } } }'
search='{ recipes(first: 20, filter: { text: "salmon ginger" }, sort: { field: RELEVANCE }) { totalCount edges { node { id title } } } }'
wrk_query "list: 20 recipes with ingredients, steps, tags" "$page"
wrk_query "list: the same page without totalCount" "${page/totalCount /}"
# The same page from the middle of the list: a cursor for the recipe halfway down, as the server writes them.
middle="$(psql -At "$db" -c "select json_build_object('v', json_build_object('Time', r.updated_at), 'i', r.id)
  from recipes r join users u on u.id = r.owner_id where u.clerk_id = 'dev_bench'
  order by r.updated_at desc, r.id desc offset $((n / 2)) limit 1")"
after="$(python3 -c 'import base64, sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode().rstrip("="))' "$middle")"
wrk_query "list: the same page after a cursor halfway down" "${page/first: 20/first: 20, after: \"$after\"}"
wrk_query "search: full text, by relevance" "$search"
wrk_query "search: a typo (no word matches, titles close to it)" "${search/salmon ginger/selery}"
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
