/**
 * Builds the operator app into app/dist: Preact (JSX through Vite's own transformer, no Babel), a
 * service worker listing the shell's files, a Content-Security-Policy for static hosts, and a
 * first-load size report against the budget (the build fails over it).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { defineConfig, loadEnv, type Plugin } from 'vite';

/** First-load JavaScript, gzipped, that the build accepts: a phone on a slow network still starts fast. */
const BUDGET_KB = 150;

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
  const policy = [
    "default-src 'self'", `script-src 'self' ${clerk}`.trim(), `style-src 'self'${clerk ? " 'unsafe-inline'" : ''}`,
    `img-src 'self' blob: data:${clerk ? ' https://img.clerk.com' : ''}`, `connect-src ${connect}`, `frame-src 'self' ${clerk}`.trim(),
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
      // `_headers` is the host's configuration, not part of the page.
      const files = Object.keys(bundle).filter((name) => !name.endsWith('.map') && name !== 'index.html' && name !== '_headers').sort();
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

/** Prints what a first visit downloads (the entry chunk, its static imports and CSS), gzipped, and fails over budget. */
function budget(): Plugin {
  return {
    name: 'humanops-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const entry = Object.values(bundle).find((item) => item.type === 'chunk' && item.isEntry);
      if (!entry || entry.type !== 'chunk') return;
      const seen = new Set<string>();
      const visit = (name: string) => {
        if (seen.has(name)) return;
        seen.add(name);
        const chunk = bundle[name];
        if (chunk?.type === 'chunk') chunk.imports.forEach(visit);
      };
      visit(entry.fileName);
      const gz = (text: string | Uint8Array) => gzipSync(text).length;
      const js = [...seen].reduce((sum, name) => sum + gz((bundle[name] as { code: string }).code), 0);
      const css = Object.values(bundle).filter((item) => item.type === 'asset' && item.fileName.endsWith('.css'))
        .reduce((sum, item) => sum + gz((item as { source: string }).source), 0);
      const lazy = Object.values(bundle).filter((item) => item.type === 'chunk' && !seen.has(item.fileName))
        .reduce((sum, item) => sum + gz((item as { code: string }).code), 0);
      const kb = (bytes: number) => (bytes / 1024).toFixed(1);
      const line = `first-load JS ${kb(js)} kB gzip (budget ${BUDGET_KB} kB), CSS ${kb(css)} kB gzip, loaded later ${kb(lazy)} kB gzip`;
      if (js > BUDGET_KB * 1024) this.error(`over budget: ${line}`);
      process.stdout.write(`\n${line}\n`);
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), 'VITE_');
  return {
    base: './',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
    plugins: [contentSecurityPolicy(env), serviceWorker(), budget()],
  };
});
