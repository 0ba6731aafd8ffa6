import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import {
  UnauthenticatedError as Unauthenticated,
  UnavailableError as Unavailable,
} from '../domain/errors.ts';
import { mapOidcClaims, oidcClaimRules } from '../domain/oidc.ts';
import { createCaTrustingFetch } from './fetch.ts';
import type { FetchLike } from './fetch.ts';
import type { Identity } from './identity.ts';

/** Tokens larger than this are refused before any parsing (the apiserver's own limit is in this range). */
export const MAX_TOKEN_BYTES = 8 * 1024;

/** Algorithms accepted when the configuration names none: never `none`, never HMAC. */
export const DEFAULT_ALGORITHMS = ['RS256', 'ES256'] as const;

/**
 * One trusted OIDC issuer. The claim mappings must match the kube-apiserver's authentication
 * configuration for the same issuer, so the API hands RBAC the very user and groups kubectl would.
 */
export interface OidcIssuerConfig {
  /** Issuer URL, exactly as in the tokens' `iss` and the discovery document. */
  issuer: string;
  /** Accepted `aud` values; a token must carry at least one. */
  audiences: string[];
  /** Allowed JWS algorithms. Default {@link DEFAULT_ALGORITHMS}. */
  algorithms?: string[];
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Claim holding the username. Default `sub`. */
  usernameClaim?: string;
  /** Prefix put before the username (the apiserver's `claimMappings.username.prefix`). Default none. */
  usernamePrefix?: string;
  /** Claim holding the groups (string or string array). Default `groups`. */
  groupsClaim?: string;
  /** Prefix put before each group. Default none. */
  groupsPrefix?: string;
  /** JWKS URL; when absent it is read from the issuer's discovery document on first use. */
  jwksUri?: string;
  /** PEM bundle trusted for the issuer's https endpoints (a private CA). */
  caPem?: string;
  /** Timeout for discovery and JWKS requests, in milliseconds. Default 5000. */
  httpTimeoutMs?: number;
  /** Fetch used for discovery and JWKS; defaults to global fetch, or a CA-trusting one with `caPem`. */
  fetch?: FetchLike;
}

/** Verifies bearer JWTs of one issuer offline against its published keys. */
export interface OidcVerifier {
  readonly issuer: string;
  /** Resolves the issuer's identity for a valid token; throws Unauthenticated or Unavailable. */
  verify(token: string): Promise<Identity>;
  /** Fetches the discovery document now, so a misconfigured issuer fails at start-up. */
  warmUp(): Promise<void>;
}

/** Raised inside the key lookup when the issuer cannot be reached; it must not look like a bad token. */
class IssuerUnreachable extends Error {}

/** Builds a verifier with one JWKS cache for the issuer (never one per request). */
export function createOidcVerifier(config: OidcIssuerConfig): OidcVerifier {
  const fetchImpl: FetchLike =
    config.fetch ?? (config.caPem ? createCaTrustingFetch(config.caPem) : (url, init) => fetch(url, init));
  const timeoutMs = config.httpTimeoutMs ?? 5000;
  const algorithms = config.algorithms ?? [...DEFAULT_ALGORITHMS];
  let keySet: Promise<JWTVerifyGetKey> | undefined;

  const loadKeySet = async (): Promise<JWTVerifyGetKey> => {
    const jwksUri = config.jwksUri ?? (await discoverJwksUri(config.issuer, fetchImpl, timeoutMs));
    return createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs, [customFetch]: fetchImpl });
  };
  const keySetOnce = (): Promise<JWTVerifyGetKey> => {
    keySet ??= loadKeySet().catch((error: unknown) => {
      keySet = undefined; // retry discovery on the next request instead of failing forever
      throw new IssuerUnreachable(`OIDC discovery failed: ${describe(error)}`);
    });
    return keySet;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const resolve = await keySetOnce();
    try {
      return await resolve(header, token);
    } catch (error) {
      if (isTokenFault(error)) throw error;
      throw new IssuerUnreachable(`JWKS unavailable: ${describe(error)}`);
    }
  };

  return {
    issuer: config.issuer,
    async warmUp() {
      try {
        await keySetOnce();
      } catch (error) {
        throw new Unavailable(`issuer ${config.issuer} cannot be reached`, undefined, { cause: error });
      }
    },
    async verify(token) {
      if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw new Unauthenticated('token too large');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms,
          issuer: config.issuer,
          audience: config.audiences,
          clockTolerance: config.clockToleranceSeconds ?? 30,
          requiredClaims: ['exp'],
        }));
      } catch (error) {
        if (error instanceof IssuerUnreachable) {
          throw new Unavailable(`issuer ${config.issuer} cannot be reached`, undefined, { cause: error });
        }
        throw new Unauthenticated(explainJoseError(error));
      }
      return identityFromClaims(payload, config);
    },
  };
}

/** Reads `iss` from a JWT without verifying it, to pick the verifier; undefined when not a JWT. */
export function peekIssuer(token: string): string | undefined {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return undefined;
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** Maps the user and groups the way the apiserver's claim mappings do (the rules in domain/oidc.ts). */
export function identityFromClaims(payload: JWTPayload, config: OidcIssuerConfig): Identity {
  const { username, groups } = mapOidcClaims(payload, oidcClaimRules(config));
  return { kind: 'oidc', username, groups, extra: {} };
}

/** A short, safe reason for a rejected token (never echoes the token). */
export function explainJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return 'token not yet valid';
    if (error.claim === 'iss') return 'unexpected issuer';
    if (error.claim === 'aud') return 'unexpected audience';
    return `claim "${error.claim}" invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'signing algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no issuer key matches the token';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'ambiguous signing key';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  if (error instanceof errors.JOSENotSupported) return 'unsupported token or key type';
  return 'token rejected';
}

function isTokenFault(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported
  );
}

async function discoverJwksUri(issuer: string, fetchImpl: FetchLike, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetchImpl(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  if (response.status !== 200) throw new Error(`discovery answered HTTP ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: the document must name the very issuer it was fetched for.
  if (document.issuer !== issuer) throw new Error('discovery document names a different issuer');
  if (typeof document.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
  return document.jwks_uri;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
