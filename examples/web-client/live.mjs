// Live shopping together, as two phones do it: alice makes a household and invites bob; bob accepts; alice
// shares a list; bob watches it over a WebSocket (graphql-ws, the protocol Apollo's GraphQLWsLink speaks)
// while alice ticks items off. Carol, in no household, tries to watch the same list and is refused. Each
// person may use a different server instance of the same database (HOMECHEF_URL, HOMECHEF_URL_2).
//   HOMECHEF_URL=http://127.0.0.1:8000 HOMECHEF_TOKEN=<alice> HOMECHEF_TOKEN_2=<bob> HOMECHEF_TOKEN_3=<carol> \
//     node live.mjs [ticks]          prints each tick's delay from alice's click to bob's screen, p50/p99
//   HOMECHEF_URL=… HOMECHEF_TOKENS=<t1,t2,…> node live.mjs --idle N
//                                    opens N signed-in sockets (spread over the tokens) and holds them
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const apiA = process.env.HOMECHEF_URL ?? 'http://127.0.0.1:8000';
const apiB = process.env.HOMECHEF_URL_2 ?? apiA;
const [alice, bob, carol] = [process.env.HOMECHEF_TOKEN, process.env.HOMECHEF_TOKEN_2, process.env.HOMECHEF_TOKEN_3];

async function gql(api, token, query, variables = {}) {
  const response = await fetch(new URL('/graphql', api), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function socket(api, token) {
  const url = new URL('/graphql/ws', api);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  // The token goes in connection_init, never in the URL.
  return createClient({ url: url.toString(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` },
    lazy: false, retryAttempts: 0 });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

if (process.argv[2] === '--idle') {
  const count = Number(process.argv[3] ?? 100);
  const tokens = (process.env.HOMECHEF_TOKENS ?? '').split(',').filter(Boolean);
  const clients = [];
  let acknowledged = 0;
  for (let i = 0; i < count; i++) {
    const client = socket(apiA, tokens[i % tokens.length]);
    await new Promise((resolve, reject) => {
      client.on('connected', () => { acknowledged++; resolve(); });
      client.on('closed', (e) => reject(new Error(`socket ${i} closed: ${e.code} ${e.reason}`)));
    });
    client.subscribe({ query: 'subscription { householdChanged { householdId } }' },
      { next() {}, error(e) { console.error('idle: subscription failed', e); }, complete() {} });
    clients.push(client);
  }
  console.log(`live: ${acknowledged} sockets open, each with one subscription`);
  // Held until the caller stops this process.
  await new Promise(() => {});
}

if (!alice || !bob || !carol) {
  console.error('usage: HOMECHEF_TOKEN=<alice> HOMECHEF_TOKEN_2=<bob> HOMECHEF_TOKEN_3=<carol> node live.mjs [ticks]');
  process.exit(2);
}
const ticks = Number(process.argv[2] ?? 5);

const { createHousehold: home } = await gql(apiA, alice, 'mutation { createHousehold(name: "Our kitchen") { id } }');
const { createHouseholdInvite: invite } = await gql(apiA, alice,
  'mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { code expiresAt } }', { h: home.id });
await gql(apiB, bob, 'mutation($c: String!) { acceptHouseholdInvite(code: $c) { id } }', { c: invite.code });
const { createShoppingList: list } = await gql(apiA, alice,
  'mutation($h: UUID!) { createShoppingList(from: "2027-03-01", to: "2027-03-07", name: "This week", householdId: $h) { id version } }',
  { h: home.id });
const { addShoppingListItem: item } = await gql(apiA, alice,
  'mutation($l: UUID!) { addShoppingListItem(listId: $l, text: "2 lemons") { id } }', { l: list.id });
console.log(`live: alice made household ${home.id}, bob joined with its invite, alice shared list ${list.id}`);

const WATCH = 'subscription($l: UUID!) { shoppingListChanged(listId: $l) { action version list { items { item checked } } } }';
const bobs = socket(apiB, bob);
const carols = socket(apiB, carol);
const seen = [];
let waiting = null;
let ready;
const subscribed = new Promise((resolve) => { ready = resolve; });
bobs.on('connected', () => ready());
bobs.subscribe({ query: WATCH, variables: { l: list.id } }, {
  next(message) {
    const change = message.data.shoppingListChanged;
    seen.push(change.version);
    if (waiting && change.list.items[0].checked === waiting.checked) {
      waiting.resolve(performance.now());
      waiting = null;
    }
  },
  error(e) { console.error('live: bob\'s subscription failed', e); process.exit(1); },
  complete() {},
});
let carolGot = 0;
let carolRefused = null;
const carolDone = new Promise((resolve) => {
  carols.subscribe({ query: WATCH, variables: { l: list.id } }, {
    next(message) {
      if (message.errors) carolRefused = message.errors[0].extensions.code; else carolGot++;
    },
    error(e) { carolRefused = JSON.stringify(e); resolve(); },
    complete() { resolve(); },
  });
});
await subscribed;
// The subscription is registered on the server once its first statement ran: give it a moment.
await new Promise((resolve) => setTimeout(resolve, 200));
const { savedShoppingList: start } = await gql(apiB, bob, 'query($l: UUID!) { savedShoppingList(id: $l) { version } }', { l: list.id });

const delays = [];
for (let i = 0; i < ticks; i++) {
  const checked = i % 2 === 0;
  const arrived = new Promise((resolve) => { waiting = { checked, resolve }; });
  const clicked = performance.now();
  await gql(apiA, alice, 'mutation($i: UUID!, $c: Boolean!) { checkShoppingListItem(id: $i, checked: $c) { checked } }',
    { i: item.id, c: checked });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`tick ${i} not seen in 5 s`)), 5000));
  delays.push((await Promise.race([arrived, timeout])) - clicked);
}
await carolDone;
const sorted = [...delays].sort((a, b) => a - b);
const lost = ticks - seen.filter((v) => v > start.version).length;
const doubled = seen.length - new Set(seen).size;
console.log(`live: ${ticks} ticks by alice on ${apiA} seen by bob on ${apiB}: p50 ${percentile(sorted, 50).toFixed(1)} ms, ` +
  `p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms; ${lost} lost, ${doubled} doubled`);
console.log(`live: carol (no household) was refused with ${carolRefused} and received ${carolGot} changes`);
await bobs.dispose();
await carols.dispose();
if (lost !== 0 || doubled !== 0 || carolRefused !== 'NOT_FOUND' || carolGot !== 0) process.exit(1);
