// Smoke test of the installed @humanops/mcp: started the way a client's config starts it
// (`npx @humanops/mcp`), then over stdio: initialize, tools/list, and one call to the real API.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const api = process.env.HUMANOPS_API_URL;
const registered = await (await fetch(`${api}/api/v1/agents/register`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'smoke-mcp', email: 'mcp@example.com' }),
})).json();
const transport = new StdioClientTransport({
  command: 'npx',
  args: ['--no', '@humanops/mcp'],
  env: { ...process.env, HUMANOPS_API_KEY: registered.api_key, HUMANOPS_API_URL: api },
  stderr: 'pipe',
});
const client = new Client({ name: 'humanops-smoke', version: '1.0.0' });
await client.connect(transport); // initialize + initialized
const { tools } = await client.listTools();
const balance = await client.callTool({ name: 'get_balance', arguments: {} });
await client.close();
console.log(JSON.stringify({
  format: 'mcp', server: client.getServerVersion(), tools: tools.map((t) => t.name).sort(), balance: balance.structuredContent, isError: balance.isError ?? false,
}));
