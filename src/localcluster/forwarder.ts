import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Moves TCP streams between the host's loopback and the node's network namespace without routing anything:
 * a process inside the namespace (this file run as a program) accepts on a Unix socket per target and connects
 * to the target's address there; Unix sockets live in the file system, which both sides share, so the host
 * side just listens on 127.0.0.1 and pipes each connection into the matching socket.
 *
 * Both TCP legs (the host's accepted connection and the connection to the target) turn Nagle's algorithm off:
 * a relay writes each chunk as it arrives, so a protocol that writes a message in pieces (HTTP/2 frames: headers,
 * data, trailers) would otherwise have its second piece held until the peer's delayed ACK, tens of milliseconds.
 * Unix sockets have no such buffering.
 */

/** One forwarded target: a name (the socket's file name) and an address inside the namespace. */
export interface ForwardTarget {
  name: string;
  host: string;
  port: number;
}

export function socketPathFor(socketDir: string, name: string): string {
  return path.join(socketDir, `${name}.sock`);
}

/** Argument form of a target for the in-namespace program: `name=host:port`. */
export function formatTarget(target: ForwardTarget): string {
  return `${target.name}=${target.host}:${target.port}`;
}

export function parseTarget(argument: string): ForwardTarget {
  const match = /^([a-z0-9-]+)=([0-9.]+):(\d+)$/.exec(argument);
  if (!match) throw new Error(`bad forward target ${argument}: want name=ipv4:port`);
  return { name: match[1]!, host: match[2]!, port: Number(match[3]) };
}

function pipeBoth(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close).on('close', close);
  b.on('error', close).on('close', close);
}

/** Inside the namespace: one Unix socket per target, each connection relayed to the target over TCP. */
export function serveInNamespace(socketDir: string, targets: ForwardTarget[]): net.Server[] {
  mkdirSync(socketDir, { recursive: true });
  return targets.map((target) => {
    const socketPath = socketPathFor(socketDir, target.name);
    rmSync(socketPath, { force: true });
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
      pipeBoth(client, upstream);
    });
    server.listen(socketPath);
    return server;
  });
}

/** On the host: listens on 127.0.0.1:`port` (0 = any free port) and relays each connection to the Unix socket. */
export async function listenOnLoopback(
  socketPath: string,
  port = 0,
): Promise<{ port: number; close(): Promise<void> }> {
  const connections = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    pipeBoth(client, net.connect(socketPath));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('loopback listener has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.destroy();
        server.close(() => resolve());
      }),
  };
}

// Run as a program inside the namespace: forwarder.ts <socket-dir> <name=host:port>...
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const [socketDir, ...targets] = process.argv.slice(2);
  if (!socketDir || targets.length === 0) {
    process.stderr.write('usage: forwarder.ts <socket-dir> <name=host:port>...\n');
    process.exit(2);
  }
  serveInNamespace(socketDir, targets.map(parseTarget));
  process.stdout.write(`forwarding ${targets.join(' ')}\n`);
}
