/**
 * The HumanOps MCP server: the agent API as tools an assistant can call. Thin by design: every tool
 * calls @humanops/sdk, never the database or raw HTTP.
 */
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { HumanOpsClient } from '@humanops/sdk';
import { KeyStore } from './keystore.ts';
import { registerAccountTools } from './tools/account.ts';
import { registerCredentialTools } from './tools/credentials.ts';
import { registerLimitTools } from './tools/limits.ts';
import { registerMessageTools } from './tools/messages.ts';
import { registerReviewTools } from './tools/review.ts';
import { registerSandboxTools } from './tools/sandbox.ts';
import { registerTaskTools } from './tools/tasks.ts';

export interface ServerOptions {
  apiKey: string;
  /** The API origin (HUMANOPS_API_URL), e.g. https://api.humanops.io or the local stack's http://127.0.0.1:54321. */
  apiUrl?: string;
  keyDir: string;
}

export const VERSION = '0.1.0';

export interface Context {
  client: HumanOpsClient;
  keys: KeyStore;
  testMode: boolean;
}

export function createServer(options: ServerOptions): McpServer {
  const server = new McpServer({ name: 'humanops', version: VERSION }, {
    // Task-augmented tool calls (wait_for_task); handles live as long as this process.
    capabilities: { tasks: { requests: { tools: { call: {} } } } },
    taskStore: new InMemoryTaskStore(),
    instructions: 'Commission real-world tasks (photos, verifications, deliveries, inspections) and digital tasks (CAPTCHAs, forms, reviews, credentials) from verified human operators. Money is in USD; posting a task escrows reward + platform fee from the deposit balance.',
  });
  const context: Context = {
    client: new HumanOpsClient({ apiKey: options.apiKey, baseUrl: options.apiUrl }),
    keys: new KeyStore(options.keyDir),
    testMode: options.apiKey.startsWith('ho_test_'),
  };
  registerTaskTools(server, context);
  registerCredentialTools(server, context);
  registerReviewTools(server, context);
  registerMessageTools(server, context);
  registerAccountTools(server, context);
  registerLimitTools(server, context);
  if (context.testMode) registerSandboxTools(server, context);
  return server;
}
