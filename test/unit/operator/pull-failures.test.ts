import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/kube/index.ts';
import { modelPullFailure, slimServingPod } from '../../../src/operator/pull-failures.ts';

const pod = (puller: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'ns',
      resourceVersion: '7',
      labels: { 'tenantmesh.io/endpoint': 'iris' },
    },
    spec: { containers: [] },
    status: {
      phase: 'Pending',
      initContainerStatuses: puller ? [{ name: 'model-puller', ...puller }] : [],
      ...extra,
    },
  }) as unknown as KubeObject;

describe("the model puller's failure as the endpoint shows it", () => {
  it('is the termination message while the container has just ended', () => {
    expect(
      modelPullFailure(
        pod({ state: { terminated: { exitCode: 1, message: 'model.joblib does not match its manifest' } } }),
      ),
    ).toBe('model.joblib does not match its manifest');
  });

  it('is the last termination message while the kubelet backs off before a restart', () => {
    expect(
      modelPullFailure(
        pod({
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: {
            terminated: { exitCode: 1, message: 'archive entry "../x" leaves the model directory ("..")' },
          },
        }),
      ),
    ).toBe('archive entry "../x" leaves the model directory ("..")');
  });

  it('names the reason when the container left no message (killed for memory, for example)', () => {
    expect(modelPullFailure(pod({ state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }))).toBe(
      'the model puller failed (OOMKilled)',
    );
  });

  it('is nothing while pulling, after success, or before the pod has a status', () => {
    expect(modelPullFailure(pod({ state: { running: {} } }))).toBeUndefined();
    expect(
      modelPullFailure(pod({ state: { terminated: { exitCode: 0, reason: 'Completed' } } })),
    ).toBeUndefined();
    expect(modelPullFailure(pod(undefined))).toBeUndefined();
  });

  it('the cache keeps only labels and the puller status of a pod', () => {
    const slim = slimServingPod(
      pod(
        { state: { terminated: { exitCode: 1, message: 'm' } } },
        { containerStatuses: [{ name: 'server' }] },
      ),
    );
    expect(slim).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'ns',
        resourceVersion: '7',
        labels: { 'tenantmesh.io/endpoint': 'iris' },
      },
      status: {
        initContainerStatuses: [
          { name: 'model-puller', state: { terminated: { exitCode: 1, message: 'm' } } },
        ],
      },
    });
    expect(modelPullFailure(slim)).toBe('m');
  });
});
