import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { oidcClaimRules, type OidcIssuer } from '../domain/index.ts';

/**
 * What is needed to mint tokens for the local issuer. It is plain data so the test environment can hand it to
 * test workers (vitest `provide`) and `npm start` can print a token: the issuer's key is a throwaway per run.
 */
export interface OidcSigningMaterial {
  issuerUrl: string;
  /** Audience the apiserver and the management API accept. */
  audience: string;
  kid: string;
  alg: 'RS256';
  privateJwk: JWK;
  /** PEM of the CA that signed the issuer's serving certificate. */
  caPem: string;
}

/** Claims of a test token; anything not set gets a sensible default (one hour, the platform audience). */
export interface TestTokenClaims {
  sub: string;
  email?: string;
  groups?: string[];
  aud?: string | string[];
  /** Seconds from now; negative for an already expired token. */
  expiresIn?: number;
  /** Seconds from now before which the token is not valid. */
  notBefore?: number;
  issuer?: string;
  /** More claims; they win over the defaults (e.g. `email_verified: false`). */
  extra?: Record<string, unknown>;
}

/** A running local https OIDC issuer: discovery document and JWKS on loopback. */
export interface RunningOidcIssuer {
  signing: OidcSigningMaterial;
  close(): Promise<void>;
}

/**
 * The local issuer as the platform trusts it: usernames from `email`, groups from `groups`, no prefixes. The
 * kube-apiserver's authentication configuration, the API and the AuthConfig are all derived from this.
 */
export function localOidcIssuer(
  signing: OidcSigningMaterial,
  overrides: Partial<OidcIssuer> = {},
): OidcIssuer {
  return {
    issuerUrl: signing.issuerUrl,
    audiences: [signing.audience],
    usernameClaim: 'email',
    groupsClaim: 'groups',
    certificateAuthority: signing.caPem,
    ...overrides,
  };
}

/**
 * The kube-apiserver's `jwt[]` entry (structured authentication configuration) for an issuer, with the claim
 * mappings the API and the AuthConfig apply, so kubectl sees the same user.
 */
export function apiserverJwtAuthenticator(issuer: OidcIssuer): Record<string, unknown> {
  const rules = oidcClaimRules(issuer);
  return {
    issuer: {
      url: issuer.issuerUrl,
      ...(issuer.certificateAuthority ? { certificateAuthority: issuer.certificateAuthority } : {}),
      audiences: [...issuer.audiences],
      // More than one audience (Dex's console and CLI clients) needs the policy named.
      ...(issuer.audiences.length > 1 ? { audienceMatchPolicy: 'MatchAny' } : {}),
    },
    claimMappings: {
      username: { claim: rules.usernameClaim, prefix: rules.usernamePrefix },
      groups: { claim: rules.groupsClaim, prefix: rules.groupsPrefix },
    },
  };
}

/** Starts the development/test OIDC issuer on 127.0.0.1 with a fresh RS256 key. */
export async function startOidcIssuer(options: {
  /** Serving certificate and key (PEM) for 127.0.0.1. */
  tls: { certPem: string; keyPem: string };
  caPem: string;
  audience: string;
  port?: number;
}): Promise<RunningOidcIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `tenantmesh-test-${Date.now().toString(36)}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };

  let issuerUrl = '';
  const server = https.createServer(
    { cert: options.tls.certPem, key: options.tls.keyPem },
    (request, response) => {
      const send = (body: unknown) => {
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify(body));
      };
      if (request.url === '/.well-known/openid-configuration') {
        send({
          issuer: issuerUrl,
          jwks_uri: `${issuerUrl}/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
        });
      } else if (request.url === '/keys') {
        send({ keys: [publicJwk] });
      } else {
        response.writeHead(404).end();
      }
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  issuerUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    signing: { issuerUrl, audience: options.audience, kid, alg: 'RS256', privateJwk, caPem: options.caPem },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Signs a token as the local issuer would issue it after a login. */
export async function mintToken(signing: OidcSigningMaterial, claims: TestTokenClaims): Promise<string> {
  const key = await importJWK(signing.privateJwk, signing.alg);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    email: claims.email ?? `${claims.sub}@tenantmesh.test`,
    email_verified: true,
    groups: claims.groups ?? [],
    ...claims.extra,
  })
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .setIssuer(claims.issuer ?? signing.issuerUrl)
    .setSubject(claims.sub)
    .setAudience(claims.aud ?? signing.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresIn ?? 3600));
  if (claims.notBefore !== undefined) jwt.setNotBefore(now + claims.notBefore);
  return jwt.sign(key);
}
