import type { InferenceEndpoint, PlatformConfig, ServingRuntime, Tenant } from '../domain/index.ts';

/** API groups found on the cluster by discovery; mesh objects are rendered only where their APIs exist. */
export interface Capabilities {
  istio: boolean;
  authorino: boolean;
  openshift: boolean;
}

/** Short-lived credentials that can only read the tenant's bucket (issued by src/storage). */
export interface StorageReadCredentials {
  accessKey: string;
  secretKey: string;
  sessionToken: string;
  /** RFC 3339 expiry; recorded on the Secret so the operator knows when to refresh it. */
  expiresAt: string;
}

/** Already-generated key material for a tenant's Secrets (PEM strings from src/pki, credentials from storage). */
export interface TenantSecretMaterial {
  /** The tenant's client CA certificate: trusted by Authorino and by the gateway for client certificates. */
  caCertificatePem: string;
  /** The gateway's serving certificate chain for `*.<tenant hostname>`. */
  servingCertificatePem: string;
  /** Private key of the serving certificate. */
  servingPrivateKeyPem: string;
  /** Current CRL of the tenant's CA, when one has been published. */
  crlPem?: string;
  storage: StorageReadCredentials;
}

/** One endpoint to render, with `latest` already resolved to a concrete version by the operator. */
export interface EndpointInput {
  resource: InferenceEndpoint;
  /** The model version to serve (never `latest`). */
  modelVersion: string;
}

/** Everything the tenant's desired state depends on; gathered by the operator, rendered purely. */
export interface TenantRenderInput {
  tenant: Tenant;
  endpoints: EndpointInput[];
  runtimes: ServingRuntime[];
  platform: PlatformConfig;
  capabilities: Capabilities;
  secrets: TenantSecretMaterial;
}

/** An endpoint resolved against its tenant and runtime: what the per-endpoint renderers need. */
export interface EndpointContext {
  tenant: string;
  /** Short endpoint name `<e>`. */
  endpoint: string;
  /** `<t>--<e>`: name of the InferenceEndpoint and of its Deployment, Service, VirtualService, DestinationRule. */
  name: string;
  /** Host clients call: `<e>.<tenant hostname>`. */
  host: string;
  resource: InferenceEndpoint;
  runtime: ServingRuntime;
  modelVersion: string;
  platform: PlatformConfig;
}

/** A tenant resolved against the platform: what the per-tenant renderers need. */
export interface TenantContext {
  tenant: Tenant;
  name: string;
  hostname: string;
  platform: PlatformConfig;
  /** The tenant's endpoints, sorted by name. */
  endpoints: EndpointContext[];
}
