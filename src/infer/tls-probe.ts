import { isIP } from 'node:net';
import { connect } from 'node:tls';

/** The TLS material of a connection attempt, as the infer client holds it. */
export interface ProbeTarget {
  address: string;
  caPem: string;
  certPem?: string | undefined;
  keyPem?: string | undefined;
  serverName?: string | undefined;
}

/**
 * Finds out whether a failed connection was a TLS problem. grpc-js reports a server that rejects our client
 * certificate as a bare "Failed to connect", the same words as for a port where nothing listens. This repeats
 * the handshake with Node's TLS socket (ALPN h2, like gRPC) and waits for the server's first HTTP/2 bytes,
 * which it only sends once it has accepted the handshake. Resolves to the TLS failure message, or undefined
 * when TLS is not the problem (or cannot be determined within `timeoutMs`).
 */
export function probeTls(target: ProbeTarget, timeoutMs: number): Promise<string | undefined> {
  const { host, port } = splitAddress(target.address);
  return new Promise((resolve) => {
    let handshakeDone = false;
    const socket = connect({
      host,
      port,
      ca: target.caPem,
      cert: target.certPem,
      key: target.keyPem,
      ALPNProtocols: ['h2'],
      // SNI must be a DNS name (RFC 6066); identity is still checked against `host` then.
      ...(isIP(target.serverName ?? host) ? {} : { servername: target.serverName ?? host }),
    });
    const finish = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('secureConnect', () => {
      handshakeDone = true;
    });
    socket.once('data', () => finish(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const tlsFailure =
        handshakeDone ||
        /^ERR_(TLS|SSL)|^(UNABLE|SELF_SIGNED|CERT|DEPTH|HOSTNAME)/.test(error.code ?? '') ||
        /SSL|TLS|alert/i.test(error.message);
      finish(tlsFailure ? error.message : undefined);
    });
    socket.once('close', () =>
      finish(
        handshakeDone
          ? 'the server closed the connection right after the TLS handshake (client certificate refused?)'
          : undefined,
      ),
    );
  });
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.replace(/^dns:(\/\/\/)?/, ''));
  if (!match) return { host: address, port: 443 };
  return { host: match[1]!, port: Number(match[2]) };
}
