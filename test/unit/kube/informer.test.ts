import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Informer,
  stripManagedFields,
  type ListWatchSource,
  type WatchHandlers,
} from '../../../src/kube/informer.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import type { KubeList, KubeObject, WatchEvent } from '../../../src/kube/types.ts';

function tenant(name: string, resourceVersion: string, namespace?: string): KubeObject {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name, resourceVersion, ...(namespace ? { namespace } : {}) },
  };
}

interface OpenWatch {
  resourceVersion: string;
  handlers: WatchHandlers<KubeObject>;
  stopped: boolean;
}

/** An in-process stand-in for the apiserver's list and watch endpoints of one kind. */
class FakeSource implements ListWatchSource<KubeObject> {
  lists: (KubeList<KubeObject> | Error)[] = [];
  listCalls = 0;
  watches: OpenWatch[] = [];

  async list(): Promise<KubeList<KubeObject>> {
    this.listCalls++;
    const next = this.lists.length > 1 ? this.lists.shift() : this.lists[0];
    if (!next) throw new Error('no list configured');
    if (next instanceof Error) throw next;
    return next;
  }

  watch(resourceVersion: string, handlers: WatchHandlers<KubeObject>) {
    const open: OpenWatch = { resourceVersion, handlers, stopped: false };
    this.watches.push(open);
    return { stop: () => (open.stopped = true) };
  }

  get current(): OpenWatch {
    const open = this.watches.at(-1);
    if (!open) throw new Error('no watch open');
    return open;
  }

  send(event: WatchEvent<KubeObject>): void {
    this.current.handlers.onEvent(event);
  }
}

function recordingHandlers() {
  const log: string[] = [];
  return {
    log,
    handlers: {
      onAdd: (obj: KubeObject) => log.push(`add ${obj.metadata.name}@${obj.metadata.resourceVersion}`),
      onUpdate: (_old: KubeObject, obj: KubeObject) =>
        log.push(`update ${obj.metadata.name}@${obj.metadata.resourceVersion}`),
      onDelete: (obj: KubeObject) => log.push(`delete ${obj.metadata.name}`),
    },
  };
}

describe('Informer', () => {
  let source: FakeSource;

  beforeEach(() => {
    vi.useFakeTimers();
    source = new FakeSource();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('fills the store from the list, reports adds and watches from the list resourceVersion', async () => {
    source.lists = [
      { items: [tenant('acme', '5'), tenant('globex', '6', 'serving')], resourceVersion: '10' },
    ];
    const { log, handlers } = recordingHandlers();
    const informer = new Informer(source, handlers);

    informer.start();
    await informer.waitForSync();

    expect(informer.hasSynced()).toBe(true);
    expect(informer.keys().sort()).toEqual(['acme', 'serving/globex']);
    expect(log).toEqual(['add acme@5', 'add globex@6']);
    expect(source.current.resourceVersion).toBe('10');
    informer.stop();
  });

  it('applies watch events to the store and continues from the last resourceVersion seen', async () => {
    source.lists = [{ items: [tenant('acme', '5')], resourceVersion: '10' }];
    const { log, handlers } = recordingHandlers();
    const informer = new Informer(source, handlers);
    informer.start();
    await informer.waitForSync();

    source.send({ type: 'ADDED', object: tenant('globex', '11') });
    source.send({ type: 'MODIFIED', object: tenant('acme', '12') });
    source.send({ type: 'DELETED', object: tenant('globex', '13') });
    source.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });

    expect(log.slice(1)).toEqual(['add globex@11', 'update acme@12', 'delete globex']);
    expect(informer.get('acme')?.metadata.resourceVersion).toBe('12');
    expect(informer.get('globex')).toBeUndefined();
    expect(informer.resourceVersion()).toBe('20');

    source.current.handlers.onClose();
    expect(source.watches).toHaveLength(2);
    expect(source.current.resourceVersion).toBe('20');
    informer.stop();
  });

  it('relists when the watch answers 410 Gone and reports objects deleted meanwhile', async () => {
    source.lists = [
      { items: [tenant('acme', '5'), tenant('globex', '6')], resourceVersion: '10' },
      { items: [tenant('acme', '30')], resourceVersion: '31' },
    ];
    const { log, handlers } = recordingHandlers();
    const informer = new Informer(source, handlers);
    informer.start();
    await informer.waitForSync();
    const firstWatch = source.current;

    source.send({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired', message: 'too old resource version' },
    });
    await vi.advanceTimersByTimeAsync(0);

    expect(firstWatch.stopped).toBe(true);
    expect(source.listCalls).toBe(2);
    expect(log.slice(2)).toEqual(['update acme@30', 'delete globex']);
    expect(source.current.resourceVersion).toBe('31');
    informer.stop();
  });

  it('relists when opening the watch fails with 410 Gone', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const informer = new Informer(source, {});
    informer.start();
    await informer.waitForSync();

    source.current.handlers.onClose(new KubeError({ code: 410, reason: 'Gone', message: 'gone' }));
    await vi.advanceTimersByTimeAsync(0);

    expect(source.listCalls).toBe(2);
    informer.stop();
  });

  it('reconnects after a watch error with exponential backoff from the same resourceVersion', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const informer = new Informer(source, {}, { backoffInitialMs: 1_000, backoffMaxMs: 4_000 });
    informer.start();
    await informer.waitForSync();
    const failure = new KubeError({ code: 503, reason: 'ServiceUnavailable', message: 'down' });

    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const before = source.watches.length;
      source.current.handlers.onClose(failure);
      let waited = 0;
      while (source.watches.length === before) {
        await vi.advanceTimersByTimeAsync(250);
        waited += 250;
      }
      delays.push(waited);
    }

    expect(delays).toEqual([1_000, 2_000, 4_000, 4_000]);
    expect(source.current.resourceVersion).toBe('10');
    expect(source.listCalls).toBe(1);
    informer.stop();
  });

  it('retries a failing initial list with backoff and syncs once the list succeeds', async () => {
    source.lists = [new Error('connection refused'), { items: [tenant('acme', '1')], resourceVersion: '2' }];
    const errors: unknown[] = [];
    const informer = new Informer(source, {}, { backoffInitialMs: 500, onError: (err) => errors.push(err) });
    informer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(informer.hasSynced()).toBe(false);

    await vi.advanceTimersByTimeAsync(500);

    expect(informer.hasSynced()).toBe(true);
    expect(informer.get('acme')).toBeDefined();
    expect(errors).toHaveLength(1);
    informer.stop();
  });

  it('stops waiting for the first sync when the caller gives up', async () => {
    source.lists = [new Error('connection refused')];
    const informer = new Informer(source, {});
    informer.start();
    const abort = new AbortController();
    const waiting = informer.waitForSync(abort.signal);

    abort.abort(new Error('shutting down'));

    await expect(waiting).rejects.toThrow('shutting down');
    informer.stop();
  });

  it('restarts a watch that stays silent longer than the watchdog timeout', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const informer = new Informer(source, {}, { watchSilenceTimeoutMs: 60_000, resyncIntervalMs: 0 });
    informer.start();
    await informer.waitForSync();

    await vi.advanceTimersByTimeAsync(30_000);
    source.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(source.watches).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(1_000);

    expect(source.watches[0]?.stopped).toBe(true);
    expect(source.watches).toHaveLength(2);
    expect(source.current.resourceVersion).toBe('15');
    informer.stop();
  });

  it('relists periodically and reports every object as updated so each one is reconciled again', async () => {
    source.lists = [{ items: [tenant('acme', '5'), tenant('globex', '6')], resourceVersion: '10' }];
    const { log, handlers } = recordingHandlers();
    const informer = new Informer(source, handlers, { resyncIntervalMs: 600_000, watchSilenceTimeoutMs: 0 });
    informer.start();
    await informer.waitForSync();

    await vi.advanceTimersByTimeAsync(600_000);

    expect(source.listCalls).toBe(2);
    expect(log.slice(2)).toEqual(['update acme@5', 'update globex@6']);
    expect(source.watches[0]?.stopped).toBe(true);
    informer.stop();
  });

  it('ignores events from a watch it already replaced', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const { log, handlers } = recordingHandlers();
    const informer = new Informer(source, handlers, { watchSilenceTimeoutMs: 1_000 });
    informer.start();
    await informer.waitForSync();
    const stale = source.current;
    await vi.advanceTimersByTimeAsync(1_000);

    stale.handlers.onEvent({ type: 'ADDED', object: tenant('ghost', '99') });

    expect(log).toEqual([]);
    expect(informer.get('ghost')).toBeUndefined();
    informer.stop();
  });

  it('keeps running when a handler throws', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const errors: unknown[] = [];
    const informer = new Informer(
      source,
      {
        onAdd: () => {
          throw new Error('handler bug');
        },
      },
      { onError: (err) => errors.push(err) },
    );
    informer.start();
    await informer.waitForSync();

    source.send({ type: 'ADDED', object: tenant('acme', '11') });
    source.send({ type: 'ADDED', object: tenant('globex', '12') });

    expect(informer.keys()).toEqual(['acme', 'globex']);
    expect(errors).toHaveLength(2);
    informer.stop();
  });

  it('closes the watch and schedules nothing more once stopped', async () => {
    source.lists = [{ items: [], resourceVersion: '10' }];
    const informer = new Informer(source, {});
    informer.start();
    await informer.waitForSync();

    informer.stop();
    await vi.advanceTimersByTimeAsync(3_600_000);

    expect(source.current.stopped).toBe(true);
    expect(source.watches).toHaveLength(1);
    expect(source.listCalls).toBe(1);
  });

  it('keeps a secondary index in step with lists, watch events and relists', async () => {
    const owned = (name: string, rv: string, owner: string): KubeObject => ({
      ...tenant(name, rv, 'serving'),
      metadata: { ...tenant(name, rv, 'serving').metadata, labels: { owner } },
    });
    source.lists = [
      {
        items: [owned('a', '1', 'acme'), owned('b', '2', 'acme'), owned('c', '3', 'globex')],
        resourceVersion: '10',
      },
      { items: [owned('a', '20', 'acme'), owned('d', '21', 'acme')], resourceVersion: '22' },
    ];
    const informer = new Informer(
      source,
      {},
      {
        indexers: { owner: (obj) => (obj.metadata.labels?.['owner'] ? [obj.metadata.labels['owner']] : []) },
      },
    );
    const names = (owner: string) =>
      informer
        .byIndex('owner', owner)
        .map((o) => o.metadata.name)
        .sort();
    informer.start();
    await informer.waitForSync();
    expect(names('acme')).toEqual(['a', 'b']);
    expect(names('globex')).toEqual(['c']);

    // A relabel moves the object between index entries; a delete removes it.
    source.send({ type: 'MODIFIED', object: owned('b', '11', 'globex') });
    source.send({ type: 'DELETED', object: owned('c', '12', 'globex') });
    expect(names('acme')).toEqual(['a']);
    expect(names('globex')).toEqual(['b']);

    source.send({ type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'too old' } });
    await vi.advanceTimersByTimeAsync(0);
    expect(names('acme')).toEqual(['a', 'd']);
    expect(names('globex')).toEqual([]);
    expect(() => informer.byIndex('tenant', 'acme')).toThrow(/no index named tenant/);
    informer.stop();
  });

  it('stores and reports objects as the transform returns them', async () => {
    const withFields: KubeObject = {
      ...tenant('acme', '5'),
      metadata: { ...tenant('acme', '5').metadata, managedFields: [{ manager: 'kubectl' }] },
    };
    source.lists = [{ items: [withFields], resourceVersion: '10' }];
    const added: KubeObject[] = [];
    const informer = new Informer(
      source,
      { onAdd: (obj) => added.push(obj) },
      { transform: stripManagedFields },
    );
    informer.start();
    await informer.waitForSync();
    source.send({
      type: 'ADDED',
      object: { ...withFields, metadata: { ...withFields.metadata, name: 'globex' } },
    });

    expect(informer.get('acme')?.metadata.managedFields).toBeUndefined();
    expect(informer.get('acme')?.metadata.resourceVersion).toBe('5');
    expect(added.map((obj) => obj.metadata.managedFields)).toEqual([undefined, undefined]);
    expect(withFields.metadata.managedFields).toHaveLength(1);
    informer.stop();
  });
});
