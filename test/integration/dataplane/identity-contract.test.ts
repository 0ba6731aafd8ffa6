import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authConfigName } from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/domain/index.ts';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { createExtAuthzClient } from '../../support/ext-authz.ts';
import {
  applyAll,
  contractSetup,
  OK,
  UNAUTHENTICATED,
  deleteAll,
  endpointResource,
  gatewayHeaders,
  renderTestTenant,
  tenantPki,
  waitAuthConfigReady,
  xfccFor,
  type TenantPki,
} from './fixture.ts';

const { env, kube, platform, ns } = contractSetup();

/** A user granted one endpoint by email, whose identity an unverified email must not take over. */
const PARTNER = 'partner@opal.example.test';

/**
 * How an identity becomes the (user, groups) pair of Authorino's SubjectAccessReview, driven through the real
 * Authorino with Check requests shaped like the Istio gateway's: the groups Kubernetes adds
 * (`system:authenticated`, a ServiceAccount's groups), the API's OIDC claim rules (verified email, no `system:`
 * names), for every way a caller can prove who they are.
 */
describe('identities in the rendered AuthConfig, decided by a real Authorino and real RBAC', () => {
  const client = createExtAuthzClient(env.authorino.grpcAddress);
  let opal: TenantPki;
  let applied: KubeObject[] = [];
  const check = (endpoint: string, headers: Record<string, string>) =>
    client.check({
      host: `${endpoint}.${opal.hostname}`,
      path: '/inference.GRPCInferenceService/ModelInfer',
      headers: gatewayHeaders(headers),
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    opal = await tenantPki('opal');
    applied = renderTestTenant({
      platform,
      pki: opal,
      spec: {
        // Bearer-only calls are what these cases are about; a certificate-only tenant refuses them all.
        clientAuthentication: 'certificateOrToken',
        endpointGrants: [
          // The public endpoint: every signed-in caller.
          { endpoint: 'open', subjects: [{ kind: 'Group', name: 'system:authenticated' }] },
          { endpoint: 'closed', subjects: [{ kind: 'User', name: PARTNER }] },
        ],
      },
      endpoints: [
        endpointResource(platform, 'opal', 'open', 'triton'),
        endpointResource(platform, 'opal', 'closed', 'triton'),
      ],
    });
    await applyAll(kube, applied);
    await waitAuthConfigReady(kube, authConfigName('opal'), ns);
    // The tenant's own certificates are bound on every endpoint whatever the grants: once one is admitted, the
    // apiserver's RBAC cache holds the tenant's bindings (slow under load), and the cases below are about identity.
    const probe = { 'x-forwarded-client-cert': xfccFor((await opal.client('rbac-probe')).certPem) };
    await waitFor(async () => (await check('closed', probe)).code === OK, {
      description: "the tenant's RBAC to reach the apiserver's authorizer",
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });
  afterAll(async () => {
    client.close();
    await deleteAll(kube, applied);
  });

  it('an endpoint granted to system:authenticated admits any OIDC user, and only that endpoint', async () => {
    const anyone = await oidcToken(env, {
      sub: 'walk-in',
      email: 'walk-in@elsewhere.example.test',
      groups: ['unrelated-team'],
    });
    expect((await check('open', bearer(anyone))).code).toBe(OK);
    expect((await check('closed', bearer(anyone))).code).not.toBe(OK);
  });

  it('admits a ServiceAccount token of any namespace (its groups come with it)', async () => {
    const anySa = await serviceAccountToken(env, env.namespaces.gateway, 'opal-walk-in', {
      audiences: ['tenantmesh'],
    });
    expect((await check('open', bearer(anySa))).code).toBe(OK);
    expect((await check('closed', bearer(anySa))).code).not.toBe(OK);
  });

  it("admits any valid client certificate of the tenant's CA", async () => {
    const cert = await opal.client('any-workload');
    expect((await check('open', { 'x-forwarded-client-cert': xfccFor(cert.certPem) })).code).toBe(OK);
  });

  it('still refuses a request without credentials', async () => {
    const result = await check('open', {});
    expect(result.code).toBe(UNAUTHENTICATED);
    expect(result.httpStatus).toBe(401);
  });

  it('denies an unverified email that names a granted user, and admits the verified one', async () => {
    const verified = await oidcToken(env, { sub: 'partner', email: PARTNER, groups: [] });
    const unverified = await oidcToken(env, {
      sub: 'impostor',
      email: PARTNER,
      groups: [],
      extra: { email_verified: false },
    });
    expect((await check('closed', bearer(verified))).code).toBe(OK);
    const denied = await check('closed', bearer(unverified));
    expect(denied.code).not.toBe(OK);
    expect(denied.httpStatus).toBe(403);
    expect((await check('open', bearer(unverified))).code).not.toBe(OK);
  });

  it('gives an OIDC group system:masters no power', async () => {
    const masters = await oidcToken(env, {
      sub: 'mallory',
      email: 'mallory@elsewhere.example.test',
      groups: ['system:masters'],
    });
    const denied = await check('closed', bearer(masters));
    expect(denied.code).not.toBe(OK);
    expect(denied.httpStatus).toBe(403);
    expect((await check('open', bearer(masters))).code).not.toBe(OK);
  });
});
