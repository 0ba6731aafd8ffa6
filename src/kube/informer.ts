import { systemClock, type Clock, type TimerHandle } from './clock.ts';
import { KubeError, isGone } from './errors.ts';
import { objectKey, type KubeList, type KubeObject, type WatchEvent } from './types.ts';

/** Receives the events of one watch connection. */
export interface WatchHandlers<T extends KubeObject> {
  onEvent(event: WatchEvent<T>): void;
  /** The connection ended: cleanly (no error, e.g. the server's timeout) or with an error. */
  onClose(err?: unknown): void;
}

/** Stops one watch connection; no handler is called after `stop()`. */
export interface WatchHandle {
  stop(): void;
}

/**
 * What an informer needs from the apiserver. The real one is `kube.listWatch(...)`; unit tests pass an
 * in-process fake so every recovery path (410, silence, errors) can be driven with fake timers.
 */
export interface ListWatchSource<T extends KubeObject> {
  list(): Promise<KubeList<T>>;
  watch(resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle;
}

/** Change callbacks. The operator only enqueues keys from them; workers re-read the store. */
export interface InformerHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Tuning of an informer; the defaults follow client-go's reflector where it has one. */
export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Relist this often and report every object as updated: the level-triggered safety net. 0 disables. Default 10 min. */
  resyncIntervalMs?: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. Default 3 min. */
  watchSilenceTimeoutMs?: number;
  /** First delay after a failed list or watch; doubles per failure. Default 1 s. */
  backoffInitialMs?: number;
  /** Cap of the failure backoff. Default 30 s. */
  backoffMaxMs?: number;
  clock?: Clock;
  /** Told about every failure the informer recovers from by itself (for logs and metrics). */
  onError?(err: unknown): void;
  /**
   * Rewrites every object before it is stored and handed to the handlers, e.g. {@link stripManagedFields}:
   * a cache of thousands of objects should not carry what only the apiserver needs.
   */
  transform?(obj: T): T;
  /**
   * Named secondary indexes, each mapping an object to the values it is found under with {@link Informer.byIndex}
   * (client-go's indexers): a controller asking "which objects belong to tenant X" on every reconcile must not
   * scan the whole cache.
   */
  indexers?: Record<string, (obj: T) => string[]>;
}

/** Drops `metadata.managedFields`: server-side apply bookkeeping that roughly doubles a cached object. */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _managedFields, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

type RelistMode = 'initial' | 'resync' | 'recover';

/**
 * A small client-go style informer: list, then watch from the list's resourceVersion with bookmarks,
 * keeping an in-memory store keyed by `namespace/name`. It never stops by itself: 410 Gone relists, other
 * failures reconnect with exponential backoff, a watch silent for too long is restarted (a half-open TCP
 * connection otherwise looks like a quiet cluster forever), and a periodic relist repairs anything missed.
 */
export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  /** index name → indexed value → keys of the objects under it. */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly clock: Clock;
  private readonly resyncIntervalMs: number;
  private readonly watchSilenceTimeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly syncWaiters: (() => void)[] = [];

  private lastResourceVersion = '';
  private started = false;
  private stopped = false;
  private synced = false;
  private failures = 0;
  /** Bumped whenever a list or watch starts; callbacks of an older cycle are ignored. */
  private cycle = 0;
  private watchHandle: WatchHandle | undefined;
  private eventsThisWatch = 0;
  private retryTimer: TimerHandle | undefined;
  private resyncTimer: TimerHandle | undefined;
  private watchdogTimer: TimerHandle | undefined;

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.resyncIntervalMs = options.resyncIntervalMs ?? 10 * 60_000;
    this.watchSilenceTimeoutMs = options.watchSilenceTimeoutMs ?? 3 * 60_000;
    this.backoffInitialMs = options.backoffInitialMs ?? 1_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    for (const name of Object.keys(options.indexers ?? {})) this.indexes.set(name, new Map());
  }

  /** Starts listing and watching; returns at once (see {@link waitForSync}). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.relist('initial');
  }

  /** Stops for good: closes the watch and cancels every timer. */
  stop(): void {
    this.stopped = true;
    this.cycle++;
    this.closeWatch();
    this.clearTimer('retryTimer');
    this.clearTimer('resyncTimer');
  }

  /** True once the first list has filled the store. */
  hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Resolves once the first list has filled the store, so workers never act on an empty cache. Rejects
   * with the signal's reason if `signal` aborts first (e.g. shutdown while the apiserver is unreachable).
   */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** The cached object under a `namespace/name` (or `name`) key. */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** The cached objects an indexer put under `value`; throws for an index that was not configured. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`informer has no index named ${indexName}`);
    return [...(index.get(value) ?? [])].map((key) => this.store.get(key)!);
  }

  /** Every cached key. */
  keys(): string[] {
    return [...this.store.keys()];
  }

  /** The resourceVersion the next watch continues from. */
  resourceVersion(): string {
    return this.lastResourceVersion;
  }

  private async relist(mode: RelistMode): Promise<void> {
    const cycle = ++this.cycle;
    this.closeWatch();
    this.clearTimer('resyncTimer');
    let list: KubeList<T>;
    try {
      list = await this.source.list();
    } catch (err) {
      if (cycle !== this.cycle || this.stopped) return;
      this.report(err);
      this.retryAfterBackoff(() => void this.relist(mode));
      return;
    }
    if (cycle !== this.cycle || this.stopped) return;
    this.failures = 0;
    this.replaceStore(list.items, mode === 'resync');
    this.lastResourceVersion = list.resourceVersion;
    this.markSynced();
    if (this.resyncIntervalMs > 0) {
      this.resyncTimer = this.clock.setTimeout(() => void this.relist('resync'), this.resyncIntervalMs);
    }
    this.startWatch();
  }

  private replaceStore(items: T[], reportUnchanged: boolean): void {
    const seen = new Set<string>();
    for (const listed of items) {
      const item = this.transformed(listed);
      const key = objectKey(item);
      seen.add(key);
      const old = this.put(key, item);
      if (!old) this.notify(() => this.handlers.onAdd?.(item));
      else if (reportUnchanged || old.metadata.resourceVersion !== item.metadata.resourceVersion) {
        this.notify(() => this.handlers.onUpdate?.(old, item));
      }
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.remove(key);
      this.notify(() => this.handlers.onDelete?.(old));
    }
  }

  private startWatch(): void {
    const cycle = ++this.cycle;
    this.eventsThisWatch = 0;
    this.armWatchdog(cycle);
    try {
      this.watchHandle = this.source.watch(this.lastResourceVersion, {
        onEvent: (event) => {
          if (cycle === this.cycle) this.handleEvent(event, cycle);
        },
        onClose: (err) => {
          if (cycle === this.cycle) this.watchClosed(err);
        },
      });
    } catch (err) {
      this.watchClosed(err);
    }
  }

  private handleEvent(event: WatchEvent<T>, cycle: number): void {
    this.eventsThisWatch++;
    this.failures = 0;
    this.armWatchdog(cycle);
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const obj = this.transformed(event.object);
        const key = objectKey(obj);
        const old = this.put(key, obj);
        this.advance(obj.metadata.resourceVersion);
        if (old) this.notify(() => this.handlers.onUpdate?.(old, obj));
        else this.notify(() => this.handlers.onAdd?.(obj));
        return;
      }
      case 'DELETED': {
        const obj = this.transformed(event.object);
        this.remove(objectKey(obj));
        this.advance(obj.metadata.resourceVersion);
        this.notify(() => this.handlers.onDelete?.(obj));
        return;
      }
      case 'BOOKMARK':
        this.advance(event.object.metadata.resourceVersion);
        return;
      case 'ERROR': {
        const status = event.object;
        this.watchClosed(
          new KubeError({
            code: status.code ?? 500,
            reason: status.code === 410 ? 'Gone' : 'InternalError',
            message: status.message ?? 'watch error',
          }),
        );
        return;
      }
    }
  }

  private transformed(obj: T): T {
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  /** Stores `obj` under `key`, moving it between index entries; returns what it replaced. */
  private put(key: string, obj: T): T | undefined {
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.set(key, obj);
    for (const [name, index] of this.indexes) {
      for (const value of this.options.indexers![name]!(obj)) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
    return old;
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.store.delete(key);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, index] of this.indexes) {
      for (const value of this.options.indexers![name]!(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private advance(resourceVersion: string | undefined): void {
    if (resourceVersion) this.lastResourceVersion = resourceVersion;
  }

  private watchClosed(err: unknown): void {
    this.closeWatch();
    if (this.stopped) return;
    if (isGone(err)) {
      // Our resourceVersion fell out of the watch cache: only a fresh list is consistent again.
      this.report(err);
      void this.relist('recover');
      return;
    }
    if (err === undefined && this.eventsThisWatch > 0) {
      // A normal server-side timeout of a healthy watch: continue where it left off.
      this.startWatch();
      return;
    }
    if (err !== undefined) this.report(err);
    this.retryAfterBackoff(() => this.startWatch());
  }

  private armWatchdog(cycle: number): void {
    this.clearTimer('watchdogTimer');
    if (this.watchSilenceTimeoutMs <= 0) return;
    this.watchdogTimer = this.clock.setTimeout(() => {
      if (cycle !== this.cycle || this.stopped) return;
      this.report(
        new KubeError({ code: 0, reason: 'Timeout', message: 'watch silent for too long; restarting it' }),
      );
      this.closeWatch();
      this.startWatch();
    }, this.watchSilenceTimeoutMs);
  }

  private retryAfterBackoff(retry: () => void): void {
    const delay = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** this.failures);
    this.failures++;
    const cycle = ++this.cycle;
    this.clearTimer('retryTimer');
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (cycle === this.cycle && !this.stopped) retry();
    }, delay);
  }

  private closeWatch(): void {
    this.clearTimer('watchdogTimer');
    const handle = this.watchHandle;
    this.watchHandle = undefined;
    handle?.stop();
  }

  private clearTimer(name: 'retryTimer' | 'resyncTimer' | 'watchdogTimer'): void {
    const handle = this[name];
    if (handle !== undefined) this.clock.clearTimeout(handle);
    this[name] = undefined;
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  /** A throwing handler must not break the informer's bookkeeping. */
  private notify(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    this.options.onError?.(err);
  }
}
