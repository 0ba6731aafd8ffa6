/** How the caller proved who they are. */
export type IdentityKind = 'oidc' | 'serviceaccount';

/**
 * An authenticated caller, in the shape Kubernetes uses for user info, so the same values can be passed
 * to a SubjectAccessReview and RBAC decides exactly as it would for kubectl.
 */
export interface Identity {
  kind: IdentityKind;
  /** Username as the apiserver sees it (prefix applied), e.g. `oidc:alice` or `system:serviceaccount:ns:sa`. */
  username: string;
  /** Stable id where the token source provides one (TokenReview); absent for OIDC. */
  uid?: string;
  /** Group names as the apiserver sees them (prefix applied). */
  groups: string[];
  /** Extra user info (TokenReview `extra`), passed through to SubjectAccessReviews. */
  extra: Record<string, string[]>;
}
