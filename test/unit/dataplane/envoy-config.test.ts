import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { envoyBootstrap, envoyBootstrapYaml, GatewayConfigError } from '../../../src/dataplane/index.ts';
import type { EnvoyBootstrapOptions } from '../../../src/dataplane/index.ts';
import { renderExtAuthzPolicy } from '../../../src/render/authorizationpolicy.ts';
import { renderTenant } from '../../../src/render/index.ts';
import { platform, sampleInput } from '../render/fixtures.ts';

const objects = [...renderTenant(sampleInput()), renderExtAuthzPolicy(platform)];
const options = (overrides: Partial<EnvoyBootstrapOptions> = {}): EnvoyBootstrapOptions => ({
  objects,
  gatewayNamespace: 'istio-system',
  authorizationProvider: 'tenantmesh-authorino',
  listener: { address: '0.0.0.0', port: 8443 },
  admin: { address: '127.0.0.1', port: 15000 },
  extAuthz: { address: '10.96.0.50', port: 50051 },
  ...overrides,
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const chainOf = (config: Json) => config.static_resources.listeners[0].filter_chains[0] as Json;
const hcmOf = (config: Json) => chainOf(config).filters[0].typed_config as Json;

describe('the Envoy bootstrap derived from the rendered gateway objects', () => {
  it('matches the golden file', async () => {
    await expect(envoyBootstrapYaml(options())).toMatchFileSnapshot(
      join(import.meta.dirname, '__golden__/envoy.yaml'),
    );
  });

  it('requires a client certificate against the tenant CA and its CRL from the credential Secret', () => {
    const tls = chainOf(envoyBootstrap(options())).transport_socket.typed_config as Json;
    expect(tls.require_client_certificate).toBe(true);
    expect(tls.common_tls_context.validation_context.trusted_ca.inline_string).toContain('ACME-CA');
    expect(tls.common_tls_context.validation_context.crl.inline_string).toContain('ACME-CRL');
    expect(tls.common_tls_context.tls_certificates[0].certificate_chain.inline_string).toContain(
      'ACME-SERVING',
    );
    expect(tls.common_tls_context.tls_params.tls_minimum_protocol_version).toBe('TLSv1_2');
  });

  it('selects the tenant filter chain by SNI for the tenant wildcard host', () => {
    expect(chainOf(envoyBootstrap(options())).filter_chain_match.server_names).toEqual([
      '*.acme.models.example.com',
    ]);
  });

  it('replaces client XFCC with the verified certificate and asks Authorino without the peer certificate', () => {
    const hcm = hcmOf(envoyBootstrap(options()));
    expect(hcm.forward_client_cert_details).toBe('SANITIZE_SET');
    expect(hcm.set_current_client_cert_details).toMatchObject({ cert: true, subject: true, uri: true });
    const extAuthz = hcm.http_filters[1].typed_config as Json;
    expect(extAuthz.transport_api_version).toBe('V3');
    expect(extAuthz.failure_mode_allow).toBe(false);
    expect(extAuthz).not.toHaveProperty('include_peer_certificate');
    expect(hcm.http_filters.at(-1).name).toBe('envoy.filters.http.router');
  });

  it('routes each endpoint host, with or without a port, gRPC to an HTTP/2 cluster of its Service', () => {
    const config = envoyBootstrap(options()) as Json;
    const hosts = hcmOf(config).route_config.virtual_hosts as Json[];
    const bert = hosts.find((h) => h.domains.includes('bert.acme.models.example.com'))!;
    expect(bert.domains).toEqual(['bert.acme.models.example.com', 'bert.acme.models.example.com:*']);
    const grpcCluster = bert.routes[0].route.cluster as string;
    expect(grpcCluster).toBe('outbound|8001||acme--bert.tenantmesh-serving.svc.cluster.local');
    const cluster = (config.static_resources.clusters as Json[]).find((c) => c.name === grpcCluster)!;
    expect(cluster.typed_extension_protocol_options).toBeDefined();
  });

  it('sends clusters to the address a test resolves destinations to', () => {
    const config = envoyBootstrap(
      options({ resolveDestination: () => ({ address: '127.0.0.1', port: 9999 }) }),
    ) as Json;
    const upstream = (config.static_resources.clusters as Json[])[0]!;
    expect(upstream.type).toBe('STATIC');
    expect(upstream.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '127.0.0.1',
      port_value: 9999,
    });
  });

  it('enables ext_authz only for requests a CUSTOM shadow rule marks, as Istio compiles CUSTOM policies', () => {
    const hcm = hcmOf(envoyBootstrap(options()));
    const [rbac, extAuthz] = hcm.http_filters as Json[];
    expect(rbac!.name).toBe('envoy.filters.http.rbac');
    expect(rbac!.typed_config.rules).toBeUndefined();
    expect(rbac!.typed_config.shadow_rules_stat_prefix).toBe('istio_ext_authz_');
    expect(extAuthz!.typed_config.filter_enabled_metadata).toEqual({
      filter: 'envoy.filters.http.rbac',
      path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
      value: { string_match: { prefix: 'istio-ext-authz' } },
    });
    // The tenant's rule names no host, so it marks every request whatever its :authority.
    expect(Object.values(rbac!.typed_config.shadow_rules.policies)).toEqual([
      { permissions: [{ any: true }], principals: [{ any: true }] },
    ]);
  });

  it('mirrors a host-limited CUSTOM rule as a literal, case-insensitive :authority match', () => {
    const hostLimited = objects.map((o) =>
      o.kind === 'AuthorizationPolicy' && (o.spec as Json).action === 'CUSTOM'
        ? {
            ...o,
            spec: {
              ...(o.spec as Json),
              rules: [{ to: [{ operation: { hosts: ['*.acme.models.example.com'] } }] }],
            },
          }
        : o,
    );
    const [rbac] = hcmOf(envoyBootstrap(options({ objects: hostLimited }))).http_filters as Json[];
    expect(Object.values(rbac!.typed_config.shadow_rules.policies)).toEqual([
      {
        permissions: [
          {
            or_rules: {
              rules: [
                {
                  header: {
                    name: ':authority',
                    string_match: { suffix: '.acme.models.example.com', ignore_case: true },
                  },
                },
              ],
            },
          },
        ],
        principals: [{ any: true }],
      },
    ]);
  });

  it('sends nothing to the provider without a CUSTOM policy', () => {
    const withoutPolicy = objects.filter((o) => o.kind !== 'AuthorizationPolicy');
    const [rbac] = hcmOf(envoyBootstrap(options({ objects: withoutPolicy }))).http_filters as Json[];
    expect(rbac!.typed_config.shadow_rules.policies).toEqual({});
  });

  it('refuses a credential Secret outside the gateway namespace, as the Istio gateway cannot read it', () => {
    const moved = objects.map((o) =>
      o.kind === 'Secret' && o.metadata.namespace === 'istio-system'
        ? { ...o, metadata: { ...o.metadata, namespace: 'tenantmesh-serving' } }
        : o,
    );
    expect(() => envoyBootstrap(options({ objects: moved }))).toThrow(GatewayConfigError);
  });

  it('writes YAML that parses back to the same bootstrap', () => {
    expect(parse(envoyBootstrapYaml(options()))).toEqual(envoyBootstrap(options()));
  });
});
