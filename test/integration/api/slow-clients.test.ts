import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyPlatformRbac,
  callersOf,
  createTenant,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';
import { waitFor } from '../../../src/testenv/wait.ts';

const T = `slow-${suffix()}`;
// Short budgets so the test runs in seconds; production defaults are in src/api/slow-clients.ts.
const limits = { headersMs: 1_500, bodyMs: 1_500, bodyIdleMs: 1_000, uploadIdleMs: 3_000, maxConnections: 6 };

/** A raw client that sends `head`, then one body byte every `everyMs`; resolves how the server ended it. */
function trickle(
  url: string,
  head: string,
  bytes: number,
  everyMs: number,
): Promise<{ closedAfterMs: number; response: string; sent: number }> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let response = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('utf8').on('data', (chunk: string) => (response += chunk));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent >= bytes || socket.destroyed) return clearInterval(timer);
        socket.write('x');
        sent++;
      }, everyMs);
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, response, sent });
    });
  });
}

describe('the API cuts off clients that send their request slowly', () => {
  let harness: ApiUnderTest;
  let callers: Callers;

  beforeAll(async () => {
    harness = await startApiUnderTest({ requestLimits: limits });
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T);
  });

  afterAll(async () => {
    await removeTenant(harness, T);
    await harness?.api.close();
  });

  it('closes an unauthenticated request whose declared body trickles in, even after answering it', async () => {
    // 200 bytes at one every 100 ms would hold the socket for 20 s; the body deadline is 1.5 s.
    const head = `POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
    const outcome = await trickle(harness.api.url, head, 200, 100);
    expect(outcome.sent).toBeLessThan(200);
    expect(outcome.closedAfterMs).toBeLessThan(limits.bodyMs + 2_000);
  });

  it('closes a request whose headers never finish', async () => {
    const outcome = await trickle(harness.api.url, 'GET /healthz HTTP/1.1\r\nX-Slow: ', 200, 100);
    expect(outcome.sent).toBeLessThan(200);
    expect(outcome.closedAfterMs).toBeLessThan(limits.headersMs + 2_000);
  });

  it('closes a body that pauses longer than the idle timeout', async () => {
    const head = `POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${callers.platformAdmin}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{`;
    const outcome = await trickle(harness.api.url, head, 1, 5_000);
    expect(outcome.sent).toBe(0);
    expect(outcome.closedAfterMs).toBeLessThan(limits.bodyIdleMs + 2_000);
  });

  it('lets an authorized upload run past the body deadline while data keeps coming, within its idle timeout', async () => {
    // 30 bytes, one every 100 ms: 3 s, twice the ordinary body deadline.
    const head =
      `PUT /v1/tenants/${T}/models/slow/versions/1/files/model.bin HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${callers.tenantAdmin}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: 30\r\nConnection: close\r\n\r\n`;
    const outcome = await trickle(harness.api.url, head, 30, 100);
    expect(outcome.sent).toBe(30);
    expect(outcome.closedAfterMs).toBeGreaterThan(limits.bodyMs);
    expect(outcome.response).toMatch(/^HTTP\/1\.1 201 /);
  });

  it('still ends an authorized upload that stops sending for longer than the upload idle timeout', async () => {
    const head =
      `PUT /v1/tenants/${T}/models/stalled/versions/1/files/model.bin HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${callers.tenantAdmin}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: 30\r\n\r\n`;
    const outcome = await trickle(harness.api.url, head, 1, 10_000);
    expect(outcome.sent).toBe(0);
    expect(outcome.closedAfterMs).toBeGreaterThan(limits.bodyMs);
    expect(outcome.closedAfterMs).toBeLessThan(limits.uploadIdleMs + 2_000);
    const versions = await harness.call('get', `/v1/tenants/${T}/models/stalled/versions`, {
      token: callers.tenantAdmin,
    });
    expect(versions.status).toBe(404);
  });

  it('refuses connections beyond the cap', async () => {
    const { port } = new URL(harness.api.url);
    const open: net.Socket[] = [];
    const connected = (socket: net.Socket) =>
      new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    try {
      for (let i = 0; i < limits.maxConnections; i++) {
        const socket = net.connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        open.push(socket);
        await connected(socket);
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // keeps it busy: headers unfinished
      }
      // A fresh connection (fetch would reuse a kept-alive one): closed without an answer.
      const refused = await trickle(harness.api.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 0, 1_000);
      const response = refused.response === '' ? 'refused' : refused.response;
      expect(response).toBe('refused');
    } finally {
      for (const socket of open) socket.destroy();
    }
    // Once those connections are gone, the server takes new ones again.
    await waitFor(async () => (await fetch(`${harness.api.url}/healthz`)).status === 200, {
      description: 'the API to accept connections again',
      timeoutMs: 5_000,
    });
  });
});
