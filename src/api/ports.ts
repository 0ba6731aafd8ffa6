/**
 * Ports the management API depends on. Implementations over src/kube and src/storage are wired by the
 * process that starts the API; unit tests use in-process fakes.
 */
import type { Identity } from '../auth/identity.ts';
import type {
  ClientCertificateRecord,
  InferenceEndpoint,
  InferenceEndpointSpec,
  ServingRuntime,
  Tenant,
  TenantSpec,
} from '../domain/index.ts';

export type { EndpointGrant, ServingRuntime, Subject, Tenant, TenantSpec } from '../domain/index.ts';

/** A CA the caller brings at tenant creation (PEM). The key is stored in a Secret and never returned. */
export interface CaBundle {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Reads and writes Tenant CRs. Errors are domain errors: NotFound for an absent tenant, Conflict for a
 * duplicate name or a stale `resourceVersion`, Unavailable when the apiserver cannot be reached.
 */
export interface TenantStore {
  list(): Promise<Tenant[]>;
  get(name: string): Promise<Tenant>;
  /** Creates the tenant; with `ca` the store also writes the CA Secret and sets `spec.ca.secretRef`. */
  create(input: { name: string; spec: TenantSpec; ca?: CaBundle }): Promise<Tenant>;
  /** Replaces the spec, failing with Conflict unless the object still has `resourceVersion`. */
  update(name: string, spec: TenantSpec, precondition: { resourceVersion?: string }): Promise<Tenant>;
  /** Starts deletion (the operator's finalizer removes what ownership cannot). */
  delete(name: string): Promise<void>;
}

/**
 * Checks a caller-provided CA (parses, is a CA, key matches, algorithm and validity acceptable); throws a
 * domain Invalid naming the field (`/ca/certificatePem`, `/ca/privateKeyPem`) otherwise. Lives in src/pki.
 */
export interface CaBundleValidator {
  /** Resolves to the CA certificate's SHA-256 fingerprint (as tenants' `status.caFingerprint` carries it). */
  validate(bundle: CaBundle): Promise<{ fingerprint: string }>;
}

/** Lists the ServingRuntimes tenants may choose from. */
export interface RuntimeCatalog {
  list(): Promise<ServingRuntime[]>;
}

/**
 * Which tenants RBAC names the caller for, so listing tenants costs a few SubjectAccessReviews instead of
 * one per tenant. The answer is a superset hint only: the API still verifies each candidate with a review.
 */
export interface TenantVisibility {
  /**
   * Tenants that ClusterRoles bound to the caller (user, groups, ServiceAccount) let it `get` by name;
   * undefined while the RBAC caches have not loaded yet.
   */
  candidates(identity: Identity): Set<string> | undefined;
}

/** A readiness check of one dependency; resolves when healthy, rejects (with a reason) otherwise. */
export type ReadinessProbe = () => Promise<void>;

/**
 * InferenceEndpoints of a tenant (`<t>--<e>` in the serving namespace). `endpoint` is always the short name.
 * Errors are domain errors, as for {@link TenantStore}.
 */
export interface EndpointStore {
  list(tenant: string): Promise<InferenceEndpoint[]>;
  get(tenant: string, endpoint: string): Promise<InferenceEndpoint>;
  /** Creates the endpoint; Conflict when one of that name exists. */
  create(tenant: string, endpoint: string, spec: InferenceEndpointSpec): Promise<InferenceEndpoint>;
  /** Replaces the spec, failing with Conflict unless the object still has `resourceVersion`. */
  update(
    tenant: string,
    endpoint: string,
    spec: InferenceEndpointSpec,
    precondition: { resourceVersion?: string },
  ): Promise<InferenceEndpoint>;
  delete(tenant: string, endpoint: string): Promise<void>;
}

/**
 * The records of the client certificates issued from a tenant's CA, which the operator turns into the CRL:
 * one object per certificate, so a tenant's records never outgrow a single object.
 */
export interface CertificateRegistry {
  list(tenant: string): Promise<ClientCertificateRecord[]>;
  /** Records a new certificate; Conflict when its serial is already recorded. */
  add(tenant: string, record: ClientCertificateRecord): Promise<void>;
  /** Marks a certificate revoked at `revokedAt` (an earlier revocation stands); NotFound when unknown. */
  revoke(tenant: string, serialNumber: string, revokedAt: string): Promise<ClientCertificateRecord>;
  /** Forgets records whose certificates expired before `before` (no CRL needs them any more). */
  removeExpired(tenant: string, before: Date): Promise<void>;
}

/** The tenant's CA (certificate and key PEM); Unavailable while the operator has not created it yet. */
export interface TenantCaSource {
  get(tenant: Tenant): Promise<{ certPem: string; keyPem: string }>;
}
