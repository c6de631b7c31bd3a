// GraphiQL in headless Chromium against a live homechef: loads /graphiql, waits for the docs explorer to
// list QueryRoot (the schema was fetched by introspection), runs `{ health { status } }` from the editor and
// reads the result pane. Fails on any request that leaves 127.0.0.1, any CSP violation, any console error.
//   node check-graphiql.mjs http://127.0.0.1:8000/graphiql screenshot.png
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const [url, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'homechef-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  // As root in CI, and without the background services a closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const target = new URL(request.url());
    if (target.protocol === 'data:' || target.hostname === '127.0.0.1') {
      request.continue();
    } else {
      problems.push(`request left 127.0.0.1: ${request.url()}`);
      request.abort();
    }
  });
  await page.evaluateOnNewDocument(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(url, { waitUntil: 'networkidle0' });
  await page.click('button[aria-label*="Documentation Explorer"]');
  await page.waitForFunction(() => document.querySelector('.graphiql-doc-explorer')?.innerText.includes('QueryRoot'),
    { timeout: 20000 });
  console.log('graphiql: the docs explorer lists QueryRoot');
  await page.evaluate(() => {
    document.querySelector('[aria-label="Query Editor"] .CodeMirror').CodeMirror.setValue('{ health { status } }');
  });
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('[aria-label="Result Window"] .CodeMirror')?.CodeMirror.getValue().includes('status'),
    { timeout: 20000 });
  const result = await page.evaluate(
    () => document.querySelector('[aria-label="Result Window"] .CodeMirror').CodeMirror.getValue());
  const parsed = JSON.parse(result);
  if (parsed?.data?.health?.status !== 'OK') problems.push(`unexpected result: ${result}`);
  else console.log(`graphiql: { health { status } } answered ${JSON.stringify(parsed)}`);
  problems.push(...(await page.evaluate(() => window.cspViolations)).map((v) => `CSP violation: ${v}`));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`graphiql: screenshot in ${screenshot}`);
} catch (error) {
  problems.push(`failed: ${error.message}`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
for (const problem of problems) console.log(`graphiql: ${problem}`);
console.log(problems.length === 0 ? 'graphiql: ok' : `graphiql: ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
