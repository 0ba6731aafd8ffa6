import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { GROUP_VERSION, LABELS, PRODUCT } from '../domain/index.ts';
import type { InferenceEndpoint, PlatformConfig, ServingRuntime, Tenant } from '../domain/index.ts';
import {
  Informer,
  LeaderElector,
  kubeLeaseStore,
  objectKey,
  servesGroup,
  stripManagedFields,
  systemClock,
  type Clock,
  type Kube,
  type KubeObject,
  type ListWatchSource,
} from '../kube/index.ts';
import type { Capabilities } from '../render/index.ts';
import {
  OWNED_KINDS,
  onlyStatusChanged,
  tenantOfObject,
  type OperatorCache,
  type OwnedKind,
} from './cache.ts';
import { bringsOwnCa } from './shared-ca.ts';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import { OwnWrites } from './own-writes.ts';
import { KnownContent } from './known-content.ts';
import type { PkiPort, StoragePort } from './ports.ts';
import { defaultPki } from './ports.ts';
import { PLATFORM_KEY, TenantReconciler, discoverCapabilities } from './reconciler.ts';
import { endpointOfPod, modelPullFailure, slimServingPod } from './pull-failures.ts';
import type { RegistryMirrorPort } from './registry-mirror.ts';
import { WorkQueue, runWorkers, type Priority } from './workqueue.ts';

/** Options of {@link createOperator}. */
export interface OperatorOptions {
  kube: Kube;
  platform: PlatformConfig;
  store: StoragePort;
  pki?: PkiPort;
  clock?: Clock;
  /** Concurrent reconciles. Default 4. */
  workers?: number;
  /** Registry the metrics are registered on (a fresh one by default). */
  registry?: Registry;
  /** Take part in leader election (Lease `tenantmesh-operator` in the serving namespace). Default true. */
  leaderElection?: boolean;
  /** This replica's identity in the election. Default host name plus a random suffix. */
  identity?: string;
  /** Informer relist interval: the level-triggered safety net. Default 10 min. */
  resyncIntervalMs?: number;
  /** Lifetime of the storage read credentials. Default 12 h. */
  storageCredentialTtlSeconds?: number;
  /** The tenants' model registries: every InferenceEndpoint is mirrored there (docs/registry.md). Default none. */
  registryMirror?: RegistryMirrorPort;
  /** Lease timings (tests shorten them). */
  lease?: { durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Told about every failed reconcile and recovered informer error. */
  onError?(key: string, err: unknown): void;
  /** Told about every finished reconcile, by queue key (a tenant's name); tests count them per tenant. */
  onReconciled?(key: string): void;
  /**
   * Which optional APIs the cluster serves (Istio, Authorino, OpenShift). Default: API discovery, refreshed at
   * most every 30 s. Tests pass their own to act out an uninstall without breaking the shared cluster.
   */
  discoverCapabilities?(): Promise<Capabilities>;
}

/** A running operator. */
export interface Operator {
  /** Starts campaigning for leadership (or leading at once without election); returns immediately. */
  start(): void;
  /** Stops informers, lets in-flight reconciles finish, releases the lease. */
  stop(): Promise<void>;
  /** True once this replica leads and its caches are synced. */
  isReady(): boolean;
  /** True while this replica leads. */
  isLeader(): boolean;
  metrics: OperatorMetrics;
  /** Re-queues every tenant (what an informer resync does), e.g. to measure a no-op pass. */
  resyncAll(): void;
  /**
   * Resolves when the queue is empty, no reconcile runs and the caches have caught up with the operator's own
   * writes (for tests and benchmarks: a resync right after it sees fresh caches).
   */
  idle(): Promise<void>;
}

/** Informer index of objects by the tenant they belong to. */
const BY_TENANT = 'tenant';
const byTenantLabel = (object: KubeObject) => {
  const tenant = tenantOfObject(object);
  return tenant === undefined ? [] : [tenant];
};

/**
 * List and watch of a kind the reconciler needs only the metadata of: the first list is whole, so a restarted
 * operator judges every object's content from it without a read or a write; later relists and every watch
 * event carry metadata only (the echoes of the operator's own writes are most of the events, and encoding and
 * parsing their full bodies cost the apiserver and the operator alike). See {@link KnownContent}.
 */
function metadataAfterFirstList(
  kube: Kube,
  kind: OwnedKind,
  selection: { labelSelector: string; namespace?: string },
): ListWatchSource<KubeObject> {
  const whole = kube.listWatch(kind.apiVersion, kind.kind, selection);
  const metadataOnly = kube.listWatch(kind.apiVersion, kind.kind, { ...selection, metadataOnly: true });
  let listedWhole = false;
  return {
    list: async () => {
      if (listedWhole) return metadataOnly.list();
      const list = await whole.list();
      listedWhole = true;
      return list;
    },
    watch: (resourceVersion, handlers) => metadataOnly.watch(resourceVersion, handlers),
  };
}

/** Name of the leader-election Lease. */
export const LEASE_NAME = 'tenantmesh-operator';

/**
 * The level-triggered controller: informers on Tenants, InferenceEndpoints, ServingRuntimes and on every kind
 * it manages (selected by `app.kubernetes.io/managed-by=tenantmesh`) only enqueue the owning tenant's name;
 * workers reconcile a tenant from the caches. One replica leads at a time.
 */
export function createOperator(options: OperatorOptions): Operator {
  const clock = options.clock ?? systemClock;
  const metrics = createOperatorMetrics(options.registry);
  const { kube, platform } = options;
  let capabilitiesAt = -Infinity;
  let capabilities: Promise<Capabilities> | undefined;
  const currentCapabilities = () => {
    if (options.discoverCapabilities) return options.discoverCapabilities();
    // Discovery is cheap but not free: refresh it at most every 30 s.
    if (!capabilities || clock.now() - capabilitiesAt > 30_000) {
      capabilitiesAt = clock.now();
      capabilities = discoverCapabilities(kube);
      capabilities.catch(() => (capabilities = undefined));
    }
    return capabilities;
  };

  let queue = new WorkQueue({ clock, metrics: metrics.queue });
  let informers: Informer<KubeObject>[] = [];
  let tenants: Informer<Tenant & KubeObject> | undefined;
  let endpoints: Informer<InferenceEndpoint & KubeObject> | undefined;
  let runtimes: Informer<ServingRuntime & KubeObject> | undefined;
  const owned = new Map<string, Informer<KubeObject>>();
  let servingPods: Informer<KubeObject> | undefined;
  let ready = false;
  let leading = false;
  let inFlight = 0;
  const idleWaiters: (() => void)[] = [];

  const ownWrites = new OwnWrites();
  const knownContent = new KnownContent();

  const cache: OperatorCache = {
    tenant: (name) => tenants?.get(name),
    tenantNames: () => tenants?.keys() ?? [],
    endpointsOf: (tenant) => endpoints?.byIndex(BY_TENANT, tenant) ?? [],
    runtimes: () => runtimes?.list() ?? [],
    ownedBy: (tenant) => [...owned.values()].flatMap((informer) => informer.byIndex(BY_TENANT, tenant)),
    owned: (ref) =>
      (
        owned.get(`${ref.apiVersion}/${ref.kind}/${ref.metadata.namespace ?? ''}`) ??
        owned.get(`${ref.apiVersion}/${ref.kind}`)
      )?.get(objectKey(ref)),
    modelPullFailure: (tenant, endpoint) =>
      (servingPods?.byIndex(BY_TENANT, tenant) ?? [])
        .filter((pod) => endpointOfPod(pod) === endpoint)
        .map(modelPullFailure)
        .find((failure) => failure !== undefined),
  };

  /** Where Secrets and ConfigMaps are watched: the operator holds no cluster-wide right on them. */
  const platformNamespaces = [
    ...new Set([platform.servingNamespace, platform.gatewayNamespace, platform.caNamespace]),
  ].sort();
  const reconciler = new TenantReconciler({
    kube,
    platform,
    store: options.store,
    pki: options.pki ?? defaultPki,
    clock,
    cache,
    ownWrites,
    knownContent,
    metrics,
    capabilities: currentCapabilities,
    ...(options.storageCredentialTtlSeconds !== undefined
      ? { storageCredentialTtlSeconds: options.storageCredentialTtlSeconds }
      : {}),
    ...(options.registryMirror ? { registryMirror: options.registryMirror } : {}),
  });

  const enqueue = (key: string | undefined, priority: Priority = 'change') => {
    if (key) queue.add(key, priority);
  };
  const informerOptions = {
    clock,
    resyncIntervalMs: options.resyncIntervalMs ?? 10 * 60_000,
    onError: (err: unknown) => options.onError?.('informer', err),
    transform: stripManagedFields,
  };
  /**
   * Events that arrived for a key while it was being reconciled, judged when that reconcile ends: an echo of
   * one of its own writes may arrive before the write's response has told us the resourceVersion to expect.
   */
  const heldDuringReconcile = new Map<string, KubeObject[]>();
  const countEvent = (object: KubeObject, echo: boolean) =>
    metrics.events.inc({ kind: object.kind, outcome: echo ? 'echo' : 'queued' });
  /**
   * Queues `key` for a change of `object`, unless the change is only the echo of our own write. A relist
   * reports unchanged objects (same resourceVersion) as updates: those are queued, they are the safety net,
   * but as background work, as is everything the first list reports (every tenant is queued after it anyway).
   */
  const enqueueChange = (key: string | undefined, object: KubeObject, old?: KubeObject) => {
    const changed = old === undefined || old.metadata.resourceVersion !== object.metadata.resourceVersion;
    const held = changed && key !== undefined ? heldDuringReconcile.get(key) : undefined;
    if (held) {
      held.push(object);
      return;
    }
    const echo = changed && ownWrites.isEcho(object);
    countEvent(object, echo);
    if (!echo) enqueue(key, changed && ready ? 'change' : 'background');
    notifyIdle();
  };
  /** Queues `key` again if anything but echoes of its own writes arrived while it was reconciled. */
  const releaseHeld = (key: string) => {
    const held = heldDuringReconcile.get(key) ?? [];
    heldDuringReconcile.delete(key);
    let changed = false;
    for (const object of held) {
      const echo = ownWrites.isEcho(object);
      countEvent(object, echo);
      changed ||= !echo;
    }
    if (changed) enqueue(key);
  };
  const enqueueDelete = (key: string | undefined, object: KubeObject) => {
    ownWrites.forget(object);
    knownContent.forget(object);
    metrics.events.inc({ kind: object.kind, outcome: 'deleted' });
    enqueue(key);
    notifyIdle();
  };

  /**
   * A tenant's CA appeared, changed or went: tenants bringing their own CA may now share it, or be free of a
   * holder (src/operator/shared-ca.ts), so they are judged again.
   */
  const caHolderChanged = (changed: Tenant) => {
    for (const name of tenants?.keys() ?? []) {
      const tenant = tenants?.get(name);
      if (name !== changed.metadata.name && tenant && bringsOwnCa(tenant)) enqueue(name);
    }
  };

  const reconcileTimed = async (key: string) => {
    inFlight++;
    heldDuringReconcile.set(key, []);
    const end = metrics.reconcileDuration.startTimer();
    try {
      const outcome = await reconciler.reconcile(key);
      metrics.reconcileTotal.inc({ result: 'success' });
      return outcome;
    } catch (err) {
      metrics.reconcileTotal.inc({ result: 'error' });
      metrics.reconcileErrors.inc();
      throw err;
    } finally {
      end();
      options.onReconciled?.(key);
      releaseHeld(key);
      inFlight--;
      notifyIdle();
    }
  };
  /** Idle: nothing queued or running, and the caches have seen every write of ours (see {@link OwnWrites}). */
  const isIdle = () => inFlight === 0 && queue.len() === 0 && ownWrites.size === 0;
  const notifyIdle = () => {
    if (isIdle()) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  /** Leads: builds caches, waits for their sync, runs workers until leadership ends. */
  const lead = async (signal: AbortSignal) => {
    leading = true;
    metrics.leader.set(1);
    queue = new WorkQueue({ clock, metrics: metrics.queue });
    const groups = await kube.serverGroups();
    tenants = new Informer<Tenant & KubeObject>(
      kube.listWatch<Tenant & KubeObject>(GROUP_VERSION, 'Tenant'),
      {
        onAdd: (tenant) => enqueueChange(tenant.metadata.name, tenant),
        onUpdate: (old, tenant) => {
          enqueueChange(tenant.metadata.name, tenant, old);
          if (old.status?.caFingerprint !== tenant.status?.caFingerprint) caHolderChanged(tenant);
        },
        onDelete: (tenant) => {
          enqueueDelete(tenant.metadata.name, tenant);
          caHolderChanged(tenant);
        },
      },
      informerOptions,
    );
    endpoints = new Informer<InferenceEndpoint & KubeObject>(
      kube.listWatch<InferenceEndpoint & KubeObject>(GROUP_VERSION, 'InferenceEndpoint', {
        namespace: platform.servingNamespace,
      }),
      {
        onAdd: (endpoint) => enqueueChange(endpoint.spec.tenant, endpoint),
        onUpdate: (old, endpoint) => enqueueChange(endpoint.spec.tenant, endpoint, old),
        onDelete: (endpoint) => enqueueDelete(endpoint.spec.tenant, endpoint),
      },
      { ...informerOptions, indexers: { [BY_TENANT]: (endpoint) => [endpoint.spec.tenant] } },
    );
    const runtimeChanged = (runtime: KubeObject, old?: KubeObject) => {
      const priority =
        ready && old?.metadata.resourceVersion !== runtime.metadata.resourceVersion ? 'change' : 'background';
      for (const endpoint of endpoints?.list() ?? []) {
        if (endpoint.spec.runtime === runtime.metadata.name) enqueue(endpoint.spec.tenant, priority);
      }
    };
    runtimes = new Informer<ServingRuntime & KubeObject>(
      kube.listWatch<ServingRuntime & KubeObject>(GROUP_VERSION, 'ServingRuntime'),
      {
        onAdd: (runtime) => runtimeChanged(runtime),
        onUpdate: (old, runtime) => runtimeChanged(runtime, old),
        onDelete: (runtime) => runtimeChanged(runtime),
      },
      informerOptions,
    );
    informers = [tenants, endpoints, runtimes] as unknown as Informer<KubeObject>[];
    owned.clear();
    const ownerOf = (object: KubeObject) => tenantOfObject(object) ?? PLATFORM_KEY;
    for (const kind of OWNED_KINDS) {
      if (kind.group !== '' && !servesGroup(groups, kind.group, kind.apiVersion.split('/')[1])) continue;
      const scopes = kind.platformNamespacesOnly ? platformNamespaces : [undefined];
      for (const namespace of scopes) {
        const selection = {
          labelSelector: `${LABELS.managedBy}=${PRODUCT}`,
          ...(namespace ? { namespace } : {}),
        };
        const informer = new Informer<KubeObject>(
          kind.contentRead
            ? kube.listWatch(kind.apiVersion, kind.kind, selection)
            : metadataAfterFirstList(kube, kind, selection),
          {
            onAdd: (object) => enqueueChange(ownerOf(object), object),
            onUpdate: (old, object) => {
              // A relist's unchanged objects need no reconcile here: their tenant is queued by its own relist.
              if (old.metadata.resourceVersion === object.metadata.resourceVersion) {
                metrics.events.inc({ kind: kind.kind, outcome: 'unchanged' });
                return;
              }
              // Nor does another controller's status on a custom resource: nothing we render moved.
              if (kind.customResource && onlyStatusChanged(old, object)) {
                knownContent.carryOver(old, object);
                metrics.events.inc({ kind: kind.kind, outcome: 'status-only' });
                return;
              }
              enqueueChange(ownerOf(object), object, old);
            },
            onDelete: (object) => enqueueDelete(ownerOf(object), object),
          },
          { ...informerOptions, indexers: { [BY_TENANT]: byTenantLabel } },
        );
        owned.set(`${kind.apiVersion}/${kind.kind}${namespace ? `/${namespace}` : ''}`, informer);
        informers.push(informer);
      }
    }
    // Serving pods, for the model puller's termination message: only a change of that message queues the
    // tenant, so the pods' frequent status updates cost no reconcile.
    const pullFailureChanged = (old: KubeObject | undefined, pod: KubeObject) => {
      if (modelPullFailure(pod) !== (old ? modelPullFailure(old) : undefined)) enqueue(tenantOfObject(pod));
    };
    servingPods = new Informer<KubeObject>(
      kube.listWatch('v1', 'Pod', {
        namespace: platform.servingNamespace,
        labelSelector: `${LABELS.managedBy}=${PRODUCT},${LABELS.component}=serving`,
      }),
      {
        onAdd: (pod) => pullFailureChanged(undefined, pod),
        onUpdate: (old, pod) => pullFailureChanged(old, pod),
        onDelete: () => undefined,
      },
      {
        ...informerOptions,
        transform: slimServingPod,
        indexers: { [BY_TENANT]: byTenantLabel },
      },
    );
    informers.push(servingPods);
    for (const informer of informers) informer.start();
    try {
      await Promise.all(informers.map((informer) => informer.waitForSync(signal)));
    } catch {
      stopInformers();
      return;
    }
    ready = true;
    enqueue(PLATFORM_KEY, 'background');
    for (const name of tenants.keys()) enqueue(name, 'background');
    const workers = runWorkers(queue, options.workers ?? 4, reconcileTimed, {
      onError: (key, err) => options.onError?.(key, err),
    });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    ready = false;
    stopInformers();
    await queue.shutdown();
    await workers;
    ownWrites.clear();
    leading = false;
    metrics.leader.set(0);
    notifyIdle();
  };

  const stopInformers = () => {
    for (const informer of informers) informer.stop();
  };

  const stopController = new AbortController();
  let running: Promise<void> | undefined;

  return {
    metrics,
    start() {
      if (running) return;
      if (options.leaderElection === false) {
        running = lead(stopController.signal);
        return;
      }
      const elector = new LeaderElector({
        identity: options.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`,
        store: kubeLeaseStore(kube, platform.servingNamespace, LEASE_NAME),
        clock,
        ...(options.lease?.durationMs !== undefined ? { leaseDurationMs: options.lease.durationMs } : {}),
        ...(options.lease?.renewDeadlineMs !== undefined
          ? { renewDeadlineMs: options.lease.renewDeadlineMs }
          : {}),
        ...(options.lease?.retryPeriodMs !== undefined ? { retryPeriodMs: options.lease.retryPeriodMs } : {}),
        onStartedLeading: (signal) => lead(signal),
        onStoppedLeading: () => {
          metrics.leader.set(0);
        },
        onError: (err) => options.onError?.('leader-election', err),
      });
      running = elector.run(stopController.signal);
    },
    async stop() {
      stopController.abort();
      await running;
    },
    isReady: () => ready,
    isLeader: () => leading,
    resyncAll() {
      enqueue(PLATFORM_KEY, 'background');
      for (const name of tenants?.keys() ?? []) enqueue(name, 'background');
    },
    idle() {
      if (isIdle()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
