import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authConfigName, endpointGrantRoleName } from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/domain/index.ts';
import { oidcToken, serviceAccountToken } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { issueClientCertificate } from '../../../src/pki/index.ts';
import { createExtAuthzClient } from '../../support/ext-authz.ts';
import {
  DATAPLANE_DOMAIN,
  applyAll,
  contractSetup,
  OK,
  PERMISSION_DENIED,
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

/**
 * Authorino is asked exactly what the Istio ingress gateway asks it: a Check with every request header, the
 * verified client certificate only in X-Forwarded-Client-Cert (Istio never sets include_peer_certificate),
 * `:authority` as the client sent it. The AuthConfig, CA trust Secret and RBAC are what renderTenant renders.
 */
describe('the rendered AuthConfig decides data-plane calls in a real Authorino', () => {
  const client = createExtAuthzClient(env.authorino.grpcAddress);
  let orchid: TenantPki;
  let quartz: TenantPki;
  let applied: KubeObject[] = [];
  const endpoints = () => [
    endpointResource(platform, 'orchid', 'kserve', 'triton'),
    endpointResource(platform, 'orchid', 'tf', 'tensorflow-serving', {
      allowedClientSubjects: ['scoring-job'],
    }),
  ];
  // Token-only callers reach Authorino only where the Gateway is OPTIONAL_MUTUAL; certificate-only tenants
  // are the next describe block.
  const spec = {
    clientAuthentication: 'certificateOrToken' as const,
    users: [{ kind: 'ServiceAccount' as const, name: 'orchid-pipeline', namespace: ns }],
    endpointGrants: [
      { endpoint: 'kserve', subjects: [{ kind: 'User' as const, name: 'partner@example.com' }] },
    ],
  };
  const host = (endpoint: string) => `${endpoint}.${orchid.hostname}`;
  const check = (endpoint: string, headers: Record<string, string>, port = '') =>
    client.check({
      host: `${host(endpoint)}${port}`,
      path: '/inference.GRPCInferenceService/ModelInfer',
      headers: gatewayHeaders(headers),
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    [orchid, quartz] = await Promise.all([tenantPki('orchid'), tenantPki('quartz')]);
    applied = renderTestTenant({ platform, pki: orchid, spec, endpoints: endpoints() });
    await applyAll(kube, applied);
    await waitAuthConfigReady(kube, authConfigName('orchid'), ns);
  });
  afterAll(async () => {
    client.close();
    await deleteAll(kube, applied);
  });

  it('allows a client certificate of the tenant CA, with and without :443 in the authority', async () => {
    const cert = await orchid.client('scoring-job');
    const headers = { 'x-forwarded-client-cert': xfccFor(cert.certPem) };
    for (const endpoint of ['kserve', 'tf']) {
      expect((await check(endpoint, headers)).code).toBe(OK);
      expect((await check(endpoint, headers, ':443')).code).toBe(OK);
    }
  });

  it('decides every :authority the gateway routes: any port, and refuses upper case it cannot match', async () => {
    const allowed = { 'x-forwarded-client-cert': xfccFor((await orchid.client('scoring-job')).certPem) };
    const intruder = { 'x-forwarded-client-cert': xfccFor((await orchid.client('intruder')).certPem) };
    for (const port of [':8443', ':1', ':65535']) {
      expect((await check('tf', allowed, port)).code, port).toBe(OK);
      expect((await check('tf', intruder, port)).code, port).toBe(PERMISSION_DENIED);
    }
    // A mixed-case endpoint label is the same endpoint (the AuthConfig lower-cases it): decided as `tf`.
    expect(
      (await client.check({ host: `Tf.${orchid.hostname}:8443`, headers: gatewayHeaders(allowed) })).code,
    ).toBe(OK);
    const mixed = await client.check({ host: `Tf.${orchid.hostname}`, headers: gatewayHeaders(intruder) });
    expect(mixed.code).toBe(PERMISSION_DENIED);
    // A host no AuthConfig claims in that case is refused by Authorino (NOT_FOUND), never allowed.
    for (const authority of [host('tf').toUpperCase(), `${host('tf').toUpperCase()}:8443`]) {
      const result = await client.check({ host: authority, headers: gatewayHeaders(allowed) });
      expect(result.code, authority).not.toBe(OK);
    }
  });

  it('denies a certificate of the tenant CA whose subject the endpoint does not allow, and only there', async () => {
    const cert = await orchid.client('intruder');
    const headers = { 'x-forwarded-client-cert': xfccFor(cert.certPem) };
    const denied = await check('tf', headers);
    expect(denied.code).toBe(PERMISSION_DENIED);
    expect(denied.httpStatus).toBe(403);
    expect((await check('kserve', headers)).code).toBe(OK);
  });

  it("denies a certificate issued by another tenant's CA", async () => {
    const cert = await quartz.client('scoring-job');
    const result = await check('kserve', { 'x-forwarded-client-cert': xfccFor(cert.certPem) });
    expect(result.code).toBe(UNAUTHENTICATED);
    expect(result.httpStatus).toBe(401);
  });

  it("denies a certificate of a CA the tenant shares with another tenant when its O is the other tenant's", async () => {
    // Tenant "sharer" trusts orchid's CA (bring your own, reused): orchid's certificates carry O=orchid.
    const shared: TenantPki = { ...orchid, tenant: 'sharer', hostname: `sharer.${DATAPLANE_DOMAIN}` };
    const sharer = renderTestTenant({
      platform,
      pki: shared,
      endpoints: [endpointResource(platform, 'sharer', 'kserve', 'triton')],
    });
    await applyAll(kube, sharer);
    try {
      await waitAuthConfigReady(kube, authConfigName('sharer'), ns);
      const orchidCert = await orchid.client('scoring-job');
      const sharerCert = await issueClientCertificate(orchid.ca, {
        commonName: 'scoring-job',
        tenant: 'sharer',
        validityDays: 1,
        now: new Date(),
      });
      const at = (cert: string) =>
        client.check({
          host: `kserve.${shared.hostname}`,
          path: '/inference.GRPCInferenceService/ModelInfer',
          headers: gatewayHeaders({ 'x-forwarded-client-cert': xfccFor(cert) }),
        });
      expect((await at(sharerCert.certPem)).code).toBe(OK);
      expect((await at(orchidCert.certPem)).code).toBe(PERMISSION_DENIED);
    } finally {
      await deleteAll(kube, sharer);
    }
  });

  it("allows an OIDC user of the tenant's users group and denies another tenant's users", async () => {
    const member = await oidcToken(env, {
      sub: 'carol',
      email: 'carol@example.com',
      groups: ['orchid-users'],
    });
    const other = await oidcToken(env, { sub: 'dave', email: 'dave@example.com', groups: ['quartz-users'] });
    expect((await check('kserve', bearer(member))).code).toBe(OK);
    expect((await check('tf', bearer(member), ':443')).code).toBe(OK);
    const denied = await check('kserve', bearer(other));
    expect(denied.code).toBe(PERMISSION_DENIED);
    expect(denied.httpStatus).toBe(403);
  });

  it('denies an expired OIDC token and one for another audience', async () => {
    const groups = ['orchid-users'];
    const expired = await oidcToken(env, {
      sub: 'carol',
      email: 'carol@example.com',
      groups,
      expiresIn: -120,
    });
    expect((await check('kserve', bearer(expired))).code).toBe(UNAUTHENTICATED);
    const otherAudience = await oidcToken(env, {
      sub: 'carol',
      email: 'carol@example.com',
      groups,
      aud: 'else',
    });
    expect((await check('kserve', bearer(otherAudience))).code).not.toBe(OK);
  });

  it('a bearer token decides even when a certificate of the tenant came with it', async () => {
    const cert = await orchid.client('scoring-job');
    const other = await oidcToken(env, { sub: 'dave', email: 'dave@example.com', groups: ['quartz-users'] });
    const result = await check('kserve', {
      'x-forwarded-client-cert': xfccFor(cert.certPem),
      ...bearer(other),
    });
    expect(result.code).toBe(PERMISSION_DENIED);
  });

  it('allows a ServiceAccount granted on the tenant and denies one that is not', async () => {
    const granted = await serviceAccountToken(env, ns, 'orchid-pipeline', { audiences: ['tenantmesh'] });
    const stranger = await serviceAccountToken(env, ns, 'orchid-stranger', { audiences: ['tenantmesh'] });
    expect((await check('kserve', bearer(granted))).code).toBe(OK);
    expect((await check('kserve', bearer(stranger))).code).toBe(PERMISSION_DENIED);
  });

  it("denies a caller whose only right is the serving namespace's view role (reads Services, never invokes)", async () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'contract-viewer', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer@example.com' }],
    } as unknown as KubeObject;
    await applyAll(kube, [binding]);
    try {
      const viewer = await oidcToken(env, { sub: 'viewer', email: 'viewer@example.com', groups: [] });
      // The apiserver's RBAC cache takes a moment to see the new binding: wait until the viewer can read.
      await waitFor(
        async () =>
          (
            await kube.createSubjectAccessReview({
              user: 'viewer@example.com',
              groups: ['system:authenticated'],
              resourceAttributes: {
                namespace: ns,
                verb: 'get',
                resource: 'services',
                name: 'orchid--kserve',
              },
            })
          ).allowed === true,
        { description: 'the view binding to reach the RBAC authorizer', timeoutMs: 30_000 },
      );
      const result = await check('kserve', bearer(viewer));
      expect(result.code).toBe(PERMISSION_DENIED);
    } finally {
      await deleteAll(kube, [binding]);
    }
  });

  it('denies a request without credentials with the configured status and message', async () => {
    const result = await check('kserve', {});
    expect(result.code).toBe(UNAUTHENTICATED);
    expect(result.httpStatus).toBe(401);
    const said = `${result.body ?? ''} ${Object.values(result.headers).join(' ')}`;
    expect(said).toContain("present a client certificate issued by tenant orchid's CA");
  });

  it('an endpoint-level grant opens only that endpoint, and revoking it denies within the SAR cache TTL', async () => {
    const partner = await oidcToken(env, { sub: 'partner', email: 'partner@example.com', groups: [] });
    expect((await check('kserve', bearer(partner))).code).toBe(OK);
    expect((await check('tf', bearer(partner))).code).toBe(PERMISSION_DENIED);

    // Revoke as the operator does: re-render without the grant, apply, delete what is no longer rendered.
    const next = renderTestTenant({
      platform,
      pki: orchid,
      spec: { ...spec, endpointGrants: [] },
      endpoints: endpoints(),
    });
    const kept = new Set(next.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`));
    const stale = applied.filter((o) => !kept.has(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`));
    expect(stale.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      `Role/${endpointGrantRoleName('orchid', 'kserve')}`,
      `RoleBinding/${endpointGrantRoleName('orchid', 'kserve')}`,
    ]);
    const revokedAt = Date.now();
    await applyAll(kube, next);
    await deleteAll(kube, stale);
    applied = next;

    const ttlMs = platform.authorizationCacheTtlSeconds * 1000;
    await waitFor(async () => (await check('kserve', bearer(partner))).code === PERMISSION_DENIED, {
      description: 'the revoked grant to be denied',
      timeoutMs: ttlMs + 5_000,
      intervalMs: 250,
    });
    const elapsedMs = Date.now() - revokedAt;
    expect(elapsedMs).toBeLessThanOrEqual(ttlMs + 5_000);
  });
});

/**
 * The two client-authentication modes side by side. Under MUTUAL the gateway refuses a handshake without a
 * certificate, so Authorino never sees such a request; it refuses one anyway (the gateway's XFCC is the proof
 * a certificate was verified), so the mode does not rest on TLS settings alone.
 */
describe('client authentication: certificate (MUTUAL) versus certificateOrToken (OPTIONAL_MUTUAL)', () => {
  const client = createExtAuthzClient(env.authorino.grpcAddress);
  const tenants = { certificate: 'garnet', certificateOrToken: 'jasper' } as const;
  const pkis: Partial<Record<keyof typeof tenants, TenantPki>> = {};
  let applied: KubeObject[] = [];
  const check = (mode: keyof typeof tenants, headers: Record<string, string>) =>
    client.check({
      host: `kserve.${pkis[mode]!.hostname}`,
      path: '/inference.GRPCInferenceService/ModelInfer',
      headers: gatewayHeaders(headers),
    });

  beforeAll(async () => {
    for (const [mode, name] of Object.entries(tenants) as [keyof typeof tenants, string][]) {
      const pki = await tenantPki(name);
      pkis[mode] = pki;
      applied.push(
        ...renderTestTenant({
          platform,
          pki,
          spec: {
            clientAuthentication: mode,
            users: [{ kind: 'ServiceAccount', name: `${name}-pipeline`, namespace: ns }],
          },
          endpoints: [endpointResource(platform, name, 'kserve', 'triton')],
        }),
      );
    }
    await applyAll(kube, applied);
    for (const name of Object.values(tenants)) await waitAuthConfigReady(kube, authConfigName(name), ns);
  });
  afterAll(async () => {
    client.close();
    await deleteAll(kube, applied);
    applied = [];
  });

  it.each(Object.keys(tenants) as (keyof typeof tenants)[])(
    '%s: no certificate and no token is refused as unauthenticated',
    async (mode) => {
      const result = await check(mode, {});
      expect(result.code).toBe(UNAUTHENTICATED);
      expect(result.httpStatus).toBe(401);
    },
  );

  it.each(Object.keys(tenants) as (keyof typeof tenants)[])(
    '%s: any Authorization header, even empty or not Bearer, makes a token caller; the certificate beside it is not used',
    async (mode) => {
      const cert = await pkis[mode]!.client('scoring-job');
      const xfcc = { 'x-forwarded-client-cert': xfccFor(cert.certPem) };
      for (const authorization of ['', 'Basic c2NvcmluZy1qb2I6eA==']) {
        const result = await check(mode, { ...xfcc, authorization });
        expect(result.code, JSON.stringify(authorization)).toBe(UNAUTHENTICATED);
      }
    },
  );

  it('a granted token without a certificate is allowed only for the certificateOrToken tenant', async () => {
    const token = (mode: keyof typeof tenants) =>
      serviceAccountToken(env, ns, `${tenants[mode]}-pipeline`, { audiences: ['tenantmesh'] });
    expect(
      (await check('certificateOrToken', { authorization: `Bearer ${await token('certificateOrToken')}` }))
        .code,
    ).toBe(OK);
    const refused = await check('certificate', { authorization: `Bearer ${await token('certificate')}` });
    expect(refused.code).toBe(PERMISSION_DENIED);
    expect(refused.httpStatus).toBe(403);
  });

  it.each(Object.keys(tenants) as (keyof typeof tenants)[])(
    '%s: a client certificate of the tenant is allowed, alone or with a granted token',
    async (mode) => {
      const cert = await pkis[mode]!.client('scoring-job');
      const xfcc = { 'x-forwarded-client-cert': xfccFor(cert.certPem) };
      const token = await serviceAccountToken(env, ns, `${tenants[mode]}-pipeline`, {
        audiences: ['tenantmesh'],
      });
      expect((await check(mode, xfcc)).code).toBe(OK);
      expect((await check(mode, { ...xfcc, authorization: `Bearer ${token}` })).code).toBe(OK);
    },
  );
});
