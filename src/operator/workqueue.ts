// The module's own setImmediate: a real turn of the event loop even where the global timers are faked.
import { setImmediate as nextTurn } from 'node:timers';
import { systemClock, type Clock, type TimerHandle } from '../kube/clock.ts';

/** Hooks for queue metrics (prom-client gauges and histograms are wired in by the operator). */
export interface WorkQueueMetrics {
  /** The number of keys waiting to be handed to a worker, after every change. */
  onDepth?(depth: number): void;
  /** A key was added (before deduplication). */
  onAdd?(key: string): void;
  /** A key was re-added with rate limiting after a failure. */
  onRetry?(key: string): void;
  /** How long a key waited in the queue before a worker took it. */
  onQueueLatency?(ms: number): void;
  /** How long a worker held a key (get to done). */
  onWorkDuration?(ms: number): void;
}

/**
 * Why a key is queued. A `change` (a watch event that moved something, a retry) is handed to workers before
 * any `background` work (an informer relist, a periodic requeue, a full resync, the pass after a restart):
 * with a thousand tenants such a pass queues a thousand keys, and one endpoint changed by its user must not
 * wait behind all of them (controller-runtime's priority queue makes the same split).
 */
export type Priority = 'change' | 'background';

/** Tuning of a work queue; the defaults are client-go's default controller rate limiter. */
export interface WorkQueueOptions {
  /** First per-key retry delay; doubles per consecutive failure of that key. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-key retry delay. Default 1000 s. */
  maxDelayMs?: number;
  /** Rate-limited adds across all keys per second (token bucket refill). Default 10. */
  qps?: number;
  /** Token bucket size: how many rate-limited adds may happen at once. Default 100. */
  burst?: number;
  /** How many background keys may be processed at once while a change is being processed. Default 1. */
  backgroundWhileChanging?: number;
  clock?: Clock;
  metrics?: WorkQueueMetrics;
}

/**
 * A work queue of object keys with client-go semantics, because a controller needs exactly these
 * guarantees: a key is queued at most once however many events arrive (`add` dedupes); a key a worker is
 * processing is never handed to a second worker — re-added meanwhile, it is marked dirty and queued again
 * on `done`; failures back off per key and globally (`addRateLimited`, reset by `forget`); and `shutdown`
 * lets in-flight work finish. Keys queued for a change go before keys queued as background work
 * ({@link Priority}); a background key that a change re-adds moves up, keeping one entry. While a change is
 * being processed, background keys are handed to one worker at a time (`backgroundWhileChanging`): the
 * workers share one event loop, and a pass of no-op reconciles on every worker would slow the change's own
 * reconcile as much as a long queue did; one worker keeps background work going however busy the cluster is.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly backgroundWhileChanging: number;
  private readonly metrics: WorkQueueMetrics;

  /** Keys waiting for a worker, per priority, in the order they came (a Set keeps insertion order). */
  private readonly queued: Record<Priority, Set<string>> = { change: new Set(), background: new Set() };
  /** Keys that need processing (queued, or re-added while processing), with the priority they need it at. */
  private readonly dirty = new Map<string, Priority>();
  /** Keys a worker holds, with the time it took them and the priority they were handed out at. */
  private readonly processing = new Map<string, { startedAt: number; priority: Priority }>();
  private readonly inFlight: Record<Priority, number> = { change: 0, background: 0 };
  private readonly enqueuedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { readyAt: number; timer: TimerHandle }>();
  private readonly failures = new Map<string, number>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private tokens: number;
  private tokensUpdatedAt: number;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    this.backgroundWhileChanging = Math.max(1, options.backgroundWhileChanging ?? 1);
    this.metrics = options.metrics ?? {};
    this.tokens = this.burst;
    this.tokensUpdatedAt = this.clock.now();
  }

  /**
   * Queues a key unless it is already queued (a queued background key added as a change moves to the
   * changes, keeping its place in time for the latency metric); ignored after shutdown.
   */
  add(key: string, priority: Priority = 'change'): void {
    if (this.shuttingDown) return;
    this.metrics.onAdd?.(key);
    const pending = this.dirty.get(key);
    if (pending === 'change' || pending === priority) return;
    this.dirty.set(key, priority);
    if (this.processing.has(key)) return;
    if (pending === 'background') {
      this.queued.background.delete(key);
      this.queued.change.add(key);
      return;
    }
    this.enqueue(key, priority);
  }

  /** Queues a key after a delay; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number, priority: Priority = 'change'): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key, priority);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) this.clock.clearTimeout(pending.timer);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key, priority);
    }, delayMs);
    this.waiting.set(key, { readyAt, timer });
  }

  /**
   * Queues a key after the larger of its own exponential backoff and the global token bucket's wait:
   * one failing object backs off alone, and a mass failure cannot hammer the apiserver.
   */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics.onRetry?.(key);
    this.addAfter(key, Math.max(this.nextItemDelay(key), this.reserveToken()));
  }

  /** Clears a key's failure count after a success, so its next failure starts from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many rate-limited retries a key has had since its last `forget`. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The number of keys waiting for a worker. */
  len(): number {
    return this.queued.change.size + this.queued.background.size;
  }

  /** True once {@link shutdown} was called. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Waits for the next key and marks it as being processed; the caller must call {@link done} with it.
   * Resolves `undefined` once the queue shuts down: the worker should exit.
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Releases a key a worker got; if it was re-added meanwhile it is queued again now. */
  done(key: string): void {
    const held = this.processing.get(key);
    if (held === undefined) return;
    this.processing.delete(key);
    this.inFlight[held.priority]--;
    this.metrics.onWorkDuration?.(this.clock.now() - held.startedAt);
    if (this.shuttingDown) {
      if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      return;
    }
    const priority = this.dirty.get(key);
    if (priority !== undefined) this.enqueue(key, priority);
    // The end of a change may let background keys out to waiting workers again.
    else this.dispatch();
  }

  /**
   * Stops the queue: no more adds, pending delays are cancelled, queued keys are dropped (a restarted or
   * new leader's informers list everything again), idle workers get `undefined`. Resolves once every key
   * handed out has been `done`, so in-flight reconciles finish their writes before the process exits.
   */
  shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
      this.waiting.clear();
      this.queued.change.clear();
      this.queued.background.clear();
      this.dirty.clear();
      this.enqueuedAt.clear();
      this.metrics.onDepth?.(0);
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private enqueue(key: string, priority: Priority): void {
    this.enqueuedAt.set(key, this.clock.now());
    this.queued[priority].add(key);
    this.metrics.onDepth?.(this.len());
    this.dispatch();
  }

  /** Hands keys to waiting workers while there are keys they may take. */
  private dispatch(): void {
    while (this.getters.length > 0) {
      const key = this.take();
      if (key === undefined) return;
      this.getters.shift()!(key);
    }
  }

  /** Takes the oldest change, else the oldest background key if background work may run now. */
  private take(): string | undefined {
    const change = this.queued.change.values().next();
    if (!change.done) return this.startProcessing(change.value, 'change');
    const backgroundMayRun =
      this.inFlight.change === 0 || this.inFlight.background < this.backgroundWhileChanging;
    const background = this.queued.background.values().next();
    if (!background.done && backgroundMayRun) return this.startProcessing(background.value, 'background');
    return undefined;
  }

  private startProcessing(key: string, priority: Priority): string {
    const now = this.clock.now();
    this.queued[priority].delete(key);
    this.dirty.delete(key);
    this.processing.set(key, { startedAt: now, priority });
    this.inFlight[priority]++;
    const enqueuedAt = this.enqueuedAt.get(key);
    this.enqueuedAt.delete(key);
    if (enqueuedAt !== undefined) this.metrics.onQueueLatency?.(now - enqueuedAt);
    this.metrics.onDepth?.(this.len());
    return key;
  }

  private nextItemDelay(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** failures);
  }

  /** Takes one token from the bucket and returns how long until that token exists (0 when it does). */
  private reserveToken(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensUpdatedAt) * this.qps) / 1000);
    this.tokensUpdatedAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }
}

/** What a reconcile asks of the queue besides success or failure. */
export interface ReconcileOutcome {
  /** Reconcile this key again after this long even if nothing changes (e.g. certificate renewal). */
  requeueAfterMs?: number;
}

/** Options of {@link runWorkers}. */
export interface RunWorkersOptions {
  /** Told about every failed reconcile (for logs and metrics). */
  onError?(key: string, err: unknown): void;
  /** Whether a failure is retried with backoff; default: always (level-triggered reconcile converges). */
  shouldRetry?(err: unknown): boolean;
}

/**
 * Runs `concurrency` workers over the queue until it shuts down: success forgets the key's failures
 * (and honours `requeueAfterMs`, as background work), failure re-adds it rate-limited. Resolves when every
 * worker has exited.
 *
 * A worker lets the event loop turn before it takes the next key. A reconcile that finds nothing to write
 * awaits only settled promises (every read is a cache read), so without that turn the workers of a resync
 * pass would chain reconciles as microtasks for seconds, and no watch event or apiserver response (the one
 * a changed tenant's reconcile waits for) would be read until the whole pass was done.
 */
export async function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  reconcile: (key: string) => Promise<ReconcileOutcome | void>,
  options: RunWorkersOptions = {},
): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      await new Promise((resolve) => nextTurn(resolve));
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const outcome = await reconcile(key);
        queue.forget(key);
        if (outcome?.requeueAfterMs !== undefined) {
          queue.addAfter(key, outcome.requeueAfterMs, 'background');
        }
      } catch (err) {
        options.onError?.(key, err);
        if (options.shouldRetry?.(err) ?? true) queue.addRateLimited(key);
        else queue.forget(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
}
