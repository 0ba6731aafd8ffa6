/**
 * The `reason` values of a Kubernetes `Status` that callers branch on, plus two of ours:
 * `NoKindMatch` (the server does not serve that apiVersion/kind, e.g. a CRD not installed yet) and
 * `Network` (no HTTP answer at all).
 */
export type KubeErrorReason =
  | 'NotFound'
  | 'NoKindMatch'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Gone'
  | 'Expired'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServerTimeout'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Network'
  | 'Unknown';

/** The `details` of a Kubernetes `Status`: which object, and for `Invalid` which fields. */
export interface KubeStatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

/**
 * Every failure of a call through `src/kube` is one of these, so callers decide on `reason` and
 * `retryable` instead of parsing HTTP codes and library-specific bodies. `code` is the HTTP status, or 0
 * when the server never answered.
 */
export class KubeError extends Error {
  override readonly name = 'KubeError';
  /** HTTP status code; 0 for network failures. */
  readonly code: number;
  readonly reason: KubeErrorReason;
  /** True when the same request may succeed later (conflicts, throttling, server and network errors). */
  readonly retryable: boolean;
  readonly details: KubeStatusDetails | undefined;

  constructor(init: {
    code: number;
    reason: KubeErrorReason;
    message: string;
    retryable?: boolean;
    details?: KubeStatusDetails;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.reason = init.reason;
    this.retryable = init.retryable ?? isRetryableCode(init.code);
    this.details = init.details;
  }
}

/** The wire shape of a Kubernetes `Status` object (failure answers and watch `ERROR` events). */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: KubeStatusDetails;
}

const reasonByCode: Record<number, KubeErrorReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'ServerTimeout',
};

const knownReasons = new Set<string>([
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'Gone',
  'Expired',
  'UnsupportedMediaType',
  'TooManyRequests',
  'Timeout',
  'ServerTimeout',
  'InternalError',
  'ServiceUnavailable',
]);

/**
 * Conflicts are retried because a level-triggered reconcile re-reads and converges; 422/400/403 are terminal
 * because the same request will fail the same way until someone changes the input or RBAC.
 */
function isRetryableCode(code: number): boolean {
  return code === 0 || code === 409 || code === 429 || code >= 500;
}

/** Builds a KubeError from an HTTP status code and the raw body the apiserver sent (a `Status`, usually). */
export function kubeErrorFromResponse(code: number, body: unknown, fallbackMessage?: string): KubeError {
  const status = parseStatus(body);
  if (code === 500 && status?.message && schemaMismatch.test(status.message)) {
    // Server-side apply of a field a built-in kind's schema lacks answers 500, although retrying can never
    // succeed: treat it as the invalid request it is, or a typo in a renderer would be retried forever.
    return new KubeError({ code, reason: 'Invalid', message: status.message, retryable: false });
  }
  const reason: KubeErrorReason =
    status?.reason && knownReasons.has(status.reason)
      ? (status.reason as KubeErrorReason)
      : (reasonByCode[code] ?? (code >= 500 ? 'InternalError' : 'Unknown'));
  const message =
    status?.message ??
    (typeof body === 'string' && body.length > 0 ? body.slice(0, 500) : undefined) ??
    fallbackMessage ??
    `HTTP ${code}`;
  return new KubeError({
    code,
    reason,
    message,
    ...(status?.details ? { details: status.details } : {}),
  });
}

/** Parses a `Status` from an object or a JSON string; undefined when the body is something else. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === 'object' && ('reason' in value || 'message' in value || 'code' in value)) {
    return value as KubeStatus;
  }
  return undefined;
}

const schemaMismatch = /failed to create typed patch object|field not declared in schema/;

const networkErrorCodes = /^(E[A-Z]+|UND_ERR_[A-Z_]+|ERR_SSL_[A-Z_]+|ERR_TLS_[A-Z_]+)$/;

function isNetworkError(err: Error): boolean {
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && networkErrorCodes.test(code);
}

/**
 * An error that carries an HTTP answer: a numeric status `code` and the `body` the server sent (a parsed
 * object or a string). The Kubernetes client library's `ApiException` has this shape, so errors from code
 * that still uses the library map the same way as ours, without importing it.
 */
export interface HttpStatusError {
  code: number;
  body: unknown;
  message?: string;
}

/** True for {@link HttpStatusError}-shaped values (a socket error's `code` is a string, never a number). */
export function isHttpStatusError(err: unknown): err is HttpStatusError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'number' &&
    'body' in err
  );
}

/**
 * Maps anything a Kubernetes call can throw to a KubeError: {@link HttpStatusError}s such as the library's
 * `ApiException` (whose body is a parsed object from the typed APIs and a string from
 * `KubernetesObjectApi`), socket failures, and already-mapped errors. Unknown errors become reason
 * `Unknown`, non-retryable, with the original as `cause` — never swallowed.
 */
export function toKubeError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  if (isHttpStatusError(err)) {
    const mapped = kubeErrorFromResponse(err.code, err.body, err.message);
    return new KubeError({
      code: mapped.code,
      reason: mapped.reason,
      message: mapped.message,
      retryable: mapped.retryable,
      ...(mapped.details ? { details: mapped.details } : {}),
      cause: err,
    });
  }
  if (err instanceof Error && isNetworkError(err)) {
    return new KubeError({ code: 0, reason: 'Network', message: err.message, retryable: true, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubeError({ code: 0, reason: 'Unknown', message, retryable: false, cause: err });
}

/** True when the object itself does not exist (not when its kind is unknown to the server). */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeError && err.reason === 'NotFound';
}

/** True for optimistic-concurrency failures (resourceVersion mismatch) and create races. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists');
}

/** True when a watch or list resourceVersion is too old and the caller must relist. */
export function isGone(err: unknown): boolean {
  return err instanceof KubeError && (err.code === 410 || err.reason === 'Gone' || err.reason === 'Expired');
}

/** True when the server does not serve the apiVersion/kind (CRD or API group not installed). */
export function isNoKindMatch(err: unknown): boolean {
  return err instanceof KubeError && err.reason === 'NoKindMatch';
}
