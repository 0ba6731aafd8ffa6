import { isDomainError } from '../domain/errors.ts';
import { Conflict, Invalid, NotFound, Unavailable } from './errors.ts';

/** Network failures that mean "the object store is not there right now", not "the request was wrong". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** S3 error codes that mean the store itself is struggling; the caller may retry later. */
const SERVER_SIDE_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'XMinioServerNotInitialized',
  'XMinioStorageFull',
]);

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchBucket', 'NoSuchUpload', 'NotFound', 'NoSuchVersion']);

const INVALID_CODES = new Set([
  'EntityTooSmall',
  'EntityTooLarge',
  'InvalidPart',
  'InvalidPartOrder',
  'BadDigest',
  'IncompleteBody',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
]);

/** The `code` of an S3 error response or a Node.js system error, if the value carries one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Translates what minio-js (or our own streaming requests) threw into the domain errors the API maps to status
 * codes. `what` names the thing the caller asked about ("version m/1") so a 404 says what is missing.
 * Errors that are already domain errors pass through; unknown ones are rethrown untouched (a 500 is right for
 * them: they are our bugs or a misconfiguration such as wrong root credentials).
 */
export function toDomainError(error: unknown, what: string): Error {
  if (isDomainError(error)) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code !== undefined) {
    if (NOT_FOUND_CODES.has(code)) return new NotFound(`${what} not found`);
    if (code === 'PreconditionFailed') return new Conflict(`${what} already exists`);
    if (INVALID_CODES.has(code)) return new Invalid(`${what}: ${detail}`);
    if (UNREACHABLE_CODES.has(code) || SERVER_SIDE_CODES.has(code)) {
      return new Unavailable(`object store unavailable (${code})`, { cause: error });
    }
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new Invalid(`${what}: the upload was interrupted`, [{ pointer: 'body', reason: 'interrupted' }]);
  }
  if (error instanceof Error && (error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new Invalid(`${what}: the upload was interrupted`, [{ pointer: 'body', reason: 'interrupted' }]);
  }
  return error instanceof Error ? error : new Error(detail);
}

/** An error answer of our own streaming S3 requests, shaped like minio-js's S3Error (it has a `code`). */
export class S3ResponseError extends Error {
  override readonly name = 'S3ResponseError';
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads `<Code>` and `<Message>` out of an S3 XML error body. */
export function parseS3ErrorBody(statusCode: number, body: string): S3ResponseError {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? `HTTP${statusCode}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? `object store answered ${statusCode}`;
  return new S3ResponseError(code, statusCode, message);
}
