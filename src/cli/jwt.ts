import { decodeJwt } from 'jose';
import { usageError } from './errors.ts';

/** What `whoami` shows from a token's claims. */
export interface TokenSummary {
  subject?: string;
  issuer?: string;
  audience?: string | string[];
  username?: string;
  email?: string;
  groups?: string[];
  expiresAt?: string;
  expired: boolean;
}

/**
 * Reads a JWT's claims WITHOUT verifying its signature: the CLI holds no keys; only the API can say whether
 * the token is valid. Used for display only, never for a decision.
 */
export function summarizeToken(token: string, now: Date = new Date()): TokenSummary {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw usageError('the stored token is not a JWT (ServiceAccount tokens are JWTs too; check the file)');
  }
  const text = (key: string) => (typeof claims[key] === 'string' ? (claims[key] as string) : undefined);
  const exp = typeof claims['exp'] === 'number' ? (claims['exp'] as number) : undefined;
  const groups = Array.isArray(claims['groups'])
    ? (claims['groups'] as unknown[]).filter((g): g is string => typeof g === 'string')
    : undefined;
  const audience = claims['aud'] as string | string[] | undefined;
  return {
    subject: text('sub'),
    issuer: text('iss'),
    ...(audience !== undefined ? { audience } : {}),
    username: text('preferred_username') ?? text('name'),
    email: text('email'),
    ...(groups ? { groups } : {}),
    ...(exp !== undefined ? { expiresAt: new Date(exp * 1000).toISOString() } : {}),
    expired: exp !== undefined && exp * 1000 <= now.getTime(),
  };
}
