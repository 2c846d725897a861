/** The one operator client the app talks to the API through. */
import { HumanOpsOperatorClient } from '@humanops/sdk/operator';
import { API_URL } from './config.ts';
import { connectedFetch } from './connectivity.ts';
import { token } from './session.ts';

export const api = new HumanOpsOperatorClient({ baseUrl: API_URL, token, fetch: connectedFetch, maxRetries: 2, timeoutMs: 30_000 });
