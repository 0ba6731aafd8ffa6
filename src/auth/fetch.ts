import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The subset of `fetch` the OIDC verifier uses (jose's `customFetch` has the same call shape). */
export type FetchLike = (
  url: string,
  init?: { signal?: AbortSignal; headers?: ConstructorParameters<typeof Headers>[0] },
) => Promise<Response>;

/**
 * A GET-only fetch that trusts the given CA bundle (PEM) for https URLs, for issuers whose certificate is
 * signed by a private CA. It avoids a dependency on undici's Agent; the alternative that needs no code is
 * starting the process with `NODE_EXTRA_CA_CERTS=<file>`, which global fetch honours.
 */
export function createCaTrustingFetch(caPem: string): FetchLike {
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        target,
        { method: 'GET', headers: Object.fromEntries(new Headers(init.headers)), ca: caPem },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') headers.set(name, value);
            }
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502, headers }));
          });
        },
      );
      req.on('error', reject);
      // Reject with the signal's own reason so a timeout stays a TimeoutError, as with global fetch.
      init.signal?.addEventListener('abort', () => {
        reject(init.signal?.reason);
        req.destroy();
      });
      req.end();
    });
}
