import { describe, expect, inject, it } from 'vitest';
import { staticUserToken } from '../../../src/testenv/identities.ts';
import { apiserverRequest, strictApply } from '../../support/kube-http.ts';

const env = inject('env');
const ns = env.namespaces.serving;

const virtualService = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'strict-vs', namespace: ns },
  spec: {
    hosts: ['demo.acme.models.example.com'],
    gateways: ['istio-system/acme'],
    http: [{ route: [{ destination: { host: 'acme-demo', port: { number: 8500 } } }] }],
    ...extra,
  },
});

const authConfig = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'authorino.kuadrant.io/v1beta3',
  kind: 'AuthConfig',
  metadata: { name: 'strict-ac', namespace: ns },
  spec: {
    hosts: ['strict.example.test'],
    authentication: { anonymous: { anonymous: {} } },
    ...extra,
  },
});

describe('the real Istio and Authorino CRDs are installed and enforce their schemas', () => {
  const admin = staticUserToken(env, 'admin');
  const strictCreate = (collection: string, object: unknown) =>
    apiserverRequest(env, {
      method: 'POST',
      path: `${collection}?fieldValidation=Strict`,
      token: admin,
      body: JSON.stringify(object),
    });
  const vsPath = `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices/strict-vs`;
  const acPath = `/apis/authorino.kuadrant.io/v1beta3/namespaces/${ns}/authconfigs/strict-ac`;

  it('accepts a correct VirtualService under strict field validation', async () => {
    const response = await strictApply(env, admin, vsPath, virtualService());
    expect(response.status, response.body).toBe(201);
  });

  // Server-side apply refuses undeclared fields while building the typed patch; the apiserver reports that as a
  // 500 Status, which callers must treat as a terminal validation error (src/kube maps it so).
  it('rejects a VirtualService with an unknown field in a server-side apply', async () => {
    const response = await strictApply(env, admin, vsPath, virtualService({ retriesEverywhere: true }));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.body).toContain('.spec.retriesEverywhere: field not declared in schema');
  });

  it('rejects a VirtualService with an unknown field in a strict create', async () => {
    const object = virtualService({ retriesEverywhere: true });
    object.metadata.name = 'strict-vs-create';
    const response = await strictCreate(
      `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`,
      object,
    );
    expect(response.status, response.body).toBe(400);
    expect(response.body).toContain('retriesEverywhere');
    expect(response.body).toMatch(/unknown field/);
  });

  it('accepts a correct AuthConfig under strict field validation', async () => {
    const response = await strictApply(env, admin, acPath, authConfig());
    expect(response.status, response.body).toBe(201);
  });

  it('rejects an AuthConfig with an unknown field in a server-side apply', async () => {
    const response = await strictApply(env, admin, acPath, authConfig({ authorisation: {} }));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.body).toContain('.spec.authorisation: field not declared in schema');
  });

  it('rejects an AuthConfig with an unknown field in a strict create', async () => {
    const object = authConfig({ authorisation: {} });
    object.metadata.name = 'strict-ac-create';
    const response = await strictCreate(
      `/apis/authorino.kuadrant.io/v1beta3/namespaces/${ns}/authconfigs`,
      object,
    );
    expect(response.status, response.body).toBe(400);
    expect(response.body).toContain('authorisation');
    expect(response.body).toMatch(/unknown field/);
  });
});
