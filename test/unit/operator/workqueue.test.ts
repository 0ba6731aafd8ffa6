import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue, runWorkers } from '../../../src/operator/workqueue.ts';

/** Collects every key a queue hands out within the current fake-timer turn, to one worker that finishes each. */
async function drainReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues a key once however often it is added before a worker takes it', async () => {
    const queue = new WorkQueue();
    queue.add('acme');
    queue.add('globex');
    queue.add('acme');
    queue.add('acme');

    expect(queue.len()).toBe(2);
    expect(await drainReady(queue)).toEqual(['acme', 'globex']);
  });

  it('never hands a key to a second worker while the first one is processing it', async () => {
    const queue = new WorkQueue();
    queue.add('acme');
    const first = await queue.get();

    queue.add('acme');
    const second = queue.get();
    let secondKey: string | undefined = 'pending';
    void second.then((key) => (secondKey = key));
    await vi.advanceTimersByTimeAsync(0);

    expect(first).toBe('acme');
    expect(secondKey).toBe('pending');
    expect(queue.len()).toBe(0);

    queue.done('acme');
    expect(await second).toBe('acme');
  });

  it('processes a key re-added during processing exactly once more after done', async () => {
    const queue = new WorkQueue();
    queue.add('acme');
    const key = await queue.get();
    queue.add('acme');
    queue.add('acme');

    queue.done(key!);

    expect(queue.len()).toBe(1);
    expect(await drainReady(queue)).toEqual(['acme']);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();

    queue.add('acme');

    expect(await waiting).toBe('acme');
  });

  it('backs off a failing key exponentially up to the cap', async () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 800, qps: 1_000, burst: 1_000 });
    const delays: number[] = [];

    for (let failure = 0; failure < 6; failure++) {
      queue.addRateLimited('acme');
      let waited = 0;
      while (queue.len() === 0) {
        await vi.advanceTimersByTimeAsync(50);
        waited += 50;
      }
      delays.push(waited);
      queue.done((await queue.get())!);
    }

    expect(delays).toEqual([100, 200, 400, 800, 800, 800]);
    expect(queue.numRequeues('acme')).toBe(6);
  });

  it('starts from the base delay again after forget', async () => {
    const queue = new WorkQueue({ baseDelayMs: 100, qps: 1_000, burst: 1_000 });
    queue.addRateLimited('acme');
    queue.addRateLimited('acme');
    queue.addRateLimited('acme');
    await vi.advanceTimersByTimeAsync(100);
    queue.done((await queue.get())!);

    queue.forget('acme');
    queue.addRateLimited('acme');
    await vi.advanceTimersByTimeAsync(99);
    expect(queue.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);

    expect(queue.len()).toBe(1);
    expect(queue.numRequeues('acme')).toBe(1);
  });

  it('backs off each key on its own', async () => {
    const queue = new WorkQueue({ baseDelayMs: 100, qps: 1_000, burst: 1_000 });
    queue.addRateLimited('acme');
    queue.addRateLimited('acme');
    queue.addRateLimited('acme');

    queue.addRateLimited('globex');
    await vi.advanceTimersByTimeAsync(100);

    expect(await drainReady(queue)).toEqual(['acme', 'globex']);
    expect(queue.numRequeues('globex')).toBe(1);
    expect(queue.numRequeues('acme')).toBe(3);
  });

  it('limits rate-limited adds across all keys with a token bucket once the burst is spent', async () => {
    const queue = new WorkQueue({ baseDelayMs: 1, qps: 10, burst: 2 });
    for (const key of ['a', 'b', 'c', 'd']) queue.addRateLimited(key);

    await vi.advanceTimersByTimeAsync(1);
    expect(queue.len()).toBe(2);
    await vi.advanceTimersByTimeAsync(99);
    expect(queue.len()).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(queue.len()).toBe(4);
  });

  it('adds a key after the requested delay, keeping the earliest of several delays', async () => {
    const queue = new WorkQueue();
    queue.addAfter('acme', 5_000);
    queue.addAfter('acme', 1_000);
    queue.addAfter('acme', 3_000);

    await vi.advanceTimersByTimeAsync(999);
    expect(queue.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await drainReady(queue)).toEqual(['acme']);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(queue.len()).toBe(0);
  });

  it('lets in-flight work finish on shutdown and hands idle workers nothing more', async () => {
    const queue = new WorkQueue();
    queue.add('acme');
    queue.add('globex');
    const inFlight = (await queue.get())!;
    queue.addAfter('initech', 1_000);

    let drained = false;
    const shutdown = queue.shutdown().then(() => (drained = true));
    queue.add('hooli');
    await vi.advanceTimersByTimeAsync(2_000);

    expect(drained).toBe(false);
    expect(await queue.get()).toBeUndefined();
    expect(queue.len()).toBe(0);

    queue.done(inFlight);
    await shutdown;
    expect(drained).toBe(true);
  });

  it('tells a worker blocked in get to exit when the queue shuts down', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();

    await queue.shutdown();

    expect(await waiting).toBeUndefined();
  });

  it('hands out keys queued for a change before keys queued as background work', async () => {
    const queue = new WorkQueue();
    queue.add('resynced-1', 'background');
    queue.add('resynced-2', 'background');
    queue.add('changed');

    expect(queue.len()).toBe(3);
    expect(await drainReady(queue)).toEqual(['changed', 'resynced-1', 'resynced-2']);
  });

  it('moves a background key ahead when a change re-adds it, keeping one entry', async () => {
    const queue = new WorkQueue();
    queue.add('acme', 'background');
    queue.add('globex', 'background');
    queue.add('globex');

    expect(queue.len()).toBe(2);
    expect(await drainReady(queue)).toEqual(['globex', 'acme']);
  });

  it('keeps a key queued for a change there when background work adds it again', async () => {
    const queue = new WorkQueue();
    queue.add('resynced', 'background');
    queue.add('changed');
    queue.add('changed', 'background');

    expect(await drainReady(queue)).toEqual(['changed', 'resynced']);
  });

  it('queues a key a change re-added while it was processed as a change once done', async () => {
    const queue = new WorkQueue();
    queue.add('acme');
    const key = (await queue.get())!;
    queue.add('resynced', 'background');
    queue.add('acme', 'background');
    queue.add('acme');
    queue.done(key);

    expect(await drainReady(queue)).toEqual(['acme', 'resynced']);
  });

  it('hands background keys to one worker at a time while a change is being processed', async () => {
    const queue = new WorkQueue();
    queue.add('changed');
    queue.add('resynced-1', 'background');
    queue.add('resynced-2', 'background');
    expect(await queue.get()).toBe('changed');
    expect(await queue.get()).toBe('resynced-1');

    let third: string | undefined = 'waiting';
    void queue.get().then((key) => (third = key));
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toBe('waiting');
    // A second change is not held back by the background limit.
    queue.add('changed-too');
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toBe('changed-too');

    let fourth: string | undefined = 'waiting';
    void queue.get().then((key) => (fourth = key));
    queue.done('changed');
    await vi.advanceTimersByTimeAsync(0);
    expect(fourth).toBe('waiting');
    queue.done('changed-too');
    await vi.advanceTimersByTimeAsync(0);
    expect(fourth).toBe('resynced-2');
  });

  it('adds a delayed key with the priority it was asked for', async () => {
    const queue = new WorkQueue();
    queue.addAfter('renew', 100, 'background');
    await vi.advanceTimersByTimeAsync(100);
    queue.add('changed');

    expect(await drainReady(queue)).toEqual(['changed', 'renew']);
  });

  it('reports depth, queue latency and work duration to the metrics hooks', async () => {
    const depths: number[] = [];
    const latencies: number[] = [];
    const durations: number[] = [];
    const queue = new WorkQueue({
      metrics: {
        onDepth: (depth) => depths.push(depth),
        onQueueLatency: (ms) => latencies.push(ms),
        onWorkDuration: (ms) => durations.push(ms),
      },
    });

    queue.add('acme');
    queue.add('globex');
    await vi.advanceTimersByTimeAsync(40);
    const key = (await queue.get())!;
    await vi.advanceTimersByTimeAsync(15);
    queue.done(key);

    expect(depths).toEqual([1, 2, 1]);
    expect(latencies).toEqual([40]);
    expect(durations).toEqual([15]);
  });
});

describe('runWorkers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a failing reconcile with backoff and forgets the failures once it succeeds', async () => {
    const queue = new WorkQueue({ baseDelayMs: 100, qps: 1_000, burst: 1_000 });
    let attempts = 0;
    const errors: string[] = [];
    const workers = runWorkers(
      queue,
      2,
      async () => {
        attempts++;
        if (attempts < 3) throw new Error(`attempt ${attempts}`);
      },
      { onError: (_key, err) => errors.push((err as Error).message) },
    );

    queue.add('acme');
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(200);

    expect(attempts).toBe(3);
    expect(errors).toEqual(['attempt 1', 'attempt 2']);
    expect(queue.numRequeues('acme')).toBe(0);
    await queue.shutdown();
    await workers;
  });

  it('reconciles one key at a time even with many workers', async () => {
    const queue = new WorkQueue();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const workers = runWorkers(queue, 4, async () => {
      active++;
      runs++;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 10));
      active--;
    });

    // Every add lands while the first reconcile (10 ms) still runs: they collapse into one more run.
    for (let i = 0; i < 5; i++) {
      queue.add('acme');
      await vi.advanceTimersByTimeAsync(2);
    }
    await vi.advanceTimersByTimeAsync(100);

    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
    await queue.shutdown();
    await workers;
  });

  it('requeues a key the reconcile asks for as background work, behind later changes', async () => {
    vi.useRealTimers();
    const queue = new WorkQueue();
    const runs: string[] = [];
    let releaseSlow!: () => void;
    const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));
    const workers = runWorkers(queue, 1, async (key) => {
      runs.push(key);
      if (key === 'slow') await slowReleased;
      return key === 'renew' && runs.length === 1 ? { requeueAfterMs: 50 } : undefined;
    });

    queue.add('renew');
    await vi.waitFor(() => expect(runs).toEqual(['renew']));
    queue.add('slow');
    await vi.waitFor(() => expect(runs).toEqual(['renew', 'slow']));
    // 'renew' is due again while 'slow' runs; a change that arrives after it still goes first.
    await vi.waitFor(() => expect(queue.len()).toBe(1));
    queue.add('changed');
    releaseSlow();
    await vi.waitFor(() => expect(runs).toHaveLength(4));

    expect(runs).toEqual(['renew', 'slow', 'changed', 'renew']);
    await queue.shutdown();
    await workers;
  });

  it('lets the event loop read I/O between reconciles that never wait for any', async () => {
    vi.useRealTimers();
    const queue = new WorkQueue();
    let reconciled = 0;
    const workers = runWorkers(queue, 4, async () => {
      reconciled++;
    });
    for (let i = 0; i < 1_000; i++) queue.add(`tenant-${i}`, 'background');

    // Stands for a watch event or an apiserver response: it is read in the next turn of the event loop.
    const seenAfter = await new Promise<number>((resolve) => setImmediate(() => resolve(reconciled)));

    expect(seenAfter).toBeLessThan(1_000);
    await queue.shutdown();
    await workers;
  });

  it('requeues a key when the reconcile asks for it', async () => {
    const queue = new WorkQueue();
    let runs = 0;
    const workers = runWorkers(queue, 1, async () => {
      runs++;
      return runs === 1 ? { requeueAfterMs: 60_000 } : undefined;
    });

    queue.add('acme');
    await vi.advanceTimersByTimeAsync(59_999);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);

    expect(runs).toBe(2);
    await queue.shutdown();
    await workers;
  });
});
