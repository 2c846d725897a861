// Interop: the SDK's E2EE module, as built, encrypts in a real browser (Debian's headless Chromium
// driven by playwright-core) and the blob decrypts in Node; the published vectors decrypt in both.
// Without Chromium it fails (HUMANOPS_SKIP=chromium skips it on purpose, loudly); CI installs it.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, needsChromium } from './helpers/requirements.ts';
import { decrypt, generateKeyPair } from '@humanops/sdk';

const dist = new URL('../sdk/dist/', import.meta.url).pathname;
const vectors = JSON.parse(readFileSync(new URL('../sdk/test-vectors/e2ee.json', import.meta.url), 'utf8')).vectors;

describe.skipIf(needsChromium.skipped)('E2EE in a real browser', () => {
  let server: Server;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    needsChromium.assertAvailable();
    // Serve the built package (and a blank page) so the browser imports exactly what npm would ship.
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<!doctype html><title>e2ee</title>');
      }
      const file = join(dist, path.replace(/^\/dist\//, ''));
      if (!path.startsWith('/dist/') || file.includes('..') || !existsSync(file)) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  /**
   * Runs `body` in a page with `e2ee` bound to the built module and `args` to the given values.
   * Passed as a string: vitest rewrites `import()` in test code, and the browser must import natively.
   */
  const inBrowser = async (body: string, args: Record<string, unknown> = {}): Promise<any> => {
    const page = await browser.newPage();
    try {
      await page.goto(origin);
      return await page.evaluate(`(async () => {
        const e2ee = await import(${JSON.stringify(`${origin}/dist/e2ee.js`)});
        const args = ${JSON.stringify(args)};
        ${body}
      })()`);
    } finally {
      await page.close();
    }
  };

  it('a credential encrypted in Chromium decrypts in Node', async () => {
    const agent = await generateKeyPair();
    const blob = await inBrowser(
      "return e2ee.encryptForAgent(args.publicKey, { api_key: 'sk_browser', note: 'from Chromium' }, { taskId: 'task_browser' });",
      { publicKey: agent.publicKey });
    expect(blob.algorithm).toBe('ECDH-P256-AES-256-GCM');
    expect(await decrypt(agent.privateKey, blob, { taskId: 'task_browser' })).toEqual({ api_key: 'sk_browser', note: 'from Chromium' });
  });

  it('the published vectors decrypt in Chromium, and a key pair made there works in Node', async () => {
    const decrypted = await inBrowser(
      'return Promise.all(args.vectors.map((v) => e2ee.decrypt(v.agent.privateKey, v.encrypted_credential, { taskId: v.taskId })));',
      { vectors });
    expect(decrypted).toEqual(vectors.map((v: { credential: unknown }) => v.credential));

    const made = await inBrowser('return e2ee.generateKeyPair();');
    const { encryptForAgent } = await import('@humanops/sdk');
    const blob = await encryptForAgent(made.publicKey, { ok: true }, { taskId: 'task_x' });
    expect(await inBrowser("return e2ee.decrypt(args.privateKey, args.blob, { taskId: 'task_x' });", { privateKey: made.privateKey, blob })).toEqual({ ok: true });
  });
});
