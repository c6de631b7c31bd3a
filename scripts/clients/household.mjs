// What the browser checks share: a household of two dev users and a shopping list shared in it with one item,
// made over plain HTTP as each person's app would.
export async function call(api, token, query, variables) {
  const response = await fetch(new URL('/graphql', api), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/// Alice's household, bob in it, and its list holding `text`: `{ list, item }` ids.
export async function sharedList(api, alice, bob, name, text) {
  const { createHousehold: home } = await call(api, alice,
    'mutation($n: String!) { createHousehold(name: $n) { id } }', { n: name });
  const { createHouseholdInvite: invite } = await call(api, alice,
    'mutation($h: UUID!) { createHouseholdInvite(householdId: $h) { code } }', { h: home.id });
  await call(api, bob, 'mutation($c: String!) { acceptHouseholdInvite(code: $c) { id } }', { c: invite.code });
  const { createShoppingList: list } = await call(api, alice,
    'mutation($h: UUID!) { createShoppingList(from: "2027-03-01", to: "2027-03-02", householdId: $h) { id } }',
    { h: home.id });
  const { addShoppingListItem: item } = await call(api, alice,
    'mutation($l: UUID!, $t: String!) { addShoppingListItem(listId: $l, text: $t) { id } }', { l: list.id, t: text });
  return { list: list.id, item: item.id };
}

/// Chromium as the checks drive it: headless, as root in CI, without the background services a closed network
/// refuses; every page it opens may reach 127.0.0.1 only (anything else is a problem and is aborted).
export async function browser(puppeteer, profile, problems) {
  const launched = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const open = async (label) => {
    const page = await launched.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error (${label}): ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error (${label}): ${error.message}`));
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const target = new URL(request.url());
      if (target.protocol === 'data:' || target.hostname === '127.0.0.1') {
        request.continue();
      } else {
        problems.push(`request left 127.0.0.1 (${label}): ${request.url()}`);
        request.abort();
      }
    });
    return page;
  };
  return { launched, open };
}
