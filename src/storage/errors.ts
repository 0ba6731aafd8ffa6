/**
 * Stand-in for the domain errors the storage layer throws.
 *
 * `src/domain/errors.ts` is being written in parallel. Until it lands these classes carry the agreed `name`s
 * (the API edge maps errors structurally by `name`), so callers can already tell NotFound from Conflict.
 * Once the domain module exists, this file should re-export from it.
 */

/** The tenant's bucket, model, version, file or upload session does not exist; answered 404. */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}

/** The version already exists, is being written by someone else, or is in use; answered 409. */
export class Conflict extends Error {
  override readonly name = 'Conflict';
}

/** One rejected input field, addressed by a JSON pointer (or a header / path parameter name). */
export interface InvalidField {
  pointer: string;
  reason: string;
}

/** The input breaks a rule (bad name, checksum mismatch, part too small or too large); answered 422. */
export class Invalid extends Error {
  override readonly name = 'Invalid';
  constructor(
    message: string,
    readonly fields: InvalidField[] = [],
  ) {
    super(message);
  }
}

/** The object store could not be reached or answered with a server-side failure; answered 503. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

/** The requested byte range lies outside the file; the API answers 416 with the file size. */
export class RangeNotSatisfiable extends Error {
  override readonly name = 'RangeNotSatisfiable';
  constructor(readonly size: number) {
    super(`requested range is outside the file (size ${size} bytes)`);
  }
}
