import { describe, expect, it } from 'vitest';
import type { InferenceEndpoint, ServingRuntime, Tenant } from '../../../src/domain/index.ts';
import {
  DESIRED_HASH_ANNOTATION,
  desiredHash,
  isSubset,
  needsApply,
  withDesiredHash,
} from '../../../src/operator/compare.ts';
import { mergeConditions } from '../../../src/operator/conditions.ts';
import { applyQuota, parseQuantity } from '../../../src/operator/quota.ts';
import { deploymentReadiness } from '../../../src/operator/reconciler.ts';

const runtime: ServingRuntime = {
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'ServingRuntime',
  metadata: { name: 'tfs' },
  spec: {
    protocols: ['tfserving-grpc'],
    ports: { grpc: 9000 },
    container: { image: 'tfs', resources: { requests: { cpu: '500m', memory: '1Gi' } } },
    modelPath: { mountPath: '/models', template: '{model}/1' },
  },
};

function endpoint(
  name: string,
  created: string,
  spec: Partial<InferenceEndpoint['spec']> = {},
): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name: `acme-${name}`, creationTimestamp: created },
    spec: { tenant: 'acme', model: { name: 'm' }, runtime: 'tfs', ...spec },
  };
}

const tenant = (quota: NonNullable<Tenant['spec']['quota']>): Tenant => ({
  apiVersion: 'tenantmesh.io/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'acme' },
  spec: { quota },
});

describe('quota', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    [4, 4],
  ])('parses the quantity %s', (quantity, value) => {
    expect(parseQuantity(quantity)).toBe(value);
  });

  it('admits the oldest endpoints first and rejects those beyond maxEndpoints', () => {
    const decision = applyQuota(
      tenant({ maxEndpoints: 1 }),
      [endpoint('new', '2025-01-02T00:00:00Z'), endpoint('old', '2025-01-01T00:00:00Z')],
      new Map([['tfs', runtime]]),
    );
    expect(decision.admitted.map((e) => e.metadata.name)).toEqual(['acme-old']);
    expect(decision.rejected[0]?.endpoint.metadata.name).toBe('acme-new');
  });

  it('counts the runtime default requests times replicas against the cpu quota', () => {
    const decision = applyQuota(
      tenant({ cpu: '1' }),
      [endpoint('a', '2025-01-01T00:00:00Z', { replicas: 2 }), endpoint('b', '2025-01-02T00:00:00Z')],
      new Map([['tfs', runtime]]),
    );
    expect(decision.admitted.map((e) => e.metadata.name)).toEqual(['acme-a']);
    expect(decision.rejected[0]?.message).toContain('cpu');
  });

  it('holds an endpoint written around the API to replicas × limits, not its small requests', () => {
    const decision = applyQuota(
      tenant({ cpu: '1', memory: '1Gi' }),
      [
        endpoint('greedy', '2025-01-01T00:00:00Z', {
          replicas: 100,
          resources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '64', memory: '256Gi' } },
        }),
      ],
      new Map([['tfs', runtime]]),
    );
    expect(decision.admitted).toEqual([]);
    expect(decision.rejected[0]?.message).toMatch(/cpu limits would total 6400/);
  });

  it('rejects an endpoint whose own memory request exceeds the memory quota', () => {
    const decision = applyQuota(
      tenant({ memory: '2Gi' }),
      [endpoint('big', '2025-01-01T00:00:00Z', { resources: { requests: { memory: '3Gi' } } })],
      new Map([['tfs', runtime]]),
    );
    expect(decision.admitted).toEqual([]);
  });
});

describe('apply only when needed', () => {
  const desired = withDesiredHash({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'n', labels: { a: '1' } },
    spec: { ports: [{ port: 9000 }], selector: { app: 's' } },
  });

  it('skips an object whose live copy has our fields plus server defaults', () => {
    const live = {
      ...desired,
      metadata: { ...desired.metadata, uid: 'u', resourceVersion: '5' },
      spec: { ports: [{ port: 9000, protocol: 'TCP' }], selector: { app: 's' }, clusterIP: '10.0.0.1' },
    };
    expect(needsApply(desired, live)).toBe(false);
  });

  it('applies when a field the operator owns was edited by hand', () => {
    const live = { ...desired, spec: { ports: [{ port: 9000 }], selector: { app: 'hijacked' } } };
    expect(needsApply(desired, live)).toBe(true);
  });

  it('applies when a list gained an element (a rule added to a Role by hand)', () => {
    expect(isSubset({ rules: [1] }, { rules: [1, 2] })).toBe(false);
  });

  it('applies when the desired state changed, even if only by removing a field', () => {
    const smaller = withDesiredHash({ ...desired, spec: { ports: [{ port: 9000 }] } });
    expect(smaller.metadata.annotations?.[DESIRED_HASH_ANNOTATION]).not.toBe(
      desired.metadata.annotations?.[DESIRED_HASH_ANNOTATION],
    );
    expect(needsApply(smaller, desired)).toBe(true);
  });

  it('treats quantities the apiserver canonicalised as equal', () => {
    expect(isSubset({ cpu: '1000m' }, { cpu: '1' })).toBe(true);
  });

  it('applies an object that does not exist', () => {
    expect(needsApply(desired, undefined)).toBe(true);
  });

  it('skips a binding with no subjects, which the apiserver stores without the empty list', () => {
    const binding = withDesiredHash({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'b' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' },
      subjects: [],
    } as never);
    const { subjects: _omitted, ...live } = binding as unknown as Record<string, unknown>;
    expect(needsApply(binding, live as never)).toBe(false);
  });

  it('hashes a desired object as earlier versions did, so an upgraded operator re-applies nothing', () => {
    // Sorted keys (integer-like ones too), undefined members dropped, undefined list elements empty, escapes.
    const object = {
      z: 1,
      a: [3, 'x', null, true, { b: undefined, é: 'ü', 'a"q': '\u2028\n', B: -0.5e-7 }],
      m: { y: undefined, x: [], w: {} },
      Z: 1e21,
      '10': 'ten',
      '9': 'nine',
      '': false,
      '\u00ff': 'y',
      'a\u0000': 0,
      holes: [undefined, 1, [undefined]],
    };
    expect(desiredHash(object)).toBe('qPx0UHqLyTTZS4VY');
  });

  it('still applies when a list the operator wants empty has entries added by hand', () => {
    expect(isSubset({ subjects: [] }, { subjects: [{ kind: 'User', name: 'mallory' }] })).toBe(false);
  });
});

describe('conditions', () => {
  const now = new Date('2025-03-01T10:00:00.123Z');

  it('keeps the transition time of a condition whose status did not change', () => {
    const previous = [
      {
        type: 'Ready',
        status: 'True' as const,
        reason: 'Ready',
        message: '',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ];
    const [ready] = mergeConditions(
      previous,
      [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }],
      2,
      now,
    );
    expect(ready).toMatchObject({ lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 2 });
  });

  it('stamps a changed condition with the current time at second precision', () => {
    const [ready] = mergeConditions(
      [],
      [{ type: 'Ready', status: 'False', reason: 'RollingOut', message: '' }],
      1,
      now,
    );
    expect(ready?.lastTransitionTime).toBe('2025-03-01T10:00:00Z');
  });
});

describe('deployment readiness', () => {
  const ep = endpoint('a', '2025-01-01T00:00:00Z', { replicas: 2 });
  const deployment = (status: Record<string, number>, generation = 3) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'acme-a', generation },
    status,
  });

  it('is ready when the current generation has every replica available', () => {
    expect(
      deploymentReadiness(
        deployment({ observedGeneration: 3, availableReplicas: 2, readyReplicas: 2, updatedReplicas: 2 }),
        ep,
      ),
    ).toMatchObject({ ready: true, readyReplicas: 2 });
  });

  it('is not ready while the rollout of a new generation is not observed', () => {
    expect(deploymentReadiness(deployment({ observedGeneration: 2, availableReplicas: 2 }), ep).ready).toBe(
      false,
    );
  });

  it('is not ready without a Deployment', () => {
    expect(deploymentReadiness(undefined, ep)).toMatchObject({ ready: false, readyReplicas: 0 });
  });
});
