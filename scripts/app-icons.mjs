// Regenerates the operator app's PNG icons (app/public/icon-192.png, icon-512.png) from icon.svg in Debian's
// Chromium: `node scripts/app-icons.mjs` after changing the SVG. The PNGs are committed.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
const svg = readFileSync('app/public/icon.svg', 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
for (const size of [192, 512]) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(`<style>html,body{margin:0}svg{width:${size}px;height:${size}px;display:block}</style>${svg}`);
  await page.screenshot({ path: `app/public/icon-${size}.png`, omitBackground: true });
}
await browser.close();
