import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { authenticatorFor, type Authenticator } from './credentials.ts';
import { KubeError, kubeErrorFromResponse, toKubeError } from './errors.ts';
import type { KubeConnection } from './kubeconfig.ts';

/** Query parameters of one apiserver request; undefined values are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

/** One request to the apiserver, with a JSON body already in wire form. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: QueryParams;
  body?: unknown;
  contentType?: string;
  /** The media type asked for; default `application/json`. */
  accept?: string;
  signal?: AbortSignal;
}

/** Tuning of the connection pools; the defaults suit one operator or API replica. */
export interface KubeHttpOptions {
  /** Concurrent requests (watches excluded) to the apiserver; more wait for a free connection. */
  maxSockets?: number;
  /** Clock for token-file refreshes (tests). */
  now?: () => number;
}

/** The apiserver answers or times out a request within 60 s by default; silence for twice that is a dead link. */
const requestIdleTimeoutMs = 120_000;

/**
 * The JSON-over-HTTP layer under the facade: node's own HTTP client with keep-alive pools, our kubeconfig
 * handling and plain JSON in and out. It does not use the Kubernetes client library's transport: importing
 * that library costs over 100 MiB of memory (it loads every generated API model), its serializer drops fields
 * its models do not know (so `fieldValidation=Strict` could never see them) and turns timestamps into
 * `Date`s, which breaks comparing desired with observed state.
 */
export class KubeHttp {
  private readonly server: URL;
  private readonly transport: typeof http | typeof https;
  /** Short requests share a bounded keep-alive pool. */
  private readonly requestAgent: http.Agent;
  /** Watches hold their connection for minutes, so they get their own pool and never starve requests. */
  private readonly watchAgent: http.Agent;
  private readonly authenticate: Authenticator;

  constructor(connection: KubeConnection, options: KubeHttpOptions = {}) {
    this.server = new URL(connection.server);
    const secure = this.server.protocol === 'https:';
    this.transport = secure ? https : http;
    const tls = secure ? tlsOptions(connection) : {};
    const Agent = secure ? https.Agent : http.Agent;
    this.requestAgent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 32,
      // Close idle connections before the apiserver does (Go's default idle timeout is 90 s).
      timeout: 60_000,
      ...tls,
    });
    this.watchAgent = new Agent({ keepAlive: true, ...tls });
    this.authenticate = authenticatorFor(connection.credentials, options.now);
  }

  /** Sends the request and returns the parsed JSON body; any non-2xx answer throws a KubeError. */
  async json<T>(request: KubeRequest): Promise<T> {
    const response = await this.send(request, this.requestAgent, requestIdleTimeoutMs);
    const text = await readBody(response);
    const code = response.statusCode ?? 0;
    if (code < 200 || code > 299) throw kubeErrorFromResponse(code, text);
    return (text.length > 0 ? JSON.parse(text) : {}) as T;
  }

  /**
   * Sends the request and returns the decoded text chunks of a 2xx answer as they arrive (watches); other
   * answers throw a KubeError. Aborting `request.signal` ends the iteration with an error.
   */
  async stream(request: KubeRequest): Promise<AsyncIterable<string>> {
    // The server ends a watch after timeoutSeconds; silence well past that means the connection is dead.
    const serverTimeout = request.query?.['timeoutSeconds'];
    const idleTimeoutMs = typeof serverTimeout === 'number' ? (serverTimeout + 30) * 1000 : undefined;
    const response = await this.send(request, this.watchAgent, idleTimeoutMs);
    const code = response.statusCode ?? 0;
    if (code < 200 || code > 299) throw kubeErrorFromResponse(code, await readBody(response));
    // A string decoder, so a UTF-8 character split across chunks arrives whole.
    response.setEncoding('utf8');
    return response as AsyncIterable<string>;
  }

  /** Releases pooled connections (tests, shutdown). */
  close(): void {
    this.requestAgent.destroy();
    this.watchAgent.destroy();
  }

  private async send(
    request: KubeRequest,
    agent: http.Agent,
    idleTimeoutMs: number | undefined,
  ): Promise<IncomingMessage> {
    const url = new URL(this.server.href.replace(/\/+$/, '') + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    let auth;
    try {
      auth = await this.authenticate();
    } catch (err) {
      throw toKubeError(err);
    }
    const headers: OutgoingHttpHeaders = { Accept: request.accept ?? 'application/json', ...auth.headers };
    let body: Buffer | undefined;
    if (request.body !== undefined) {
      body = Buffer.from(JSON.stringify(request.body));
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = body.length;
    }
    const options: https.RequestOptions = { method: request.method, headers, agent };
    if (idleTimeoutMs !== undefined) options.timeout = idleTimeoutMs;
    if (request.signal) options.signal = request.signal;
    if (auth.cert) options.cert = auth.cert;
    if (auth.key) options.key = auth.key;
    try {
      return await this.exchange(url, options, body);
    } catch (err) {
      if (!isStaleConnection(err)) throw networkError(err);
      // The apiserver closed a pooled idle connection as we reused it; the request never reached it.
      try {
        return await this.exchange(url, options, body);
      } catch (retryErr) {
        throw networkError(retryErr);
      }
    }
  }

  private exchange(
    url: URL,
    options: https.RequestOptions,
    body: Buffer | undefined,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.transport.request(url, options, resolve);
      // A connection that stays silent this long is dead (the peer vanished without closing it).
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('apiserver connection timed out'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (err: Error & { reusedSocket?: boolean }) => {
        err.reusedSocket = req.reusedSocket;
        reject(err);
      });
      req.end(body);
    });
  }
}

function tlsOptions(connection: KubeConnection): https.AgentOptions {
  const { ca, cert, key, rejectUnauthorized, servername } = connection.tls;
  const options: https.AgentOptions = { rejectUnauthorized };
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (servername) options.servername = servername;
  return options;
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (err) {
    throw networkError(err);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isStaleConnection(err: unknown): boolean {
  const { code, reusedSocket } = err as { code?: unknown; reusedSocket?: boolean };
  return reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE');
}

/**
 * Any failure to get an answer (refused, reset, TLS verification, abort) is a retryable `Network` error,
 * as it was when requests went through fetch.
 */
function networkError(err: unknown): KubeError {
  if (err instanceof KubeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KubeError({ code: 0, reason: 'Network', message, retryable: true, cause: err });
}
