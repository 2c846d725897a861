import { Hono } from 'hono';
import { openApiDocument } from '../../../sdk/src/contract/openapi.ts';
import { VERSION } from '../../_shared/version.ts';
import type { AppEnv } from '../context.ts';

/** GET /openapi.json: the API's OpenAPI 3.1 document, generated once from the route table and its schemas. */
export function openApiRoutes() {
  let document: Record<string, unknown> | undefined;
  return new Hono<AppEnv>().get('/openapi.json', (c) => {
    document ??= openApiDocument({ version: VERSION });
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(document);
  });
}
