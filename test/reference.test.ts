// The API reference page `npm start` serves: Swagger UI renders every operation of the live
// document in headless Chromium, loading nothing from any other origin (no CDN), and "Try it out"
// reaches the API through the page's own origin.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, needsChromium } from './helpers/requirements.ts';
import { startReference } from '../scripts/lib/reference.mjs';
import { type Stack, startStack } from './helpers/stack.ts';


describe.skipIf(needsChromium.skipped)('the API reference page', () => {
  let stack: Stack;
  let reference: { url: string; stop(): Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    needsChromium.assertAvailable();
    stack = await startStack();
    reference = await startReference({ port: 0, apiUrl: stack.url });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await reference?.stop();
    await stack?.stop();
  });

  it('renders every operation and webhook of the document, with nothing fetched from elsewhere', async () => {
    const document = await (await fetch(`${stack.url}/openapi.json`)).json();
    // Every operation and every webhook gets its own block.
    const operations = [...Object.values(document.paths), ...Object.values(document.webhooks)].reduce((n: number, ops) => n + Object.keys(ops as object).length, 0);
    const page = await browser.newPage();
    const origins = new Set<string>();
    page.on('request', (request) => origins.add(new URL(request.url()).origin));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(reference.url);
    await page.waitForSelector('.opblock-summary');
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, operations);
    expect(await page.locator('.opblock').count()).toBe(operations);
    expect(await page.locator('.title').first().textContent()).toContain('HumanOps API');
    expect([...origins].filter((o) => o !== new URL(reference.url).origin && o !== 'null')).toEqual([]);
    expect(errors).toEqual([]);

    // The document the page shows names the page's origin as its server, so "Try it out" goes
    // through it to the API.
    const served = await page.evaluate(async () => (await fetch('/api/v1/openapi.json')).json());
    expect(served.servers).toEqual([{ url: `${new URL(reference.url).origin}/api/v1`, description: expect.any(String) }]);
    const health = await page.evaluate(async () => (await fetch('/api/v1/health')).json());
    expect(health).toMatchObject({ status: 'ok' });
    const created = await page.evaluate(async () => {
      const reply = await fetch('/api/v1/agents/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'from-the-reference', email: 'r@example.com' }) });
      return { status: reply.status, body: await reply.json() };
    });
    expect(created.status).toBe(201);
    expect(created.body.api_key).toMatch(/^ho_test_/);
    await page.close();
  });
});
