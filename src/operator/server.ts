import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What the probe server asks of the operator. */
export interface ProbeTarget {
  /** Liveness: the process is able to answer. */
  isAlive(): boolean;
  /** Readiness: leading with synced caches (a standby replica is alive but not ready). */
  isReady(): boolean;
  registry: Registry;
}

/** A small HTTP server for /healthz, /readyz and /metrics. */
export async function startProbeServer(
  target: ProbeTarget,
  port: number,
  host = '127.0.0.1',
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') =>
      response.writeHead(status, { 'content-type': type }).end(body);
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return reply(405, 'method not allowed\n');
    if (path === '/healthz') return target.isAlive() ? reply(200, 'ok\n') : reply(503, 'not alive\n');
    if (path === '/readyz') return target.isReady() ? reply(200, 'ok\n') : reply(503, 'not ready\n');
    if (path === '/metrics') {
      target.registry.metrics().then(
        (text) => reply(200, text, target.registry.contentType),
        () => reply(500, 'metrics unavailable\n'),
      );
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
