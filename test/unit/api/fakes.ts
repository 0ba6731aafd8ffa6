import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { createAuthorizer } from '../../../src/auth/authorize.ts';
import type { SubjectAccessReviewRequest } from '../../../src/auth/authorize.ts';
import type { Authenticator } from '../../../src/auth/authenticate.ts';
import {
  ConflictError,
  InvalidError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
} from '../../../src/domain/errors.ts';
import type {
  ClientCertificateRecord,
  InferenceEndpoint,
  InferenceEndpointSpec,
} from '../../../src/domain/index.ts';
import { endpointResourceName } from '../../../src/domain/index.ts';
import type { Identity } from '../../../src/auth/identity.ts';
import type { ApiDeps } from '../../../src/api/app.ts';
import type { AuditEvent } from '../../../src/api/audit.ts';
import { createAuditLog } from '../../../src/api/audit.ts';
import type {
  CertificateRegistry,
  EndpointStore,
  ServingRuntime,
  Tenant,
  TenantStore,
} from '../../../src/api/ports.ts';

/** Tokens the fake authenticator accepts, and who they stand for. */
export const IDENTITIES: Record<string, Identity> = {
  'admin-token': { kind: 'oidc', username: 'oidc:root', groups: ['oidc:platform-admins'], extra: {} },
  'acme-admin-token': { kind: 'oidc', username: 'oidc:ann', groups: ['oidc:acme-admins'], extra: {} },
  'acme-user-token': { kind: 'oidc', username: 'oidc:bob', groups: ['oidc:acme-users'], extra: {} },
  'outsider-token': { kind: 'serviceaccount', username: 'system:serviceaccount:x:y', groups: [], extra: {} },
};

/** An authenticator that knows the tokens above. */
export const fakeAuthenticator: Authenticator = {
  async authenticate(header) {
    const token = header?.replace(/^Bearer /, '');
    const identity = token ? IDENTITIES[token] : undefined;
    if (!identity) throw new UnauthenticatedError('token not accepted');
    return identity;
  },
};

/**
 * The ClusterRoles of docs/rbac.md, in miniature: platform admins do anything; tenant admins get their
 * tenant and do anything to its subresources; tenant users get it, work with endpoints and models, issue
 * certificates and read the access lists.
 */
export function fakeRbac(request: SubjectAccessReviewRequest): boolean {
  const { groups } = request;
  const { verb, name, subresource } = request.resourceAttributes;
  if (groups.includes('oidc:platform-admins')) return true;
  if (!name) return false;
  const member = groups.includes(`oidc:${name}-admins`) || groups.includes(`oidc:${name}-users`);
  if (!member) return false;
  if (subresource === undefined) return verb === 'get';
  if (groups.includes(`oidc:${name}-admins`)) return true;
  if (subresource === 'endpoints' || subresource === 'models') return true;
  if (subresource === 'certificates') return ['get', 'list', 'create'].includes(verb);
  return ['get', 'list'].includes(verb);
}

/** The tenants {@link fakeRbac} names a caller for: those of its `oidc:<t>-admins` / `-users` groups. */
export const fakeVisibility = {
  candidates(identity: Identity): Set<string> {
    const names = identity.groups.map((group) => /^oidc:(.+)-(admins|users)$/.exec(group)?.[1]);
    return new Set(names.filter((name) => name !== undefined));
  },
};

/** A Tenant store over a Map, with resourceVersion preconditions like the apiserver's. */
export class MemoryTenantStore implements TenantStore {
  readonly tenants = new Map<string, Tenant>();
  private version = 1;

  seed(name: string, spec: Partial<Tenant['spec']> = {}): Tenant {
    const tenant: Tenant = {
      apiVersion: 'tenantmesh.io/v1alpha1',
      kind: 'Tenant',
      // Read back from the apiserver, objects carry managedFields, which the domain type leaves out.
      metadata: {
        name,
        resourceVersion: String(this.version++),
        managedFields: [{ manager: 'tenantmesh-operator' }],
        annotations: { 'tenantmesh.io/internal': 'x' },
      } as Tenant['metadata'],
      spec: { admins: [], users: [], ...spec },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Reconciled',
            message: '',
            lastTransitionTime: '2025-01-01T00:00:00Z',
          },
        ],
        hosts: [`${name}.example.test`],
      },
    };
    this.tenants.set(name, tenant);
    return tenant;
  }

  async list() {
    return [...this.tenants.values()];
  }
  async get(name: string) {
    const tenant = this.tenants.get(name);
    if (!tenant) throw new NotFoundError('tenant', name);
    return tenant;
  }
  async create(input: { name: string; spec: Tenant['spec']; ca?: unknown }) {
    if (this.tenants.has(input.name)) throw new ConflictError(`tenant "${input.name}" already exists`);
    // As the real store does: a provided CA goes to a Secret the spec refers to.
    const ca = input.ca ? { secretRef: { name: `tenantmesh-ca-${input.name}` } } : input.spec.ca;
    return this.seed(input.name, { ...input.spec, ...(ca ? { ca } : {}) });
  }
  async update(name: string, spec: Tenant['spec'], precondition: { resourceVersion?: string }) {
    const current = await this.get(name);
    if (precondition.resourceVersion && precondition.resourceVersion !== current.metadata.resourceVersion) {
      throw new ConflictError('the tenant was changed meanwhile');
    }
    const updated = {
      ...current,
      metadata: { ...current.metadata, resourceVersion: String(this.version++) },
      spec,
    };
    this.tenants.set(name, updated);
    return updated;
  }
  async delete(name: string) {
    await this.get(name);
    this.tenants.delete(name);
  }
}

const runtime = (
  name: string,
  protocols: ServingRuntime['spec']['protocols'],
  format: string,
): ServingRuntime => ({
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'ServingRuntime',
  metadata: { name },
  spec: {
    protocols,
    ports: { grpc: 9000 },
    modelFormats: [{ name: format }],
    container: { image: `registry.example/${name}:1` },
    modelPath: { mountPath: '/models', template: '{model}/1' },
  },
});

export const RUNTIMES: ServingRuntime[] = [
  runtime('tfserving', ['tfserving-grpc'], 'tensorflow'),
  runtime('ovms', ['tfserving-grpc', 'kserve-v2-grpc'], 'openvino_ir'),
];

/** A full set of in-process deps plus the handles tests inspect. */
export function testDeps(overrides: Partial<ApiDeps> = {}) {
  const store = new MemoryTenantStore();
  store.seed('acme', {
    admins: [{ kind: 'Group', name: 'oidc:acme-admins' }],
    users: [{ kind: 'Group', name: 'oidc:acme-users' }],
  });
  store.seed('globex');
  const reviews: SubjectAccessReviewRequest[] = [];
  const auditLines: string[] = [];
  const logLines: string[] = [];
  const deps: ApiDeps = {
    authenticator: fakeAuthenticator,
    authorizer: createAuthorizer({
      async review(request) {
        reviews.push(request);
        return { allowed: fakeRbac(request) };
      },
    }),
    tenants: store,
    visibility: fakeVisibility,
    runtimes: { list: async () => RUNTIMES },
    caValidator: {
      async validate(bundle) {
        if (!bundle.certificatePem.includes('BEGIN CERTIFICATE')) {
          throw new InvalidError([{ pointer: '/ca/certificatePem', message: 'not a PEM certificate' }]);
        }
        return { fingerprint: createHash('sha256').update(bundle.certificatePem).digest('hex') };
      },
    },
    readiness: { apiserver: async () => undefined, storage: async () => undefined },
    endpoints: { store: new MemoryEndpointStore(), models: noModels },
    certificates: { registry: new MemoryCertificateRegistry(), ca: noCa },
    logger: pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) }),
    audit: createAuditLog((line) => auditLines.push(line)),
    ...overrides,
  };
  const audit = () => auditLines.map((line) => JSON.parse(line) as AuditEvent);
  return { deps, store, reviews, auditLines, audit, logLines };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** InferenceEndpoints over a Map keyed `<tenant>/<endpoint>`. */
export class MemoryEndpointStore implements EndpointStore {
  readonly endpoints = new Map<string, InferenceEndpoint>();
  async list(tenant: string) {
    return [...this.endpoints.values()].filter((e) => e.spec.tenant === tenant);
  }
  async get(tenant: string, endpoint: string) {
    const found = this.endpoints.get(`${tenant}/${endpoint}`);
    if (!found) throw new NotFoundError('endpoint', endpoint);
    return found;
  }
  async create(tenant: string, endpoint: string, spec: InferenceEndpointSpec) {
    if (this.endpoints.has(`${tenant}/${endpoint}`)) throw new ConflictError('exists');
    const created: InferenceEndpoint = {
      apiVersion: 'tenantmesh.io/v1alpha1',
      kind: 'InferenceEndpoint',
      metadata: { name: endpointResourceName(tenant, endpoint), resourceVersion: '1' },
      spec,
    };
    this.endpoints.set(`${tenant}/${endpoint}`, created);
    return created;
  }
  async update(tenant: string, endpoint: string, spec: InferenceEndpointSpec) {
    const current = await this.get(tenant, endpoint);
    const updated = { ...current, spec };
    this.endpoints.set(`${tenant}/${endpoint}`, updated);
    return updated;
  }
  async delete(tenant: string, endpoint: string) {
    await this.get(tenant, endpoint);
    this.endpoints.delete(`${tenant}/${endpoint}`);
  }
}

/** A model registry without any published version. */
export const noModels = {
  async getManifest(): Promise<never> {
    throw new NotFoundError('version', '');
  },
  async listVersions(): Promise<never> {
    throw new NotFoundError('model', '');
  },
};

/** Certificate records per tenant, in memory. */
export class MemoryCertificateRegistry implements CertificateRegistry {
  readonly records = new Map<string, ClientCertificateRecord[]>();
  async list(tenant: string) {
    return this.records.get(tenant) ?? [];
  }
  async add(tenant: string, record: ClientCertificateRecord) {
    const records = await this.list(tenant);
    if (records.some((r) => r.serialNumber === record.serialNumber)) throw new ConflictError('recorded');
    this.records.set(tenant, [...records, record]);
  }
  async revoke(tenant: string, serialNumber: string, revokedAt: string) {
    const records = await this.list(tenant);
    const record = records.find((r) => r.serialNumber === serialNumber);
    if (!record) throw new NotFoundError('certificate', serialNumber);
    const revoked = record.revokedAt ? record : { ...record, revokedAt };
    this.records.set(
      tenant,
      records.map((r) => (r === record ? revoked : r)),
    );
    return revoked;
  }
  async removeExpired(tenant: string, before: Date) {
    this.records.set(
      tenant,
      (await this.list(tenant)).filter((r) => new Date(r.notAfter).getTime() >= before.getTime()),
    );
  }
}

/** A CA source whose CA the operator has not created yet. */
const noCa = {
  async get(): Promise<never> {
    throw new UnavailableError('the CA is not ready yet', 5);
  },
};
