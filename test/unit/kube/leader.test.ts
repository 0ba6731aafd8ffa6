import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeError } from '../../../src/kube/errors.ts';
import {
  LeaderElector,
  toMicroTime,
  type LeaderElectionOptions,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from '../../../src/kube/leader.ts';

/** An in-memory lease with the apiserver's optimistic concurrency: updates must name the current resourceVersion. */
class MemoryLeaseStore implements LeaseStore {
  lease: StoredLease | undefined;
  failing = false;
  private version = 0;

  async get(): Promise<StoredLease | undefined> {
    this.check();
    return this.lease && structuredClone(this.lease);
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    this.check();
    if (this.lease) throw new KubeError({ code: 409, reason: 'AlreadyExists', message: 'exists' });
    return this.write(record);
  }

  async update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    this.check();
    if (this.lease?.resourceVersion !== resourceVersion) {
      throw new KubeError({ code: 409, reason: 'Conflict', message: 'the object has been modified' });
    }
    return this.write(record);
  }

  private write(record: LeaseRecord): StoredLease {
    this.lease = { record: structuredClone(record), resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }

  private check(): void {
    if (this.failing)
      throw new KubeError({ code: 503, reason: 'ServiceUnavailable', message: 'apiserver down' });
  }
}

function candidate(store: LeaseStore, identity: string, extra: Partial<LeaderElectionOptions> = {}) {
  const events: string[] = [];
  let leadership: AbortSignal | undefined;
  const elector = new LeaderElector({
    identity,
    store,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    random: () => 0,
    onStartedLeading: (signal) => {
      leadership = signal;
      events.push('started');
    },
    onStoppedLeading: () => events.push('stopped'),
    ...extra,
  });
  return { elector, events, leadership: () => leadership };
}

describe('LeaderElector', () => {
  let store: MemoryLeaseStore;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-03-01T12:00:00.000Z') });
    store = new MemoryLeaseStore();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('creates the lease and leads when nobody holds it', async () => {
    const a = candidate(store, 'operator-a');
    const abort = new AbortController();
    const run = a.elector.run(abort.signal);
    await vi.advanceTimersByTimeAsync(0);

    expect(a.events).toEqual(['started']);
    expect(a.elector.isLeader()).toBe(true);
    expect(store.lease?.record).toEqual({
      holderIdentity: 'operator-a',
      leaseDurationSeconds: 15,
      acquireTime: '2025-03-01T12:00:00.000000Z',
      renewTime: '2025-03-01T12:00:00.000000Z',
      leaseTransitions: 0,
    });
    abort.abort();
    await run;
  });

  it('renews the lease every retry period while leading', async () => {
    const a = candidate(store, 'operator-a');
    const abort = new AbortController();
    const run = a.elector.run(abort.signal);
    await vi.advanceTimersByTimeAsync(0);

    await vi.advanceTimersByTimeAsync(2_000);
    expect(store.lease?.record.renewTime).toBe('2025-03-01T12:00:02.000000Z');
    await vi.advanceTimersByTimeAsync(2_000);

    expect(store.lease?.record.renewTime).toBe('2025-03-01T12:00:04.000000Z');
    expect(store.lease?.record.acquireTime).toBe('2025-03-01T12:00:00.000000Z');
    abort.abort();
    await run;
  });

  it('waits while another candidate renews, and takes over once the lease expires', async () => {
    const a = candidate(store, 'operator-a', { releaseOnCancel: false });
    const b = candidate(store, 'operator-b');
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.elector.run(stopA.signal);
    await vi.advanceTimersByTimeAsync(0);
    const runB = b.elector.run(stopB.signal);

    await vi.advanceTimersByTimeAsync(60_000);
    expect(b.events).toEqual([]);
    expect(b.elector.getLeader()).toBe('operator-a');

    // A stops renewing without releasing (a crashed pod): B must wait a full lease duration.
    stopA.abort();
    await runA;
    await vi.advanceTimersByTimeAsync(14_000);
    expect(b.events).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);

    expect(b.events).toEqual(['started']);
    expect(store.lease?.record.holderIdentity).toBe('operator-b');
    expect(store.lease?.record.leaseTransitions).toBe(1);
    stopB.abort();
    await runB;
  });

  it('releases the lease on cancellation so a successor takes over without waiting for expiry', async () => {
    const a = candidate(store, 'operator-a');
    const b = candidate(store, 'operator-b');
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.elector.run(stopA.signal);
    await vi.advanceTimersByTimeAsync(0);
    const runB = b.elector.run(stopB.signal);
    await vi.advanceTimersByTimeAsync(0);

    stopA.abort();
    await runA;
    expect(store.lease?.record.holderIdentity).toBe('');
    expect(a.events).toEqual(['started', 'stopped']);
    await vi.advanceTimersByTimeAsync(2_000);

    expect(b.events).toEqual(['started']);
    stopB.abort();
    await runB;
  });

  it('steps down and aborts the leading work when renewals fail for longer than the renew deadline', async () => {
    const a = candidate(store, 'operator-a');
    const run = a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    const leadership = a.leadership();

    store.failing = true;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(a.elector.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    await run;

    expect(a.events).toEqual(['started', 'stopped']);
    expect(leadership?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('keeps leading through a failed renewal that recovers within the deadline', async () => {
    const a = candidate(store, 'operator-a');
    const abort = new AbortController();
    const run = a.elector.run(abort.signal);
    await vi.advanceTimersByTimeAsync(0);

    store.failing = true;
    await vi.advanceTimersByTimeAsync(6_000);
    store.failing = false;
    await vi.advanceTimersByTimeAsync(2_000);

    expect(a.elector.isLeader()).toBe(true);
    expect(store.lease?.record.renewTime).toBe('2025-03-01T12:00:08.000000Z');
    abort.abort();
    await run;
  });

  it('steps down when a renewal hangs past the renew deadline', async () => {
    const hanging: LeaseStore = {
      get: () => store.get(),
      create: (record) => store.create(record),
      // The lease is created, then every renewal hangs forever (a black-holed connection).
      update: () => new Promise<StoredLease>(() => undefined),
    };
    const a = candidate(hanging, 'operator-a');
    const run = a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.elector.isLeader()).toBe(true);

    await vi.advanceTimersByTimeAsync(12_000);
    await run;

    expect(a.events).toEqual(['started', 'stopped']);
  });

  it('lets only one of two simultaneous candidates lead', async () => {
    const a = candidate(store, 'operator-a');
    const b = candidate(store, 'operator-b');
    const abort = new AbortController();
    const runs = [a.elector.run(abort.signal), b.elector.run(abort.signal)];

    await vi.advanceTimersByTimeAsync(30_000);

    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(store.lease?.record.leaseTransitions).toBe(0);
    abort.abort();
    await Promise.all(runs);
  });

  it('waits for the leading work to finish before releasing the lease', async () => {
    const order: string[] = [];
    const a = candidate(store, 'operator-a', {
      onStartedLeading: (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () =>
            setTimeout(() => {
              order.push(`work done, holder ${store.lease?.record.holderIdentity}`);
              resolve();
            }, 500),
          ),
        ),
      onStoppedLeading: () => order.push(`stopped, holder '${store.lease?.record.holderIdentity}'`),
    });
    const abort = new AbortController();
    const run = a.elector.run(abort.signal);
    await vi.advanceTimersByTimeAsync(0);

    abort.abort();
    await vi.advanceTimersByTimeAsync(500);
    await run;

    expect(order).toEqual(['work done, holder operator-a', "stopped, holder ''"]);
  });

  it('rejects timings where the lease could expire before the leader notices', () => {
    expect(() => candidate(store, 'a', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDurationMs/,
    );
    expect(() => candidate(store, 'a', { renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadlineMs/,
    );
  });
});

describe('toMicroTime', () => {
  it('writes six fractional digits as the apiserver requires for Lease times', () => {
    expect(toMicroTime(Date.parse('2025-03-01T12:00:00.123Z'))).toBe('2025-03-01T12:00:00.123000Z');
  });
});
