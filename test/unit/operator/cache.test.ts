import { describe, expect, it } from 'vitest';
import { OWNED_KINDS, onlyStatusChanged } from '../../../src/operator/cache.ts';
import type { KubeObject } from '../../../src/kube/index.ts';

const authConfig = (generation: number | undefined, extra: Partial<KubeObject['metadata']> = {}) =>
  ({
    apiVersion: 'authorino.kuadrant.io/v1beta3',
    kind: 'AuthConfig',
    metadata: {
      name: 'acme',
      namespace: 'serving',
      resourceVersion: String(Math.random()),
      labels: { 'tenantmesh.io/tenant': 'acme' },
      ...(generation === undefined ? {} : { generation }),
      ...extra,
    },
    status: { summary: { ready: true } },
  }) as KubeObject;

describe('onlyStatusChanged', () => {
  it('is true when neither the generation nor the metadata we render moved', () => {
    expect(onlyStatusChanged(authConfig(3), authConfig(3))).toBe(true);
  });

  it('is false for a spec change, which bumps the generation', () => {
    expect(onlyStatusChanged(authConfig(3), authConfig(4))).toBe(false);
  });

  it('is false when labels, annotations, owners, finalizers or deletion moved without a generation bump', () => {
    const changes: Partial<KubeObject['metadata']>[] = [
      { labels: { 'tenantmesh.io/tenant': 'globex' } },
      { annotations: { note: 'hand edit' } },
      { ownerReferences: [] },
      { finalizers: ['x'] },
      { deletionTimestamp: '2026-11-21T00:00:00Z' },
    ];
    for (const change of changes) expect(onlyStatusChanged(authConfig(3), authConfig(3, change))).toBe(false);
  });

  it('is false for objects without a generation', () => {
    expect(onlyStatusChanged(authConfig(undefined), authConfig(undefined))).toBe(false);
  });

  it('is only relied on for custom resources, where the generation tracks every spec change', () => {
    const custom = OWNED_KINDS.filter((kind) => kind.customResource).map((kind) => kind.group);
    expect(new Set(custom)).toEqual(
      new Set(['networking.istio.io', 'security.istio.io', 'authorino.kuadrant.io']),
    );
  });
});
