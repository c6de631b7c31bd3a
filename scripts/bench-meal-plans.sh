#!/usr/bin/env bash
# Meal-plan benchmark over real HTTP: seeds N recipes (default 1 000) for one user, plans a 4-week rotation
# of 3 meals a day (84 entries, recipes from the catalogue, a third of them at other servings), then measures
# with wrk at 16 connections for 10 s each:
#   - mealPlanDays over the 4 weeks (28 days, 84 meals with their recipes);
#   - shoppingList for one week (21 recipes' ingredients scaled, merged and converted);
# and prints requests/s, p50/p99 and the SQL statements per request (from the request log, which stays at
# its default level).
#   scripts/bench-meal-plans.sh [N]        (uses DATABASE_URL, else the embedded PostgreSQL)
# Needs wrk, psql and curl. Rate limiting is off for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
source scripts/bench-seeded.sh
bench_setup wrk psql curl
serve_seeded "$n" "$log" RUST_LOG=info

gql() {
  curl -sf "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$1"
}
plan="$(gql '{"query":"mutation { createMealPlan(input: { name: \"Four weeks\", startDate: \"2027-01-04\", weeks: 4, active: true }) { id } }"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["createMealPlan"]["id"])')"
mapfile -t recipes < <(psql -At "$db" -c "select r.id from recipes r join users u on u.id = r.owner_id
  where u.clerk_id = 'dev_bench' order by r.id limit 84")
i=0
for week in 1 2 3 4; do
  for weekday in MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY SUNDAY; do
    for meal in BREAKFAST LUNCH DINNER; do
      servings="null"
      [ $((i % 3)) -eq 0 ] && servings='"6"'
      gql '{"query":"mutation($p: UUID!, $r: UUID!, $s: String) { addMealPlanEntry(planId: $p, input: { week: '"$week"', weekday: '"$weekday"', meal: '"$meal"', recipeId: $r, servings: $s }) { id } }","variables":{"p":"'"$plan"'","r":"'"${recipes[$i]}"'","s":'"$servings"'}}' >/dev/null
      i=$((i + 1))
    done
  done
done
echo "planned $i meals over a 4-week rotation"

run() {
  wrk_query "$1" "$2"
  echo "  SQL statements per request: $(grep -E "operation=\"?${3}\b" "$log" | grep -o 'sql_statements=[0-9]*' | sort | uniq -c | sort -rn | head -1)"
}
run "mealPlanDays: 4 weeks of a rotation (84 meals)" \
  'query Days { mealPlanDays(from: "2027-01-04", to: "2027-01-31") { date week entries { meal servings recipe { id title totalMinutes } } } }' Days
run "shoppingList: one week (21 recipes)" \
  'query Shopping { shoppingList(from: "2027-01-04", to: "2027-01-10") { lines { quantity quantityDisplay unit item fromRecipes } } }' Shopping
echo "server RSS after load: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
