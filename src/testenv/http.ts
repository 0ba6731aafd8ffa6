import https from 'node:https';
import http from 'node:http';

/** Minimal GET used for health probes: resolves with status and body, never throws on HTTP status. */
export function probe(
  url: string,
  options: { caPem?: string; token?: string; timeoutMs?: number; insecureSkipVerify?: boolean } = {},
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'GET',
        ca: options.caPem,
        // Only for loopback health probes of components that serve a self-signed certificate.
        rejectUnauthorized: !options.insecureSkipVerify,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        timeout: options.timeoutMs ?? 2_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
    request.end();
  });
}
