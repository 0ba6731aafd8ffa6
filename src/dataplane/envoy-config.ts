/**
 * A static Envoy bootstrap derived from the same rendered Istio objects the operator applies (Gateway,
 * VirtualService, Service, AuthorizationPolicy and the gateway credential Secret). Upstream Envoy lacks Istio's
 * own filters, so istiod's output cannot run in it as is; this bootstrap reproduces, piece by piece, what the
 * Istio ingress gateway does with those objects, so tests can drive a real mTLS + ext_authz + routing data
 * path. Each section names the Istio behaviour it mirrors. Pure: no I/O, deterministic output.
 */
import { stringify } from 'yaml';
import type { KubeObject } from '../domain/index.ts';

/** An IP address and port Envoy binds or connects to. */
export interface SocketAddress {
  address: string;
  port: number;
}

/** A VirtualService destination: the Service FQDN and port the route names. */
export interface Destination {
  host: string;
  port: number;
}

/** Inputs of {@link envoyBootstrap}. */
export interface EnvoyBootstrapOptions {
  /** Rendered objects of one or more tenants; kinds other than those listed above are ignored. */
  objects: KubeObject[];
  /** Namespace of the ingress gateway pods: where Istio looks up `credentialName` Secrets. */
  gatewayNamespace: string;
  /** Name of the meshConfig extension provider that CUSTOM policies select (Authorino). */
  authorizationProvider: string;
  /** Where the gateway listens for clients (the HTTPS port of the Gateway servers). */
  listener: SocketAddress;
  /** Envoy's admin interface; keep it on loopback. */
  admin: SocketAddress;
  /** Authorino's ext_authz gRPC address (the provider's `service:port`). */
  extAuthz: SocketAddress;
  /**
   * Where a destination is reached. Default: the Service FQDN resolved by DNS, as inside a cluster; tests map
   * destinations to a local model server.
   */
  resolveDestination?: (destination: Destination) => SocketAddress;
}

/** Thrown when the objects cannot make a working gateway (Istio would serve nothing for that server). */
export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
}

/** Istio's default ext_authz timeout for `envoyExtAuthzGrpc` providers. */
export const EXT_AUTHZ_TIMEOUT = '600s';
/** Istio's CUSTOM provider default `statusOnError`: a failing Authorino denies rather than allows. */
export const EXT_AUTHZ_STATUS_ON_ERROR = 403;
const EXT_AUTHZ_CLUSTER = 'ext-authz';

const TYPE = {
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  extAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  rbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  tlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

const TLS_VERSIONS: Record<string, string> = {
  TLSV1_0: 'TLSv1_0',
  TLSV1_1: 'TLSv1_1',
  TLSV1_2: 'TLSv1_2',
  TLSV1_3: 'TLSv1_3',
};

interface GatewayServer {
  port: { number: number; name: string; protocol: string };
  hosts: string[];
  tls?: { mode?: string; credentialName?: string; minProtocolVersion?: string; maxProtocolVersion?: string };
}

interface HttpRoute {
  name?: string;
  match?: { headers?: Record<string, { prefix?: string; exact?: string }> }[];
  route: { destination: { host: string; port?: { number: number } } }[];
}

const spec = (object: KubeObject) => (object.spec ?? {}) as Record<string, unknown>;
const ofKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const sorted = <T>(items: T[], key: (item: T) => string) =>
  [...items].sort((a, b) => key(a).localeCompare(key(b)));

/** Istio names outbound clusters `outbound|<port>|<subset>|<host>`; the same names make stats comparable. */
export function clusterName(destination: Destination): string {
  return `outbound|${destination.port}||${destination.host}`;
}

/** `ns/host` or `./host` in a Gateway server → the host; the namespace part only limits VirtualService binding. */
function serverHost(entry: string): string {
  const slash = entry.indexOf('/');
  return slash >= 0 ? entry.slice(slash + 1) : entry;
}

/** Istio host matching: exact, or `*.suffix` covering any name ending in `.suffix` (ports compared literally). */
function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  return pattern.startsWith('*.') && host.endsWith(pattern.slice(1));
}

function decodeSecret(secret: KubeObject): Record<string, string> {
  const data = (secret.data ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );
}

/**
 * Mirrors the gateway's SDS lookup of `credentialName`: the Secret must be in the gateway's own namespace and
 * hold `tls.crt`/`tls.key`, plus `ca.crt` (and optionally `ca.crl`) for MUTUAL.
 */
function credential(objects: KubeObject[], name: string, namespace: string): Record<string, string> {
  const secret = ofKind(objects, 'Secret').find(
    (s) => s.metadata.name === name && s.metadata.namespace === namespace,
  );
  if (!secret) {
    throw new GatewayConfigError(`credential Secret ${namespace}/${name} not found in the gateway namespace`);
  }
  const values = decodeSecret(secret);
  for (const key of ['tls.crt', 'tls.key', 'ca.crt']) {
    if (!values[key]) throw new GatewayConfigError(`credential Secret ${namespace}/${name} has no ${key}`);
  }
  return values;
}

/**
 * Mirrors a Gateway server with `tls.mode: MUTUAL`: the client must present a certificate chaining to
 * `ca.crt` and not listed in `ca.crl`, or the handshake fails before any HTTP happens.
 */
function downstreamTls(server: GatewayServer, values: Record<string, string>): Record<string, unknown> {
  const validation: Record<string, unknown> = { trusted_ca: { inline_string: values['ca.crt'] } };
  if (values['ca.crl']) validation.crl = { inline_string: values['ca.crl'] };
  const tlsParams: Record<string, string> = {};
  const min = server.tls?.minProtocolVersion;
  const max = server.tls?.maxProtocolVersion;
  if (min && TLS_VERSIONS[min]) tlsParams.tls_minimum_protocol_version = TLS_VERSIONS[min];
  if (max && TLS_VERSIONS[max]) tlsParams.tls_maximum_protocol_version = TLS_VERSIONS[max];
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TYPE.downstreamTls,
      require_client_certificate: true,
      common_tls_context: {
        tls_params: tlsParams,
        // Istio offers h2 and http/1.1 on HTTPS gateway servers; gRPC clients need h2.
        alpn_protocols: ['h2', 'http/1.1'],
        // Istio serves these through SDS from the Secret; inlined here, the bytes are the same.
        tls_certificates: [
          {
            certificate_chain: { inline_string: values['tls.crt'] },
            private_key: { inline_string: values['tls.key'] },
          },
        ],
        validation_context: validation,
      },
    },
  };
}

/** Istio's CUSTOM shadow rules: their stat prefix, which Envoy also puts before the metadata keys it writes. */
const EXT_AUTHZ_SHADOW_PREFIX = 'istio_ext_authz_';
/** Istio names CUSTOM shadow policies `istio-ext-authz-ns[<ns>]-policy[<name>]-rule[<i>]`. */
const EXT_AUTHZ_POLICY_ID_PREFIX = 'istio-ext-authz';

/** Istio's string matcher for policy values: `*` any, `*x` suffix, `x*` prefix, else exact; hosts ignore case. */
function istioStringMatch(value: string): Record<string, unknown> {
  if (value === '*') return { safe_regex: { regex: '.+' } };
  if (value.startsWith('*')) return { suffix: value.slice(1), ignore_case: true };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1), ignore_case: true };
  return { exact: value, ignore_case: true };
}

interface PolicyRule {
  to?: { operation?: Record<string, unknown> }[];
  from?: unknown[];
  when?: unknown[];
}

/** One CUSTOM rule as Istio's RBAC permission: any request, or one whose `:authority` matches a host. */
function customRulePermission(policy: KubeObject, rule: PolicyRule): Record<string, unknown> {
  if (rule.from !== undefined || rule.when !== undefined) {
    throw new GatewayConfigError(
      `${policy.metadata.name}: only rules with hosts or no conditions are mirrored`,
    );
  }
  const hosts = (rule.to ?? []).flatMap((to) => {
    const keys = Object.keys(to.operation ?? {}).filter((key) => key !== 'hosts');
    if (keys.length > 0)
      throw new GatewayConfigError(`${policy.metadata.name}: ${keys.join(', ')} not mirrored`);
    return (to.operation?.hosts ?? []) as string[];
  });
  if (rule.to === undefined) return { any: true };
  return {
    or_rules: {
      rules: hosts.map((host) => ({ header: { name: ':authority', string_match: istioStringMatch(host) } })),
    },
  };
}

/**
 * Mirrors how Istio compiles CUSTOM policies on a workload: an RBAC filter whose *shadow* rules (never
 * enforced) mark a request whose rule matched, and an ext_authz filter enabled only for marked requests
 * (`filter_enabled_metadata`). A request no rule matches is routed without any call to the provider.
 */
function extAuthzShadowRules(options: EnvoyBootstrapOptions): Record<string, unknown> {
  const policies: Record<string, unknown> = {};
  const custom = ofKind(options.objects, 'AuthorizationPolicy')
    .filter((policy) => policy.metadata.namespace === options.gatewayNamespace)
    .filter((policy) => {
      const s = spec(policy) as { action?: string; provider?: { name?: string } };
      return s.action === 'CUSTOM' && s.provider?.name === options.authorizationProvider;
    });
  for (const policy of sorted(custom, (p) => p.metadata.name)) {
    ((spec(policy).rules ?? []) as PolicyRule[]).forEach((rule, index) => {
      const id = `${EXT_AUTHZ_POLICY_ID_PREFIX}-ns[${policy.metadata.namespace}]-policy[${policy.metadata.name}]-rule[${index}]`;
      policies[id] = { permissions: [customRulePermission(policy, rule)], principals: [{ any: true }] };
    });
  }
  return {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': TYPE.rbac,
      shadow_rules: { action: 'DENY', policies },
      shadow_rules_stat_prefix: EXT_AUTHZ_SHADOW_PREFIX,
    },
  };
}

/**
 * Mirrors Istio's protocol selection for the destination port: a Service port named `grpc…`/`http2…` or with
 * appProtocol grpc/http2 gets an HTTP/2 upstream; anything else HTTP/1.1.
 */
function isHttp2Port(objects: KubeObject[], destination: Destination): boolean {
  const [name, namespace] = destination.host.split('.');
  const service = ofKind(objects, 'Service').find(
    (s) => s.metadata.name === name && s.metadata.namespace === namespace,
  );
  const ports = (spec(service ?? ({} as KubeObject)).ports ?? []) as {
    name?: string;
    port: number;
    appProtocol?: string;
  }[];
  const port = ports.find((p) => p.port === destination.port);
  if (!port) return false;
  const protocol = (port.appProtocol ?? port.name?.split('-')[0] ?? '').toLowerCase();
  return protocol === 'grpc' || protocol === 'http2' || protocol === 'grpc-web';
}

/** Mirrors a VirtualService http route: header matches, one destination, no route timeout (Istio's default). */
function route(http: HttpRoute, destinations: Map<string, Destination>): Record<string, unknown> {
  const headers = Object.entries(http.match?.[0]?.headers ?? {}).map(([name, match]) => ({
    name,
    string_match: match.prefix !== undefined ? { prefix: match.prefix } : { exact: match.exact ?? '' },
  }));
  const target = http.route[0]!.destination;
  const destination = { host: target.host, port: target.port?.number ?? 80 };
  destinations.set(clusterName(destination), destination);
  return {
    ...(http.name !== undefined ? { name: http.name } : {}),
    match: { prefix: '/', ...(headers.length > 0 ? { headers } : {}) },
    route: { cluster: clusterName(destination), timeout: '0s' },
  };
}

/** The listener's filter chain for one MUTUAL Gateway server: SNI match, mTLS, HCM, ext_authz, routes. */
function filterChain(
  gateway: KubeObject,
  server: GatewayServer,
  options: EnvoyBootstrapOptions,
  destinations: Map<string, Destination>,
): Record<string, unknown> {
  const gatewayRef = `${gateway.metadata.namespace}/${gateway.metadata.name}`;
  const hosts = server.hosts.map(serverHost);
  const values = credential(options.objects, server.tls!.credentialName!, options.gatewayNamespace);

  const virtualServices = sorted(
    ofKind(options.objects, 'VirtualService').filter((vs) => {
      const gateways = (spec(vs).gateways ?? []) as string[];
      return gateways.includes(gatewayRef) || gateways.includes(gateway.metadata.name);
    }),
    (vs) => vs.metadata.name,
  );
  const virtualHosts = virtualServices.flatMap((vs) => {
    const vsHosts = ((spec(vs).hosts ?? []) as string[]).filter((h) => hosts.some((p) => hostMatches(p, h)));
    const routes = ((spec(vs).http ?? []) as HttpRoute[]).map((http) => route(http, destinations));
    return vsHosts.map((host) => ({
      name: `${host}:${server.port.number}`,
      // Istio's gateway virtual hosts match the authority whatever its port (IgnorePortInHostMatching).
      domains: [host, `${host}:*`],
      routes,
    }));
  });

  const hcm = {
    '@type': TYPE.hcm,
    stat_prefix: `outbound_${server.port.number}_${gateway.metadata.name}`,
    codec_type: 'AUTO',
    // Gateways are the edge: they see the real client address and sanitise x-forwarded-* headers.
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: true,
    // Istio gateways default to SANITIZE_SET: a client-supplied XFCC is replaced by the verified certificate.
    forward_client_cert_details: 'SANITIZE_SET',
    set_current_client_cert_details: { subject: true, cert: true, uri: true, dns: true },
    route_config: {
      name: `https.${server.port.number}.${server.port.name}.${gateway.metadata.name}`,
      virtual_hosts: virtualHosts,
    },
    http_filters: [
      extAuthzShadowRules(options),
      {
        // Istio's CUSTOM action with an envoyExtAuthzGrpc provider. Istio never sets
        // include_peer_certificate: Authorino sees the certificate only through XFCC.
        name: 'envoy.filters.http.ext_authz',
        typed_config: {
          '@type': TYPE.extAuthz,
          transport_api_version: 'V3',
          failure_mode_allow: false,
          status_on_error: { code: EXT_AUTHZ_STATUS_ON_ERROR },
          grpc_service: { envoy_grpc: { cluster_name: EXT_AUTHZ_CLUSTER }, timeout: EXT_AUTHZ_TIMEOUT },
          // Only requests a CUSTOM shadow rule marked reach the provider.
          filter_enabled_metadata: {
            filter: 'envoy.filters.http.rbac',
            path: [{ key: `${EXT_AUTHZ_SHADOW_PREFIX}shadow_effective_policy_id` }],
            value: { string_match: { prefix: EXT_AUTHZ_POLICY_ID_PREFIX } },
          },
        },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE.router } },
    ],
  };

  return {
    name: `${gatewayRef}/${server.port.name}`,
    filter_chain_match: { server_names: hosts },
    transport_socket: downstreamTls(server, values),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
  };
}

function staticCluster(
  name: string,
  address: SocketAddress,
  http2: boolean,
  dns: boolean,
): Record<string, unknown> {
  const cluster: Record<string, unknown> = {
    name,
    type: dns ? 'STRICT_DNS' : 'STATIC',
    connect_timeout: '10s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: {
                address: { socket_address: { address: address.address, port_value: address.port } },
              },
            },
          ],
        },
      ],
    },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

/**
 * The Envoy bootstrap for the ingress gateway serving every MUTUAL HTTPS Gateway server among `objects`: one
 * listener, one SNI filter chain per server, a cluster per routed destination and one for Authorino.
 * Throws {@link GatewayConfigError} when a server's credential Secret is missing from the gateway namespace.
 */
export function envoyBootstrap(options: EnvoyBootstrapOptions): Record<string, unknown> {
  const destinations = new Map<string, Destination>();
  const chains = sorted(
    ofKind(options.objects, 'Gateway'),
    (g) => `${g.metadata.namespace}/${g.metadata.name}`,
  ).flatMap((gateway) =>
    ((spec(gateway).servers ?? []) as GatewayServer[])
      .filter(
        (server) =>
          server.port.protocol === 'HTTPS' && server.tls?.mode === 'MUTUAL' && server.tls.credentialName,
      )
      .map((server) => filterChain(gateway, server, options, destinations)),
  );
  const resolve = options.resolveDestination;
  const upstreams = sorted([...destinations.entries()], ([name]) => name).map(([name, destination]) =>
    staticCluster(
      name,
      resolve ? resolve(destination) : { address: destination.host, port: destination.port },
      isHttp2Port(options.objects, destination),
      resolve === undefined,
    ),
  );
  return {
    admin: {
      address: { socket_address: { address: options.admin.address, port_value: options.admin.port } },
    },
    static_resources: {
      listeners: [
        {
          name: `0.0.0.0_${options.listener.port}`,
          address: {
            socket_address: { address: options.listener.address, port_value: options.listener.port },
          },
          // Needed to read SNI before choosing a filter chain, as on Istio's gateway listeners.
          listener_filters: [
            { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE.tlsInspector } },
          ],
          filter_chains: chains,
        },
      ],
      clusters: [...upstreams, staticCluster(EXT_AUTHZ_CLUSTER, options.extAuthz, true, false)],
    },
  };
}

/** {@link envoyBootstrap} as YAML, the form `envoy -c` reads. */
export function envoyBootstrapYaml(options: EnvoyBootstrapOptions): string {
  return stringify(envoyBootstrap(options), { lineWidth: 0 });
}
