/**
 * `npm start`'s one server, never deployed (supabase/config.toml declares only `api`): the same API
 * as the edge function at /api, and beside it on the same origin the operator app's files and the
 * local sign-in. API requests go straight to the API's app: no proxy, no second process.
 *
 * Besides the API's settings: HUMANOPS_SIGN_IN_KEY (the local issuer's private JWK; without it, or
 * in live mode, there is no local sign-in), HUMANOPS_TLS_CERT / HUMANOPS_TLS_KEY / HUMANOPS_TLS_CA
 * (PEM files: serve HTTPS on HUMANOPS_HOST, and the CA at /local/ca.crt for a phone to install).
 * Beyond loopback, plain HTTP on 127.0.0.1 at the same port stays for this machine's own tools.
 */
import { fileURLToPath } from 'node:url';
import { isLoopbackHost, loadConfig, processEnv } from '../_shared/config.ts';
import { log } from '../_shared/log.ts';
import { buildApi, type Listener, serve } from '../api/server.ts';
import { localTokenMinter } from './sign-in.ts';
import { createSite } from './site.ts';

const env = processEnv();
const config = loadConfig(env);
const { app: api, db } = buildApi(config);

const { issuer, authorizedParties } = config.operatorAuth;
const signInKey = env.HUMANOPS_SIGN_IN_KEY;
if (signInKey && config.mode === 'live') log('warn', 'local sign-in refused in live mode', {});
const signIn = signInKey && config.mode !== 'live' && issuer ? await localTokenMinter(signInKey, issuer, authorizedParties[0]) : undefined;

const caCertificate = env.HUMANOPS_TLS_CA ? await Deno.readTextFile(env.HUMANOPS_TLS_CA) : undefined;
// The chain goes out whole (server certificate, then the authority), as TLS clients expect it.
const tls = env.HUMANOPS_TLS_CERT && env.HUMANOPS_TLS_KEY
  ? { cert: `${(await Deno.readTextFile(env.HUMANOPS_TLS_CERT)).trim()}\n${caCertificate ?? ''}`, key: await Deno.readTextFile(env.HUMANOPS_TLS_KEY) }
  : undefined;
const site = createSite({
  distDir: fileURLToPath(new URL('../../app/dist', import.meta.url)),
  signIn,
  caCertificate: tls ? caCertificate : undefined,
  mapTileUrl: env.VITE_MAP_TILE_URL,
});

const listeners: Listener[] = [{ hostname: config.host, port: config.port, tls }];
const everyAddress = ['0.0.0.0', '::', '[::]'].includes(config.host);
if (tls && !isLoopbackHost(config.host) && !everyAddress) listeners.push({ hostname: '127.0.0.1', port: config.port });

/** Where a URL's path starts: after the scheme and the authority. */
const pathStart = (url: string) => url.indexOf('/', url.indexOf('//') + 2);

serve(config, db, (request, info) => {
  const url = request.url;
  const at = pathStart(url);
  const isApi = url.startsWith('/api', at) && (url.length === at + 4 || '/?'.includes(url[at + 4]));
  return isApi ? api.fetch(request, { remoteAddr: info.remoteAddr }) : site.fetch(request);
}, listeners);
