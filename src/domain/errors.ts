/**
 * Domain errors. They say what went wrong in the domain's terms and know nothing of HTTP; the API's edge
 * maps them to status codes and problem+json, the operator to conditions and retries.
 */

/** Base of every domain error; `code` is a stable discriminator for mapping and tests. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
}

export type DomainErrorCode =
  'NotFound' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unauthenticated' | 'Unavailable' | 'QuotaExceeded';

/** The named thing does not exist (or the caller may not know it exists). */
export class NotFoundError extends DomainError {
  readonly code = 'NotFound';
  constructor(
    readonly resource: string,
    readonly resourceName: string,
    message = `${resource} ${JSON.stringify(resourceName)} not found`,
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request clashes with the current state (already exists, in use, changed concurrently). */
export class ConflictError extends DomainError {
  readonly code = 'Conflict';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** One bad input value: `pointer` is a JSON Pointer (RFC 6901) into the input, e.g. `/spec/replicas`. */
export interface FieldViolation {
  pointer: string;
  message: string;
}

/** The input is malformed or breaks a rule; `violations` names every bad field. */
export class InvalidError extends DomainError {
  readonly code = 'Invalid';
  constructor(
    readonly violations: FieldViolation[],
    message = violations.map((v) => `${v.pointer || '/'}: ${v.message}`).join('; ') || 'invalid input',
  ) {
    super(message);
    this.name = 'InvalidError';
  }
}

/** The caller is known but not allowed to do this. */
export class ForbiddenError extends DomainError {
  readonly code = 'Forbidden';
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The caller could not be identified (missing, expired or invalid credentials). */
export class UnauthenticatedError extends DomainError {
  readonly code = 'Unauthenticated';
  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}

/** A dependency (apiserver, object store, issuer) cannot answer now; retrying later may succeed. */
export class UnavailableError extends DomainError {
  readonly code = 'Unavailable';
  /** `message` reaches the caller; `options.cause` (a backend's own error, which may name internal
   *  addresses) only reaches the server's log. */
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

/** Doing this would exceed one of the tenant's quotas. */
export class QuotaExceededError extends DomainError {
  readonly code = 'QuotaExceeded';
  constructor(
    readonly quota: 'maxEndpoints' | 'cpu' | 'memory' | 'storageBytes' | 'openUploads' | 'certificates',
    readonly limit: string,
    readonly requested: string,
    message = `quota ${quota} exceeded: limit ${limit}, would be ${requested}`,
  ) {
    super(message);
    this.name = 'QuotaExceededError';
  }
}

/** Whether `error` is a domain error (of the given code, when one is given). */
export function isDomainError(error: unknown, code?: DomainErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}

/** JSON Pointer (RFC 6901) for a path of keys and indexes, e.g. ['spec', 'replicas'] → `/spec/replicas`. */
export function jsonPointer(path: readonly (string | number)[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
