// A household's shopping list in a browser, as the PWA shows it: Apollo Client 4 reads the list over HTTP and
// keeps it current with `shoppingListChanged` over GraphQLWsLink (graphql-ws, the token in connection_init);
// a tap ticks an item (a mutation over HTTP). Changes are applied only when their version is newer than the one
// shown, so a change read twice (after a reconnect) is never applied twice.
//   index.html#api=http://127.0.0.1:8000&token=<token>&list=<list id>
// In the PWA the token comes from Clerk (`await session.getToken()`) instead of the address.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';

const params = new URLSearchParams(location.hash.slice(1));
const [api, token, listId] = [params.get('api'), params.get('token'), params.get('list')];
const status = (text) => { document.getElementById('status').textContent = text; };

const socketUrl = new URL('/graphql/ws', api);
socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
const sockets = createClient({
  url: socketUrl.toString(),
  connectionParams: { authorization: `Bearer ${token}` },
  on: { connected: () => status('live'), closed: (event) => status(`closed ${event.code}`) },
});
const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(sockets),
    new HttpLink({ uri: new URL('/graphql', api).toString(), headers: { authorization: `Bearer ${token}` } }),
  ),
});

const LIST = gql`
  fragment Shown on ShoppingList { id name version items { id item checked } }
`;
const READ = gql`
  query Read($id: UUID!) { savedShoppingList(id: $id) { ...Shown } }
  ${LIST}
`;
const CHANGED = gql`
  subscription Changed($id: UUID!) { shoppingListChanged(listId: $id) { action version list { ...Shown } } }
  ${LIST}
`;
const TICK = gql`
  mutation Tick($id: UUID!) { checkShoppingListItem(id: $id) { id checked } }
`;

let shown = 0;
function render(list) {
  if (list.version <= shown) return;
  shown = list.version;
  document.getElementById('name').textContent = list.name;
  document.getElementById('items').replaceChildren(...list.items.map((entry) => {
    const li = document.createElement('li');
    li.dataset.id = entry.id;
    li.dataset.checked = String(entry.checked);
    li.textContent = `${entry.checked ? '☑' : '☐'} ${entry.item}`;
    li.addEventListener('click', () => tick(entry.id));
    return li;
  }));
  document.body.dataset.version = String(list.version);
}

async function tick(id) {
  await client.mutate({ mutation: TICK, variables: { id } });
}

client.subscribe({ query: CHANGED, variables: { id: listId } }).subscribe({
  next: ({ data, error }) => {
    if (error) status(`refused: ${error.message}`);
    else render(data.shoppingListChanged.list);
  },
  error: (error) => status(`refused: ${error.message}`),
});
// Read after subscribing, so that nothing between the read and the subscription is missed.
const { data } = await client.query({ query: READ, variables: { id: listId }, fetchPolicy: 'network-only' });
render(data.savedShoppingList);
window.homechef = { tick };
