// GraphiQL in headless Chromium against a live homechef: loads /graphiql, waits for the docs explorer to
// list QueryRoot (the schema was fetched by introspection), runs `{ health { status } }` from the editor and
// reads the result pane. With two tokens (two members of a household it makes) it then opens a second page:
// alice's page runs `shoppingListChanged` of their shared list from the editor (over /graphql/ws), bob's page
// ticks an item off, and the tick appears in alice's result pane. Fails on any request that leaves
// 127.0.0.1, any CSP violation, any console error.
//   [HOMECHEF_TOKEN=<alice> HOMECHEF_TOKEN_2=<bob>] node check-graphiql.mjs http://127.0.0.1:8000/graphiql shot.png
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { browser, sharedList } from './household.mjs';

const [url, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'homechef-chromium-'));
const problems = [];
const chromium = await browser(puppeteer, profile, problems);
try {
  const page = await chromium.open('graphiql');
  await page.evaluateOnNewDocument(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url, { waitUntil: 'networkidle0' });
  await page.click('button[aria-label*="Documentation Explorer"]');
  await page.waitForFunction(() => document.querySelector('.graphiql-doc-explorer')?.innerText.includes('QueryRoot'),
    { timeout: 20000, polling: 100 });
  console.log('graphiql: the docs explorer lists QueryRoot');
  await page.evaluate(() => {
    document.querySelector('[aria-label="Query Editor"] .CodeMirror').CodeMirror.setValue('{ health { status } }');
  });
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('[aria-label="Result Window"] .CodeMirror')?.CodeMirror.getValue().includes('status'),
    { timeout: 20000, polling: 100 });
  const result = await page.evaluate(
    () => document.querySelector('[aria-label="Result Window"] .CodeMirror').CodeMirror.getValue());
  const parsed = JSON.parse(result);
  if (parsed?.data?.health?.status !== 'OK') problems.push(`unexpected result: ${result}`);
  else console.log(`graphiql: { health { status } } answered ${JSON.stringify(parsed)}`);
  const [alice, bob] = [process.env.HOMECHEF_TOKEN, process.env.HOMECHEF_TOKEN_2];
  if (alice && bob) {
    const { list, item } = await sharedList(new URL(url).origin, alice, bob, 'GraphiQL kitchen', 'a bunch of basil');
    // Each page as its person would use it: the token in the headers editor, the operation in the editor.
    const run = async (target, token, operation) => {
      await target.click('::-p-text(Headers)');
      await target.evaluate((token, operation) => {
        const headers = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
        headers.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` }));
        document.querySelector('[aria-label="Query Editor"] .CodeMirror').CodeMirror.setValue(operation);
      }, token, operation);
      // GraphiQL parses the editor's text after a pause and picks the transport from it (a subscription over
      // the socket, the rest over HTTP): a click before then would run the old document's way.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await target.click('.graphiql-execute-button');
    };
    await run(page, alice, `subscription { shoppingListChanged(listId: "${list}") { action list { items { item checked } } } }`);
    // The subscription runs (the button says Stop) over the socket; bob then ticks the basil off on his page.
    const pane = (target) => target.evaluate(
      () => document.querySelector('[aria-label="Result Window"] .CodeMirror')?.CodeMirror.getValue());
    await page.waitForSelector('button.graphiql-execute-button[aria-label^="Stop"]', { timeout: 10000 })
      .catch(async () => { throw new Error(`the subscription did not start: ${await pane(page)}`); });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const bobs = await chromium.open('second page');
    await bobs.goto(url, { waitUntil: 'networkidle0' });
    await run(bobs, bob, `mutation { checkShoppingListItem(id: "${item}") { checked } }`);
    await page.waitForFunction(
      () => document.querySelector('[aria-label="Result Window"] .CodeMirror')?.CodeMirror.getValue().includes('"CHECKED"'),
      { timeout: 20000, polling: 100 })
      .catch(async () => {
        throw new Error(`alice's page shows ${await pane(page)}; bob's shows ${await pane(bobs)}`);
      });
    console.log('graphiql: a tick on one page (bob\'s mutation) appeared on the other (alice\'s subscription)');
  }
  problems.push(...(await page.evaluate(() => window.cspViolations)).map((v) => `CSP violation: ${v}`));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`graphiql: screenshot in ${screenshot}`);
} catch (error) {
  problems.push(`failed: ${error.message}`);
} finally {
  await chromium.launched.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const problem of problems) console.log(`graphiql: ${problem}`);
console.log(problems.length === 0 ? 'graphiql: ok' : `graphiql: ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
