/**
 * Tenant PKI: per-tenant CAs (generated or brought by the tenant), the gateway's serving certificates, client
 * certificates (generated key or CSR), CRLs, inspection and verification. ECDSA P-256 via @peculiar/x509.
 * See docs/pki.md for the certificate profile and the certificate-to-RBAC identity mapping.
 */
export {
  createTenantCa,
  importTenantCa,
  fingerprintOf,
  tenantCaSubject,
  CLOCK_SKEW_ALLOWANCE_MS,
} from './ca.ts';
export type { TenantCa, CreateTenantCaOptions } from './ca.ts';
export { issueServingCertificate, issueClientCertificate, signCsr } from './issue.ts';
export type {
  IssuedCertificate,
  IssuedCertificateWithKey,
  ClientCertificatePolicy,
  ServingCertificateOptions,
} from './issue.ts';
export { createCrl, summariseCrl } from './crl.ts';
export type { RevokedCertificate, CrlOptions, CrlSummary } from './crl.ts';
export {
  parseCertificate,
  hostsAndValidity,
  needsRotation,
  validityNeedsRotation,
  DEFAULT_ROTATION_THRESHOLD,
} from './inspect.ts';
export type { CertificateInfo, HostsAndValidity, RotationThreshold } from './inspect.ts';
export { verifyClientCertificate } from './verify.ts';
export type { VerifyClientCertificateOptions } from './verify.ts';
export {
  certificateIdentity,
  clientCertificateGroup,
  CLIENT_CERTIFICATE_USERNAME_PREFIX,
} from './identity.ts';
export type { CertificateIdentity } from './identity.ts';
export {
  InvalidCaError,
  InvalidCsrError,
  InvalidCertificateRequestError,
  CertificateRejectedError,
} from './errors.ts';
export type { InvalidCaReason, InvalidCsrReason, CertificateRejectionReason } from './errors.ts';
export { normaliseSerialNumber } from './keys.ts';
