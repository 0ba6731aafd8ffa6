/**
 * Ports the management API depends on. Implementations over src/kube and src/storage are wired by the
 * process that starts the API; unit tests use in-process fakes.
 */
import type { ServingRuntime, Tenant, TenantSpec } from '../domain/index.ts';

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
  validate(bundle: CaBundle): Promise<void>;
}

/** Lists the ServingRuntimes tenants may choose from. */
export interface RuntimeCatalog {
  list(): Promise<ServingRuntime[]>;
}

/** A readiness check of one dependency; resolves when healthy, rejects (with a reason) otherwise. */
export type ReadinessProbe = () => Promise<void>;
