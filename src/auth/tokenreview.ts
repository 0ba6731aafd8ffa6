import { isDomainError, UnauthenticatedError, UnavailableError } from '../domain/errors.ts';
import type { Identity } from './identity.ts';

/** User info as a TokenReview status reports it. */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The outcome of a TokenReview (`authentication.k8s.io/v1`). */
export interface TokenReviewResult {
  authenticated: boolean;
  user?: ReviewedUser;
  /** The requested audiences the token is valid for (`status.audiences`). */
  audiences?: string[];
  /** The apiserver's explanation when not authenticated. */
  error?: string;
}

/**
 * Port to the apiserver's TokenReview. The implementation over src/kube lives there; it should throw
 * Unavailable when the apiserver cannot be reached. `audiences` are the token audiences to require.
 */
export interface TokenReviewPort {
  reviewToken(token: string, audiences?: string[]): Promise<TokenReviewResult>;
}

/** Authenticates Kubernetes ServiceAccount tokens (and any bearer token the apiserver knows). */
export interface ServiceAccountAuthenticator {
  authenticate(token: string): Promise<Identity>;
}

/** Builds a TokenReview-backed authenticator; `audiences` are passed on to every review. */
export function createServiceAccountAuthenticator(
  port: TokenReviewPort,
  options: { audiences?: string[] } = {},
): ServiceAccountAuthenticator {
  return {
    async authenticate(token) {
      let result: TokenReviewResult;
      try {
        result = await port.reviewToken(token, options.audiences);
      } catch (error) {
        if (isDomainError(error, 'Unavailable')) throw error;
        throw Object.assign(new UnavailableError('token review failed'), { cause: error });
      }
      if (!result.authenticated || !result.user?.username) {
        throw new UnauthenticatedError('token not accepted by the cluster');
      }
      // An authenticator that ignores spec.audiences answers with no (or other) audiences: such a token was
      // made for someone else (the apiserver itself, another service) and must not be replayed here.
      const wanted = options.audiences ?? [];
      if (wanted.length > 0 && !(result.audiences ?? []).some((audience) => wanted.includes(audience))) {
        throw new UnauthenticatedError('token not issued for this API (audience)');
      }
      const { user } = result;
      return {
        kind: 'serviceaccount',
        username: user.username,
        uid: user.uid,
        groups: user.groups ?? [],
        extra: user.extra ?? {},
      };
    },
  };
}
