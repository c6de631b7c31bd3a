// The web client's shared-list page (examples/web-client/browser: Apollo Client 4 with GraphQLWsLink, bundled by
// esbuild) in two headless Chromium pages, served from its own origin as a PWA is: bob's page and alice's page
// show the household's list live; alice clicks an item and bob's page shows it ticked, through the socket.
// Fails on a page error, a console error, a request that leaves 127.0.0.1, or a tick that does not arrive.
//   HOMECHEF_TOKEN=<alice> HOMECHEF_TOKEN_2=<bob> node check-apollo-page.mjs <homechef origin> <page url>
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { browser, sharedList } from './household.mjs';

const [api, pageUrl] = process.argv.slice(2);
const [alice, bob] = [process.env.HOMECHEF_TOKEN, process.env.HOMECHEF_TOKEN_2];
const profile = mkdtempSync(join(tmpdir(), 'homechef-chromium-'));
const problems = [];
const chromium = await browser(puppeteer, profile, problems);
try {
  const { list, item } = await sharedList(api, alice, bob, 'Apollo kitchen', '2 limes');
  const show = async (label, token) => {
    const page = await chromium.open(label);
    const address = new URL(pageUrl);
    address.hash = new URLSearchParams({ api, token, list }).toString();
    await page.goto(address.toString(), { waitUntil: 'load' });
    await page.waitForFunction(
      (id) => document.getElementById('status').textContent === 'live' && document.querySelector(`li[data-id="${id}"]`),
      { timeout: 20000, polling: 100 }, item)
      .catch(async () => {
        throw new Error(`${label}'s page did not show the list live: ${await page.evaluate(() => document.body.innerText)}`);
      });
    return page;
  };
  const bobs = await show('bob', bob);
  const alices = await show('alice', alice);
  console.log('apollo page: both pages show the shared list, subscribed over /graphql/ws');
  await alices.click(`li[data-id="${item}"]`);
  await bobs.waitForFunction((id) => document.querySelector(`li[data-id="${id}"]`)?.dataset.checked === 'true',
    // Polled: a page in the background gets no animation frames.
    { timeout: 20000, polling: 100 }, item)
    .catch(async () => {
      throw new Error(`bob's page shows ${await bobs.evaluate(() => document.body.innerText)}`);
    });
  const seen = await bobs.evaluate(() => document.getElementById('items').innerText);
  console.log(`apollo page: alice's click reached bob's page live: ${JSON.stringify(seen)}`);
} catch (error) {
  problems.push(`failed: ${error.message}`);
} finally {
  await chromium.launched.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const problem of problems) console.log(`apollo page: ${problem}`);
console.log(problems.length === 0 ? 'apollo page: ok' : `apollo page: ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
