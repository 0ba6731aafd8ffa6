import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { assetPath } from '../../../src/testenv/provision.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import {
  AUTHORIZATION_CACHE_TTL_MS,
  RUNTIME,
  actAsOperator,
  applyPlatformRbac,
  callersOf,
  env,
  removeTenant,
  startApiUnderTest,
  suffix,
  tenantAdminUser,
  waitUntilVisible,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';
import { grantRegistryUsers, registryCall, serviceHost, waitForRegistryAccess } from '../registry/fixture.ts';

const runPython = promisify(execFile);
const publicFlow = fileURLToPath(new URL('../registry/public_flow.py', import.meta.url));

/** Slack for the apiserver's RBAC informer and one request round trip. */
const PROPAGATION_MS = 5000;

const run = suffix();
const PUBLIC = `pub-${run}`;
const EVERYONE = { kind: 'Group', name: 'system:authenticated' };

/**
 * The tenancy design's "public" registry: a tenant whose users are every authenticated identity of the
 * cluster. The kube-apiserver adds `system:authenticated` to every authenticated user; the API's
 * SubjectAccessReviews must do the same, or the binding never matches.
 */
describe('a tenant granted to system:authenticated, decided by the real apiserver', () => {
  let harness: ApiUnderTest;
  let callers: Callers;
  /** Strangers: an OIDC user in an unrelated group, and a ServiceAccount of another namespace. */
  let stranger: string;
  let strangerServiceAccount: string;

  const get = (path: string, token?: string) =>
    harness.call('get', `/v1/tenants/${PUBLIC}${path}`, token ? { token } : {});

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(PUBLIC);
    stranger = await oidcToken(env, {
      sub: `stranger-${run}`,
      email: `stranger-${run}@elsewhere.example.test`,
      groups: ['some-other-team'],
    });
    strangerServiceAccount = await serviceAccountToken(env, env.namespaces.gateway, `reader-${run}`, {
      audiences: [env.oidc.audience],
    });
    const created = await harness.call('post', '/v1/tenants', {
      token: callers.platformAdmin,
      json: { name: PUBLIC, admins: [{ kind: 'User', name: tenantAdminUser(PUBLIC) }] },
    });
    expect(created.status, created.text).toBe(201);
    await actAsOperator(harness, PUBLIC);
    await waitUntilVisible(harness, PUBLIC, callers.tenantAdmin);
    const put = await harness.call('put', `/v1/tenants/${PUBLIC}/models/open-model/versions/1/files/m.bin`, {
      token: callers.tenantAdmin,
      body: Buffer.from('public weights'),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(put.status, put.text).toBe(201);
    const endpoint = await harness.call('post', `/v1/tenants/${PUBLIC}/endpoints`, {
      token: callers.tenantAdmin,
      json: { name: 'ep', model: { name: 'open-model', version: '1' }, runtime: RUNTIME },
    });
    expect(endpoint.status, endpoint.text).toBe(201);
  });

  afterAll(async () => {
    await removeTenant(harness, PUBLIC);
    await harness?.api.close();
  });

  /** Models list, download and endpoint list, as one caller sees them. */
  async function use(token: string) {
    const models = await get('/models', token);
    const download = await get('/models/open-model/versions/1/files/m.bin', token);
    const endpoints = await get('/endpoints', token);
    return {
      statuses: [models.status, download.status, endpoints.status],
      downloaded: download.text,
      endpoints: endpoints.status === 200 ? endpoints.json().items.map((e: { name: string }) => e.name) : [],
    };
  }

  /** The tenant's registry (the Kubeflow Model Registry API) as one caller sees it. */
  const registryModels = (token?: string) =>
    registryCall(
      harness.api.url,
      serviceHost(PUBLIC),
      'get',
      '/api/model_registry/v1alpha3/registered_models',
      token ? { token } : {},
    );

  it('is hidden from strangers before the grant', async () => {
    expect((await get('', stranger)).status).toBe(404);
    expect((await use(stranger)).statuses).toEqual([404, 404, 404]);
    expect((await use(strangerServiceAccount)).statuses).toEqual([404, 404, 404]);
    expect((await registryModels(stranger)).status).toBe(403);
    expect((await registryModels(strangerServiceAccount)).status).toBe(403);
  });

  it('grants users = system:authenticated, and then any OIDC user and any ServiceAccount may use it', async () => {
    const grant = await harness.call('post', `/v1/tenants/${PUBLIC}/access`, {
      token: callers.tenantAdmin,
      json: { role: 'users', subject: EVERYONE },
    });
    expect(grant.status, grant.text).toBe(201);
    await actAsOperator(harness, PUBLIC);
    await waitUntilVisible(harness, PUBLIC, stranger);

    for (const token of [stranger, strangerServiceAccount]) {
      const seen = await use(token);
      expect(seen.statuses).toEqual([200, 200, 200]);
      expect(seen.downloaded).toBe('public weights');
      expect(seen.endpoints).toEqual(['ep']);
    }
    const listed = await harness.call('get', '/v1/tenants', { token: strangerServiceAccount });
    expect(listed.json().items.map((t: { name: string }) => t.name)).toContain(PUBLIC);
  });

  it("opens the tenant's registry to any signed-in caller through the real Python client, and to nobody else", async () => {
    // The operator's part for the registry: Role registry-user-<t> (get on its Service) bound to <t>-users.
    await grantRegistryUsers(harness, PUBLIC);
    await waitForRegistryAccess(harness, serviceHost(PUBLIC), stranger);
    const port = new URL(harness.api.url).port;
    for (const [who, token] of [
      ['oidc', stranger],
      ['serviceaccount', strangerServiceAccount],
    ] as const) {
      const { stdout } = await runPython(assetPath(env.assets, 'model-registry-python'), [publicFlow], {
        env: {
          ...process.env,
          REGISTRY_HOST: serviceHost(PUBLIC),
          REGISTRY_PORT: port,
          REGISTRY_TOKEN: token,
          MODEL_NAME: `walk-in-${who}`,
        },
        timeout: 120_000,
      }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`the Python client failed as ${who}:\n${error.stderr ?? ''}\n${error.stdout ?? ''}`);
      });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ model: `walk-in-${who}`, version: '1' });
    }
    expect((await registryModels()).status).toBe(401);
    expect((await registryModels('not-a-token')).status).toBe(401);
  });

  it('still refuses callers without a valid token', async () => {
    const expired = await oidcToken(env, { sub: `late-${run}`, groups: [], expiresIn: -300 });
    for (const token of [undefined, 'not-a-token', expired]) {
      const response = await get('/models', token);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('refuses to grant callers without credentials, or a built-in group as admins, with 422', async () => {
    const refused = [
      {
        token: callers.tenantAdmin,
        json: { role: 'users', subject: { kind: 'Group', name: 'system:unauthenticated' } },
      },
      {
        token: callers.tenantAdmin,
        json: { role: 'users', subject: { kind: 'User', name: 'system:anonymous' } },
      },
      { token: callers.platformAdmin, json: { role: 'admins', subject: EVERYONE } },
      {
        token: callers.platformAdmin,
        json: { role: 'admins', subject: { kind: 'Group', name: 'system:masters' } },
      },
    ];
    for (const { token, json } of refused) {
      const response = await harness.call('post', `/v1/tenants/${PUBLIC}/access`, { token, json });
      expect(response.status, `${json.role} ${json.subject.name}`).toBe(422);
      expect(response.json().invalidParams[0].pointer).toBe('/subject/name');
    }
    const created = await harness.call('post', '/v1/tenants', {
      token: callers.platformAdmin,
      json: { name: `pubx-${run}`, admins: [{ kind: 'Group', name: 'system:serviceaccounts' }] },
    });
    expect(created.status, created.text).toBe(422);
    const access = (await get('/access', callers.tenantAdmin)).json();
    expect(access.admins).toEqual([{ kind: 'User', name: tenantAdminUser(PUBLIC) }]);
    expect(access.users).toEqual([EVERYONE]);
  });

  it('refuses an OIDC token whose groups claim names system:masters, or whose email is not verified (401)', async () => {
    const masters = await oidcToken(env, { sub: `mallory-${run}`, groups: ['system:masters'] });
    const unverified = await oidcToken(env, {
      sub: `eve-${run}`,
      email: tenantAdminUser(PUBLIC),
      groups: [],
      extra: { email_verified: false },
    });
    const asMasters = await harness.call('get', '/v1/tenants', { token: masters });
    expect(asMasters.status).toBe(401);
    expect(asMasters.json().detail).toContain('group "system:masters"');
    const asUnverified = await get('', unverified);
    expect(asUnverified.status).toBe(401);
    expect(asUnverified.json().detail).toContain('email not verified');
  });

  it('hides the tenant again within the decision cache TTL once the grant is revoked', async () => {
    const revoked = await harness.call(
      'delete',
      `/v1/tenants/${PUBLIC}/access/users/Group/system:authenticated`,
      {
        token: callers.tenantAdmin,
      },
    );
    expect(revoked.status, revoked.text).toBe(200);
    const revokedAt = Date.now();
    await actAsOperator(harness, PUBLIC);
    await waitFor(
      async () =>
        (await get('', stranger)).status === 404 && (await get('', strangerServiceAccount)).status === 404,
      {
        description: 'the revoked public grant to hide the tenant',
        timeoutMs: AUTHORIZATION_CACHE_TTL_MS + PROPAGATION_MS,
        intervalMs: 100,
      },
    );
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(AUTHORIZATION_CACHE_TTL_MS + PROPAGATION_MS);
    expect((await use(stranger)).statuses).toEqual([404, 404, 404]);
    expect((await get('', callers.tenantAdmin)).status).toBe(200);
  });
});
