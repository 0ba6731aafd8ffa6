import https from 'node:https';
import type { EnvironmentInfo } from '../../src/testenv/environment.ts';

/** A raw apiserver call, for tests that must control query parameters the client library does not expose. */
export function apiserverRequest(
  info: EnvironmentInfo,
  options: { method: string; path: string; token: string; body?: string; contentType?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(options.path, info.apiserverUrl),
      {
        method: options.method,
        ca: info.caPem,
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: 'application/json',
          ...(options.body !== undefined
            ? { 'content-type': options.contentType ?? 'application/json' }
            : {}),
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/** Server-side apply of one object with strict field validation, as raw JSON (valid YAML). */
export function strictApply(info: EnvironmentInfo, token: string, resourcePath: string, object: unknown) {
  return apiserverRequest(info, {
    method: 'PATCH',
    path: `${resourcePath}?fieldManager=tenantmesh-test&force=true&fieldValidation=Strict`,
    token,
    body: JSON.stringify(object),
    contentType: 'application/apply-patch+yaml',
  });
}
