import type { KubeObject } from '../../../src/domain/index.ts';
import { gatewayPrincipal, platformConfig } from '../../../src/domain/index.ts';
import { describe, expect, it } from 'vitest';
import { renderPlatform, renderTenant, tenantContext } from '../../../src/render/index.ts';
import { firstLabelRegexp, renderAuthConfig } from '../../../src/render/authconfig.ts';
import { renderExtAuthzPolicy, renderGatewayOnlyPolicy } from '../../../src/render/authorizationpolicy.ts';
import { renderDestinationRule } from '../../../src/render/destinationrule.ts';
import { renderGateway } from '../../../src/render/gateway.ts';
import { renderPeerAuthentication } from '../../../src/render/peerauthentication.ts';
import { renderVirtualService } from '../../../src/render/virtualservice.ts';
import { platform, sampleInput, toYaml } from './fixtures.ts';

const ctx = tenantContext(sampleInput());
type Spec = Record<string, unknown>;
const specOf = (object: KubeObject) => object.spec as Spec;

describe('Istio objects', () => {
  it('match the golden Gateway', async () => {
    await expect(toYaml(renderGateway(ctx))).toMatchFileSnapshot('__golden__/gateway.yaml');
  });

  it('match the golden VirtualServices', async () => {
    await expect(toYaml(ctx.endpoints.map(renderVirtualService))).toMatchFileSnapshot(
      '__golden__/virtualservice.yaml',
    );
  });

  it('match the golden DestinationRules', async () => {
    await expect(toYaml(ctx.endpoints.map(renderDestinationRule))).toMatchFileSnapshot(
      '__golden__/destinationrule.yaml',
    );
  });

  it('match the golden PeerAuthentication', async () => {
    await expect(toYaml(renderPeerAuthentication(platform))).toMatchFileSnapshot(
      '__golden__/peerauthentication.yaml',
    );
  });

  it('match the golden AuthorizationPolicies', async () => {
    await expect(toYaml([renderExtAuthzPolicy(platform), renderGatewayOnlyPolicy(ctx)])).toMatchFileSnapshot(
      '__golden__/authorizationpolicy.yaml',
    );
  });

  it('the tenant Gateway requires client certificates and only binds routes of the serving namespace', () => {
    const [server] = specOf(renderGateway(ctx)).servers as { hosts: string[]; tls: Spec }[];
    expect(server!.tls).toMatchObject({ mode: 'MUTUAL', credentialName: 'tenantmesh-acme-gateway' });
    expect(server!.hosts).toEqual(['tenantmesh-serving/*.acme.models.example.com']);
  });

  it('each endpoint gets its own host on the tenant Gateway', () => {
    expect(ctx.endpoints.map((e) => specOf(renderVirtualService(e)))).toMatchObject([
      { hosts: ['bert.acme.models.example.com'], gateways: ['tenantmesh-serving/tenantmesh-acme'] },
      { hosts: ['resnet.acme.models.example.com'], gateways: ['tenantmesh-serving/tenantmesh-acme'] },
    ]);
  });

  it('ext_authz covers every request at the gateway: no host list a different :authority could escape', () => {
    const policy = renderExtAuthzPolicy(platform);
    // One policy for the platform, in the gateway's namespace, belonging to no tenant.
    expect(policy.metadata).toMatchObject({ name: 'tenantmesh-ext-authz', namespace: 'istio-system' });
    expect(policy.metadata.labels).not.toHaveProperty('tenantmesh.io/tenant');
    const spec = specOf(policy);
    expect(spec).toMatchObject({ action: 'CUSTOM', provider: { name: 'tenantmesh-authorino' } });
    expect(spec.selector).toEqual({ matchLabels: { istio: 'ingressgateway' } });
    // Istio routes `x.H:8443` and `X.H` at the gateway; an empty rule sends them to Authorino too.
    expect(spec.rules).toEqual([{}]);
  });

  it('renders the CUSTOM policy with the platform, never with a tenant, so no tenant’s routes exist without it', () => {
    const custom = (objects: KubeObject[]) =>
      objects.filter((o) => o.kind === 'AuthorizationPolicy' && specOf(o).action === 'CUSTOM');
    expect(custom(renderPlatform(platform, { istio: true, authorino: true, openshift: false }))).toHaveLength(
      1,
    );
    expect(custom(renderPlatform(platform, { istio: true, authorino: false, openshift: false }))).toEqual([]);
    expect(custom(renderTenant(sampleInput()))).toEqual([]);
  });

  it('serving pods accept traffic only from the gateway principal', () => {
    const spec = specOf(renderGatewayOnlyPolicy(ctx));
    expect(spec.action).toBe('ALLOW');
    expect(spec.rules).toEqual([
      {
        from: [
          {
            source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] },
          },
        ],
      },
    ]);
    expect(spec.selector).toEqual({
      matchLabels: { 'tenantmesh.io/tenant': 'acme', 'app.kubernetes.io/component': 'serving' },
    });
  });

  describe('a tenant whose clients may present a certificate or else a bearer token', () => {
    const tokenTenant = {
      ...sampleInput().tenant,
      spec: { ...sampleInput().tenant.spec, clientAuthentication: 'certificateOrToken' as const },
    };
    const optional = tenantContext(sampleInput({ tenant: tokenTenant }));

    it('gets an OPTIONAL_MUTUAL Gateway (golden): the handshake succeeds without a certificate', async () => {
      await expect(toYaml(renderGateway(optional))).toMatchFileSnapshot(
        '__golden__/gateway-certificate-or-token.yaml',
      );
    });

    it('gets an AuthConfig without the certificate requirement (golden): identity comes from either', async () => {
      const spec = specOf(renderAuthConfig(optional)) as { authorization: Record<string, Spec> };
      expect(JSON.stringify(spec.authorization)).not.toContain('x-forwarded-client-cert');
      await expect(toYaml(renderAuthConfig(optional))).toMatchFileSnapshot(
        '__golden__/authconfig-certificate-or-token.yaml',
      );
    });

    it('keeps MUTUAL for every other tenant', () => {
      const tls = (specOf(renderGateway(ctx)).servers as { tls: { mode: string } }[])[0]!.tls;
      expect(tls.mode).toBe('MUTUAL');
    });
  });

  it('the gateway principal follows the configured gateway namespace, ServiceAccount and trust domain', () => {
    const moved = tenantContext(
      sampleInput({
        platform: platformConfig({
          gatewayNamespace: 'edge',
          gatewayServiceAccount: 'public-gw',
          trustDomain: 'prod.example',
        }),
      }),
    );
    expect(specOf(renderGatewayOnlyPolicy(moved)).rules).toEqual([
      { from: [{ source: { principals: ['prod.example/ns/edge/sa/public-gw'] } }] },
    ]);
  });

  it('by default the gateway is the one `helm install istio-ingress istio/gateway -n istio-ingress` creates', () => {
    const defaults = platformConfig();
    expect([defaults.gatewayNamespace, defaults.gatewaySelector, gatewayPrincipal(defaults)]).toEqual([
      'istio-ingress',
      { istio: 'ingress' },
      'cluster.local/ns/istio-ingress/sa/istio-ingress',
    ]);
  });

  it('no mesh objects when Istio is absent', () => {
    const meshApis = /istio\.io|authorino/;
    for (const capabilities of [
      { istio: false, authorino: true, openshift: false },
      { istio: true, authorino: false, openshift: false },
    ]) {
      const objects = [
        ...renderTenant(sampleInput({ capabilities })),
        ...renderPlatform(platform, capabilities),
      ];
      expect(objects.filter((o) => meshApis.test(o.apiVersion))).toEqual([]);
      expect(objects.map((o) => o.metadata.name)).not.toContain('tenantmesh-acme-gateway');
    }
  });
});

describe('the AuthConfig', () => {
  const authConfig = renderAuthConfig(ctx);
  const spec = specOf(authConfig) as {
    hosts: string[];
    authentication: Record<string, Spec>;
    authorization: Record<string, Spec>;
  };

  it('matches the golden AuthConfig', async () => {
    await expect(toYaml(authConfig)).toMatchFileSnapshot('__golden__/authconfig.yaml');
  });

  it('a certificate-only tenant (the default) requires the certificate the gateway verified, token or not', () => {
    const patterns = (spec.authorization['client-certificate']!.patternMatching as { patterns: unknown[] })
      .patterns;
    expect(patterns).toContainEqual({
      selector: 'request.headers.@keys',
      operator: 'incl',
      value: 'x-forwarded-client-cert',
    });
  });

  it("passes the caller's groups, never a fixed list", () => {
    const sar = spec.authorization['tenant-rbac']!.kubernetesSubjectAccessReview as Spec;
    expect(sar.authorizationGroups).toEqual({ selector: 'auth.identity.tenantmeshGroups' });
    expect(sar.user).toEqual({ selector: 'auth.identity.tenantmeshUser' });
    expect(sar).not.toHaveProperty('groups');
  });

  it('asks RBAC for invoke on the requested endpoint (lower-cased host label), not a read any view role grants', () => {
    const sar = spec.authorization['tenant-rbac']!.kubernetesSubjectAccessReview as {
      resourceAttributes: Spec;
    };
    expect(sar.resourceAttributes).toEqual({
      verb: { value: 'invoke' },
      group: { value: 'tenantmesh.io' },
      resource: { value: 'inferenceendpoints' },
      namespace: { value: 'tenantmesh-serving' },
      name: { expression: '"acme--" + request.host.lowerAscii().split(".")[0]' },
    });
  });

  it('checks the API’s claim rules for OIDC callers: verified email when the username is the email, no system: names', () => {
    const withEmail = tenantContext(
      sampleInput({
        platform: {
          ...platform,
          oidcIssuers: [
            {
              issuerUrl: 'https://login.example.com',
              audiences: ['tenantmesh'],
              usernameClaim: 'email',
              groupsPrefix: 'oidc:',
            },
          ],
        },
      }),
    );
    const rendered = specOf(renderAuthConfig(withEmail)) as typeof spec;
    const overrides = rendered.authentication['oidc-0']!.overrides as Record<string, Spec>;
    const accepted = overrides.tenantmeshClaimsAccepted!.expression as string;
    expect(accepted).toContain(
      '(!("email_verified" in auth.identity) || auth.identity.email_verified == true)',
    );
    expect(accepted).toContain('!("" + auth.identity["email"]).startsWith("system:")');
    expect(accepted).toContain('.map(g, "oidc:" + g).all(g, !g.startsWith("system:"))');
    expect(rendered.authorization['oidc-token']).toEqual({
      patternMatching: {
        patterns: [
          {
            any: [
              { selector: 'auth.identity.tenantmeshMethod', operator: 'neq', value: 'oidc' },
              {
                all: [
                  { selector: 'auth.identity.tenantmeshAudienceAccepted', operator: 'eq', value: 'true' },
                  { selector: 'auth.identity.tenantmeshClaimsAccepted', operator: 'eq', value: 'true' },
                ],
              },
            ],
          },
        ],
      },
    });
    // The golden issuer maps `sub`: no email rule there.
    const golden = spec.authentication['oidc-0']!.overrides as Record<string, Spec>;
    expect(golden.tenantmeshClaimsAccepted!.expression).not.toContain('email_verified');
  });

  it("trusts only the tenant's CA, read from the certificate the gateway forwards", () => {
    expect(spec.authentication['client-certificate']!.x509).toEqual({
      selector: { matchLabels: { 'tenantmesh.io/tenant-ca': 'acme' } },
      source: { xfccHeader: 'x-forwarded-client-cert' },
    });
  });

  it('maps a client certificate to the tenant-scoped user and group the PKI documents, plus system:authenticated', () => {
    const overrides = spec.authentication['client-certificate']!.overrides as Record<string, Spec>;
    expect(overrides.tenantmeshUser).toEqual({
      selector: 'tenantmesh:client:acme:{auth.identity.CommonName}',
    });
    expect(overrides.tenantmeshGroups).toEqual({
      value: ['tenantmesh:clients:acme', 'system:authenticated'],
    });
  });

  it("requires a certificate caller's O to be the tenant, so a CA shared with another tenant opens nothing", () => {
    expect(spec.authorization['client-certificate']).toEqual({
      patternMatching: {
        patterns: [
          { selector: 'request.headers.@keys', operator: 'incl', value: 'x-forwarded-client-cert' },
          {
            any: [
              { selector: 'auth.identity.tenantmeshMethod', operator: 'neq', value: 'x509' },
              { selector: 'auth.identity.Organization', operator: 'incl', value: 'acme' },
            ],
          },
        ],
      },
    });
  });

  it('accepts every configured OIDC issuer and ServiceAccount tokens for the configured audiences', () => {
    expect(spec.authentication['oidc-0']!.jwt).toEqual({ issuerUrl: 'https://login.example.com' });
    expect(spec.authentication['service-account']!.kubernetesTokenReview).toEqual({
      audiences: ['tenantmesh'],
    });
  });

  it('limits an endpoint with allowed client subjects to those certificate names', () => {
    const rule = spec.authorization['client-subjects-resnet']!;
    expect(rule.when).toEqual([
      { selector: 'request.host', operator: 'matches', value: '^[rR][eE][sS][nN][eE][tT](\\.|$)' },
    ]);
    expect(rule.patternMatching).toEqual({
      patterns: [
        {
          any: [
            { selector: 'auth.identity.tenantmeshMethod', operator: 'neq', value: 'x509' },
            { selector: 'auth.identity.CommonName', operator: 'eq', value: 'batch' },
            { selector: 'auth.identity.CommonName', operator: 'eq', value: 'scoring-job' },
          ],
        },
      ],
    });
    expect(spec.authorization).not.toHaveProperty('client-subjects-bert');
  });

  it("matches a host's first label in any ASCII case, as lowerAscii().split('.')[0] does, and nothing else", () => {
    const celFirstLabel = (host: string) => host.replace(/[A-Z]/g, (c) => c.toLowerCase()).split('.')[0];
    const hosts = [
      'resnet.acme.models.example.com',
      'ResNet.acme.models.example.com:8443',
      'RESNET.ACME.MODELS.EXAMPLE.COM',
      'resnet',
      'resnet.',
      'resnet:443',
      'resnet2.acme.models.example.com',
      'xresnet.acme.models.example.com',
      'res.net.acme.models.example.com',
      're\u017Fnet.acme.models.example.com', // LATIN SMALL LETTER LONG S: (?i) would fold it into s
      'bert-2.acme.models.example.com',
      'BERT-2.acme.models.example.com',
      'bert-2x.acme.models.example.com',
      'bert.2.acme.models.example.com',
      '\u212Aserve.acme.models.example.com', // KELVIN SIGN: (?i) would fold it into k
      'kserve.acme.models.example.com',
    ];
    for (const endpoint of ['resnet', 'bert-2', 'kserve']) {
      const regexp = new RegExp(firstLabelRegexp(endpoint));
      for (const host of hosts)
        expect(regexp.test(host), `${endpoint} ${host}`).toBe(celFirstLabel(host) === endpoint);
    }
  });

  it('caches decisions per user, groups and requested host, as one JSON array', () => {
    expect(spec.authorization['tenant-rbac']!.cache).toEqual({
      key: { selector: '[auth.identity.tenantmeshUser,auth.identity.tenantmeshGroups,request.host]|@tostr' },
      ttl: 30,
    });
  });

  it('asks the apiserver every time when the platform sets the cache TTL to 0', () => {
    const uncached = specOf(
      renderAuthConfig(
        tenantContext(sampleInput({ platform: { ...platform, authorizationCacheTtlSeconds: 0 } })),
      ),
    ) as { authorization: Record<string, Spec> };
    expect(uncached.authorization['tenant-rbac']).toHaveProperty('kubernetesSubjectAccessReview');
    expect(uncached.authorization['tenant-rbac']).not.toHaveProperty('cache');
  });
});
