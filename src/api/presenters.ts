import { CRD_DEFAULTS, shortEndpointName } from '../domain/index.ts';
import type {
  ClientCertificateRecord,
  Condition,
  EndpointGrant,
  InferenceEndpoint,
  InferenceEndpointSpec,
  ServingRuntime,
  Subject,
  Tenant,
} from '../domain/index.ts';

/** A tenant on the wire: spec and status, never managedFields, annotations or CA secrets. */
export interface TenantDto {
  name: string;
  displayName?: string;
  hostname?: string;
  /** What clients present at the gateway: always a certificate, or a certificate or else a bearer token. */
  clientAuthentication: 'certificate' | 'certificateOrToken';
  quota: { maxEndpoints?: number; cpu?: string; memory?: string; storageBytes?: number };
  ca: { mode: 'generated' | 'provided'; fingerprint?: string };
  resourceVersion?: string;
  createdAt?: string;
  deleting: boolean;
  status: {
    ready: 'True' | 'False' | 'Unknown';
    conditions: Condition[];
    hosts: string[];
    bucket?: string;
    observedGeneration?: number;
  };
}

/** Who may use a tenant, as the access routes show it. */
export interface AccessDto {
  tenant: string;
  admins: Subject[];
  users: Subject[];
  endpointUsers: EndpointGrant[];
  resourceVersion?: string;
}

/** A serving runtime on the wire: what a tenant needs to pick one, not its container template. */
export interface RuntimeDto {
  name: string;
  displayName?: string;
  protocols: string[];
  modelFormats: { name: string; version?: string }[];
}

const quantityText = (value: string | number | undefined) =>
  value === undefined ? undefined : String(value);

/** Presents a Tenant CR. */
export function presentTenant(tenant: Tenant): TenantDto {
  const conditions = tenant.status?.conditions ?? [];
  const quota = tenant.spec.quota ?? {};
  return {
    name: tenant.metadata.name,
    displayName: tenant.spec.displayName,
    hostname: tenant.spec.hostname,
    clientAuthentication: tenant.spec.clientAuthentication ?? 'certificate',
    quota: {
      maxEndpoints: quota.maxEndpoints,
      cpu: quantityText(quota.cpu),
      memory: quantityText(quota.memory),
      storageBytes: quota.storageBytes,
    },
    ca: {
      mode: tenant.spec.ca?.secretRef ? 'provided' : 'generated',
      fingerprint: tenant.status?.caFingerprint,
    },
    resourceVersion: tenant.metadata.resourceVersion,
    createdAt: tenant.metadata.creationTimestamp,
    deleting: tenant.metadata.deletionTimestamp !== undefined,
    status: {
      ready: conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
      conditions: conditions.map((c) => ({ ...c })),
      hosts: [...(tenant.status?.hosts ?? [])],
      bucket: tenant.status?.bucket,
      observedGeneration: tenant.status?.observedGeneration,
    },
  };
}

/** Presents the access lists of a Tenant CR (`spec.endpointGrants` is shown as `endpointUsers`). */
export function presentAccess(tenant: Tenant): AccessDto {
  return {
    tenant: tenant.metadata.name,
    admins: (tenant.spec.admins ?? []).map((s) => ({ ...s })),
    users: (tenant.spec.users ?? []).map((s) => ({ ...s })),
    endpointUsers: (tenant.spec.endpointGrants ?? []).map((g) => ({
      endpoint: g.endpoint,
      subjects: g.subjects.map((s) => ({ ...s })),
    })),
    resourceVersion: tenant.metadata.resourceVersion,
  };
}

/** Presents a ServingRuntime CR. */
export function presentRuntime(runtime: ServingRuntime): RuntimeDto {
  return {
    name: runtime.metadata.name,
    displayName: runtime.spec.displayName,
    protocols: [...runtime.spec.protocols],
    modelFormats: (runtime.spec.modelFormats ?? []).map((f) => ({ ...f })),
  };
}

/** An endpoint on the wire: short name, spec and status from the CR. */
export interface EndpointDto {
  name: string;
  tenant: string;
  model: { name: string; version: string };
  runtime: string;
  replicas: number;
  resources?: InferenceEndpointSpec['resources'];
  allowedClientSubjects?: string[];
  resourceVersion?: string;
  createdAt?: string;
  deleting: boolean;
  status: {
    ready: 'True' | 'False' | 'Unknown';
    conditions: Condition[];
    url?: string;
    readyReplicas: number;
    servedModelVersion?: string;
    observedGeneration?: number;
  };
}

/** Presents an InferenceEndpoint of tenant `tenant`. */
export function presentEndpoint(tenant: string, endpoint: InferenceEndpoint): EndpointDto {
  const conditions = endpoint.status?.conditions ?? [];
  return {
    name: shortEndpointName(tenant, endpoint.metadata.name) ?? endpoint.metadata.name,
    tenant,
    model: {
      name: endpoint.spec.model.name,
      version: endpoint.spec.model.version ?? CRD_DEFAULTS.InferenceEndpoint['spec.model.version'],
    },
    runtime: endpoint.spec.runtime,
    replicas: endpoint.spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'],
    ...(endpoint.spec.resources ? { resources: endpoint.spec.resources } : {}),
    ...(endpoint.spec.allowedClientSubjects
      ? { allowedClientSubjects: [...endpoint.spec.allowedClientSubjects] }
      : {}),
    resourceVersion: endpoint.metadata.resourceVersion,
    createdAt: endpoint.metadata.creationTimestamp,
    deleting: endpoint.metadata.deletionTimestamp !== undefined,
    status: {
      ready: conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
      conditions: conditions.map((c) => ({ ...c })),
      url: endpoint.status?.url,
      readyReplicas: endpoint.status?.readyReplicas ?? 0,
      servedModelVersion: endpoint.status?.servedModelVersion,
      observedGeneration: endpoint.status?.observedGeneration,
    },
  };
}

/** A client certificate on the wire (the registry record; never a private key). */
export interface CertificateDto {
  serialNumber: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  issuedBy: string;
  revoked: boolean;
  revokedAt?: string;
}

/** Presents a certificate registry record. */
export function presentCertificate(record: ClientCertificateRecord): CertificateDto {
  return {
    serialNumber: record.serialNumber,
    commonName: record.commonName,
    notBefore: record.notBefore,
    notAfter: record.notAfter,
    fingerprintSha256: record.fingerprintSha256,
    issuedBy: record.issuedBy,
    revoked: record.revokedAt !== undefined,
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
  };
}
