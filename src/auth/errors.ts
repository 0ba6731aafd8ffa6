/**
 * Stand-in for the domain errors the API and auth layers throw.
 *
 * NOTE: `src/domain/errors.ts` (NotFound, Conflict, Invalid, Forbidden, Unauthenticated, Unavailable,
 * QuotaExceeded) is being written in parallel. Until it lands, these classes carry the same `name`s, and the
 * API edge (`src/api/problem.ts`) maps errors structurally by `name`, so either set of classes is understood.
 * Once the domain module exists, this file should re-export from it.
 */

/** The caller presented no usable credentials; answered 401 with a Bearer challenge. */
export class Unauthenticated extends Error {
  override readonly name = 'Unauthenticated';
}

/** A dependency (issuer JWKS, apiserver, object store) could not answer; answered 503. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

/** The caller may see the resource but not perform the action; answered 403. */
export class Forbidden extends Error {
  override readonly name = 'Forbidden';
}

/** The resource does not exist or the caller may not know it exists; answered 404. */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}

/** The request conflicts with current state (already exists, stale resourceVersion); answered 409. */
export class Conflict extends Error {
  override readonly name = 'Conflict';
}

/** One field of a rejected input, addressed by a JSON pointer into the request body. */
export interface InvalidField {
  pointer: string;
  reason: string;
}

/** The input is well-formed JSON but breaks a rule; answered 422 naming the fields. */
export class Invalid extends Error {
  override readonly name = 'Invalid';
  constructor(
    message: string,
    readonly fields: InvalidField[] = [],
  ) {
    super(message);
  }
}
