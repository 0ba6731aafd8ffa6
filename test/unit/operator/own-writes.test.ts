import { describe, expect, it } from 'vitest';
import { OwnWrites } from '../../../src/operator/own-writes.ts';
import type { KubeObject } from '../../../src/kube/index.ts';

const service = (resourceVersion: string, name = 'acme-mnist'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'serving', resourceVersion },
});

describe('OwnWrites', () => {
  it('recognises the echo of our own write once, and nothing else', () => {
    const writes = new OwnWrites();
    writes.record(service('10'));

    expect(writes.isEcho(service('10', 'globex-mnist'))).toBe(false);
    expect(writes.isEcho({ ...service('10'), kind: 'Secret' })).toBe(false);
    expect(writes.isEcho(service('10'))).toBe(true);
    // The same resourceVersion seen again (a relist) is not our write any more.
    expect(writes.isEcho(service('10'))).toBe(false);
    expect(writes.size).toBe(0);
  });

  it('treats a hand edit after our write as a change', () => {
    const writes = new OwnWrites();
    writes.record(service('10'));
    expect(writes.isEcho(service('11'))).toBe(false);
  });

  it('recognises the echoes of several writes to one object, in order', () => {
    const writes = new OwnWrites();
    // A reconcile adds a finalizer and later writes status: two writes before either echo arrives.
    writes.record(service('10'));
    writes.record(service('12'));
    expect(writes.isEcho(service('10'))).toBe(true);
    expect(writes.size).toBe(1);
    expect(writes.isEcho(service('12'))).toBe(true);
    expect(writes.size).toBe(0);
  });

  it('awaits nothing more for an object that moved on without us', () => {
    const writes = new OwnWrites();
    writes.record(service('10'));
    writes.record(service('12'));
    expect(writes.isEcho(service('12'))).toBe(true);
    expect(writes.isEcho(service('10'))).toBe(false);
    writes.record(service('14'));
    expect(writes.isEcho(service('15'))).toBe(false);
    expect(writes.size).toBe(0);
  });

  it('does not await an echo of a write that changed nothing', () => {
    const writes = new OwnWrites();
    writes.record(service('10'), '10');
    expect(writes.size).toBe(0);
    writes.record(service('11'), '10');
    expect(writes.size).toBe(1);
  });

  it('keeps a bounded number of writes per object and forgets deleted objects', () => {
    const writes = new OwnWrites();
    for (let rv = 1; rv <= 10; rv++) writes.record(service(String(rv)));
    writes.record(service('13', 'globex-mnist'));
    expect(writes.size).toBe(2);
    expect(writes.isEcho(service('7'))).toBe(true);
    writes.forget(service('14', 'globex-mnist'));
    expect(writes.size).toBe(1);
    expect(writes.isEcho(service('10'))).toBe(true);
  });

  it('forgets the oldest of many writes to one object', () => {
    const writes = new OwnWrites();
    for (let rv = 1; rv <= 10; rv++) writes.record(service(String(rv)));
    expect(writes.isEcho(service('1'))).toBe(false);
  });

  it('ignores a write result without a resourceVersion', () => {
    const writes = new OwnWrites();
    writes.record({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'serving' } });
    expect(writes.size).toBe(0);
  });
});
