/**
 * The local sign-in's tokens: signed with the local issuer's private key (the one `npm start` keeps
 * in the data dir and publishes as its JWKS), shaped as the issuer's own tokens are, so the API
 * verifies them exactly as it verifies Clerk's.
 */
import { importJWK, SignJWT } from 'jose';

const ALG = 'RS256';

export async function localTokenMinter(keyFile: string, issuer: string, authorizedParty: string | undefined) {
  const jwk = JSON.parse(await Deno.readTextFile(keyFile));
  const key = await importJWK({ ...jwk, alg: ALG }, ALG);
  return (operatorId: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'authenticated', ...(authorizedParty ? { azp: authorizedParty } : {}) })
      .setProtectedHeader({ alg: ALG, kid: jwk.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(operatorId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 8 * 3600)
      .sign(key);
  };
}
