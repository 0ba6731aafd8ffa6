import type { Subject } from './generated.ts';

/**
 * An OIDC issuer whose JWTs the data plane (Authorino) and the management API accept: the one configuration both
 * derive their claim rules from (domain/oidc.ts). Keep it equal to the kube-apiserver's `jwt[]` entry for the
 * same issuer (structured authentication configuration), so kubectl sees the same user.
 */
export interface OidcIssuer {
  /** Issuer URL exactly as in the tokens' `iss`; Authorino reads its discovery document. */
  issuerUrl: string;
  /** Accepted `aud` values; a token must carry at least one. */
  audiences: string[];
  /** Claim holding the username. Default `sub`. */
  usernameClaim?: string;
  /** `claimMappings.username.prefix`: put before the username. Default none (as `prefix: ""`). */
  usernamePrefix?: string;
  /** Claim holding the groups. Default `groups`. */
  groupsClaim?: string;
  /** `claimMappings.groups.prefix`: put before each group, e.g. `oidc:`. Default none. */
  groupsPrefix?: string;
  /**
   * PEM bundle the management API trusts for the issuer's discovery document and keys (the apiserver's
   * `issuer.certificateAuthority`); the data plane's trust is Authorino's own configuration.
   */
  certificateAuthority?: string;
}

/** Where the tenants' buckets live, as serving pods reach it. */
export interface StorageConfig {
  /** Object store URL as seen from inside the cluster, e.g. `http://minio.tenantmesh-system.svc:9000`. */
  endpoint: string;
}

/** Platform-wide settings every renderer and the API agree on (defaults in docs/architecture.md). */
export interface PlatformConfig {
  /** Namespace that holds every tenant's serving stack. */
  servingNamespace: string;
  /**
   * Namespace of the tenant CA Secrets (their private keys), read and written by both the operator and the API.
   * Deployed through the configuration file it is never the serving namespace, where tenant code runs.
   */
  caNamespace: string;
  /** Namespace of the Istio ingress gateway pods (credential Secrets and the CUSTOM policy live there). */
  gatewayNamespace: string;
  /** Labels selecting the ingress gateway pods. */
  gatewaySelector: Record<string, string>;
  /** ServiceAccount of the ingress gateway pods; with the namespace it makes the gateway's principal. */
  gatewayServiceAccount: string;
  /** The mesh's trust domain (meshConfig.trustDomain), the first part of every SPIFFE principal. */
  trustDomain: string;
  /** Parent domain of tenant hostnames: a tenant without its own hostname gets `<tenant>.<domain>`. */
  domain: string;
  /** Name of the Istio meshConfig extension provider that points at Authorino. */
  authorinoProvider: string;
  /** Label Authorino requires on Secrets it watches (its `--secret-label-selector`). */
  authorinoInstanceLabel: { key: string; value: string };
  /** Trusted OIDC issuers. */
  oidcIssuers: OidcIssuer[];
  /** Audiences a ServiceAccount token must be issued for (TokenReview). */
  serviceAccountTokenAudiences: string[];
  /** How long Authorino may reuse a SubjectAccessReview answer, in seconds. */
  authorizationCacheTtlSeconds: number;
  /** The object store. */
  storage: StorageConfig;
  /**
   * Where in-cluster clients of a tenant's registry end up: the management API's Service (DNS name and port).
   * Each tenant's registry Service in the serving namespace is an ExternalName alias of it (docs/registry.md).
   */
  registryService: { externalName: string; port: number };
  /** Image of the init container that pulls a model version (the tenantmesh image: `pull-model` command). */
  modelPullerImage: string;
  /** Subjects bound to the platform-admin ClusterRole. */
  platformAdmins: Subject[];
}

/** The defaults, matching docs/architecture.md. */
export const DEFAULT_PLATFORM_CONFIG: PlatformConfig = {
  servingNamespace: 'tenantmesh-serving',
  // An in-process platform (npm start, tests) keeps everything in one namespace; the configuration file's
  // default is the operator's namespace instead (src/config/file.ts).
  caNamespace: 'tenantmesh-serving',
  // What `helm install istio-ingress istio/gateway -n istio-ingress` (Istio's documented install) creates:
  // the chart names the ServiceAccount after the release and labels the pods `istio: <release without istio->`.
  gatewayNamespace: 'istio-ingress',
  gatewaySelector: { istio: 'ingress' },
  gatewayServiceAccount: 'istio-ingress',
  trustDomain: 'cluster.local',
  domain: 'models.example.com',
  authorinoProvider: 'tenantmesh-authorino',
  authorinoInstanceLabel: { key: 'authorino.kuadrant.io/managed-by', value: 'authorino' },
  oidcIssuers: [],
  serviceAccountTokenAudiences: ['tenantmesh'],
  authorizationCacheTtlSeconds: 30,
  storage: { endpoint: 'http://minio.tenantmesh-system.svc:9000' },
  // The chart's API Service (templates/api.yaml) in its default release namespace.
  registryService: { externalName: 'tenantmesh-api.tenantmesh-system.svc.cluster.local', port: 80 },
  modelPullerImage: 'ghcr.io/tenantmesh/tenantmesh:0.1.0',
  platformAdmins: [{ kind: 'Group', name: 'tenantmesh:platform-admins' }],
};

/**
 * The defaults with `overrides` applied (shallow: a given list or map replaces the default one). Without a
 * `caNamespace`, CA Secrets go with the serving namespace given (in-process platforms only: the configuration
 * file always names another namespace).
 */
export function platformConfig(overrides: Partial<PlatformConfig> = {}): PlatformConfig {
  const merged = { ...DEFAULT_PLATFORM_CONFIG, ...overrides };
  return { ...merged, caNamespace: overrides.caNamespace ?? merged.servingNamespace };
}

/**
 * SPIFFE identity (without `spiffe://`) of the ingress gateway, derived from its namespace and ServiceAccount
 * so the ALLOW policy of the serving pods follows wherever the gateway is installed.
 */
export function gatewayPrincipal(platform: PlatformConfig): string {
  return `${platform.trustDomain}/ns/${platform.gatewayNamespace}/sa/${platform.gatewayServiceAccount}`;
}
