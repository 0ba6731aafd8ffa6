import type { Readable } from 'node:stream';
import { CliError, ExitCode, type ExitCodeValue } from './errors.ts';

/** An RFC 9457 problem as the API sends it (docs/api.md). */
export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  requestId?: string;
  invalidParams?: { pointer?: string; parameter?: string; reason: string }[];
}

/** A failed API call, already phrased for a terminal: `409 Conflict: version 1 of model m already exists`. */
export class ApiError extends CliError {
  constructor(
    message: string,
    exitCode: ExitCodeValue,
    readonly status: number,
    readonly problem?: ProblemBody,
  ) {
    super(message, exitCode);
  }
}

/** The exit code an HTTP status means. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status === 401) return ExitCode.unauthenticated;
  if (status === 403) return ExitCode.permissionDenied;
  if (status === 404) return ExitCode.notFound;
  if (status === 409 || status === 412) return ExitCode.conflict;
  if (status === 408 || status === 504) return ExitCode.deadline;
  if (status === 502 || status === 503) return ExitCode.unavailable;
  if (status >= 400 && status < 500) return ExitCode.usage;
  return ExitCode.failure;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Turns an error response into one readable line. Uses the problem's title and detail, lists rejected
 * fields, quotes the request id for server errors (what an operator needs to find the log line), and adds
 * a hint for 401.
 */
export function problemMessage(status: number, problem: ProblemBody | undefined, statusText = ''): string {
  const title = problem?.title || STATUS_TEXT[status] || statusText || 'Error';
  let message = `${status} ${title}`;
  if (problem?.detail && problem.detail !== title) message += `: ${problem.detail}`;
  const fields = (problem?.invalidParams ?? [])
    .map((p) => `${p.pointer ?? p.parameter ?? '?'}: ${p.reason}`)
    .filter((text) => !message.includes(text));
  if (fields.length > 0) message += ` (${fields.join('; ')})`;
  if (status >= 500 && problem?.requestId) message += ` [request id ${problem.requestId}]`;
  if (status === 401)
    message += ' (run `tenantmesh login` again: the token is missing, expired or not trusted)';
  return message;
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  server: string;
  token?: string;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

/** A request as {@link ApiClient.request} takes it. */
export interface ApiRequest {
  method?: string;
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** A streamed body; `contentLength` should be set (parts require it). */
  body?: Readable;
  contentLength?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Typed access to the management API. The token goes into the Authorization header and nowhere else. */
export class ApiClient {
  readonly #server: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.#server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Sends a request and returns the response when it is 2xx; otherwise throws an {@link ApiError}. */
  async request(request: ApiRequest): Promise<Response> {
    const url = new URL(this.#server + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = { Accept: 'application/json', ...request.headers };
    if (this.#token) headers['Authorization'] = `Bearer ${this.#token}`;
    let body: RequestInit['body'];
    if (request.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.body) {
      headers['Content-Type'] = 'application/octet-stream';
      if (request.contentLength !== undefined) headers['Content-Length'] = String(request.contentLength);
      body = request.body as unknown as RequestInit['body'];
    }
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: request.method ?? 'GET',
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(request.body ? { duplex: 'half' } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      } as RequestInit);
    } catch (error) {
      throw connectionError(url, error);
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  /** A JSON request whose answer is JSON (or nothing, for 202/204). */
  async json<T>(request: ApiRequest): Promise<T> {
    const response = await this.request(request);
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  get<T>(path: string, query?: Record<string, string | undefined>): Promise<T> {
    return this.json<T>({ path, ...(query ? { query } : {}) });
  }
  post<T>(path: string, json: unknown = {}): Promise<T> {
    return this.json<T>({ method: 'POST', path, json });
  }
  patch<T>(path: string, json: unknown): Promise<T> {
    return this.json<T>({ method: 'PATCH', path, json });
  }
  delete<T>(path: string, query?: Record<string, string | undefined>): Promise<T> {
    return this.json<T>({ method: 'DELETE', path, ...(query ? { query } : {}) });
  }
}

/** Reads a non-2xx response into an {@link ApiError}. */
export async function toApiError(response: Response): Promise<ApiError> {
  let problem: ProblemBody | undefined;
  const text = await response.text().catch(() => '');
  const contentType = response.headers.get('content-type') ?? '';
  if (/json/.test(contentType) && text !== '') {
    try {
      problem = JSON.parse(text) as ProblemBody;
    } catch {
      problem = undefined;
    }
  }
  return new ApiError(
    problemMessage(response.status, problem, response.statusText),
    exitCodeForStatus(response.status),
    response.status,
    problem,
  );
}

function connectionError(url: URL, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  const where = url.origin;
  if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') {
    return new CliError(`request to ${where} timed out`, ExitCode.deadline);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new CliError(
      `TLS failure talking to ${where}: ${cause?.message ?? code} (a private CA can be trusted with NODE_EXTRA_CA_CERTS)`,
      ExitCode.tls,
    );
  }
  return new CliError(
    `cannot reach the API at ${where}: ${cause?.message ?? (error as Error).message}`,
    ExitCode.unavailable,
  );
}

/** Path segment escaping for names that come from the command line. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
