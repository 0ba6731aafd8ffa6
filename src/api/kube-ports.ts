/**
 * The API's ports over the real cluster (src/kube) and object store (src/storage). Every Kubernetes failure
 * leaves here as a domain error, so the problem edge answers 404/409/422/503 instead of a bare 500.
 */
import type { SubjectAccessReviewPort } from '../auth/authorize.ts';
import type { TokenReviewPort } from '../auth/tokenreview.ts';
import {
  CLIENT_CERTIFICATE_LABEL,
  CLIENT_CERTIFICATE_RECORD_KEY,
  CLIENT_CERTIFICATE_REGISTRY_KEY,
  LABELS,
  ConflictError,
  FIELD_MANAGERS,
  GROUP_VERSION,
  InvalidError,
  NotFoundError,
  UnavailableError,
  caKeySecretName,
  clientCertificateRecordName,
  clientCertificateRegistryName,
  commonLabels,
  endpointResourceName,
  isDomainError,
  shortEndpointName,
} from '../domain/index.ts';
import type {
  ClientCertificateRecord,
  InferenceEndpoint,
  KubeObject,
  ServingRuntime,
  Tenant,
} from '../domain/index.ts';
import { KubeError } from '../kube/index.ts';
import type { Kube, KubeObject as WireObject } from '../kube/index.ts';
import { InvalidCaError, importTenantCa, normaliseSerialNumber } from '../pki/index.ts';
import type { ModelStore } from '../storage/store.ts';
import type {
  CaBundleValidator,
  CertificateRegistry,
  EndpointStore,
  RuntimeCatalog,
  TenantCaSource,
  TenantStore,
} from './ports.ts';

const fieldManager = FIELD_MANAGERS.api;

/** Domain CR types lack the wire type's index signatures; the shapes are the same JSON. */
const wire = (object: object): WireObject => object as WireObject;
const typed = <T>(object: WireObject | undefined): T | undefined => object as T | undefined;
const typedItems = <T>(list: { items: WireObject[] }): T[] => list.items as unknown as T[];

/** Translates a src/kube failure into the domain error the edge maps; anything else is rethrown. */
export function fromKube(error: unknown, resource: string, name: string): unknown {
  if (!(error instanceof KubeError)) return error;
  switch (error.reason) {
    case 'NotFound':
      return new NotFoundError(resource, name);
    case 'AlreadyExists':
      return new ConflictError(`${resource} "${name}" already exists`);
    case 'Conflict':
      return new ConflictError(`${resource} "${name}" was changed concurrently; read it again and retry`);
    case 'Invalid':
    case 'BadRequest': {
      const causes = error.details?.causes ?? [];
      const violations = causes.map((cause) => ({
        pointer: cause.field ? fieldPointer(cause.field) : '',
        message: cause.message ?? cause.reason ?? 'invalid',
      }));
      return new InvalidError(violations.length > 0 ? violations : [{ pointer: '', message: error.message }]);
    }
    default:
      if (error.retryable || error.code === 0) {
        // The apiserver's text (addresses, internal errors) goes to the log through `cause`, never to callers.
        return Object.assign(
          new UnavailableError('the Kubernetes API is unavailable', error.details?.retryAfterSeconds),
          { cause: error },
        );
      }
      return error;
  }
}

/** `spec.model.name` or `spec.containers[0].image` → `/spec/model/name`, `/spec/containers/0/image`. */
function fieldPointer(field: string): string {
  return field
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((part) => part !== '')
    .map((part) => `/${part.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}

async function mapped<T>(resource: string, name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromKube(error, resource, name);
  }
}

/** Where the API keeps what it writes besides CRs. */
export interface KubePortsOptions {
  /** Namespace of the InferenceEndpoints and the certificate registries. */
  servingNamespace: string;
  /** Namespace of the tenant CA Secrets (the operator's `caKeySecretName(t)`). Default: servingNamespace. */
  caNamespace?: string;
  now?: () => Date;
}

/** Tenant CRs; a provided CA goes into Secret `caKeySecretName(t)` referenced by `spec.ca.secretRef`. */
export function kubeTenantStore(kube: Kube, options: KubePortsOptions): TenantStore {
  const caNamespace = options.caNamespace ?? options.servingNamespace;
  const get = async (name: string): Promise<Tenant> => {
    const tenant = typed<Tenant>(await mapped('tenant', name, () => kube.get(GROUP_VERSION, 'Tenant', name)));
    if (!tenant) throw new NotFoundError('tenant', name);
    return tenant;
  };
  return {
    async list() {
      return typedItems<Tenant>(await mapped('tenant', '', () => kube.list(GROUP_VERSION, 'Tenant')));
    },
    get,
    async create({ name, spec, ca }) {
      const tenant: Tenant = {
        apiVersion: GROUP_VERSION,
        kind: 'Tenant',
        metadata: { name },
        spec: ca ? { ...spec, ca: { secretRef: { name: caKeySecretName(name) } } } : spec,
      };
      if (!ca) {
        return typed<Tenant>(
          await mapped('tenant', name, () => kube.create(wire(tenant), { fieldManager })),
        )!;
      }
      if (await mapped('tenant', name, () => kube.get(GROUP_VERSION, 'Tenant', name))) {
        throw new ConflictError(`tenant "${name}" already exists`);
      }
      const secret: KubeObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: caKeySecretName(name), namespace: caNamespace, labels: commonLabels('pki', name) },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': ca.certificatePem, 'tls.key': ca.privateKeyPem },
      };
      await mapped('secret', secret.metadata.name, () => kube.create(wire(secret), { fieldManager }));
      let created: Tenant;
      try {
        created = typed<Tenant>(
          await mapped('tenant', name, () => kube.create(wire(tenant), { fieldManager })),
        )!;
      } catch (error) {
        // A failed create leaves nothing behind: the Secret goes with it.
        await kube.delete('v1', 'Secret', secret.metadata.name, caNamespace).catch(() => undefined);
        throw error;
      }
      // The Secret then goes away with the tenant through garbage collection.
      await kube
        .patchMerge('v1', 'Secret', secret.metadata.name, caNamespace, {
          metadata: {
            ownerReferences: [
              { apiVersion: GROUP_VERSION, kind: 'Tenant', name, uid: created.metadata.uid ?? '' },
            ],
          },
        })
        .catch(() => undefined);
      return created;
    },
    async update(name, spec, precondition) {
      const current = await get(name);
      const next: Tenant = {
        ...current,
        metadata: {
          ...current.metadata,
          resourceVersion: precondition.resourceVersion ?? current.metadata.resourceVersion,
        },
        spec,
      };
      return typed<Tenant>(await mapped('tenant', name, () => kube.replace(wire(next), { fieldManager })))!;
    },
    async delete(name) {
      const existed = await mapped('tenant', name, () => kube.delete(GROUP_VERSION, 'Tenant', name));
      if (!existed) throw new NotFoundError('tenant', name);
    },
  };
}

/** ServingRuntimes (cluster-scoped). */
export function kubeRuntimeCatalog(kube: Kube): RuntimeCatalog {
  return {
    async list() {
      return typedItems<ServingRuntime>(
        await mapped('servingruntime', '', () => kube.list(GROUP_VERSION, 'ServingRuntime')),
      );
    },
  };
}

/** TokenReview through the API's own credentials. */
export function kubeTokenReviewPort(kube: Kube, sent: () => void = () => undefined): TokenReviewPort {
  return {
    async reviewToken(token, audiences) {
      sent();
      const status = await mapped('tokenreview', '', () => kube.createTokenReview(token, audiences));
      return {
        authenticated: status.authenticated === true,
        ...(status.user?.username
          ? {
              user: {
                username: status.user.username,
                uid: status.user.uid,
                groups: status.user.groups ?? [],
                extra: status.user.extra ?? {},
              },
            }
          : {}),
        ...(status.audiences ? { audiences: status.audiences } : {}),
        ...(status.error ? { error: status.error } : {}),
      };
    },
  };
}

/** SubjectAccessReview through the API's own credentials, so Kubernetes RBAC decides. */
export function kubeSubjectAccessReviewPort(
  kube: Kube,
  sent: () => void = () => undefined,
): SubjectAccessReviewPort {
  return {
    async review(request) {
      sent();
      const status = await mapped('subjectaccessreview', '', () =>
        kube.createSubjectAccessReview({
          user: request.user,
          groups: request.groups,
          extra: request.extra,
          ...(request.uid ? { uid: request.uid } : {}),
          resourceAttributes: request.resourceAttributes,
        }),
      );
      return { allowed: status.allowed, ...(status.reason ? { reason: status.reason } : {}) };
    },
  };
}

/** Checks a provided CA with src/pki; failures name the field by JSON pointer. */
export function pkiCaBundleValidator(now: () => Date = () => new Date()): CaBundleValidator {
  return {
    async validate(bundle) {
      try {
        const ca = importTenantCa(bundle.certificatePem, bundle.privateKeyPem, { now: now() });
        return { fingerprint: ca.fingerprintSha256 };
      } catch (error) {
        if (!(error instanceof InvalidCaError)) throw error;
        const keyFault =
          error.reason === 'key-mismatch' ||
          error.reason === 'unsupported-key' ||
          (error.reason === 'malformed' && /private key/.test(error.message));
        throw new InvalidError([
          { pointer: keyFault ? '/ca/privateKeyPem' : '/ca/certificatePem', message: error.message },
        ]);
      }
    },
  };
}

/** InferenceEndpoints in the serving namespace, named `<t>--<e>`. */
export function kubeEndpointStore(kube: Kube, options: KubePortsOptions): EndpointStore {
  const namespace = options.servingNamespace;
  const get = async (tenant: string, endpoint: string): Promise<InferenceEndpoint> => {
    const name = endpointResourceName(tenant, endpoint);
    const found = typed<InferenceEndpoint>(
      await mapped('endpoint', endpoint, () => kube.get(GROUP_VERSION, 'InferenceEndpoint', name, namespace)),
    );
    if (!found || found.spec.tenant !== tenant) throw new NotFoundError('endpoint', endpoint);
    return found;
  };
  return {
    async list(tenant) {
      const all = typedItems<InferenceEndpoint>(
        await mapped('endpoint', '', () => kube.list(GROUP_VERSION, 'InferenceEndpoint', { namespace })),
      );
      return all.filter(
        (e) => e.spec.tenant === tenant && shortEndpointName(tenant, e.metadata.name) !== undefined,
      );
    },
    get,
    async create(tenant, endpoint, spec) {
      const object: InferenceEndpoint = {
        apiVersion: GROUP_VERSION,
        kind: 'InferenceEndpoint',
        metadata: {
          name: endpointResourceName(tenant, endpoint),
          namespace,
          labels: commonLabels('serving', tenant, endpoint),
        },
        spec,
      };
      return typed<InferenceEndpoint>(
        await mapped('endpoint', endpoint, () => kube.create(wire(object), { fieldManager })),
      )!;
    },
    async update(tenant, endpoint, spec, precondition) {
      const current = await get(tenant, endpoint);
      const next: InferenceEndpoint = {
        ...current,
        metadata: {
          ...current.metadata,
          resourceVersion: precondition.resourceVersion ?? current.metadata.resourceVersion,
        },
        spec,
      };
      return typed<InferenceEndpoint>(
        await mapped('endpoint', endpoint, () => kube.replace(wire(next), { fieldManager })),
      )!;
    },
    async delete(tenant, endpoint) {
      await get(tenant, endpoint);
      const name = endpointResourceName(tenant, endpoint);
      const existed = await mapped('endpoint', endpoint, () =>
        kube.delete(GROUP_VERSION, 'InferenceEndpoint', name, namespace),
      );
      if (!existed) throw new NotFoundError('endpoint', endpoint);
    },
  };
}

interface RegistryConfigMap extends WireObject {
  data?: Record<string, string>;
}

/**
 * Certificate records as ConfigMaps in the serving namespace, one per certificate (names.ts), found by the
 * tenant's labels. Records in the single registry ConfigMap of earlier versions are still listed; revoking one
 * of them writes its own record object, which then takes precedence.
 */
export function kubeCertificateRegistry(kube: Kube, options: KubePortsOptions): CertificateRegistry {
  const namespace = options.servingNamespace;
  const recordObjects = async (tenant: string) =>
    (
      await mapped('configmap', '', () =>
        kube.list<RegistryConfigMap>('v1', 'ConfigMap', {
          namespace,
          labelSelector: `${LABELS.tenant}=${tenant},${CLIENT_CERTIFICATE_LABEL}`,
        }),
      )
    ).items;
  const legacyRecords = async (tenant: string) => {
    const name = clientCertificateRegistryName(tenant);
    const map = await mapped('configmap', name, () =>
      kube.get<RegistryConfigMap>('v1', 'ConfigMap', name, namespace),
    );
    return parseRecords(map?.data?.[CLIENT_CERTIFICATE_REGISTRY_KEY]);
  };
  const list = async (tenant: string) => {
    const own = (await recordObjects(tenant))
      .map((map) => parseRecord(map.data?.[CLIENT_CERTIFICATE_RECORD_KEY]))
      .filter((record) => record !== undefined);
    const recorded = new Set(own.map((record) => normaliseSerialNumber(record.serialNumber)));
    const legacy = (await legacyRecords(tenant)).filter(
      (record) => !recorded.has(normaliseSerialNumber(record.serialNumber)),
    );
    return [...own, ...legacy];
  };
  const write = async (tenant: string, record: ClientCertificateRecord, create: boolean) => {
    const serial = normaliseSerialNumber(record.serialNumber);
    const object: RegistryConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: clientCertificateRecordName(serial),
        namespace,
        labels: { ...commonLabels('pki', tenant), [CLIENT_CERTIFICATE_LABEL]: serial },
      },
      data: { [CLIENT_CERTIFICATE_RECORD_KEY]: JSON.stringify(record) },
    };
    await mapped('certificate', serial, () =>
      create
        ? kube.create(object, { fieldManager })
        : kube.applyObject(object, { fieldManager, force: true }),
    );
  };
  return {
    list,
    async add(tenant, record) {
      await write(tenant, record, true);
    },
    async revoke(tenant, serialNumber, revokedAt) {
      const serial = normaliseSerialNumber(serialNumber);
      const record = (await list(tenant)).find((r) => normaliseSerialNumber(r.serialNumber) === serial);
      if (!record) throw new NotFoundError('certificate', serialNumber);
      if (record.revokedAt) return record;
      const revoked = { ...record, revokedAt };
      await write(tenant, revoked, false);
      return revoked;
    },
    async removeExpired(tenant, before) {
      for (const map of await recordObjects(tenant)) {
        const record = parseRecord(map.data?.[CLIENT_CERTIFICATE_RECORD_KEY]);
        if (record && new Date(record.notAfter).getTime() < before.getTime()) {
          await kube.delete('v1', 'ConfigMap', map.metadata.name, namespace).catch(() => undefined);
        }
      }
    },
  };
}

function parseRecords(text: string | undefined): ClientCertificateRecord[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as ClientCertificateRecord[]) : [];
  } catch {
    return [];
  }
}

function parseRecord(text: string | undefined): ClientCertificateRecord | undefined {
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as ClientCertificateRecord;
    return typeof parsed.serialNumber === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the tenant's CA Secret (`tls.crt`, `tls.key`): the provided one, or the one the operator generated. */
export function kubeTenantCaSource(kube: Kube, options: KubePortsOptions): TenantCaSource {
  const namespace = options.caNamespace ?? options.servingNamespace;
  return {
    async get(tenant) {
      const name = tenant.spec.ca?.secretRef?.name ?? caKeySecretName(tenant.metadata.name);
      const secret = await mapped('secret', name, () =>
        kube.get<WireObject & { data?: Record<string, string> }>('v1', 'Secret', name, namespace),
      );
      const certPem = decode(secret?.data?.['tls.crt']);
      const keyPem = decode(secret?.data?.['tls.key']);
      if (!certPem || !keyPem) {
        throw new UnavailableError(`the CA of tenant "${tenant.metadata.name}" is not ready yet`, 5);
      }
      return { certPem, keyPem };
    },
  };
}

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * Names of the tenant's endpoints that serve `model`/`version`: by an explicit version, by `latest` when
 * `version` is the newest published one, or by what their status says they serve now.
 */
export function versionInUseCheck(
  endpoints: EndpointStore,
  store: Pick<ModelStore, 'listVersions'>,
): (tenant: string, model: string, version: string) => Promise<string[]> {
  return async (tenant, model, version) => {
    const forModel = (await endpoints.list(tenant)).filter((e) => e.spec.model.name === model);
    if (forModel.length === 0) return [];
    let latest: string | undefined;
    if (forModel.some((e) => (e.spec.model.version ?? 'latest') === 'latest')) {
      latest = await newestVersion(store, tenant, model);
    }
    return forModel
      .filter((e) => {
        const wanted = e.spec.model.version ?? 'latest';
        return (
          wanted === version ||
          (wanted === 'latest' && latest === version) ||
          e.status?.servedModelVersion === version
        );
      })
      .map((e) => shortEndpointName(tenant, e.metadata.name) ?? e.metadata.name)
      .sort();
  };
}

/** The most recently published version of a model, or undefined when it has none. */
export async function newestVersion(
  store: Pick<ModelStore, 'listVersions'>,
  tenant: string,
  model: string,
): Promise<string | undefined> {
  let versions;
  try {
    versions = await store.listVersions(tenant, model);
  } catch (error) {
    if (isDomainError(error, 'NotFound')) return undefined;
    throw error;
  }
  const sorted = [...versions].sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
  return sorted[0]?.version;
}
