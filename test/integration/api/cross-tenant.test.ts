import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCa } from '../../../src/pki/index.ts';
import type { ApiRoute } from '../../../src/api/route.ts';
import { REGISTRY_API_PREFIXES } from '../../../src/domain/index.ts';
import {
  RUNTIME,
  applyPlatformRbac,
  callersOf,
  createTenant,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';

type Caller =
  'platformAdmin' | 'tenantAdmin' | 'tenantUser' | 'serviceAccount' | 'otherTenantAdmin' | 'noToken';
/** Who may do what, as docs/rbac.md says: tenant-scoped routes by the role they need. */
type Need =
  'createTenant' | 'platform' | 'tenantRead' | 'tenantUser' | 'tenantAdmin' | 'anyone' | 'listTenants';

interface Fixture {
  need: Need;
  params?: Record<string, string>;
  /** JSON body, or a function of the call number for bodies that must be unique. */
  json?: unknown | ((n: number) => unknown);
  raw?: Buffer;
  /** Per-call path parameter overrides, for operations that must not collide. */
  perCall?: (n: number) => Record<string, string>;
}

const run = suffix();
const A = `xa-${run}`;
const B = `xb-${run}`;
const marker = (t: string) => ({
  displayName: `Display ${t} secret-${run}`,
  model: `model-${t}`,
  commonName: `cn-${t}-${run}`,
});

describe('every route refuses other tenants’ callers and admits its own, decided by real RBAC', () => {
  let harness: ApiUnderTest;
  let a: Callers;
  let b: Callers;
  let aSerial = '';

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    [a, b] = await Promise.all([callersOf(A), callersOf(B)]);
    const ca = await createTenantCa({ tenant: A, now: new Date() });
    await createTenant(harness, a, A, {
      displayName: marker(A).displayName,
      quota: { maxEndpoints: 10 },
      ca: { certificatePem: ca.certPem, privateKeyPem: ca.keyPem },
    });
    await createTenant(harness, b, B, { displayName: marker(B).displayName });
    for (const [t, callers] of [
      [A, a],
      [B, b],
    ] as const) {
      const put = await harness.call(
        'put',
        `/v1/tenants/${t}/models/${marker(t).model}/versions/1/files/m.bin`,
        {
          token: callers.tenantAdmin,
          body: Buffer.from(`weights of ${t}`),
          headers: { 'Content-Type': 'application/octet-stream' },
        },
      );
      expect(put.status, put.text).toBe(201);
      const endpoint = await harness.call('post', `/v1/tenants/${t}/endpoints`, {
        token: callers.tenantAdmin,
        json: { name: 'ep', model: { name: marker(t).model, version: '1' }, runtime: RUNTIME },
      });
      expect(endpoint.status, endpoint.text).toBe(201);
      const cert = await harness.call('post', `/v1/tenants/${t}/certificates`, {
        token: callers.tenantAdmin,
        json: { commonName: marker(t).commonName },
      });
      expect(cert.status, cert.text).toBe(201);
      if (t === A) aSerial = cert.json().serialNumber;
    }
  });

  afterAll(async () => {
    for (const t of [A, B]) await removeTenant(harness, t);
    await harness?.api.close();
  });

  function fixtures(): Record<string, Fixture> {
    const model = marker(A).model;
    const version = { tenant: A, model, version: '1' };
    return {
      listTenants: { need: 'listTenants' },
      createTenant: { need: 'createTenant', json: (n: number) => ({ name: `xc-${run}-${n}` }) },
      getTenant: { need: 'tenantRead', params: { tenant: A } },
      updateTenant: { need: 'platform', params: { tenant: A }, json: { displayName: marker(A).displayName } },
      deleteTenant: { need: 'platform', params: { tenant: A } },
      listAccess: { need: 'tenantRead', params: { tenant: A } },
      grantAccess: {
        need: 'tenantAdmin',
        params: { tenant: A },
        json: { role: 'users', subject: { kind: 'User', name: 'matrix-grantee' } },
      },
      revokeAccess: {
        need: 'tenantAdmin',
        params: { tenant: A, role: 'users', kind: 'User', name: 'matrix-grantee' },
      },
      listRuntimes: { need: 'anyone' },
      listEndpoints: { need: 'tenantUser', params: { tenant: A } },
      createEndpoint: {
        need: 'tenantUser',
        params: { tenant: A },
        // Refused after authorization (no such model), so the matrix creates nothing.
        json: { name: 'nope', model: { name: 'absent', version: '1' }, runtime: RUNTIME },
      },
      getEndpoint: { need: 'tenantUser', params: { tenant: A, endpoint: 'ep' } },
      updateEndpoint: { need: 'tenantUser', params: { tenant: A, endpoint: 'ep' }, json: { replicas: 1 } },
      replaceEndpointReplicas: {
        need: 'tenantUser',
        params: { tenant: A, endpoint: 'ep' },
        json: { replicas: 1 },
      },
      scaleEndpoint: { need: 'tenantUser', params: { tenant: A, endpoint: 'ep' }, json: { replicas: 1 } },
      deleteEndpoint: { need: 'tenantUser', params: { tenant: A, endpoint: 'absent' } },
      listModels: { need: 'tenantUser', params: { tenant: A } },
      getStorageUsage: { need: 'tenantUser', params: { tenant: A } },
      listModelVersions: { need: 'tenantUser', params: { tenant: A, model } },
      getModelVersionManifest: { need: 'tenantUser', params: version },
      putModelVersionFile: {
        need: 'tenantUser',
        params: { ...version, file: 'f.bin' },
        perCall: (n) => ({ version: `matrix-${n}` }),
        raw: Buffer.from('x'),
      },
      downloadModelVersionFile: { need: 'tenantUser', params: { ...version, file: 'm.bin' } },
      deleteModelVersion: { need: 'tenantUser', params: { ...version, version: 'absent' } },
      startModelUpload: {
        need: 'tenantUser',
        params: version,
        perCall: (n) => ({ version: `session-${n}` }),
        json: { file: 'f.bin' },
      },
      uploadModelPart: {
        need: 'tenantUser',
        params: { ...version, uploadId: 'absent', partNumber: '1' },
        raw: Buffer.from('x'),
      },
      getModelUpload: { need: 'tenantUser', params: { ...version, uploadId: 'absent' } },
      completeModelUpload: { need: 'tenantUser', params: { ...version, uploadId: 'absent' }, json: {} },
      abortModelUpload: { need: 'tenantUser', params: { ...version, uploadId: 'absent' } },
      listCertificates: { need: 'tenantUser', params: { tenant: A } },
      issueCertificate: {
        need: 'tenantUser',
        params: { tenant: A },
        json: (n: number) => ({ commonName: `matrix-${run}-${n}` }),
      },
      getCertificate: { need: 'tenantUser', params: { tenant: A, serial: aSerial } },
      revokeCertificate: { need: 'tenantAdmin', params: { tenant: A, serial: 'abcdef' } },
      getTenantCaCertificate: { need: 'tenantUser', params: { tenant: A } },
      revokeCertificatesOfIssuer: {
        need: 'tenantAdmin',
        params: { tenant: A },
        // Nobody of that name issued anything, so the matrix revokes nothing.
        json: { issuedBy: `nobody-${run}` },
      },
      getPlatformPermissions: { need: 'anyone' },
      getTenantPermissions: { need: 'tenantRead', params: { tenant: A } },
    };
  }

  /** What each caller must get: allowed, 401, 403 or the 404 that hides tenant A. */
  function expected(need: Need, caller: Caller): 'allowed' | 401 | 403 | 404 {
    if (caller === 'noToken') return 401;
    if (caller === 'platformAdmin' || need === 'anyone' || need === 'listTenants') return 'allowed';
    if (need === 'createTenant') return 403;
    // Callers who cannot see A learn nothing about it, not even that they may not change it.
    if (need === 'platform') return caller === 'otherTenantAdmin' ? 404 : 403;
    if (caller === 'otherTenantAdmin') return 404;
    if (need === 'tenantAdmin') return caller === 'tenantAdmin' ? 'allowed' : 403;
    return 'allowed';
  }

  it('answers every served route for each caller as docs/rbac.md says, leaking no other tenant’s data', async () => {
    const table = fixtures();
    // The registry routes name their tenant by host, not path: registry-api.test.ts runs the same matrix on them.
    const routes = harness.api.routes.filter(
      (r) => !r.public && !REGISTRY_API_PREFIXES.some((prefix) => r.path.startsWith(`${prefix}/`)),
    );
    const missing = routes.map((r) => r.operationId).filter((id) => !(id in table));
    expect(missing, 'routes without a cross-tenant fixture').toEqual([]);

    // Deleting tenant A comes last, and by the platform admin last of all.
    const ordered = [...routes].sort(
      (x, y) => Number(x.operationId === 'deleteTenant') - Number(y.operationId === 'deleteTenant'),
    );
    const callers: [Caller, string | undefined][] = [
      ['noToken', undefined],
      ['otherTenantAdmin', b.tenantAdmin],
      ['tenantUser', a.tenantUser],
      ['serviceAccount', a.serviceAccount],
      ['tenantAdmin', a.tenantAdmin],
      ['platformAdmin', a.platformAdmin],
    ];
    const failures: string[] = [];
    let n = 0;
    for (const route of ordered) {
      const fixture = table[route.operationId]!;
      for (const [caller, token] of callers) {
        n += 1;
        const path = pathOf(route, { ...fixture.params, ...fixture.perCall?.(n) });
        const json =
          typeof fixture.json === 'function' ? (fixture.json as (n: number) => unknown)(n) : fixture.json;
        const response = await harness.call(route.method, path, {
          ...(token ? { token } : {}),
          ...(json !== undefined ? { json } : {}),
          ...(fixture.raw
            ? { body: fixture.raw, headers: { 'Content-Type': 'application/octet-stream' } }
            : {}),
        });
        const want = expected(fixture.need, caller);
        const hidden = response.status === 404 && response.text.includes(`tenant \\"${A}\\" not found`);
        const got =
          response.status === 401 || response.status === 403 ? response.status : hidden ? 404 : 'allowed';
        const label = `${route.method.toUpperCase()} ${path} as ${caller}`;
        if (got !== want)
          failures.push(`${label}: expected ${want}, got ${response.status} ${response.text.slice(0, 200)}`);
        if (want === 'allowed' && response.status >= 500)
          failures.push(`${label}: ${response.status} ${response.text}`);
        const foreign = caller === 'otherTenantAdmin' ? A : B;
        // A 404 echoes the path the caller sent (`instance`); only what the server adds can leak.
        const answered = response.text.replaceAll(path, '');
        const leaks = Object.values(marker(foreign)).filter((m) => answered.includes(m));
        if (caller !== 'platformAdmin' && caller !== 'otherTenantAdmin' && response.text.includes(B)) {
          leaks.push(B);
        }
        if (caller !== 'platformAdmin' && leaks.length > 0)
          failures.push(`${label}: leaks ${leaks.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

function pathOf(route: ApiRoute, params: Record<string, string>): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} of ${route.operationId}`);
    return encodeURIComponent(value);
  });
}
