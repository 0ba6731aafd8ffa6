import { UnauthenticatedError as Unauthenticated } from '../domain/errors.ts';
import type { Identity } from './identity.ts';
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

/** Composes the OIDC verifiers and TokenReview into one bearer authenticator. */
export function createAuthenticator(sources: AuthenticatorSources): Authenticator {
  const byIssuer = new Map(sources.oidc.map((verifier) => [verifier.issuer, verifier]));
  return {
    async authenticate(header) {
      const token = bearerToken(header);
      const issuer = peekIssuer(token);
      const verifier = issuer === undefined ? undefined : byIssuer.get(issuer);
      if (verifier) return verifier.verify(token);
      if (sources.serviceAccounts) return sources.serviceAccounts.authenticate(token);
      throw new Unauthenticated(issuer === undefined ? 'malformed token' : 'token issuer not trusted');
    },
  };
}

/** Extracts the token of a `Bearer` authorization header, refusing oversized ones before parsing. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new Unauthenticated('missing bearer token');
  if (header.length > MAX_TOKEN_BYTES + 'Bearer '.length) throw new Unauthenticated('token too large');
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new Unauthenticated('authorization header is not a bearer token');
  return match[1];
}
