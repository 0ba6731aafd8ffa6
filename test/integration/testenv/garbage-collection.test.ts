import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { adminKubeConfig } from '../../../src/testenv/identities.ts';
import { waitFor } from '../../../src/testenv/wait.ts';

const env = inject('env');

describe('kube-controller-manager runs the garbage collector', () => {
  it('deletes an object whose owner was deleted', async () => {
    const core = adminKubeConfig(env).makeApiClient(CoreV1Api);
    const namespace = env.namespaces.serving;
    const owner = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'gc-owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: 'gc-child',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace, name: 'gc-owner' });

    await waitFor(
      async () => {
        try {
          await core.readNamespacedConfigMap({ namespace, name: 'gc-child' });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      },
      { description: 'the owned ConfigMap to be garbage-collected', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(true).toBe(true);
  });
});
