/**
 * Typed PKI errors. They carry a machine-readable `reason` so the API can answer with a 4xx that says what is
 * wrong, and know nothing of HTTP themselves.
 */

/** Why a certificate authority (generated or brought by the tenant) cannot be used. */
export type InvalidCaReason =
  | 'malformed'
  | 'not-a-ca'
  | 'cannot-sign-certificates'
  | 'expired'
  | 'not-yet-valid'
  | 'key-mismatch'
  | 'unsupported-key';

/** The CA certificate or key is unusable; `reason` says which check failed. */
export class InvalidCaError extends Error {
  override readonly name = 'InvalidCaError';
  constructor(
    readonly reason: InvalidCaReason,
    message: string,
  ) {
    super(message);
  }
}

/** Why a certificate signing request was refused. */
export type InvalidCsrReason = 'malformed' | 'bad-signature' | 'unsupported-key' | 'weak-key';

/** The CSR cannot be signed; `reason` says which check failed. */
export class InvalidCsrError extends Error {
  override readonly name = 'InvalidCsrError';
  constructor(
    readonly reason: InvalidCsrReason,
    message: string,
  ) {
    super(message);
  }
}

/** A request to issue a certificate that policy does not allow (bad names, bad validity). */
export class InvalidCertificateRequestError extends Error {
  override readonly name = 'InvalidCertificateRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Why a presented client certificate was not accepted. */
export type CertificateRejectionReason =
  | 'malformed'
  | 'untrusted-issuer'
  | 'not-yet-valid'
  | 'expired'
  | 'not-a-client-certificate'
  | 'revoked'
  | 'invalid-crl';

/** A client certificate failed verification; `reason` says which check failed. */
export class CertificateRejectedError extends Error {
  override readonly name = 'CertificateRejectedError';
  constructor(
    readonly reason: CertificateRejectionReason,
    message: string,
  ) {
    super(message);
  }
}
