// Starts GraphiQL against this server's /graphql. Kept out of index.html so the page needs no inline script.
(function () {
  var root = document.getElementById('graphiql');
  document.body.style.margin = '0';
  root.style.height = '100vh';
  var socket = new URL('/graphql/ws', window.location.href);
  socket.protocol = socket.protocol === 'https:' ? 'wss:' : 'ws:';
  // Subscriptions go over the socket; the headers below (Authorization) are sent in its connection_init.
  var fetcher = GraphiQL.createFetcher({
    url: new URL('/graphql', window.location.href).toString(),
    subscriptionUrl: socket.toString()
  });
  var defaultQuery = '# Welcome to HomeChef. Add an Authorization header (Bearer <token>) below to act as a user.\n' +
    '{\n  health {\n    status\n    database\n  }\n  me {\n    id\n    name\n  }\n}\n';
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: defaultQuery, isHeadersEditorEnabled: true })
  );
})();
