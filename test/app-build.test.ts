// The production build of the operator app for a static host: the API's origin and Clerk's
// publishable key are build-time settings, the page's CSP names exactly those hosts, the shell is
// listed for the service worker, and the first load stays within its budget.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const APP = new URL('../app/', import.meta.url).pathname;
const KEY = `pk_live_${Buffer.from('clerk.example.com$').toString('base64')}`;

describe('the operator app built for production', () => {
  let out: string;
  let printed: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'humanops-app-'));
    printed = execFileSync(join(APP, '../node_modules/.bin/vite'), ['build', '--outDir', out, '--emptyOutDir'], {
      cwd: APP,
      env: { ...process.env, VITE_HUMANOPS_API_URL: 'https://api.example.com', VITE_CLERK_PUBLISHABLE_KEY: KEY },
      encoding: 'utf8',
    });
  }, 120_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('prints the first-load size against the budget', () => {
    const [, kb] = printed.match(/first-load JS ([\d.]+) kB gzip \(budget 150 kB\)/) ?? [];
    expect(Number(kb)).toBeGreaterThan(0);
    expect(Number(kb)).toBeLessThanOrEqual(150);
  });

  it("prints the owner's console's first load against its own budget", () => {
    const [, kb] = printed.match(/console: first-load JS ([\d.]+) kB gzip \(budget 150 kB\)/) ?? [];
    expect(Number(kb)).toBeGreaterThan(0);
    expect(Number(kb)).toBeLessThanOrEqual(150);
  });

  it('writes a CSP naming only the API and Clerk as outside hosts', async () => {
    const html = await readFile(join(out, 'index.html'), 'utf8');
    const csp = (html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '').replaceAll('&#39;', "'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self' https://clerk.example.com");
    // Third review (finding 6): the exact Frontend API host, no wildcard over every Clerk instance.
    expect(csp).toContain("connect-src 'self' https://api.example.com https://clerk.example.com;");
    expect(csp).not.toContain('*');
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-eval');
  });

  // Third review (finding 6): browsers ignore frame-ancestors in a meta tag, so the build ships the
  // headers a static host must send, in the `_headers` format Netlify and Cloudflare Pages read.
  it('ships the headers a static host must send, anti-framing included, and keeps them out of the shell', async () => {
    const headers = await readFile(join(out, '_headers'), 'utf8');
    const html = await readFile(join(out, 'index.html'), 'utf8');
    const meta = (html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '').replaceAll('&#39;', "'");
    expect(headers).toContain(`Content-Security-Policy: ${meta}; frame-ancestors 'none'`);
    expect(headers).toContain('X-Frame-Options: DENY');
    expect(headers).toContain('X-Content-Type-Options: nosniff');
    expect(headers).toMatch(/\/sw\.js\n {2}Cache-Control: no-cache/);
    expect(meta).not.toContain('frame-ancestors');
    expect(await readFile(join(out, 'sw.js'), 'utf8')).not.toContain('_headers');
  });

  it('calls the configured API and lists the whole shell for the service worker', async () => {
    const assets = await readdir(join(out, 'assets'));
    const js = (await Promise.all(assets.filter((f) => f.endsWith('.js')).map((f) => readFile(join(out, 'assets', f), 'utf8')))).join('\n');
    expect(js).toContain('https://api.example.com');
    const sw = await readFile(join(out, 'sw.js'), 'utf8');
    // The console's own files (its entry, styles, chart and QR code) are not the operator's shell.
    const consoleOnly = assets.filter((f) => /^(console|spend-chart|qr-code)-/.test(f));
    expect(consoleOnly.length).toBeGreaterThanOrEqual(3);
    for (const file of [...assets.filter((f) => !consoleOnly.includes(f)).map((f) => `./assets/${f}`), './manifest.webmanifest', './icon-192.png', './icon-512.png']) expect(sw).toContain(`"${file}"`);
    for (const file of consoleOnly) expect(sw).not.toContain(file);
    expect(sw).not.toContain('console/index.html');
    expect(sw).not.toContain('console/sw.js');
    // The console's own worker, for approval alerts only: it caches nothing.
    const consoleWorker = await readFile(join(out, 'console', 'sw.js'), 'utf8');
    expect(consoleWorker).toContain("addEventListener('push'");
    expect(consoleWorker).not.toMatch(/caches\.(open|match)/);
  });

  it("builds the owner's console as a second page under the same CSP", async () => {
    const page = await readFile(join(out, 'console', 'index.html'), 'utf8');
    const operator = await readFile(join(out, 'index.html'), 'utf8');
    const csp = (html: string) => html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1];
    expect(csp(page)).toBeTruthy();
    expect(csp(page)).toBe(csp(operator));
    expect(page).toMatch(/src="\.\.\/assets\/console-[\w-]+\.js"/);
  });
});
