import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { createApp } from './app.ts';
import type { ApiDeps } from './app.ts';
import { DEFAULT_REQUEST_TIME_LIMITS, watchRequestBody } from './slow-clients.ts';
import type { RequestTimeLimits } from './slow-clients.ts';

/** A listening API server. */
export interface RunningApiServer {
  server: Server;
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Starts the API on `host:port` (port 0 picks a free one). */
export async function startApiServer(
  deps: ApiDeps,
  options: { port: number; host: string },
): Promise<RunningApiServer> {
  const running = await listen(createApp(deps), options);
  deps.logger.info({ url: running.url }, 'management API listening');
  return running;
}

/** Serves a built app over HTTP on `host:port`. */
export async function listen(
  app: Koa,
  options: { port: number; host: string; limits?: Partial<RequestTimeLimits> },
): Promise<RunningApiServer> {
  const limits = { ...DEFAULT_REQUEST_TIME_LIMITS, ...options.limits };
  const handle = app.callback();
  // Slow clients must not hold sockets forever: every body has a total and an idle deadline, which upload
  // routes relax (allowLongUpload) once the caller is authorized. Node's requestTimeout stays off because
  // it cannot make that exception.
  // Node checks header deadlines on this interval (default 30 s): a fraction of the deadline keeps it honest.
  const connectionsCheckingInterval = Math.max(250, Math.min(5_000, Math.floor(limits.headersMs / 4)));
  const server = createServer({ connectionsCheckingInterval }, (request, response) => {
    watchRequestBody(request, limits);
    void handle(request, response);
  });
  server.headersTimeout = limits.headersMs;
  server.requestTimeout = 0;
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
