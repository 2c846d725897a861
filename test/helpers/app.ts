// The operator app (the built app/dist) in front of a test stack, on one origin, with the local
// sign-in backed by the test issuer — what `npm start` serves, on a free port.
import { localOperatorId, startAppServer } from '../../scripts/lib/app-server.mjs';
import { operatorToken, type Stack } from './stack.ts';

export { localOperatorId };

export async function startOperatorApp(stack: Stack): Promise<{ url: string; stop(): Promise<void> }> {
  return startAppServer({ apiOrigin: stack.url.replace(/\/api\/v1$/, ''), signIn: (sub: string) => operatorToken(sub) });
}
