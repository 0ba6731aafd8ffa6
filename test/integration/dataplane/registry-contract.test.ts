import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryAuthConfigName, registryHost } from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/domain/index.ts';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { createExtAuthzClient } from '../../support/ext-authz.ts';
import {
  applyAll,
  contractSetup,
  OK,
  PERMISSION_DENIED,
  UNAUTHENTICATED,
  deleteAll,
  gatewayHeaders,
  renderTestTenant,
  tenantPki,
  waitAuthConfigReady,
  xfccFor,
  type TenantPki,
} from './fixture.ts';

const { env, kube, platform, ns } = contractSetup();

/**
 * `registry.<tenant hostname>` through the real Authorino, with Check requests shaped like the Istio gateway's: the
 * tenancy design's rule (get on the tenant's registry Service, granted to `<t>-users` by Role registry-user-<t>),
 * bearer tokens only.
 */
describe("the registry host's AuthConfig, decided by a real Authorino and real RBAC", () => {
  const client = createExtAuthzClient(env.authorino.grpcAddress);
  let jasper: TenantPki;
  let applied: KubeObject[] = [];
  const check = (headers: Record<string, string>) =>
    client.check({
      host: registryHost(jasper.hostname),
      path: '/api/model_registry/v1/registered_models',
      headers: gatewayHeaders(headers),
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const member = () =>
    oidcToken(env, { sub: 'reg-member', email: 'reg-member@example.test', groups: ['jasper-users'] });

  beforeAll(async () => {
    jasper = await tenantPki('jasper');
    applied = renderTestTenant({ platform, pki: jasper, endpoints: [] });
    await applyAll(kube, applied);
    await waitAuthConfigReady(kube, registryAuthConfigName('jasper'), ns);
    // RoleBinding jasper-users reaches the apiserver's authorizer asynchronously.
    const token = await member();
    await waitFor(async () => (await check(bearer(token))).code === OK, {
      description: 'a member of jasper-users admitted to the registry host',
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });
  afterAll(async () => {
    client.close();
    await deleteAll(kube, applied);
  });

  it('admits a member of <t>-users with an OIDC token', async () => {
    expect((await check(bearer(await member()))).code).toBe(OK);
  });

  it("refuses another tenant's users and a ServiceAccount nobody granted (403)", async () => {
    const other = await oidcToken(env, {
      sub: 'reg-other',
      email: 'reg-other@example.test',
      groups: ['quartz-users'],
    });
    const denied = await check(bearer(other));
    expect(denied.code).toBe(PERMISSION_DENIED);
    expect(denied.httpStatus).toBe(403);
    const stranger = await serviceAccountToken(env, ns, 'jasper-registry-stranger', {
      audiences: ['tenantmesh'],
    });
    expect((await check(bearer(stranger))).code).toBe(PERMISSION_DENIED);
  });

  it('refuses a request without a token (401), even with a client certificate of the tenant', async () => {
    const none = await check({});
    expect(none.code).toBe(UNAUTHENTICATED);
    expect(none.httpStatus).toBe(401);
    const certificateOnly = await check({
      'x-forwarded-client-cert': xfccFor((await jasper.client('reg-workload')).certPem),
    });
    expect(certificateOnly.code).toBe(UNAUTHENTICATED);
  });
});
