import {
  CRD_DEFAULTS,
  FIELD_MANAGERS,
  GROUP_VERSION,
  LABELS,
  CLIENT_CERTIFICATE_REGISTRY_KEY,
  bucketName,
  caKeySecretName,
  clientCertificateRegistryName,
  CLIENT_CERTIFICATE_LABEL,
  CLIENT_CERTIFICATE_RECORD_KEY,
  commonLabels,
  endpointHost,
  endpointPodSelector,
  gatewayCredentialSecretName,
  selectorString,
  shortEndpointName,
  storageCredentialSecretName,
  tenantHostname,
  tenantWildcardHost,
} from '../domain/index.ts';
import type {
  Condition,
  InferenceEndpoint,
  InferenceEndpointStatus,
  KubeObject as DomainKubeObject,
  PlatformConfig,
  ServingRuntime,
  Tenant,
  TenantStatus,
} from '../domain/index.ts';
import type { Clock, Kube, KubeObject } from '../kube/index.ts';
import { servesGroup } from '../kube/index.ts';
import { meshEnabled, renderPlatform, renderTenant } from '../render/index.ts';
import type {
  Capabilities,
  EndpointInput,
  StorageReadCredentials,
  TenantSecretMaterial,
} from '../render/index.ts';
import { EXPIRES_AT_ANNOTATION } from '../render/secrets.ts';
import { identityOf, isMetadataOnly, tenantOfObject, type ObjectRef, type OperatorCache } from './cache.ts';
import { DESIRED_HASH_ANNOTATION, needsApply, withDesiredHash } from './compare.ts';
import { CONDITION_TYPES, REASONS, mergeConditions, type DesiredCondition } from './conditions.ts';
import { bringsOwnCa, earlierHolderOfCa } from './shared-ca.ts';
import type { OperatorMetrics, WriteOperation } from './metrics.ts';
import type { OwnWrites } from './own-writes.ts';
import { KnownContent } from './known-content.ts';
import type { CaMaterial, PkiPort, StoragePort } from './ports.ts';
import { applyQuota } from './quota.ts';
import {
  mirrorExternalIdPrefix,
  mirroredInferenceServices,
  servingEnvironmentName,
  type JudgedEndpoint,
  type RegistryMirrorPort,
} from './registry-mirror.ts';
import type { ReconcileOutcome } from './workqueue.ts';

/** Finalizer on a Tenant until its bucket (which no ownerReference can clean) is removed. */
export const CLEANUP_FINALIZER = 'tenantmesh.io/cleanup';

/** How long the storage read credentials handed to serving Pods last unless configured (STS's maximum, 12 h). */
export const DEFAULT_STORAGE_CREDENTIAL_TTL_SECONDS = 43_200;
/** Queue key of the objects shared by every tenant (platform-admin role, STRICT mTLS). */
export const PLATFORM_KEY = ':platform';

/** Everything a reconcile needs, injected. */
export interface ReconcilerDeps {
  kube: Kube;
  platform: PlatformConfig;
  store: StoragePort;
  pki: PkiPort;
  clock: Clock;
  cache: OperatorCache;
  /** Told about every object the reconciler wrote, so its watch echo does not queue the tenant again. */
  ownWrites: OwnWrites;
  /** Which objects held as metadata only are known to hold the desired state (shared with the informers). */
  knownContent?: KnownContent;
  metrics: OperatorMetrics;
  capabilities(): Promise<Capabilities>;
  /** Lifetime of storage read credentials. Default 12 h (MinIO STS maximum). */
  storageCredentialTtlSeconds?: number;
  /** How often endpoints serving `latest` look for a newer version. Default 60 s. */
  latestPollMs?: number;
  /** The tenants' model registries, when the operator reaches their database: endpoints are mirrored there. */
  registryMirror?: RegistryMirrorPort;
}

/** Detects Istio, Authorino and OpenShift by API discovery. */
export async function discoverCapabilities(kube: Kube): Promise<Capabilities> {
  const groups = await kube.serverGroups();
  return {
    istio: servesGroup(groups, 'networking.istio.io', 'v1') && servesGroup(groups, 'security.istio.io', 'v1'),
    authorino: servesGroup(groups, 'authorino.kuadrant.io', 'v1beta3'),
    openshift: servesGroup(groups, 'user.openshift.io', 'v1'),
  };
}

interface EndpointVerdict {
  endpoint: InferenceEndpoint;
  /** Set when the endpoint gets no objects. */
  problem?: { reason: string; message: string };
  modelVersion?: string;
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

/**
 * Reconciles one tenant: gather (caches, key material, versions) → decide (quota, capabilities) → render
 * purely → apply what differs → prune what is no longer desired → write status if it changed.
 */
export class TenantReconciler {
  private readonly caNamespace: string;
  private readonly credentialTtlSeconds: number;
  private readonly latestPollMs: number;
  /** Tenants (by uid) whose bucket exists; saves a store round trip per reconcile. */
  private readonly bucketsEnsured = new Set<string>();
  private readonly knownContent: KnownContent;

  constructor(private readonly deps: ReconcilerDeps) {
    this.knownContent = deps.knownContent ?? new KnownContent();
    this.caNamespace = deps.platform.caNamespace;
    this.credentialTtlSeconds = deps.storageCredentialTtlSeconds ?? DEFAULT_STORAGE_CREDENTIAL_TTL_SECONDS;
    this.latestPollMs = deps.latestPollMs ?? 60_000;
  }

  /** Reconciles a queue key: a tenant name or {@link PLATFORM_KEY}. */
  async reconcile(key: string): Promise<ReconcileOutcome | void> {
    if (key === PLATFORM_KEY) return this.reconcilePlatform();
    const tenant = this.deps.cache.tenant(key);
    if (!tenant) return this.reportOrphanEndpoints(key);
    if (tenant.metadata.deletionTimestamp) return this.finalize(tenant);
    return this.reconcileTenant(await this.ensureFinalizer(tenant));
  }

  private now(): Date {
    return new Date(this.deps.clock.now());
  }

  /** Counts a write and remembers its result (see {@link OwnWrites}). */
  private wrote(
    operation: WriteOperation,
    kind: string,
    result?: KubeObject,
    previousVersion?: string,
  ): void {
    this.deps.metrics.writes.inc({ operation, kind });
    if (result) this.deps.ownWrites.record(result, previousVersion);
  }

  private async reconcilePlatform(): Promise<void> {
    const capabilities = await this.deps.capabilities();
    for (const object of asLive(renderPlatform(this.deps.platform, capabilities))) {
      await this.applyIfChanged(object);
    }
  }

  /**
   * Applies the object if it differs from the live one; what the apiserver returned goes into `written`. A live
   * object labelled for another tenant is left alone and described in the returned message: force-applying it
   * would hand this tenant's subjects what belongs to the other (names are collision-free by construction;
   * this guards what construction missed).
   */
  private async applyIfChanged(
    object: KubeObject,
    written?: Map<string, KubeObject>,
  ): Promise<string | undefined> {
    const desired = withDesiredHash(object);
    const live = this.deps.cache.owned(desired);
    const liveTenant = live ? tenantOfObject(live) : undefined;
    if (liveTenant !== undefined && liveTenant !== tenantOfObject(desired)) {
      const where = desired.metadata.namespace ? `${desired.metadata.namespace}/` : '';
      return `${desired.kind} ${where}${desired.metadata.name} belongs to tenant ${liveTenant}`;
    }
    if (!(await this.differs(desired, live))) return undefined;
    const applied = await this.deps.kube.applyObject(desired, {
      fieldManager: FIELD_MANAGERS.operator,
      force: true,
    });
    this.wrote('apply', desired.kind, applied, live?.metadata.resourceVersion);
    this.knownContent.remember(applied);
    written?.set(identityOf(applied), applied);
    return undefined;
  }

  /**
   * Whether `live` lacks what `desired` sets. A cached object held as metadata only is judged by its desired
   * hash and {@link KnownContent}; when another writer moved it since, its content is read once and compared.
   */
  private async differs(desired: KubeObject, live: KubeObject | undefined): Promise<boolean> {
    if (!live) return true;
    let content = live;
    if (isMetadataOnly(live)) {
      if (
        live.metadata.annotations?.[DESIRED_HASH_ANNOTATION] !==
        desired.metadata.annotations?.[DESIRED_HASH_ANNOTATION]
      )
        return true;
      if (this.knownContent.holds(live)) return false;
      const read = await this.deps.kube.get(
        desired.apiVersion,
        desired.kind,
        desired.metadata.name,
        desired.metadata.namespace,
      );
      if (!read) return true;
      content = read;
    }
    if (needsApply(desired, content)) return true;
    this.knownContent.remember(content);
    return false;
  }

  private async ensureFinalizer(tenant: Tenant): Promise<Tenant> {
    if (tenant.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return tenant;
    const updated = await this.deps.kube.patchMerge<Tenant & KubeObject>(
      GROUP_VERSION,
      'Tenant',
      tenant.metadata.name,
      undefined,
      {
        metadata: {
          resourceVersion: tenant.metadata.resourceVersion,
          finalizers: [...(tenant.metadata.finalizers ?? []), CLEANUP_FINALIZER],
        },
      },
      { fieldManager: FIELD_MANAGERS.operator },
    );
    this.wrote('finalizer', 'Tenant', updated, tenant.metadata.resourceVersion);
    return updated;
  }

  /**
   * Deleting a tenant deletes its endpoints (their children follow by ownership), its bucket, and then the
   * finalizer; everything else the Tenant owns is removed by the garbage collector, in any namespace.
   */
  private async finalize(tenant: Tenant): Promise<void> {
    if (!tenant.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return;
    const name = tenant.metadata.name;
    for (const endpoint of this.deps.cache.endpointsOf(name)) {
      if (endpoint.metadata.deletionTimestamp) continue;
      await this.deps.kube.delete(
        GROUP_VERSION,
        'InferenceEndpoint',
        endpoint.metadata.name,
        endpoint.metadata.namespace,
      );
      this.wrote('delete', 'InferenceEndpoint');
    }
    // The API writes the certificate registry without an owner (it may exist before the operator has seen
    // the tenant), so garbage collection cannot remove it: the finalizer does.
    const registry = this.registryRef(name);
    for (const object of [registry, ...this.certificateRecordObjects(name)]) {
      if (await this.deps.kube.delete('v1', 'ConfigMap', object.metadata.name, object.metadata.namespace)) {
        this.wrote('delete', 'ConfigMap');
      }
    }
    await this.mirrorEndpoints(name, '', []);
    await this.deps.store.removeBucket(name);
    if (tenant.metadata.uid) this.bucketsEnsured.delete(tenant.metadata.uid);
    await this.deps.kube.removeFinalizer(tenant as Tenant & KubeObject, CLEANUP_FINALIZER);
    this.wrote('finalizer', 'Tenant');
  }

  private async reportOrphanEndpoints(tenant: string): Promise<void> {
    for (const endpoint of this.deps.cache.endpointsOf(tenant)) {
      if (endpoint.metadata.deletionTimestamp) continue;
      await this.writeEndpointStatus(endpoint, {
        observedGeneration: endpoint.metadata.generation,
        conditions: mergeConditions(
          endpoint.status?.conditions,
          [
            condition(
              CONDITION_TYPES.ready,
              'False',
              REASONS.tenantNotFound,
              `tenant ${tenant} does not exist`,
            ),
            condition(CONDITION_TYPES.progressing, 'False', REASONS.tenantNotFound, 'waiting for the tenant'),
            condition(
              CONDITION_TYPES.degraded,
              'True',
              REASONS.tenantNotFound,
              `tenant ${tenant} does not exist`,
            ),
          ],
          endpoint.metadata.generation,
          this.now(),
        ),
      });
    }
  }

  private async reconcileTenant(tenant: Tenant): Promise<ReconcileOutcome> {
    const name = tenant.metadata.name;
    const now = this.now();
    const capabilities = await this.deps.capabilities();
    const mesh = meshEnabled(capabilities);

    // Independent round trips (object store and apiserver) overlap: a reconcile is latency-bound, not CPU-bound.
    const bucketReady = this.ensureBucket(tenant);
    const storageReady = bucketReady.then(() => this.storageCredentials(name, now));
    // Both are awaited below; until then a rejection must not count as unhandled.
    storageReady.catch(() => undefined);
    let ca: CaMaterial;
    try {
      ca = await this.tenantCa(tenant);
    } catch (err) {
      await this.writeTenantStatus(tenant, {
        ...tenant.status,
        observedGeneration: tenant.metadata.generation,
        conditions: mergeConditions(
          tenant.status?.conditions,
          [
            condition(CONDITION_TYPES.ready, 'False', REASONS.caInvalid, errorMessage(err)),
            condition(CONDITION_TYPES.progressing, 'False', REASONS.caInvalid, 'waiting for a usable CA'),
            condition(CONDITION_TYPES.degraded, 'True', REASONS.caInvalid, errorMessage(err)),
          ],
          tenant.metadata.generation,
          now,
        ),
      });
      throw err;
    }
    const fingerprint = this.deps.pki.fingerprint(ca.certPem);
    const holder = bringsOwnCa(tenant)
      ? earlierHolderOfCa(tenant, fingerprint, this.cachedTenants())
      : undefined;
    if (holder !== undefined) {
      // Nothing is rendered with a CA another tenant holds; the controller queues this tenant again when the
      // holder's CA changes or it goes.
      const message = `the CA ${fingerprint} is already tenant ${holder}'s; give this tenant its own CA`;
      await this.writeTenantStatus(tenant, {
        ...tenant.status,
        observedGeneration: tenant.metadata.generation,
        caFingerprint: fingerprint,
        conditions: mergeConditions(
          tenant.status?.conditions,
          [
            condition(CONDITION_TYPES.ready, 'False', REASONS.caInUse, message),
            condition(CONDITION_TYPES.progressing, 'False', REASONS.caInUse, 'waiting for a CA of its own'),
            condition(CONDITION_TYPES.degraded, 'True', REASONS.caInUse, message),
          ],
          tenant.metadata.generation,
          now,
        ),
      });
      return {};
    }

    const runtimes = new Map(this.deps.cache.runtimes().map((runtime) => [runtime.metadata.name, runtime]));
    const verdicts = await this.judgeEndpoints(tenant, runtimes);
    const admitted = verdicts.filter((verdict) => verdict.problem === undefined);
    const endpointInputs: EndpointInput[] = admitted.map((verdict) => ({
      resource: verdict.endpoint,
      modelVersion: verdict.modelVersion!,
    }));

    await bucketReady;
    const storage = await storageReady;
    const secrets: TenantSecretMaterial = {
      caCertificatePem: ca.certPem,
      servingCertificatePem: '',
      servingPrivateKeyPem: '',
      storage: storage.credentials,
    };
    let certRefreshMs = Number.POSITIVE_INFINITY;
    if (mesh) {
      const serving = await this.servingCertificate(tenant, ca, now);
      secrets.servingCertificatePem = serving.certPem;
      secrets.servingPrivateKeyPem = serving.keyPem;
      certRefreshMs = serving.refreshInMs;
      const crl = await this.revocationList(tenant, ca, now);
      if (crl) {
        secrets.crlPem = crl.crlPem;
        certRefreshMs = Math.min(certRefreshMs, crl.refreshInMs);
      }
    }

    const rendered = renderTenant({
      tenant,
      endpoints: endpointInputs,
      runtimes: [...runtimes.values()],
      platform: this.deps.platform,
      capabilities,
      secrets,
    });
    const endpointsByShortName = new Map(
      this.deps.cache
        .endpointsOf(name)
        .map((endpoint) => [shortEndpointName(name, endpoint.metadata.name), endpoint] as const),
    );
    const desired = asLive(rendered).map((object) =>
      withOwner(object, tenant, endpointsByShortName, this.deps.platform.servingNamespace),
    );
    const keep = new Set(desired.map(identityOf));
    keep.add(
      identityOf({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: caKeySecretName(name), namespace: this.caNamespace },
      }),
    );
    // The API owns the certificate registry and its records; the operator only reads them.
    keep.add(identityOf(this.registryRef(name)));
    for (const record of this.certificateRecordObjects(name)) keep.add(identityOf(record));

    // The statuses are judged from what this pass wrote where it wrote something: the cache may not have seen
    // those writes yet, and their echoes will not queue the tenant again (see OwnWrites).
    const written = new Map<string, KubeObject>();
    const conflicts = (
      await Promise.all(desired.map((object) => this.applyIfChanged(object, written)))
    ).filter((conflict) => conflict !== undefined);
    await this.prune(name, keep);
    const current = (ref: ObjectRef) => written.get(identityOf(ref)) ?? this.deps.cache.owned(ref);
    await this.writeStatuses(tenant, verdicts, capabilities, ca, now, conflicts, current);
    await this.mirrorEndpoints(name, tenantHostname(tenant, this.deps.platform), verdicts);

    const anyLatest = verdicts.some(
      (verdict) => (verdict.endpoint.spec.model.version ?? 'latest') === 'latest',
    );
    const requeueAfterMs = Math.min(
      storage.refreshInMs,
      certRefreshMs,
      anyLatest ? this.latestPollMs : Number.POSITIVE_INFINITY,
    );
    return Number.isFinite(requeueAfterMs) ? { requeueAfterMs: Math.max(1_000, requeueAfterMs) } : {};
  }

  /**
   * Mirrors the tenant's endpoints into its registry as InferenceServices of its serving environment (after the
   * statuses, so a database outage delays only this step; the reconcile fails and is retried with backoff).
   */
  private async mirrorEndpoints(tenant: string, hostname: string, judged: JudgedEndpoint[]): Promise<void> {
    const mirror = this.deps.registryMirror;
    if (!mirror) return;
    const platform = this.deps.platform;
    await mirror.mirrorInferenceServices(
      tenant,
      servingEnvironmentName(platform),
      mirrorExternalIdPrefix(platform),
      mirroredInferenceServices(tenant, hostname, judged, platform),
    );
  }

  private cachedTenants(): Tenant[] {
    return this.deps.cache.tenantNames().flatMap((name) => {
      const tenant = this.deps.cache.tenant(name);
      return tenant ? [tenant as Tenant] : [];
    });
  }

  private async ensureBucket(tenant: Tenant): Promise<void> {
    const uid = tenant.metadata.uid ?? tenant.metadata.name;
    if (this.bucketsEnsured.has(uid)) return;
    await this.deps.store.ensureBucket(tenant.metadata.name);
    this.bucketsEnsured.add(uid);
  }

  /** The tenant's CA: its own Secret (bring your own), else the generated one, created once and kept. */
  private async tenantCa(tenant: Tenant): Promise<CaMaterial> {
    const now = this.now();
    const ref = tenant.spec.ca?.secretRef?.name;
    if (ref !== undefined) {
      const secret = await this.deps.kube.get('v1', 'Secret', ref, this.caNamespace);
      const data = (secret?.['data'] ?? {}) as Record<string, string>;
      const certPem = decode(data['tls.crt']);
      const keyPem = decode(data['tls.key']);
      if (!certPem || !keyPem) {
        throw new Error(`CA Secret ${this.caNamespace}/${ref} is missing or lacks tls.crt and tls.key`);
      }
      return this.deps.pki.importCa(certPem, keyPem, now);
    }
    const name = caKeySecretName(tenant.metadata.name);
    const cached = this.deps.cache.owned({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: this.caNamespace },
    });
    // Not cached means not created yet, or created so recently that its event is still on its way: the create
    // below tells the two apart (AlreadyExists), so a new tenant costs no extra read.
    if (cached) {
      const data = (cached['data'] ?? {}) as Record<string, string>;
      return { certPem: decode(data['tls.crt']) ?? '', keyPem: decode(data['tls.key']) ?? '' };
    }
    const ca = await this.deps.pki.createCa(tenant.metadata.name, now);
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: this.caNamespace,
        labels: commonLabels('pki', tenant.metadata.name),
        ownerReferences: [tenantOwnerReference(tenant)],
      },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(ca.certPem).toString('base64'),
        'tls.key': Buffer.from(ca.keyPem).toString('base64'),
      },
    };
    try {
      // Create, never apply: an existing CA must never be overwritten by a freshly generated one.
      const created = await this.deps.kube.create(secret, { fieldManager: FIELD_MANAGERS.operator });
      this.wrote('create', 'Secret', created);
      return ca;
    } catch (err) {
      if ((err as { reason?: string }).reason !== 'AlreadyExists') throw err;
      const existing = await this.deps.kube.get('v1', 'Secret', name, this.caNamespace);
      const data = (existing?.['data'] ?? {}) as Record<string, string>;
      return { certPem: decode(data['tls.crt']) ?? '', keyPem: decode(data['tls.key']) ?? '' };
    }
  }

  /** Reuses the storage credentials in the Secret until a third of their lifetime is left. */
  private async storageCredentials(
    tenant: string,
    now: Date,
  ): Promise<{ credentials: StorageReadCredentials; refreshInMs: number }> {
    const refreshMargin = (this.credentialTtlSeconds * 1000) / 3;
    const live = this.deps.cache.owned({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: storageCredentialSecretName(tenant), namespace: this.deps.platform.servingNamespace },
    });
    if (live) {
      const data = (live['data'] ?? {}) as Record<string, string>;
      const expiresAt = live.metadata.annotations?.[EXPIRES_AT_ANNOTATION];
      const accessKey = decode(data['AWS_ACCESS_KEY_ID']);
      const secretKey = decode(data['AWS_SECRET_ACCESS_KEY']);
      const remaining = expiresAt ? Date.parse(expiresAt) - now.getTime() : 0;
      if (accessKey && secretKey && expiresAt && remaining > refreshMargin) {
        return {
          credentials: {
            accessKey,
            secretKey,
            sessionToken: decode(data['AWS_SESSION_TOKEN']) ?? '',
            expiresAt,
          },
          refreshInMs: remaining - refreshMargin,
        };
      }
    }
    const credentials = await this.deps.store.issueReadCredentials(tenant, this.credentialTtlSeconds);
    return { credentials, refreshInMs: Date.parse(credentials.expiresAt) - now.getTime() - refreshMargin };
  }

  /** Reuses the serving certificate in the gateway Secret while it matches the CA and hosts and is not due. */
  private async servingCertificate(
    tenant: Tenant,
    ca: CaMaterial,
    now: Date,
  ): Promise<{ certPem: string; keyPem: string; refreshInMs: number }> {
    const hosts = [tenantWildcardHost(tenantHostname(tenant, this.deps.platform))];
    const live = this.deps.cache.owned({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: gatewayCredentialSecretName(tenant.metadata.name),
        namespace: this.deps.platform.gatewayNamespace,
      },
    });
    const data = (live?.['data'] ?? {}) as Record<string, string>;
    const certPem = decode(data['tls.crt']);
    const keyPem = decode(data['tls.key']);
    const reusable =
      certPem !== undefined &&
      keyPem !== undefined &&
      decode(data['ca.crt']) === ca.certPem &&
      sameSet(this.deps.pki.hostsOf(certPem), hosts) &&
      !this.deps.pki.needsRotation(certPem, now);
    if (reusable) return { certPem, keyPem, refreshInMs: 60 * 60_000 };
    const issued = await this.deps.pki.issueServing(ca, hosts, now);
    return { ...issued, refreshInMs: 60 * 60_000 };
  }

  /** The API's per-certificate record ConfigMaps of the tenant, from the cache. */
  private certificateRecordObjects(tenant: string): KubeObject[] {
    return this.deps.cache
      .ownedBy(tenant)
      .filter(
        (object) =>
          object.kind === 'ConfigMap' &&
          object.metadata.namespace === this.deps.platform.servingNamespace &&
          object.metadata.labels?.[CLIENT_CERTIFICATE_LABEL] !== undefined,
      );
  }

  private registryRef(tenant: string): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: clientCertificateRegistryName(tenant),
        namespace: this.deps.platform.servingNamespace,
      },
    };
  }

  /**
   * The CRL for the gateway credential, from the revocations the API recorded in the certificate registry.
   * A live CRL listing exactly those serials is reused until two days before its nextUpdate: CRL signatures
   * differ on every signing, so re-signing on each pass would rewrite the gateway Secret forever.
   */
  private async revocationList(
    tenant: Tenant,
    ca: CaMaterial,
    now: Date,
  ): Promise<{ crlPem: string; refreshInMs: number } | undefined> {
    const registry = this.deps.cache.owned(this.registryRef(tenant.metadata.name));
    const text = (registry?.['data'] as Record<string, string> | undefined)?.[
      CLIENT_CERTIFICATE_REGISTRY_KEY
    ];
    // One object per certificate, plus the single registry of earlier versions; an object wins over its
    // registry entry (a revocation of a registry entry is written as its own object).
    const ownRecords = this.certificateRecordObjects(tenant.metadata.name).flatMap((object) =>
      parseRegistry(
        `[${(object['data'] as Record<string, string> | undefined)?.[CLIENT_CERTIFICATE_RECORD_KEY] ?? ''}]`,
      ),
    );
    const recorded = new Set(ownRecords.map((record) => this.deps.pki.normaliseSerial(record.serialNumber)));
    const records = [
      ...ownRecords,
      ...parseRegistry(text).filter(
        (record) => !recorded.has(this.deps.pki.normaliseSerial(record.serialNumber)),
      ),
    ];
    const revoked = records
      .filter((record) => record.revokedAt)
      .map((record) => ({ serialNumber: record.serialNumber, revokedAt: new Date(record.revokedAt!) }));
    if (revoked.length === 0) return undefined;

    const wanted = revoked.map((entry) => this.deps.pki.normaliseSerial(entry.serialNumber)).sort();
    const renewBeforeMs = 2 * 24 * 3600_000;
    const live = this.deps.cache.owned({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: gatewayCredentialSecretName(tenant.metadata.name),
        namespace: this.deps.platform.gatewayNamespace,
      },
    });
    const liveCrl = decode(((live?.['data'] ?? {}) as Record<string, string>)['ca.crl']);
    if (
      liveCrl !== undefined &&
      decode(((live?.['data'] ?? {}) as Record<string, string>)['ca.crt']) === ca.certPem
    ) {
      try {
        const summary = this.deps.pki.summariseCrl(liveCrl);
        const dueInMs = (summary.nextUpdate?.getTime() ?? 0) - now.getTime() - renewBeforeMs;
        if (sameSet(summary.serialNumbers, wanted) && dueInMs > 0)
          return { crlPem: liveCrl, refreshInMs: dueInMs };
      } catch {
        // An unreadable live CRL is replaced below.
      }
    }
    const crlPem = await this.deps.pki.createCrl(ca, revoked, now);
    return { crlPem, refreshInMs: 7 * 24 * 3600_000 - renewBeforeMs };
  }

  private async judgeEndpoints(
    tenant: Tenant,
    runtimes: Map<string, ServingRuntime>,
  ): Promise<EndpointVerdict[]> {
    const endpoints = this.deps.cache
      .endpointsOf(tenant.metadata.name)
      .filter((endpoint) => !endpoint.metadata.deletionTimestamp)
      .filter((endpoint) => shortEndpointName(tenant.metadata.name, endpoint.metadata.name) !== undefined);
    const verdicts: EndpointVerdict[] = [];
    const runnable: InferenceEndpoint[] = [];
    for (const endpoint of endpoints) {
      if (!runtimes.has(endpoint.spec.runtime)) {
        verdicts.push({
          endpoint,
          problem: {
            reason: REASONS.runtimeNotFound,
            message: `serving runtime ${endpoint.spec.runtime} does not exist`,
          },
        });
      } else runnable.push(endpoint);
    }
    const quota = applyQuota(tenant, runnable, runtimes);
    for (const { endpoint, message } of quota.rejected) {
      verdicts.push({ endpoint, problem: { reason: REASONS.quotaExceeded, message } });
    }
    for (const endpoint of quota.admitted) {
      const requested = endpoint.spec.model.version ?? CRD_DEFAULTS.InferenceEndpoint['spec.model.version'];
      if (requested !== 'latest') {
        verdicts.push({ endpoint, modelVersion: requested });
        continue;
      }
      const latest = await this.deps.store.latestVersion(tenant.metadata.name, endpoint.spec.model.name);
      if (latest === undefined) {
        verdicts.push({
          endpoint,
          problem: {
            reason: REASONS.modelNotFound,
            message: `model ${endpoint.spec.model.name} has no published version`,
          },
        });
      } else verdicts.push({ endpoint, modelVersion: latest });
    }
    return verdicts.sort((a, b) => a.endpoint.metadata.name.localeCompare(b.endpoint.metadata.name));
  }

  /** Deletes the tenant's managed objects that are no longer desired (endpoint removed, grant revoked, …). */
  private async prune(tenant: string, keep: Set<string>): Promise<void> {
    const stale = this.deps.cache
      .ownedBy(tenant)
      .filter((object) => !keep.has(identityOf(object)) && !object.metadata.deletionTimestamp);
    await Promise.all(
      stale.map(async (object) => {
        const deleted = await this.deps.kube.delete(
          object.apiVersion,
          object.kind,
          object.metadata.name,
          object.metadata.namespace,
          object.metadata.uid ? { preconditions: { uid: object.metadata.uid } } : {},
        );
        if (deleted) this.wrote('delete', object.kind);
      }),
    );
  }

  private async writeStatuses(
    tenant: Tenant,
    verdicts: EndpointVerdict[],
    capabilities: Capabilities,
    ca: CaMaterial,
    now: Date,
    conflicts: string[],
    current: (ref: ObjectRef) => KubeObject | undefined,
  ): Promise<void> {
    const name = tenant.metadata.name;
    const hostname = tenantHostname(tenant, this.deps.platform);
    let notReady = 0;
    let degraded = 0;
    const hosts: string[] = [];
    const statusWrites: Promise<void>[] = [];
    for (const verdict of verdicts) {
      const { endpoint } = verdict;
      const short = shortEndpointName(name, endpoint.metadata.name)!;
      const generation = endpoint.metadata.generation;
      let status: InferenceEndpointStatus;
      if (verdict.problem) {
        degraded++;
        status = {
          observedGeneration: generation,
          readyReplicas: 0,
          selector: selectorString(endpointPodSelector(name, short)),
          conditions: mergeConditions(
            endpoint.status?.conditions,
            [
              condition(CONDITION_TYPES.ready, 'False', verdict.problem.reason, verdict.problem.message),
              condition(
                CONDITION_TYPES.progressing,
                'False',
                verdict.problem.reason,
                verdict.problem.message,
              ),
              condition(CONDITION_TYPES.degraded, 'True', verdict.problem.reason, verdict.problem.message),
            ],
            generation,
            now,
          ),
        };
      } else {
        const host = endpointHost(hostname, short);
        hosts.push(host);
        const deployment = current({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: endpoint.metadata.name, namespace: this.deps.platform.servingNamespace },
        });
        const { ready, readyReplicas, message } = deploymentReadiness(deployment, endpoint);
        // A failed model pull makes the endpoint degraded (with the puller's message), not merely rolling out.
        const pullFailure = ready ? undefined : this.deps.cache.modelPullFailure?.(name, short);
        if (pullFailure !== undefined) degraded++;
        else if (!ready) notReady++;
        status = {
          observedGeneration: generation,
          url: `https://${host}`,
          readyReplicas,
          servedModelVersion: verdict.modelVersion!,
          selector: selectorString(endpointPodSelector(name, short)),
          conditions: mergeConditions(
            endpoint.status?.conditions,
            ready
              ? [
                  condition(CONDITION_TYPES.ready, 'True', REASONS.ready, message),
                  condition(CONDITION_TYPES.progressing, 'False', REASONS.reconciled, message),
                  condition(CONDITION_TYPES.degraded, 'False', REASONS.asExpected, 'no problem found'),
                ]
              : pullFailure !== undefined
                ? [
                    condition(CONDITION_TYPES.ready, 'False', REASONS.modelPullFailed, pullFailure),
                    condition(CONDITION_TYPES.progressing, 'True', REASONS.rollingOut, message),
                    condition(CONDITION_TYPES.degraded, 'True', REASONS.modelPullFailed, pullFailure),
                  ]
                : [
                    condition(CONDITION_TYPES.ready, 'False', REASONS.rollingOut, message),
                    condition(CONDITION_TYPES.progressing, 'True', REASONS.rollingOut, message),
                    condition(CONDITION_TYPES.degraded, 'False', REASONS.asExpected, 'no problem found'),
                  ],
            generation,
            now,
          ),
        };
      }
      statusWrites.push(this.writeEndpointStatus(endpoint, status));
    }
    await Promise.all(statusWrites);

    const mesh = meshEnabled(capabilities);
    const missing = [
      capabilities.istio ? undefined : 'Istio',
      capabilities.authorino ? undefined : 'Authorino',
    ]
      .filter((part) => part !== undefined)
      .join(' and ');
    const desired: DesiredCondition[] = [];
    if (!mesh) {
      const message = `${missing} not installed: gateway, mTLS and ext_authz objects are not created`;
      desired.push(
        condition(CONDITION_TYPES.ready, 'False', REASONS.meshUnavailable, message),
        condition(
          CONDITION_TYPES.progressing,
          notReady > 0 ? 'True' : 'False',
          notReady > 0 ? REASONS.rollingOut : REASONS.reconciled,
          `${notReady} endpoints not ready`,
        ),
        condition(CONDITION_TYPES.degraded, 'True', REASONS.meshUnavailable, message),
      );
    } else if (conflicts.length > 0) {
      const message = `not applied, held by another tenant: ${conflicts.sort().join('; ')}`;
      desired.push(
        condition(CONDITION_TYPES.ready, 'False', REASONS.nameConflict, message),
        condition(CONDITION_TYPES.progressing, 'False', REASONS.nameConflict, message),
        condition(CONDITION_TYPES.degraded, 'True', REASONS.nameConflict, message),
      );
    } else if (degraded > 0) {
      const message = `${degraded} of ${verdicts.length} endpoints are degraded`;
      desired.push(
        condition(
          CONDITION_TYPES.ready,
          notReady > 0 ? 'False' : 'True',
          notReady > 0 ? REASONS.rollingOut : REASONS.ready,
          `${verdicts.length - degraded - notReady} endpoints ready`,
        ),
        condition(
          CONDITION_TYPES.progressing,
          notReady > 0 ? 'True' : 'False',
          notReady > 0 ? REASONS.rollingOut : REASONS.reconciled,
          `${notReady} endpoints not ready`,
        ),
        condition(CONDITION_TYPES.degraded, 'True', REASONS.endpointsDegraded, message),
      );
    } else if (notReady > 0) {
      const message = `${notReady} of ${verdicts.length} endpoints are not available yet`;
      desired.push(
        condition(CONDITION_TYPES.ready, 'False', REASONS.rollingOut, message),
        condition(CONDITION_TYPES.progressing, 'True', REASONS.rollingOut, message),
        condition(CONDITION_TYPES.degraded, 'False', REASONS.asExpected, 'no problem found'),
      );
    } else {
      const message = `all ${verdicts.length} endpoints are available`;
      desired.push(
        condition(CONDITION_TYPES.ready, 'True', REASONS.ready, message),
        condition(CONDITION_TYPES.progressing, 'False', REASONS.reconciled, message),
        condition(CONDITION_TYPES.degraded, 'False', REASONS.asExpected, 'no problem found'),
      );
    }
    const status: TenantStatus = {
      observedGeneration: tenant.metadata.generation,
      conditions: mergeConditions(tenant.status?.conditions, desired, tenant.metadata.generation, now),
      bucket: bucketName(name),
      hosts: hosts.sort(),
      caFingerprint: this.deps.pki.fingerprint(ca.certPem),
    };
    await this.writeTenantStatus(tenant, status);
  }

  private async writeTenantStatus(tenant: Tenant, status: TenantStatus): Promise<void> {
    if (sameJson(tenant.status, status)) return;
    const written = await this.deps.kube.applyStatus(
      { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name: tenant.metadata.name }, status },
      { fieldManager: FIELD_MANAGERS.operator, force: true },
    );
    this.wrote('status', 'Tenant', written, tenant.metadata.resourceVersion);
  }

  private async writeEndpointStatus(
    endpoint: InferenceEndpoint,
    status: InferenceEndpointStatus,
  ): Promise<void> {
    if (sameJson(endpoint.status, status)) return;
    const written = await this.deps.kube.applyStatus(
      {
        apiVersion: GROUP_VERSION,
        kind: 'InferenceEndpoint',
        metadata: { name: endpoint.metadata.name, namespace: endpoint.metadata.namespace! },
        status,
      },
      { fieldManager: FIELD_MANAGERS.operator, force: true },
    );
    this.wrote('status', 'InferenceEndpoint', written, endpoint.metadata.resourceVersion);
  }
}

/** Rendered objects are plain JSON objects; the kube facade's type only adds an open metadata index. */
function asLive(objects: DomainKubeObject[]): KubeObject[] {
  return objects as unknown as KubeObject[];
}

/** Whether the endpoint's Deployment reports its replicas available for its current spec. */
export function deploymentReadiness(
  deployment: KubeObject | undefined,
  endpoint: InferenceEndpoint,
): { ready: boolean; readyReplicas: number; message: string } {
  const wanted = endpoint.spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'];
  if (!deployment) return { ready: false, readyReplicas: 0, message: 'the Deployment does not exist yet' };
  const status = (deployment['status'] ?? {}) as {
    observedGeneration?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
  };
  const readyReplicas = status.readyReplicas ?? 0;
  const current = (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0);
  const available = status.availableReplicas ?? 0;
  const ready = current && available >= wanted && (status.updatedReplicas ?? available) >= wanted;
  return {
    ready,
    readyReplicas,
    message: ready
      ? `${available} of ${wanted} replicas available`
      : `${available} of ${wanted} replicas available${current ? '' : ' (rollout not observed yet)'}`,
  };
}

/**
 * Adds the controller ownerReference: an endpoint's objects in the serving namespace belong to its
 * InferenceEndpoint (deleted with it), everything else to the cluster-scoped Tenant (any namespace).
 */
export function withOwner(
  object: KubeObject,
  tenant: Tenant,
  endpoints: Map<string | undefined, InferenceEndpoint>,
  servingNamespace: string,
): KubeObject {
  const endpointName = object.metadata.labels?.[LABELS.endpoint];
  const endpoint = endpointName === undefined ? undefined : endpoints.get(endpointName);
  const owner =
    endpoint?.metadata.uid && object.metadata.namespace === servingNamespace
      ? {
          apiVersion: GROUP_VERSION,
          kind: 'InferenceEndpoint',
          name: endpoint.metadata.name,
          uid: endpoint.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        }
      : tenantOwnerReference(tenant);
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

/** The controller ownerReference to the cluster-scoped Tenant. */
export function tenantOwnerReference(tenant: Tenant) {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'Tenant',
    name: tenant.metadata.name,
    uid: tenant.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
): DesiredCondition {
  return { type, status, reason, message };
}

/** The registry's records; a malformed registry counts as empty rather than stopping the tenant's reconcile. */
function parseRegistry(text: string | undefined): { serialNumber: string; revokedAt?: string }[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed)
      ? parsed.filter(
          (record): record is { serialNumber: string; revokedAt?: string } =>
            typeof record === 'object' && record !== null && typeof record.serialNumber === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Deep equality of plain JSON, independent of key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
