import { createHash } from 'node:crypto';
import { UnauthenticatedError as Unauthenticated, isDomainError } from '../domain/errors.ts';
import type { Identity } from './identity.ts';
import { decodeJwt } from 'jose';
import { MAX_TOKEN_BYTES, peekIssuer } from './jwt.ts';
import type { OidcVerifier } from './jwt.ts';
import type { ServiceAccountAuthenticator } from './tokenreview.ts';

/** Turns an `Authorization` header into an Identity, or throws Unauthenticated / Unavailable. */
export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): Promise<Identity>;
}

/** The token sources the API trusts. */
export interface AuthenticatorSources {
  /** OIDC issuers, matched by the token's `iss`. */
  oidc: OidcVerifier[];
  /**
   * ServiceAccount tokens via TokenReview. Every token that is not from one of the OIDC issuers goes
   * here (service-account JWTs, whatever their issuer string, and opaque tokens), so the apiserver stays
   * the judge of tokens it issued. Absent: such tokens are refused.
   */
  serviceAccounts?: ServiceAccountAuthenticator;
}

/** How long a successful authentication is reused, like the kube-apiserver's token cache. */
export interface AuthenticationCacheOptions {
  /** Default 10 s; 0 turns the cache off. A JWT is never reused past its own `exp`. */
  ttlMs?: number;
  /** Default 4096 tokens; the oldest entry goes first. */
  maxEntries?: number;
  /**
   * How long a refused token stays refused without asking again (default 5 s; 0 turns it off), so a client
   * repeating an unknown token costs one TokenReview, not one per request. Kept short: a token that starts
   * working (a ServiceAccount created a moment later) is refused at most this long. Never past 30 s.
   */
  refusedTtlMs?: number;
  now?: () => number;
}

/**
 * Composes the OIDC verifiers and TokenReview into one bearer authenticator. Successes are cached briefly by
 * token: signature checks and TokenReviews dominate the cost of an authenticated request otherwise. Refusals
 * are cached for a shorter time, under a hash of the token (refused tokens are attacker-chosen: the cache
 * holds no token text and is bounded), and concurrent requests with one token share one verification.
 * Failures to verify (an unreachable apiserver or JWKS) are never cached.
 */
export function createAuthenticator(
  sources: AuthenticatorSources,
  cache: AuthenticationCacheOptions = {},
): Authenticator {
  const byIssuer = new Map(sources.oidc.map((verifier) => [verifier.issuer, verifier]));
  const ttlMs = cache.ttlMs ?? 10_000;
  const refusedTtlMs = Math.min(cache.refusedTtlMs ?? 5_000, 30_000);
  const maxEntries = cache.maxEntries ?? 4096;
  const now = cache.now ?? Date.now;
  const verified = new Map<string, { identity: Identity; expiresAt: number }>();
  const refused = new Map<string, { error: unknown; expiresAt: number }>();
  const inFlight = new Map<string, Promise<Identity>>();

  const verify = async (token: string): Promise<Identity> => {
    const issuer = peekIssuer(token);
    const verifier = issuer === undefined ? undefined : byIssuer.get(issuer);
    if (verifier) return verifier.verify(token);
    if (sources.serviceAccounts) return sources.serviceAccounts.authenticate(token);
    throw new Unauthenticated(issuer === undefined ? 'malformed token' : 'token issuer not trusted');
  };

  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= maxEntries) map.delete(map.keys().next().value!);
    map.set(key, value);
  };

  const verifyAndRemember = async (token: string, digest: string): Promise<Identity> => {
    const at = now();
    let identity: Identity;
    try {
      identity = await verify(token);
    } catch (error) {
      if (refusedTtlMs > 0 && isDomainError(error, 'Unauthenticated')) {
        remember(refused, digest, { error, expiresAt: at + refusedTtlMs });
      }
      throw error;
    }
    if (ttlMs > 0)
      remember(verified, token, { identity, expiresAt: Math.min(at + ttlMs, tokenExpiry(token)) });
    return identity;
  };

  return {
    async authenticate(header) {
      const token = bearerToken(header);
      const at = now();
      const hit = verified.get(token);
      if (hit && hit.expiresAt > at) return hit.identity;
      if (hit) verified.delete(token);
      const digest = createHash('sha256').update(token).digest('base64url');
      const refusal = refused.get(digest);
      if (refusal && refusal.expiresAt > at) throw refusal.error;
      if (refusal) refused.delete(digest);
      const pending = inFlight.get(digest);
      if (pending) return pending;
      const verification = verifyAndRemember(token, digest).finally(() => inFlight.delete(digest));
      inFlight.set(digest, verification);
      return verification;
    },
  };
}

/** A JWT's `exp` in epoch ms; opaque tokens (TokenReview decides) have none of their own. */
function tokenExpiry(token: string): number {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Extracts the token of a `Bearer` authorization header, refusing oversized ones before parsing. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new Unauthenticated('missing bearer token');
  if (header.length > MAX_TOKEN_BYTES + 'Bearer '.length) throw new Unauthenticated('token too large');
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new Unauthenticated('authorization header is not a bearer token');
  return match[1];
}
