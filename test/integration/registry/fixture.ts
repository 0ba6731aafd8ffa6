import http from 'node:http';
import { FIELD_MANAGERS, GROUP_VERSION, type Tenant } from '../../../src/domain/index.ts';
import { renderDataPlaneRbac } from '../../../src/render/rbac.ts';
import type { TenantContext } from '../../../src/render/types.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { env, platform, type ApiUnderTest } from '../api/fixture.ts';

/** The in-cluster host name of tenant `t`'s registry (what `<t>.<serving namespace>.svc` clients send). */
export const serviceHost = (tenant: string): string => `${tenant}.${env.namespaces.serving}.svc`;

/** A response of the registry API. */
export interface RegistryResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read bodies loosely
  body: any;
  contentType: string;
}

/**
 * Calls the API with an explicit Host header (fetch does not let a caller choose it), as a client of the
 * tenant's registry would send it.
 */
export function registryCall(
  apiUrl: string,
  host: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown } = {},
): Promise<RegistryResponse> {
  const url = new URL(path, apiUrl);
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: method.toUpperCase(),
        headers: {
          Host: host,
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({
            status: response.statusCode ?? 0,
            body,
            contentType: response.headers['content-type'] ?? '',
          });
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** Does what the operator does for the registry: the data-plane Role and binding of the tenant. */
export async function grantRegistryUsers(harness: ApiUnderTest, name: string): Promise<void> {
  const tenant = (await harness.kube.get(GROUP_VERSION, 'Tenant', name)) as unknown as Tenant;
  const ctx: TenantContext = { tenant, name, hostname: `${name}.example.test`, platform, endpoints: [] };
  for (const object of renderDataPlaneRbac(ctx)) {
    await harness.kube.applyObject(object as never, { fieldManager: FIELD_MANAGERS.operator, force: true });
  }
}

/** Waits until the registry answers `token` for `host` (RBAC reaches the authorizer asynchronously). */
export async function waitForRegistryAccess(
  harness: ApiUnderTest,
  host: string,
  token: string,
): Promise<void> {
  await waitFor(
    async () =>
      (
        await registryCall(harness.api.url, host, 'get', '/api/model_registry/v1/registered_models', {
          token,
        })
      ).status === 200,
    { description: `the registry at ${host} to accept its user`, timeoutMs: 20_000, intervalMs: 200 },
  );
}
