import { ConflictError, InvalidError, NotFoundError, UnavailableError } from '../domain/errors.ts';

/**
 * The domain errors (src/domain/errors.ts) with constructors shaped for the storage layer. They are the domain
 * classes (`instanceof NotFoundError`, `code: 'NotFound'`), so the API edge and the operator map them as usual.
 */

/** The tenant's bucket, model, version, file or upload session does not exist. */
export class NotFound extends NotFoundError {
  constructor(message: string) {
    super('object', '', message);
  }
}

/** The version already exists, is being written or deleted by someone else, or is in use. */
export class Conflict extends ConflictError {}

/** One rejected input field: a JSON pointer (or a path parameter / header name) and why. */
export interface InvalidField {
  pointer: string;
  reason: string;
}

/** The input breaks a rule (bad name, checksum mismatch, part too small or too large, truncated body). */
export class Invalid extends InvalidError {
  constructor(message: string, fields: InvalidField[] = []) {
    super(
      fields.map((f) => ({ pointer: f.pointer, message: f.reason })),
      message,
    );
  }
}

/** The object store could not be reached or answered with a server-side failure. */
export class Unavailable extends UnavailableError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message);
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * The requested byte range lies outside the file. An Invalid for anything that does not know it; the models
 * router answers it with 416 and `Content-Range: bytes * /<size>`.
 */
export class RangeNotSatisfiable extends InvalidError {
  constructor(readonly size: number) {
    super(
      [{ pointer: 'Range', message: 'outside the file' }],
      `requested range is outside the file (size ${size} bytes)`,
    );
    this.name = 'RangeNotSatisfiable';
  }
}
