import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKube } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/kube/informer.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

const env = inject('env');
const ns = env.namespaces.serving;
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const fieldManager = 'tenantmesh-test';

describe('Informer against a real apiserver', () => {
  const label = `informer-${randomBytes(4).toString('hex')}`;
  const events: string[] = [];
  const errors: unknown[] = [];
  const informer = new Informer<KubeObject>(
    kube.listWatch('v1', 'ConfigMap', { namespace: ns, labelSelector: `suite=${label}` }),
    {
      onAdd: (obj) => events.push(`add ${obj.metadata.name}`),
      onUpdate: (_old, obj) => events.push(`update ${obj.metadata.name} ${JSON.stringify(obj['data'])}`),
      onDelete: (obj) => events.push(`delete ${obj.metadata.name}`),
    },
    { onError: (err) => errors.push(err) },
  );
  const configMap = (name: string, data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { suite: label } },
    data,
  });

  afterAll(() => informer.stop());

  it('lists existing objects, then follows creates, updates and deletes through the watch', async () => {
    await kube.applyObject(configMap('before', { v: '1' }), { fieldManager });
    informer.start();
    await informer.waitForSync();
    expect(informer.keys()).toEqual([`${ns}/before`]);

    await kube.applyObject(configMap('after', { v: '1' }), { fieldManager });
    await kube.applyObject(configMap('before', { v: '2' }), { fieldManager });
    await kube.delete('v1', 'ConfigMap', 'after', ns);

    await expect
      .poll(() => events)
      .toEqual(['add before', 'add after', 'update before {"v":"2"}', 'delete after']);
    expect(informer.get(`${ns}/before`)?.['data']).toEqual({ v: '2' });
    expect(informer.get(`${ns}/after`)).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
