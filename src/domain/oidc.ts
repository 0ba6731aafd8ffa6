import { UnauthenticatedError } from './errors.ts';
import { RESERVED_NAME_PREFIX } from './identity.ts';
import type { OidcIssuer } from './platform.ts';

/**
 * One issuer's claim mappings with the defaults applied, in the kube-apiserver's terms (structured
 * authentication configuration, `jwt[].claimMappings`). The API's verifier and the AuthConfig renderer both
 * derive their rules from this, so the management plane and the data plane map a token the same way.
 */
export interface OidcClaimRules {
  usernameClaim: string;
  /** `claimMappings.username.prefix`; empty for none. */
  usernamePrefix: string;
  groupsClaim: string;
  /** `claimMappings.groups.prefix`; empty for none. */
  groupsPrefix: string;
  /**
   * The username is the `email` claim, so `email_verified` must be absent or `true` (as the apiserver requires):
   * otherwise whoever gets an IdP to issue an unverified address becomes that address's user.
   */
  requireVerifiedEmail: boolean;
}

/** The rules of an issuer's configuration (defaults: username from `sub`, groups from `groups`, no prefixes). */
export function oidcClaimRules(
  issuer: Pick<OidcIssuer, 'usernameClaim' | 'usernamePrefix' | 'groupsClaim' | 'groupsPrefix'>,
): OidcClaimRules {
  const usernameClaim = issuer.usernameClaim ?? 'sub';
  return {
    usernameClaim,
    usernamePrefix: issuer.usernamePrefix ?? '',
    groupsClaim: issuer.groupsClaim ?? 'groups',
    groupsPrefix: issuer.groupsPrefix ?? '',
    requireVerifiedEmail: usernameClaim === 'email',
  };
}

/** The user and groups a verified token maps to, before Kubernetes' implicit groups are added. */
export interface OidcUser {
  username: string;
  groups: string[];
}

/**
 * Maps verified claims to a user the way the apiserver's claim mappings do, and refuses (Unauthenticated, with
 * the reason) a missing username, an unverified email username, and any mapped name in Kubernetes' reserved
 * `system:` space: an IdP group `system:masters` must never reach a SubjectAccessReview.
 */
export function mapOidcClaims(claims: Record<string, unknown>, rules: OidcClaimRules): OidcUser {
  const rawUsername = claims[rules.usernameClaim];
  if (typeof rawUsername !== 'string' || rawUsername === '') {
    throw new UnauthenticatedError(`claim "${rules.usernameClaim}" missing`);
  }
  if (rules.requireVerifiedEmail && 'email_verified' in claims && claims['email_verified'] !== true) {
    throw new UnauthenticatedError('email not verified');
  }
  const rawGroups = claims[rules.groupsClaim];
  const groupClaims = typeof rawGroups === 'string' ? [rawGroups] : Array.isArray(rawGroups) ? rawGroups : [];
  const username = `${rules.usernamePrefix}${rawUsername}`;
  const groups = groupClaims
    .filter((group): group is string => typeof group === 'string')
    .map((group) => `${rules.groupsPrefix}${group}`);
  if (username.startsWith(RESERVED_NAME_PREFIX)) {
    throw new UnauthenticatedError(
      `claim "${rules.usernameClaim}" maps to a username in the reserved "${RESERVED_NAME_PREFIX}" space`,
    );
  }
  const reserved = groups.find((group) => group.startsWith(RESERVED_NAME_PREFIX));
  if (reserved !== undefined) {
    throw new UnauthenticatedError(
      `claim "${rules.groupsClaim}" maps to group "${reserved}" in the reserved "${RESERVED_NAME_PREFIX}" space`,
    );
  }
  return { username, groups };
}
