/**
 * The identity a client certificate stands for, in the (username, groups) form Kubernetes RBAC understands.
 * Authorino builds the same pair from the certificate subject (see docs/pki.md) and asks a
 * SubjectAccessReview with it; the API uses it when it lists or grants certificate access, so both agree.
 */
export interface CertificateIdentity {
  username: string;
  groups: string[];
}

/** Prefix of every client-certificate username; no real user or ServiceAccount name can start with it. */
export const CLIENT_CERTIFICATE_USERNAME_PREFIX = 'tenantmesh:client:';

/** The RBAC group every client certificate of `tenant` belongs to. */
export function clientCertificateGroup(tenant: string): string {
  return `tenantmesh:clients:${tenant}`;
}

/**
 * Maps a client certificate of `tenant` with subject CN `commonName` to its RBAC identity:
 * username `tenantmesh:client:<tenant>:<cn>`, groups [`tenantmesh:clients:<tenant>`].
 * The tenant is part of the name because CNs are only unique within one tenant's CA.
 */
export function certificateIdentity(tenant: string, commonName: string): CertificateIdentity {
  return {
    username: `${CLIENT_CERTIFICATE_USERNAME_PREFIX}${tenant}:${commonName}`,
    groups: [clientCertificateGroup(tenant)],
  };
}
