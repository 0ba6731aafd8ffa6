import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  formatTarget,
  listenOnLoopback,
  parseTarget,
  serveInNamespace,
  socketPathFor,
} from '../../../src/localcluster/forwarder.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the namespace forwarder', () => {
  it('round-trips its target argument and refuses anything but name=ipv4:port', () => {
    const target = { name: 'apiserver', host: '10.89.0.2', port: 6443 };
    expect(parseTarget(formatTarget(target))).toEqual(target);
    expect(() => parseTarget('apiserver=kubernetes:443')).toThrow(/name=ipv4:port/);
    expect(() => parseTarget('x=1.2.3.4')).toThrow(/name=ipv4:port/);
  });

  it('relays a loopback connection through the Unix socket to the target and back', async () => {
    const echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => echo.close(() => resolve())));
    const port = (echo.address() as net.AddressInfo).port;
    const socketDir = mkdtempSync(path.join(os.tmpdir(), 'tm-fwd-'));
    cleanups.push(() => rmSync(socketDir, { recursive: true, force: true }));
    const servers = serveInNamespace(socketDir, [{ name: 'echo', host: '127.0.0.1', port }]);
    cleanups.push(() => {
      for (const server of servers) server.close();
    });
    await new Promise((resolve) => servers[0]!.once('listening', resolve));
    const listener = await listenOnLoopback(socketPathFor(socketDir, 'echo'));
    cleanups.push(() => listener.close());

    const reply = await new Promise<string>((resolve, reject) => {
      const client = net.connect(listener.port, '127.0.0.1', () => client.write('ping'));
      client.once('data', (data) => {
        resolve(data.toString());
        client.destroy();
      });
      client.on('error', reject);
    });
    expect(reply).toBe('ping');
  });

  it('adds no delayed-ACK stall to a message written in two pieces, either way (TCP_NODELAY on both legs)', async () => {
    // The target answers each two-byte request with two bytes, written a millisecond apart: with Nagle's
    // algorithm on a relay leg the second piece waits for the peer's delayed ACK (40 ms or more on Linux).
    const target = net.createServer((socket) => {
      socket.setNoDelay(true);
      let received = 0;
      socket.on('data', (data) => {
        received += data.length;
        for (; received >= 2; received -= 2) {
          socket.write('x');
          setTimeout(() => socket.write('y'), 1);
        }
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => target.close(() => resolve())));
    const port = (target.address() as net.AddressInfo).port;
    const socketDir = mkdtempSync(path.join(os.tmpdir(), 'tm-fwd-'));
    cleanups.push(() => rmSync(socketDir, { recursive: true, force: true }));
    const servers = serveInNamespace(socketDir, [{ name: 'pieces', host: '127.0.0.1', port }]);
    cleanups.push(() => {
      for (const server of servers) server.close();
    });
    await new Promise((resolve) => servers[0]!.once('listening', resolve));
    const listener = await listenOnLoopback(socketPathFor(socketDir, 'pieces'));
    cleanups.push(() => listener.close());

    const client = net.connect({ port: listener.port, host: '127.0.0.1', noDelay: true });
    cleanups.push(() => void client.destroy());
    await new Promise((resolve) => client.once('connect', resolve));
    const exchange = async () => {
      const started = performance.now();
      const answered = new Promise<void>((resolve) => {
        let received = 0;
        const onData = (data: Buffer) => {
          received += data.length;
          if (received < 2) return;
          client.off('data', onData);
          resolve();
        };
        client.on('data', onData);
      });
      client.write('a');
      setTimeout(() => client.write('b'), 1);
      await answered;
      return performance.now() - started;
    };
    const durations: number[] = [];
    for (let i = 0; i < 15; i++) durations.push(await exchange());
    durations.sort((x, y) => x - y);
    // Without the option the median is two delayed ACKs (about 90 ms here); with it a few milliseconds.
    expect(durations[7]).toBeLessThan(30);
  });
});
