import { status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

/** What went wrong with an inference call, as a caller decides what to do about it. */
export type InferErrorKind =
  | 'tls'
  | 'permission-denied'
  | 'unauthenticated'
  | 'deadline-exceeded'
  | 'unavailable'
  | 'not-found'
  | 'invalid-input'
  | 'call-failed';

/** Base class of every error the infer client throws; `kind` says which, `grpcCode` is the raw status. */
export class InferError extends Error {
  override readonly name: string = 'InferError';
  constructor(
    readonly kind: InferErrorKind,
    message: string,
    readonly grpcCode?: status,
    readonly details?: string,
  ) {
    super(message);
  }
}

/** The TLS handshake failed: untrusted server certificate, wrong server name, or our client certificate refused. */
export class InferTlsError extends InferError {
  override readonly name = 'InferTlsError';
}
/** Authenticated, but RBAC does not allow this identity to call the endpoint (HTTP 403 at the gateway). */
export class InferPermissionDeniedError extends InferError {
  override readonly name = 'InferPermissionDeniedError';
}
/** No usable credential: missing or invalid client certificate or bearer token (HTTP 401 at the gateway). */
export class InferUnauthenticatedError extends InferError {
  override readonly name = 'InferUnauthenticatedError';
}
/** The call did not finish within its deadline. */
export class InferDeadlineExceededError extends InferError {
  override readonly name = 'InferDeadlineExceededError';
}
/** Nothing answered at the address, or the connection dropped (not a TLS problem). */
export class InferUnavailableError extends InferError {
  override readonly name = 'InferUnavailableError';
}
/** The server does not know the model (or version). */
export class InferNotFoundError extends InferError {
  override readonly name = 'InferNotFoundError';
}
/** The request was rejected before sending: tensor data and shape or datatype disagree. */
export class InferInputError extends InferError {
  override readonly name = 'InferInputError';
  constructor(message: string) {
    super('invalid-input', message);
  }
}

// Node/OpenSSL and grpc-js phrase handshake failures in these terms; a plain refused connection does not.
const TLS_FAILURE =
  /ssl|tls|certificate|handshake|alert|self[- ]signed|unable to (get|verify)|altnames|hostname\/ip does not match|ERR_TLS/i;

/** Turns a grpc-js error into the matching {@link InferError} subclass. */
export function toInferError(error: ServiceError, what: string): InferError {
  const details = error.details || error.message;
  switch (error.code) {
    case status.PERMISSION_DENIED:
      return new InferPermissionDeniedError(
        'permission-denied',
        `${what}: permission denied: ${details}`,
        error.code,
        details,
      );
    case status.UNAUTHENTICATED:
      return new InferUnauthenticatedError(
        'unauthenticated',
        `${what}: unauthenticated: ${details}`,
        error.code,
        details,
      );
    case status.DEADLINE_EXCEEDED:
      return new InferDeadlineExceededError(
        'deadline-exceeded',
        `${what}: deadline exceeded`,
        error.code,
        details,
      );
    case status.NOT_FOUND:
      return new InferNotFoundError('not-found', `${what}: not found: ${details}`, error.code, details);
    case status.UNAVAILABLE:
      return TLS_FAILURE.test(details)
        ? new InferTlsError('tls', `${what}: TLS handshake failed: ${details}`, error.code, details)
        : new InferUnavailableError(
            'unavailable',
            `${what}: server unavailable: ${details}`,
            error.code,
            details,
          );
    default:
      return new InferError(
        'call-failed',
        `${what}: ${status[error.code] ?? error.code}: ${details}`,
        error.code,
        details,
      );
  }
}
