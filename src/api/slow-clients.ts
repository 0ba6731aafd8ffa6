import type { IncomingMessage } from 'node:http';

/**
 * How long a client may take to send a request. Node's own `requestTimeout` covers the whole request for every
 * route alike, which would cut off a large model upload; these limits are enforced per request instead, so
 * an upload route can trade the total deadline for a generous, but still bounded, idle timeout.
 */
export interface RequestTimeLimits {
  /** Time allowed to receive the headers (Node's `headersTimeout`). */
  headersMs: number;
  /** Time allowed to receive the whole body of an ordinary request, counted from its headers. */
  bodyMs: number;
  /** Longest pause between two chunks of an ordinary request's body. */
  bodyIdleMs: number;
  /** Longest pause between two chunks of an upload's body (no total deadline: large files take long). */
  uploadIdleMs: number;
  /** Open connections served at once; the server refuses more. */
  maxConnections: number;
}

export const DEFAULT_REQUEST_TIME_LIMITS: RequestTimeLimits = {
  headersMs: 20_000,
  bodyMs: 60_000,
  bodyIdleMs: 20_000,
  uploadIdleMs: 120_000,
  maxConnections: 1_024,
};

interface BodyWatch {
  total: NodeJS.Timeout;
  idleMs: number;
  limits: RequestTimeLimits;
  restartIdle(): void;
}

const watches = new WeakMap<IncomingMessage, BodyWatch>();

/**
 * Destroys the connection of a request whose body is not complete within `bodyMs`, or pauses longer than
 * `bodyIdleMs`. It runs whether or not a route reads the body: an unauthenticated client that declares a body
 * and trickles it is cut off even after its 401 went out (Node keeps reading the rest of the body).
 */
export function watchRequestBody(request: IncomingMessage, limits: RequestTimeLimits): void {
  // Most requests (every GET) carry no body: two timers and a hook per request would be pure overhead.
  if (request.complete || !declaresBody(request.headers)) return;
  const cutOff = () => request.socket.destroy();
  let idle: NodeJS.Timeout | undefined;
  const watch: BodyWatch = {
    total: setTimeout(cutOff, limits.bodyMs),
    idleMs: limits.bodyIdleMs,
    limits,
    restartIdle() {
      clearTimeout(idle);
      idle = setTimeout(cutOff, watch.idleMs);
    },
  };
  watches.set(request, watch);
  watch.restartIdle();
  const done = () => {
    clearTimeout(watch.total);
    clearTimeout(idle);
    watches.delete(request);
  };
  // Node's parser hands every body chunk to push(); watching there, rather than listening for 'data', leaves
  // the stream paused until the route (or Node's own drain after the response) reads it.
  const push = request.push.bind(request);
  request.push = (chunk: unknown, encoding?: BufferEncoding) => {
    watch.restartIdle();
    return push(chunk, encoding);
  };
  request.once('end', done);
  request.once('close', done);
}

/**
 * Whether a request has a body to wait for: HTTP/1.1 frames a request body only by Content-Length or
 * Transfer-Encoding (RFC 9112 §6.3), so a request with neither, or with a length of 0, has none.
 */
export function declaresBody(headers: IncomingMessage['headers']): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Lets an authorized upload take as long as it needs while data keeps arriving: drops the total deadline and
 * stretches the idle timeout to `uploadIdleMs`. Routes call it only after the caller was authorized.
 */
export function allowLongUpload(request: IncomingMessage): void {
  const watch = watches.get(request);
  if (!watch) return;
  clearTimeout(watch.total);
  watch.idleMs = watch.limits.uploadIdleMs;
  watch.restartIdle();
}
