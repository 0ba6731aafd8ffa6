import { afterAll, describe, expect, inject, it } from 'vitest';
import { staticUserToken } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { createExtAuthzClient } from '../../support/ext-authz.ts';
import { apiserverRequest, strictApply } from '../../support/kube-http.ts';

const env = inject('env');
const ns = env.namespaces.serving;

describe('a real Authorino answers Envoy ext_authz Check calls for AuthConfigs in the serving namespace', () => {
  const client = createExtAuthzClient(env.authorino.grpcAddress);
  afterAll(() => client.close());

  it('allows a request that matches the AuthConfig and denies one that does not', async () => {
    const admin = staticUserToken(env, 'admin');
    const path = `/apis/authorino.kuadrant.io/v1beta3/namespaces/${ns}/authconfigs/check-demo`;
    const applied = await strictApply(env, admin, path, {
      apiVersion: 'authorino.kuadrant.io/v1beta3',
      kind: 'AuthConfig',
      metadata: { name: 'check-demo', namespace: ns },
      spec: {
        hosts: ['check.example.test'],
        authentication: { anonymous: { anonymous: {} } },
        authorization: {
          'tenant-header': {
            patternMatching: {
              patterns: [
                { selector: 'context.request.http.headers.x-tenant', operator: 'eq', value: 'acme' },
              ],
            },
          },
        },
      },
    });
    expect(applied.status, applied.body).toBe(201);
    await waitFor(
      async () => {
        const { body } = await apiserverRequest(env, { method: 'GET', path, token: admin });
        const status = JSON.parse(body).status as { summary?: { ready?: boolean } } | undefined;
        return status?.summary?.ready === true;
      },
      { description: 'AuthConfig check-demo to be Ready', timeoutMs: 30_000, intervalMs: 200 },
    );

    const allowed = await client.check({ host: 'check.example.test', headers: { 'x-tenant': 'acme' } });
    expect(allowed.code).toBe(0);

    const denied = await client.check({ host: 'check.example.test', headers: { 'x-tenant': 'globex' } });
    expect(denied.code).toBe(7); // PERMISSION_DENIED
    expect(denied.httpStatus).toBe(403);
  });
});
