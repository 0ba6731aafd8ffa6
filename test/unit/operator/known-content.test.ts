import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/kube/index.ts';
import { isMetadataOnly } from '../../../src/operator/cache.ts';
import { KnownContent } from '../../../src/operator/known-content.ts';

const at = (resourceVersion: string, name = 'alpha'): KubeObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'serving', resourceVersion },
});

describe('KnownContent', () => {
  it('holds an object only at the version it was remembered at', () => {
    const known = new KnownContent();
    known.remember(at('10'));

    expect(known.holds(at('10'))).toBe(true);
    // Someone else wrote it since: its content must be read again.
    expect(known.holds(at('11'))).toBe(false);
    expect(known.holds(at('10', 'beta'))).toBe(false);
  });

  it('carries a known version over a status-only update, and nothing that was not known', () => {
    const known = new KnownContent();
    known.remember(at('10'));
    known.carryOver(at('10'), at('12'));
    expect(known.holds(at('12'))).toBe(true);

    known.carryOver(at('5', 'beta'), at('6', 'beta'));
    expect(known.holds(at('6', 'beta'))).toBe(false);
  });

  it('forgets a deleted object, so a new one of the same name is judged afresh', () => {
    const known = new KnownContent();
    known.remember(at('10'));
    known.forget(at('10'));

    expect(known.holds(at('10'))).toBe(false);
    expect(known.size).toBe(0);
  });
});

describe('isMetadataOnly', () => {
  it('tells a metadata-only object from a whole one', () => {
    expect(isMetadataOnly(at('1'))).toBe(true);
    expect(isMetadataOnly({ ...at('1'), spec: { hosts: ['a'] } })).toBe(false);
    expect(isMetadataOnly({ ...at('1'), rules: [] })).toBe(false);
  });
});
