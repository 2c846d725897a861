/**
 * Entry point of the `api` edge function. Supabase serves it at /functions/v1/api/…, and the
 * request arrives with the path /api/v1/…; the local stack serves it at the same path.
 */
import { loadConfig, processEnv } from '../_shared/config.ts';
import { buildApi, serve } from './server.ts';

const config = loadConfig(processEnv());
const { app, db } = buildApi(config);
serve(config, db, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }));
