// A minimal HomeChef client: Apollo Client 4 with apollo-upload-client's UploadHttpLink. It signs in with a
// token, creates a recipe, uploads a photo (GraphQL multipart request) with an Idempotency-Key and sends the
// upload again as an offline queue would after a lost answer (one image, the same response), lists the
// variants the server made of it and fetches one. With automatic persisted queries (Apollo's
// PersistedQueryLink, hashed queries by GET) it sends a query's hash alone: the first time the server asks for
// the document, afterwards the hash is enough. Given a saved web page too, it imports it as a "save this page"
// button does: the whole page as the file `page` of importRecipeFromHtml.
//   HOMECHEF_URL=http://127.0.0.1:8000 HOMECHEF_TOKEN=$(homechef dev-token --user alice) node client.mjs photo.jpg [page.html]
// In a browser app the token comes from Clerk (`await session.getToken()`) instead.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';

const api = process.env.HOMECHEF_URL ?? 'http://127.0.0.1:8000';
const token = process.env.HOMECHEF_TOKEN;
const [photo, savedPage] = process.argv.slice(2);
if (!token || !photo) {
  console.error('usage: HOMECHEF_TOKEN=<token> node client.mjs <photo.jpg>');
  process.exit(2);
}

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new UploadHttpLink({
    uri: new URL('/graphql', api).toString(),
    headers: {
      authorization: `Bearer ${token}`,
      // Required: homechef refuses multipart requests without it (415), because a plain HTML form could
      // otherwise post one cross-site. apollo-upload-client does not send it by default.
      'GraphQL-Require-Preflight': '1',
    },
  }),
});

const CREATE = gql`
  mutation Create($title: String!) {
    createRecipe(input: { title: $title, ingredients: [{ line: "2 cups flour" }] }) { id title }
  }
`;
const UPLOAD = gql`
  mutation Upload($recipe: UUID!, $files: [Upload!]!) {
    uploadRecipeImages(recipeId: $recipe, files: $files) {
      status
      findings { code }
      image { id variants { name width height url } }
    }
  }
`;

const { data: created } = await client.mutate({ mutation: CREATE, variables: { title: 'Apollo pancakes' } });
const recipe = created.createRecipe;
console.log(`web-client: created recipe ${recipe.id} (${recipe.title})`);

const file = new File([await readFile(photo)], basename(photo), { type: 'image/jpeg' });
// The key is kept with the queued mutation; sending it again can never make a second image.
const upload = () =>
  client.mutate({
    mutation: UPLOAD,
    variables: { recipe: recipe.id, files: [file] },
    context: { headers: { 'Idempotency-Key': `upload-${recipe.id}` } },
    fetchPolicy: 'no-cache',
  });
const { data: uploaded } = await upload();
const [result] = uploaded.uploadRecipeImages;
const { data: replayed } = await upload();
if (JSON.stringify(replayed) !== JSON.stringify(uploaded)) {
  throw new Error(`replayed upload answered differently: ${JSON.stringify(replayed)}`);
}
const { data: stored } = await client.query({
  query: gql`query Images($id: UUID!) { recipe(id: $id) { id images { id } } }`,
  variables: { id: recipe.id },
  fetchPolicy: 'no-cache',
});
if (stored.recipe.images.length !== 1) {
  throw new Error(`expected one image after the replay, found ${stored.recipe.images.length}`);
}
console.log(`web-client: upload replayed with its Idempotency-Key: the same response, one image`);
if (result.status !== 'PROMOTED') {
  throw new Error(`upload not promoted: ${JSON.stringify(result)}`);
}
const variants = result.image.variants;
console.log(`web-client: uploaded; variants ${variants.map((v) => `${v.name} ${v.width}x${v.height}`).join(', ')}`);

const variant = variants[0];
const response = await fetch(new URL(variant.url, api));
const bytes = (await response.arrayBuffer()).byteLength;
if (!response.ok || !response.headers.get('content-type')?.startsWith('image/') || bytes === 0) {
  throw new Error(`variant ${variant.url}: ${response.status} ${response.headers.get('content-type')}`);
}
console.log(`web-client: fetched ${variant.name}: ${response.status} ${response.headers.get('content-type')}, ${bytes} bytes`);

if (savedPage) {
  const IMPORT = gql`
    mutation SavePage($page: Upload, $url: String!) {
      importRecipeFromHtml(page: $page, url: $url) { title foundIn ingredients { originalText } imageUrls }
    }
  `;
  const page = new File([await readFile(savedPage)], basename(savedPage), { type: 'text/html' });
  const { data: imported } = await client.mutate({
    mutation: IMPORT,
    variables: { page, url: 'https://kitchen.example/banana-bread/' },
  });
  const draft = imported.importRecipeFromHtml;
  if (!draft.title || draft.ingredients.length === 0) {
    throw new Error(`saved page gave no draft: ${JSON.stringify(draft)}`);
  }
  console.log(`web-client: saved page (${page.size} bytes) read as "${draft.title}" from ${draft.foundIn}, ${draft.ingredients.length} ingredients`);
}

// Automatic persisted queries, added as Apollo's documentation shows, with hashed queries sent by GET.
const sent = [];
const recordingFetch = async (url, init = {}) => {
  const method = init.method ?? 'GET';
  const document = method === 'GET' ? new URL(url).searchParams.get('query') : JSON.parse(init.body).query;
  const response = await fetch(url, init);
  sent.push({ method, withDocument: Boolean(document), status: response.status });
  return response;
};
const persistedClient = () =>
  new ApolloClient({
    cache: new InMemoryCache(),
    link: new PersistedQueryLink({
      sha256: (text) => createHash('sha256').update(text).digest('hex'),
      useGETForHashedQueries: true,
    }).concat(
      new HttpLink({
        uri: new URL('/graphql', api).toString(),
        headers: { authorization: `Bearer ${token}` },
        fetch: recordingFetch,
      }),
    ),
  });
const PERSISTED = gql`query PersistedRecipe($id: UUID!) { recipe(id: $id) { id title } }`;
for (const round of ['first', 'second']) {
  const { data } = await persistedClient().query({ query: PERSISTED, variables: { id: recipe.id } });
  if (data.recipe.title !== recipe.title) {
    throw new Error(`persisted query, ${round} client: ${JSON.stringify(data)}`);
  }
}
const hashOnly = sent.filter((s) => !s.withDocument);
const withDocument = sent.filter((s) => s.withDocument);
if (withDocument.length !== 1 || hashOnly.length !== 2 || hashOnly.some((s) => s.method !== 'GET')) {
  throw new Error(`persisted queries: expected two hash-only GETs and one document, sent ${JSON.stringify(sent)}`);
}
console.log(`web-client: persisted query: ${sent.map((s) => `${s.method}${s.withDocument ? '+document' : ' hash'} ${s.status}`).join(', ')}`);
