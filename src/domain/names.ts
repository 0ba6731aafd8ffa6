/**
 * Every name tenantmesh derives from a tenant or an endpoint, in one place, so the operator, the API, the
 * renderers and the docs cannot disagree (docs/architecture.md, "Names every part agrees on").
 * `t` is a tenant name, `e` a short endpoint name (the InferenceEndpoint is `<t>--<e>`).
 *
 * Names are collision-free by construction: tenant and endpoint names never contain {@link NAME_SEPARATOR},
 * so `<t>--<e>` splits in exactly one way and no two (tenant, endpoint) pairs, nor a tenant-level name and an
 * endpoint-level one, can ever produce the same object name (tenants `acme` and `acme-prod` coexist).
 */
import type { Tenant } from './generated.ts';
import type { PlatformConfig } from './platform.ts';

/** API group of the tenantmesh CRDs. */
export const API_GROUP = 'tenantmesh.io';
/** Version of the tenantmesh CRDs. */
export const API_VERSION = 'v1alpha1';
/** `apiVersion` of tenantmesh objects. */
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/**
 * The data-plane permission: verb `invoke` on the virtual resource `inferenceendpoints` of `tenantmesh.io`,
 * name `<t>--<e>`, in the serving namespace. No built-in role (`view`, `edit`, a cluster-wide reader) grants
 * it; only `registry-user-<t>` and the per-endpoint grant Roles do (docs/rbac.md).
 */
export const INVOKE_ATTRIBUTES = {
  verb: 'invoke',
  group: API_GROUP,
  resource: 'inferenceendpoints',
} as const;

/** Field managers for server-side apply. */
export const FIELD_MANAGERS = { operator: 'tenantmesh-operator', api: 'tenantmesh-api' } as const;

/** Joins a tenant and an endpoint name; neither may contain it, so the join is unambiguous. */
export const NAME_SEPARATOR = '--';
/**
 * Tenant names are DNS labels of 3–40 characters starting with a letter (room for every prefix below),
 * without {@link NAME_SEPARATOR}: every hyphen is followed by a letter or digit.
 */
export const TENANT_NAME_PATTERN = /^[a-z](-?[a-z0-9])*$/;
/** Short endpoint names are DNS labels without {@link NAME_SEPARATOR}; `<t>--<e>` must fit 63 characters. */
export const ENDPOINT_NAME_PATTERN = /^[a-z0-9](-?[a-z0-9])*$/;
export const TENANT_NAME_MIN = 3;
export const TENANT_NAME_MAX = 40;
export const RESOURCE_NAME_MAX = 63;

/** Whether `t` is an acceptable tenant name. */
export function isValidTenantName(t: string): boolean {
  return t.length >= TENANT_NAME_MIN && t.length <= TENANT_NAME_MAX && TENANT_NAME_PATTERN.test(t);
}

/**
 * Short endpoint names no endpoint may take: endpoint `e` is reached at `<e>.<tenant hostname>`, and
 * `registry.<tenant hostname>` is the tenant's model registry ({@link registryHost}).
 */
export const RESERVED_ENDPOINT_NAMES: readonly string[] = ['registry'];

/** Whether `e` is an acceptable short name for an endpoint of tenant `t`. */
export function isValidEndpointName(t: string, e: string): boolean {
  return (
    ENDPOINT_NAME_PATTERN.test(e) &&
    !RESERVED_ENDPOINT_NAMES.includes(e) &&
    endpointResourceName(t, e).length <= RESOURCE_NAME_MAX
  );
}

/** The tenant's bucket. */
export function bucketName(t: string): string {
  return `tenantmesh-${t}`;
}

/** Object key prefix of one model version's files in the tenant's bucket. */
export function modelVersionPrefix(model: string, version: string): string {
  return `models/${model}/${version}/`;
}

/** Name of the InferenceEndpoint, its Deployment, Service, VirtualService and DestinationRule. */
export function endpointResourceName(t: string, e: string): string {
  return `${t}${NAME_SEPARATOR}${e}`;
}

/** The short endpoint name of InferenceEndpoint `name` of tenant `t`, or undefined if it is not `<t>--<e>`. */
export function shortEndpointName(t: string, name: string): string | undefined {
  const prefix = `${t}${NAME_SEPARATOR}`;
  if (!name.startsWith(prefix)) return undefined;
  const endpoint = name.slice(prefix.length);
  return ENDPOINT_NAME_PATTERN.test(endpoint) ? endpoint : undefined;
}

/** The DNS name the tenant's endpoints hang under: `spec.hostname`, else `<t>.<domain>`. */
export function tenantHostname(tenant: Pick<Tenant, 'metadata' | 'spec'>, platform: PlatformConfig): string {
  return tenant.spec.hostname ?? `${tenant.metadata.name}.${platform.domain}`;
}

/** The host clients call for endpoint `e`: `<e>.<tenant hostname>`. */
export function endpointHost(hostname: string, e: string): string {
  return `${e}.${hostname}`;
}

/** The wildcard host covering every endpoint of a tenant. */
export function tenantWildcardHost(hostname: string): string {
  return `*.${hostname}`;
}

/** In-cluster DNS name of an endpoint's Service. */
export function serviceFqdn(t: string, e: string, namespace: string): string {
  return `${endpointResourceName(t, e)}.${namespace}.svc.cluster.local`;
}

/** The tenant's Istio Gateway (in the serving namespace). */
export function gatewayName(t: string): string {
  return `tenantmesh-${t}`;
}

/** `<namespace>/<name>` reference to the tenant's Gateway, as a VirtualService names it. */
export function gatewayRef(t: string, platform: PlatformConfig): string {
  return `${platform.servingNamespace}/${gatewayName(t)}`;
}

/** Secret with the tenant's serving certificate and CA, in the gateway namespace (Gateway credentialName). */
export function gatewayCredentialSecretName(t: string): string {
  return `tenantmesh-${t}-gateway`;
}

/** Secret with the tenant's CA certificate that Authorino trusts for x509 identities (serving namespace). */
export function caTrustSecretName(t: string): string {
  return `tenantmesh-${t}-ca-trust`;
}

/** Secret with a generated tenant CA's certificate and private key (operator's namespace). */
export function caKeySecretName(t: string): string {
  return `tenantmesh-${t}-ca`;
}

/** Secret with read-only, expiring credentials for the tenant's bucket (serving namespace). */
export function storageCredentialSecretName(t: string): string {
  return `tenantmesh-${t}-storage-read`;
}

/** The tenant's Authorino AuthConfig (serving namespace). */
export function authConfigName(t: string): string {
  return `tenantmesh-${t}`;
}

/** The one CUSTOM AuthorizationPolicy sending every request at the gateway to Authorino (gateway namespace). */
export const EXT_AUTHZ_POLICY_NAME = 'tenantmesh-ext-authz';

/** ALLOW AuthorizationPolicy letting only the gateway reach the tenant's serving pods (serving namespace). */
export function gatewayOnlyPolicyName(t: string): string {
  return `tenantmesh-${t}-from-gateway`;
}

/** Namespace-wide STRICT PeerAuthentication of the serving namespace. */
export const PEER_AUTHENTICATION_NAME = 'tenantmesh-strict-mtls';

/** Group whose members use the tenant (bound by RoleBinding `<t>-users`; an OpenShift Group on OpenShift). */
export function tenantUsersGroup(t: string): string {
  return `${t}-users`;
}

/** Data-plane Role: `invoke` on the tenant's InferenceEndpoints (docs/rbac.md). */
export function registryUserRoleName(t: string): string {
  return `registry-user-${t}`;
}

/** RoleBinding of the data-plane Role to the tenant's users. */
export function registryUsersBindingName(t: string): string {
  return `${t}-users`;
}

/** Role and RoleBinding of an endpoint-level grant; the separator keeps it apart from `registry-user-<t>`. */
export function endpointGrantRoleName(t: string, e: string): string {
  return `registry-user-${endpointResourceName(t, e)}`;
}

/** The cluster-wide, static platform-admin ClusterRole (and its binding). */
export const PLATFORM_ADMIN_CLUSTER_ROLE = 'tenantmesh:platform-admin';

/** ClusterRole (and binding) of the tenant's administrators on the management plane. */
export function tenantAdminClusterRoleName(t: string): string {
  return `tenantmesh:tenant-admin:${t}`;
}

/** ClusterRole (and binding) of the tenant's users on the management plane. */
export function tenantUserClusterRoleName(t: string): string {
  return `tenantmesh:tenant-user:${t}`;
}

/** Username Authorino and the API give a client certificate with subject CN `cn` issued by the tenant's CA. */
export function clientCertificateUsername(t: string, cn: string): string {
  return `tenantmesh:client:${t}:${cn}`;
}

/** Group of every client certificate issued by the tenant's CA. */
export function clientCertificateGroup(t: string): string {
  return `tenantmesh:clients:${t}`;
}

/**
 * ConfigMap (serving namespace) recording the client certificates issued from tenant `t`'s CA and their
 * revocations. The API writes it; the operator turns the revoked entries into the CRL of the gateway credential.
 * Key `certificates.json`: `ClientCertificateRecord[]`.
 */
export function clientCertificateRegistryName(t: string): string {
  return `tenantmesh-${t}-client-certificates`;
}

/** One issued client certificate, as kept in {@link clientCertificateRegistryName}. */
export interface ClientCertificateRecord {
  serialNumber: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  issuedBy: string;
  revokedAt?: string;
}

/** Key of the registry ConfigMap holding the JSON list of records. */
export const CLIENT_CERTIFICATE_REGISTRY_KEY = 'certificates.json';

/**
 * ConfigMap (serving namespace) holding one issued client certificate's record (key
 * {@link CLIENT_CERTIFICATE_RECORD_KEY}), labelled {@link CLIENT_CERTIFICATE_LABEL} and with the tenant's labels.
 * One object per certificate, so neither issuing nor revoking can run out of room; the single registry
 * ConfigMap of earlier versions is still read. Serials are random 128-bit numbers, unique across tenants.
 */
export function clientCertificateRecordName(normalisedSerial: string): string {
  return `tenantmesh-client-certificate-${normalisedSerial}`;
}

/** Label on every certificate record ConfigMap (value: the normalised serial). */
export const CLIENT_CERTIFICATE_LABEL = 'tenantmesh.io/client-certificate';

/** Key of a certificate record ConfigMap holding its JSON record. */
export const CLIENT_CERTIFICATE_RECORD_KEY = 'certificate.json';

/**
 * The tenant's model registry Service in the serving namespace, named after the tenant so that in-cluster clients
 * reach the registry at `<t>.<serving namespace>.svc` (the Model Registry tenancy convention).
 */
export function registryServiceName(t: string): string {
  return t;
}

/**
 * VirtualService routing `registry.<tenant hostname>` from the tenant's Gateway to the management API. `<t>--registry`
 * cannot name an endpoint's, since the endpoint name `registry` is reserved.
 */
export function registryVirtualServiceName(t: string): string {
  return endpointResourceName(t, 'registry');
}

/** AuthConfig of the registry host; `--` keeps it apart from every tenant's {@link authConfigName}. */
export function registryAuthConfigName(t: string): string {
  return `${authConfigName(t)}${NAME_SEPARATOR}registry`;
}

/** The external host of the tenant's model registry: `registry.<tenant hostname>`. */
export function registryHost(hostname: string): string {
  return `registry.${hostname}`;
}

/** Path prefixes of the Model Registry REST API: current clients use v1, the upstream server v1alpha3. */
export const REGISTRY_API_PREFIXES = ['/api/model_registry/v1', '/api/model_registry/v1alpha3'] as const;
