// Watches a shopping list live, as a phone on the shop floor does: graphql-ws over /graphql/ws, the token in
// connection_init. Prints each change as one JSON line and exits after COUNT of them (default: never).
//   HOMECHEF_URL=http://127.0.0.1:8001 HOMECHEF_TOKEN=<token> node watch.mjs <list id> [count]
// Behind a proxy with a private CA (a trial deployment): HOMECHEF_CA_FILE=<root.crt> trusts it, and
// HOMECHEF_CONNECT_TO=127.0.0.1 connects there whatever the host name resolves to (curl's --resolve).
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const tls = {
  ...(process.env.HOMECHEF_CA_FILE ? { ca: readFileSync(process.env.HOMECHEF_CA_FILE) } : {}),
  ...(process.env.HOMECHEF_CONNECT_TO ? {
    lookup: (_host, options, callback) => (options.all
      ? callback(null, [{ address: process.env.HOMECHEF_CONNECT_TO, family: 4 }])
      : callback(null, process.env.HOMECHEF_CONNECT_TO, 4)),
  } : {}),
};
class Socket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, tls);
  }
}

const api = process.env.HOMECHEF_URL ?? 'http://127.0.0.1:8000';
const [list, count] = [process.argv[2], Number(process.argv[3] ?? Infinity)];
if (!process.env.HOMECHEF_TOKEN || !list) {
  console.error('usage: HOMECHEF_TOKEN=<token> node watch.mjs <list id> [count]');
  process.exit(2);
}
const url = new URL('/graphql/ws', api);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
const client = createClient({
  url: url.toString(),
  webSocketImpl: Socket,
  connectionParams: { authorization: `Bearer ${process.env.HOMECHEF_TOKEN}` },
});
let seen = 0;
client.subscribe(
  {
    query: `subscription($l: UUID!) {
      shoppingListChanged(listId: $l) { action version list { name items { item checked } } }
    }`,
    variables: { l: list },
  },
  {
    next({ data, errors }) {
      console.log(JSON.stringify(errors ? { errors } : data.shoppingListChanged));
      if (errors || ++seen >= count) client.dispose().then(() => process.exit(errors ? 1 : 0));
    },
    error(error) {
      console.error('watch: refused', error);
      process.exit(1);
    },
    complete() {
      process.exit(0);
    },
  },
);
client.on('connected', () => console.error(`watch: watching list ${list}`));
