import type { Kube } from './client.ts';
import { sleep, systemClock, type Clock } from './clock.ts';
import { KubeError } from './errors.ts';
import type { KubeObject } from './types.ts';

/** The `spec` of a coordination.k8s.io/v1 Lease as leader election uses it. */
export interface LeaseRecord {
  /** Who leads; empty when the last leader released the lease. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** MicroTime (RFC 3339 with 6 fractional digits). */
  acquireTime?: string;
  /** MicroTime (RFC 3339 with 6 fractional digits). */
  renewTime?: string;
  leaseTransitions: number;
}

/** A lease record with the resourceVersion an update must match. */
export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/**
 * Where the lease lives. Updates are conditional on `resourceVersion` and throw (409 Conflict) when someone
 * else wrote first: that is what makes two candidates unable to both win.
 */
export interface LeaseStore {
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/**
 * Formats a time as a Kubernetes MicroTime. The apiserver rejects Lease times without exactly six
 * fractional digits, which is what `Date.toISOString()` alone produces (three).
 */
export function toMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface LeaseObject extends KubeObject {
  spec?: Partial<LeaseRecord>;
}

function toStoredLease(lease: LeaseObject): StoredLease {
  const spec = lease.spec ?? {};
  const record: LeaseRecord = {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
  if (spec.acquireTime) record.acquireTime = spec.acquireTime;
  if (spec.renewTime) record.renewTime = spec.renewTime;
  return { record, resourceVersion: lease.metadata.resourceVersion ?? '' };
}

/** A {@link LeaseStore} on a real `coordination.k8s.io/v1` Lease. */
export function kubeLeaseStore(
  kube: Kube,
  namespace: string,
  name: string,
  fieldManager = 'tenantmesh-operator',
): LeaseStore {
  const apiVersion = 'coordination.k8s.io/v1';
  const kind = 'Lease';
  return {
    async get() {
      const lease = await kube.get<LeaseObject>(apiVersion, kind, name, namespace);
      return lease ? toStoredLease(lease) : undefined;
    },
    async create(record) {
      const lease = await kube.create<LeaseObject>(
        { apiVersion, kind, metadata: { name, namespace }, spec: record },
        { fieldManager },
      );
      return toStoredLease(lease);
    },
    async update(record, resourceVersion) {
      const lease = await kube.replace<LeaseObject>(
        { apiVersion, kind, metadata: { name, namespace, resourceVersion }, spec: record },
        { fieldManager },
      );
      return toStoredLease(lease);
    },
  };
}

/** Configuration of a {@link LeaderElector}; durations follow client-go's defaults. */
export interface LeaderElectionOptions {
  /** This candidate's unique identity, e.g. the pod name. */
  identity: string;
  store: LeaseStore;
  /** How long a lease stays valid without renewal; others wait this long before taking over. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failing renewal before it steps down. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between acquire attempts and between renewals. Default 2 s. */
  retryPeriodMs?: number;
  /** Release the lease when `run` is cancelled, so a successor need not wait for expiry. Default true. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  /** Source of randomness for the acquire jitter (tests pass a constant). */
  random?: () => number;
  /**
   * Called on becoming leader. `signal` aborts when leadership ends; a returned promise is awaited before
   * the lease is released, so in-flight writes finish before a successor starts.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership has ended, for whatever reason. */
  onStoppedLeading(): void;
  /** Called when the observed leader changes (including to this candidate). */
  onNewLeader?(identity: string): void;
  /** Told about failed store calls (the elector retries by itself). */
  onError?(err: unknown): void;
}

/** Acquire attempts are spread by up to this factor of the retry period (client-go's JitterFactor). */
const jitterFactor = 1.2;

/**
 * Lease-based leader election with client-go's algorithm, so only one operator replica reconciles at a
 * time. Expiry is judged by this process's own clock from when it last saw the lease change — never by
 * comparing the holder's timestamps with our clock — so clock skew between nodes cannot cause two leaders.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private leading = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!options.identity) throw new Error('leader election needs an identity');
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    }
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) {
      throw new Error(`renewDeadlineMs must be greater than ${jitterFactor} × retryPeriodMs`);
    }
  }

  /** True while this candidate holds the lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this candidate last observed, if any. */
  getLeader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  /**
   * Campaigns until elected, leads until leadership is lost or `signal` aborts, then resolves. It does not
   * campaign again: a replica that lost the lease should restart with fresh caches (client-go does the same).
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    this.leading = true;
    const leadership = new AbortController();
    let work: Promise<void> = Promise.resolve();
    try {
      work = Promise.resolve(this.options.onStartedLeading(leadership.signal)).catch((err: unknown) =>
        this.report(err),
      );
    } catch (err) {
      this.report(err);
    }
    await this.renewUntilLost(signal);
    this.leading = false;
    leadership.abort();
    await work;
    if (signal?.aborted && (this.options.releaseOnCancel ?? true)) await this.release();
    this.options.onStoppedLeading();
  }

  private async acquire(signal: AbortSignal | undefined): Promise<boolean> {
    for (;;) {
      if (signal?.aborted) return false;
      if (await this.tryAcquireOrRenew()) return true;
      const delay = this.retryPeriodMs * (1 + this.random() * jitterFactor);
      if (!(await this.pause(delay, signal))) return false;
    }
  }

  private async renewUntilLost(signal: AbortSignal | undefined): Promise<void> {
    let lastRenewal = this.clock.now();
    for (;;) {
      if (!(await this.pause(this.retryPeriodMs, signal))) return;
      const remaining = this.renewDeadlineMs - (this.clock.now() - lastRenewal);
      if (remaining > 0 && (await this.withDeadline(this.tryAcquireOrRenew(), remaining))) {
        lastRenewal = this.clock.now();
        continue;
      }
      if (this.clock.now() - lastRenewal >= this.renewDeadlineMs) {
        this.report(
          new KubeError({
            code: 0,
            reason: 'Timeout',
            message: 'failed to renew the lease in time; stepping down',
          }),
        );
        return;
      }
    }
  }

  /** One attempt, as in client-go: create if missing, renew if ours, take over if expired or released. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const identity = this.options.identity;
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      const current = await this.options.store.get();
      if (!current) {
        this.observe(
          await this.options.store.create({
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: toMicroTime(now),
            renewTime: toMicroTime(now),
            leaseTransitions: 0,
          }),
          now,
        );
        return true;
      }
      if (current.resourceVersion !== this.observed?.resourceVersion) this.observe(current, now);
      const holder = current.record.holderIdentity;
      const validForMs = (current.record.leaseDurationSeconds || durationSeconds) * 1000;
      if (holder && holder !== identity && this.observedAt + validForMs > now) return false;
      const record: LeaseRecord =
        holder === identity
          ? { ...current.record, leaseDurationSeconds: durationSeconds, renewTime: toMicroTime(now) }
          : {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: toMicroTime(now),
              renewTime: toMicroTime(now),
              leaseTransitions: current.record.leaseTransitions + 1,
            };
      this.observe(await this.options.store.update(record, current.resourceVersion), now);
      return true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  /** Gives the lease up so a successor need not wait for it to expire. */
  private async release(): Promise<void> {
    const current = this.observed;
    if (!current || current.record.holderIdentity !== this.options.identity) return;
    const now = toMicroTime(this.clock.now());
    try {
      const released = await this.options.store.update(
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: current.record.leaseTransitions,
        },
        current.resourceVersion,
      );
      this.observe(released, this.clock.now());
    } catch (err) {
      this.report(err);
    }
  }

  private observe(lease: StoredLease, at: number): void {
    const previousHolder = this.observed?.record.holderIdentity;
    this.observed = lease;
    this.observedAt = at;
    const holder = lease.record.holderIdentity;
    if (holder && holder !== previousHolder) this.options.onNewLeader?.(holder);
  }

  /** Sleeps; false when the signal aborted meanwhile. */
  private async pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await sleep(this.clock, ms, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** A hung store call must not keep a leader that can no longer renew. */
  private async withDeadline(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    const abort = new AbortController();
    const timeout = sleep(this.clock, ms, abort.signal).then(
      () => false,
      () => false,
    );
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      abort.abort();
    }
  }

  private report(err: unknown): void {
    this.options.onError?.(err);
  }
}
