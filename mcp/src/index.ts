#!/usr/bin/env node
// stdio entry: `npx @humanops/mcp`. Only protocol on stdout; everything else on stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { defaultKeyDir } from './keystore.ts';
import { createServer } from './server.ts';

const apiKey = process.env.HUMANOPS_API_KEY;
if (!apiKey) {
  console.error('humanops-mcp: set HUMANOPS_API_KEY (and HUMANOPS_API_URL for a server other than https://api.humanops.io)');
  process.exit(1);
}
const server = createServer({ apiKey, apiUrl: process.env.HUMANOPS_API_URL, keyDir: defaultKeyDir() });
await server.connect(new StdioServerTransport());
console.error(`humanops-mcp: ready (${process.env.HUMANOPS_API_URL ?? 'https://api.humanops.io'})`);
