/**
 * Builds the operator app into app/dist, and the owner's console beside it into app/dist/console/
 * (a second page: its own entry and bundle, the same components, styles, session and CSP): Preact
 * (JSX through Vite's own transformer, no Babel), a service worker listing the operator shell's
 * files, a Content-Security-Policy for static hosts, and each page's first-load size against its
 * budget (the build fails over either).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, loadEnv, type Plugin, type Rolldown } from 'vite';

/**
 * First-load JavaScript, gzipped, that the build accepts for each page: a phone on a slow network
 * still starts fast. The operator app is listed first, so its line comes first.
 */
const PAGES = [
  { name: 'operator app', entry: 'index.html', budgetKb: 150 },
  { name: 'console', entry: 'console/index.html', budgetKb: 150 },
] as const;

type Bundle = Rolldown.OutputBundle;

/** The page an entry chunk belongs to (Vite names it after the HTML file it came from). */
const entryOf = (bundle: Bundle, page: (typeof PAGES)[number]) =>
  Object.values(bundle).find((item) => item.type === 'chunk' && item.isEntry && item.facadeModuleId === fileURLToPath(new URL(page.entry, import.meta.url)));

/** The chunks a page loads first (its entry and static imports), and with `lazy` also those it may load later. */
function reachable(bundle: Bundle, entryFile: string, lazy: boolean): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const chunk = bundle[name];
    if (chunk?.type !== 'chunk') return;
    chunk.imports.forEach(visit);
    if (lazy) chunk.dynamicImports.forEach(visit);
  };
  visit(entryFile);
  return seen;
}

/** Every file of the console that the operator app never loads: kept out of the operator's offline shell. */
function consoleOnly(bundle: Bundle): Set<string> {
  const operator = entryOf(bundle, PAGES[0]);
  const console = entryOf(bundle, PAGES[1]);
  if (!operator || !console) return new Set();
  const theirs = reachable(bundle, operator.fileName, true);
  const css = (names: Set<string>) => [...names].flatMap((name) => [...((bundle[name] as { viteMetadata?: { importedCss: Set<string> } }).viteMetadata?.importedCss ?? [])]);
  const theirCss = new Set(css(theirs));
  const ours = [...reachable(bundle, console.fileName, true)].filter((name) => !theirs.has(name));
  return new Set([...ours, ...css(new Set(ours)).filter((name) => !theirCss.has(name)), PAGES[1].entry, 'console/sw.js']);
}

/**
 * The CSP for static hosts: the API's origin and the Clerk Frontend API host that the publishable
 * key names are the only outside hosts the page may reach. It goes into the page as a meta tag and,
 * with what a meta tag cannot carry (`frame-ancestors`, anti-framing, no sniffing), into `_headers`,
 * the file Netlify and Cloudflare Pages read; docs/deploying.md shows the same for other hosts.
 */
function contentSecurityPolicy(env: Record<string, string>): Plugin {
  const api = env.VITE_HUMANOPS_API_URL ? new URL(env.VITE_HUMANOPS_API_URL).origin : '';
  const key = env.VITE_CLERK_PUBLISHABLE_KEY;
  const clerk = key ? `https://${Buffer.from(key.split('_')[2] ?? '', 'base64').toString().replace(/\$$/, '')}` : '';
  const connect = ["'self'", api, clerk].filter(Boolean).join(' ');
  // The map's tile server (app/src/config.ts has the same default): `{s}` subdomains as a wildcard.
  const template = env.VITE_MAP_TILE_URL || 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
  const tileUrl = new URL(template.replace(/\{s\}\./, 'subdomain.').replace(/\{[a-z]+\}/g, '0'));
  const tiles = `${tileUrl.protocol}//${template.includes('{s}.') ? tileUrl.host.replace(/^subdomain\./, '*.') : tileUrl.host}`;
  const policy = [
    "default-src 'self'", `script-src 'self' ${clerk}`.trim(), `style-src 'self'${clerk ? " 'unsafe-inline'" : ''}`,
    `img-src 'self' blob: data: ${tiles}${clerk ? ' https://img.clerk.com' : ''}`, `connect-src ${connect}`, `frame-src 'self' ${clerk}`.trim(),
    "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
  ].join('; ');
  const headers = [
    `Content-Security-Policy: ${policy}; frame-ancestors 'none'`,
    'X-Frame-Options: DENY',
    'X-Content-Type-Options: nosniff',
    'Referrer-Policy: no-referrer',
  ];
  const headersFile = [
    '/*', ...headers.map((h) => `  ${h}`),
    '/', '  Cache-Control: no-cache', '/index.html', '  Cache-Control: no-cache', '/sw.js', '  Cache-Control: no-cache',
    '/console/', '  Cache-Control: no-cache', '/console/index.html', '  Cache-Control: no-cache', '/console/sw.js', '  Cache-Control: no-cache',
    '/assets/*', '  Cache-Control: public, max-age=31536000, immutable', '',
  ].join('\n');
  return {
    name: 'humanops-csp',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: policy }, injectTo: 'head-prepend' }],
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: headersFile });
    },
  };
}

/** Emits sw.js with every emitted file of the shell, versioned by their content. */
function serviceWorker(): Plugin {
  return {
    name: 'humanops-service-worker',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      // The console's own service worker (approval alerts, scoped to /console/), as written.
      this.emitFile({ type: 'asset', fileName: 'console/sw.js', source: readFileSync(new URL('./console-service-worker.js', import.meta.url), 'utf8') });
      // `_headers` is the host's configuration, not part of the page; the console is not the operator's.
      const notShell = consoleOnly(bundle);
      const files = Object.keys(bundle).filter((name) => !name.endsWith('.map') && name !== 'index.html' && name !== '_headers' && !notShell.has(name)).sort();
      const copied = readdirSync(new URL('./public/', import.meta.url));
      const shell = ['./', ...[...files, ...copied].map((name) => `./${name}`)];
      const hash = createHash('sha256');
      for (const name of files) {
        const item = bundle[name];
        hash.update(name).update(item.type === 'chunk' ? item.code : item.source);
      }
      const source = readFileSync(new URL('./service-worker.js', import.meta.url), 'utf8')
        .replace('__VERSION__', JSON.stringify(hash.digest('hex').slice(0, 12)))
        .replace('__SHELL__', JSON.stringify(shell));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

/** Prints what a first visit to each page downloads (its entry chunk, static imports and CSS), gzipped, and fails over a budget. */
function budget(): Plugin {
  return {
    name: 'humanops-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const gz = (text: string | Uint8Array) => gzipSync(text).length;
      const kb = (bytes: number) => (bytes / 1024).toFixed(1);
      for (const page of PAGES) {
        const entry = entryOf(bundle, page);
        if (!entry || entry.type !== 'chunk') continue;
        const first = reachable(bundle, entry.fileName, false);
        const js = [...first].reduce((sum, name) => sum + gz((bundle[name] as { code: string }).code), 0);
        const css = [...first].flatMap((name) => [...((bundle[name] as { viteMetadata?: { importedCss: Set<string> } }).viteMetadata?.importedCss ?? [])])
          .reduce((sum, name) => sum + gz((bundle[name] as { source: string }).source), 0);
        const lazy = [...reachable(bundle, entry.fileName, true)].filter((name) => !first.has(name))
          .reduce((sum, name) => sum + gz((bundle[name] as { code: string }).code), 0);
        const line = `${page.name}: first-load JS ${kb(js)} kB gzip (budget ${page.budgetKb} kB), CSS ${kb(css)} kB gzip, loaded later ${kb(lazy)} kB gzip`;
        if (js > page.budgetKb * 1024) this.error(`over budget: ${line}`);
        process.stdout.write(`\n${line}\n`);
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), 'VITE_');
  return {
    base: './',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      target: 'es2022', outDir: 'dist', emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false },
      rolldownOptions: { input: Object.fromEntries(PAGES.map((page) => [page.entry.replace(/\/?index\.html$/, '') || 'main', page.entry])) },
    },
    plugins: [contentSecurityPolicy(env), serviceWorker(), budget()],
  };
});
