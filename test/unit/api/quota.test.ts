import { describe, expect, it } from 'vitest';
import { assertWithinQuota, quantityValue } from '../../../src/api/quota.ts';
import { QuotaExceededError } from '../../../src/domain/errors.ts';
import type { InferenceEndpointSpec, ServingRuntime } from '../../../src/domain/index.ts';

const runtime = {
  metadata: { name: 'rt' },
  spec: { container: { image: 'x', resources: { requests: { cpu: '500m', memory: '256Mi' } } } },
} as ServingRuntime;
const runtimes = new Map([['rt', runtime]]);
const spec = (extra: Partial<InferenceEndpointSpec> = {}): InferenceEndpointSpec => ({
  tenant: 'acme',
  model: { name: 'm', version: '1' },
  runtime: 'rt',
  ...extra,
});

function refusal(run: () => void): QuotaExceededError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof QuotaExceededError) return error;
    throw error;
  }
}

describe('endpoint quota', () => {
  it('reads Kubernetes quantities', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('2G')).toBe(2e9);
    expect(quantityValue(3)).toBe(3);
    expect(quantityValue('lots')).toBeUndefined();
  });

  it.each([
    [
      'names maxEndpoints when one more endpoint would pass the count',
      { maxEndpoints: 1 },
      spec(),
      'maxEndpoints',
    ],
    [
      'names cpu when the runtime defaults times replicas pass the cpu limit',
      { cpu: '1' },
      spec({ replicas: 2 }),
      'cpu',
    ],
    [
      'names memory when the endpoint’s own requests pass the memory limit',
      { memory: '1Gi' },
      spec({ resources: { requests: { memory: '900Mi' } } }),
      'memory',
    ],
  ] as const)('%s', (_name, quota, candidate, limit) => {
    expect(refusal(() => assertWithinQuota(quota, candidate, [spec()], runtimes))?.quota).toBe(limit);
  });

  it('admits an endpoint that exactly fills the quota, and anything without a quota', () => {
    expect(
      refusal(() => assertWithinQuota({ cpu: '1', maxEndpoints: 2 }, spec(), [spec()], runtimes)),
    ).toBeUndefined();
    expect(
      refusal(() => assertWithinQuota(undefined, spec({ replicas: 100 }), [], runtimes)),
    ).toBeUndefined();
  });
});

describe('endpoint quota counts what replicas may use, not only what they request', () => {
  const greedy = spec({
    replicas: 100,
    resources: { requests: { cpu: '10m', memory: '10Mi' }, limits: { cpu: '64', memory: '256Gi' } },
  });

  it('refuses 100 replicas with small requests and huge limits under a 1 CPU / 1 GiB quota', () => {
    expect(refusal(() => assertWithinQuota({ cpu: '1', memory: '1Gi' }, greedy, [], runtimes))?.quota).toBe(
      'cpu',
    );
    expect(refusal(() => assertWithinQuota({ memory: '1Gi' }, greedy, [], runtimes))?.quota).toBe('memory');
  });

  it('counts replicas × limit (else request) against cpu and memory', () => {
    const two = spec({ replicas: 2, resources: { requests: { cpu: '250m' }, limits: { cpu: '500m' } } });
    expect(refusal(() => assertWithinQuota({ cpu: '1' }, two, [], runtimes))).toBeUndefined();
    const three = spec({ replicas: 3, resources: { requests: { cpu: '250m' }, limits: { cpu: '500m' } } });
    expect(refusal(() => assertWithinQuota({ cpu: '1' }, three, [], runtimes))?.requested).toBe('1.5');
  });

  it('refuses an endpoint that declares neither requests nor limits when the tenant has a quota for them', () => {
    const bare: ServingRuntime = {
      ...runtime,
      spec: { ...runtime.spec, container: { image: 'x' } },
    } as ServingRuntime;
    const refused = refusal(() =>
      assertWithinQuota({ cpu: '100' }, spec({ runtime: 'bare' }), [], new Map([['bare', bare]])),
    );
    expect(refused?.quota).toBe('cpu');
    expect(refused?.requested).toMatch(/unbounded/);
  });
});
