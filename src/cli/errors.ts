/**
 * Exit codes of the `tenantmesh` command. Scripts branch on them, so they are part of the interface and
 * documented in docs/cli.md; never renumber one.
 */
export const ExitCode = {
  ok: 0,
  /** Anything not covered below (including server errors). */
  failure: 1,
  /** Bad command line or bad input (unknown flag, malformed JSON, a 400/422 from the API). */
  usage: 2,
  /** No usable credential: not logged in, expired or rejected token (401, gRPC UNAUTHENTICATED). */
  unauthenticated: 3,
  /** Authenticated but not allowed (403, gRPC PERMISSION_DENIED). */
  permissionDenied: 4,
  /** The tenant, model, version, endpoint or upload does not exist (404, gRPC NOT_FOUND). */
  notFound: 5,
  /** Conflicts with the current state: already exists, in use, quota exceeded (409). */
  conflict: 6,
  /** The TLS handshake failed: untrusted server certificate, wrong server name, client certificate refused. */
  tls: 7,
  /** The call did not finish in time (gRPC DEADLINE_EXCEEDED, HTTP timeout). */
  deadline: 8,
  /** Nothing answered, or the server is unavailable (connection refused, 503). */
  unavailable: 9,
} as const;

/** One of {@link ExitCode}'s values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line (`error: <message>`) and turns into its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
  ) {
    super(message);
  }
}

/** Bad command-line input, reported with exit code {@link ExitCode.usage}. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}
