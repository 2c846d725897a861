import { Hono } from 'hono';
import { openApiDocument } from '../../../sdk/src/contract/openapi.ts';
import { VERSION } from '../../_shared/version.ts';
import type { AppEnv } from '../context.ts';

/**
 * GET /openapi.json: the API's OpenAPI 3.1 document, generated once from the route table and its
 * schemas. Its `servers` entry is `apiBaseUrl` when the server knows its public base URL (on
 * Supabase), else the base URL this request reached (scheme, host, port and the path before
 * /openapi.json), so a client generated from it calls the server it was fetched from.
 */
export function openApiRoutes(apiBaseUrl?: string) {
  let document: Record<string, unknown> | undefined;
  return new Hono<AppEnv>().get('/openapi.json', (c) => {
    document ??= openApiDocument({ version: VERSION });
    const url = new URL(c.req.url);
    const serverUrl = apiBaseUrl ?? `${url.origin}${url.pathname.replace(/\/openapi\.json$/, '')}`;
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({ ...document, servers: [{ url: serverUrl, description: 'This server' }] });
  });
}
