import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';

/** An OIDC issuer on 127.0.0.1 serving discovery and a JWKS, with helpers to mint tokens. */
export interface LocalIssuer {
  url: string;
  publicKeyPem: string;
  /** Requests received, by path (to prove caching). */
  hits: string[];
  sign(claims?: JWTPayload, options?: { kid?: string; key?: CryptoKey; alg?: string }): Promise<string>;
  close(): Promise<void>;
}

export const AUDIENCE = 'tenantmesh';

export async function startLocalIssuer(): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  const hits: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const send = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration')
      return send({ issuer: url, jwks_uri: `${url}/keys` });
    if (req.url === '/keys') return send({ keys: [jwk] });
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    publicKeyPem: await exportSPKI(publicKey),
    hits,
    async sign(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: 'alice', groups: ['team'], ...claims })
        .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'key-1' })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : url)
        .setAudience(claims.aud ?? AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + 300)
        .sign(options.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The port of a server that was started and closed again: nothing listens there. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
