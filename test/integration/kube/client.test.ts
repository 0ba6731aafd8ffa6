import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { createKube, type Kube } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { LeaderElector, kubeLeaseStore } from '../../../src/kube/leader.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

const env = inject('env');
const ns = env.namespaces.serving;
const kube: Kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const fieldManager = 'tenantmesh-test';
const suffix = () => randomBytes(4).toString('hex');

function configMap(
  name: string,
  data: Record<string, string>,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { suite: 'kube-client' } },
    data,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<KubeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
}

describe('Kube facade against a real apiserver', () => {
  it('creates with server-side apply, converges on re-apply, and never mutates the object it is given', async () => {
    const name = `apply-${suffix()}`;
    const desired = configMap(name, { model: 'mnist' });
    const snapshot = structuredClone(desired);

    const created = await kube.applyObject(desired, { fieldManager });
    const again = await kube.applyObject(desired, { fieldManager });

    expect(desired).toEqual(snapshot);
    expect(created.data).toEqual({ model: 'mnist' });
    expect(again.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(JSON.stringify(again.metadata.managedFields)).toContain(fieldManager);
  });

  it('rejects an unknown field of a built-in kind under strict field validation instead of dropping it', async () => {
    const err = await rejection(
      kube.applyObject(configMap(`strict-${suffix()}`, {}, { bogusField: 1 }), { fieldManager }),
    );

    // The apiserver answers 500 here (not 400 as for custom resources); it must still count as terminal.
    expect(err.reason).toBe('Invalid');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('bogusField');
  });

  it('returns undefined for a missing object and lists by label selector', async () => {
    const name = `list-${suffix()}`;
    await kube.applyObject(configMap(name, {}), { fieldManager });

    expect(await kube.get('v1', 'ConfigMap', `missing-${suffix()}`, ns)).toBeUndefined();
    const listed = await kube.list('v1', 'ConfigMap', { namespace: ns, labelSelector: 'suite=kube-client' });
    expect(listed.items.map((item) => item.metadata.name)).toContain(name);
    expect(listed.items.every((item) => item.kind === 'ConfigMap' && item.apiVersion === 'v1')).toBe(true);
    expect(listed.resourceVersion).not.toBe('');
  });

  it('lists and watches metadata only, self-describing like full objects', async () => {
    const name = `meta-${suffix()}`;
    const labelSelector = `meta=${name}`;
    const created = await kube.applyObject(
      { ...configMap(name, { model: 'mnist' }), metadata: { name, namespace: ns, labels: { meta: name } } },
      { fieldManager },
    );

    const listed = await kube.list('v1', 'ConfigMap', { namespace: ns, labelSelector, metadataOnly: true });
    expect(listed.items).toHaveLength(1);
    expect(Object.keys(listed.items[0]!).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(listed.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(listed.items[0]!.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    const abort = new AbortController();
    const events = kube.watch('v1', 'ConfigMap', {
      namespace: ns,
      labelSelector,
      metadataOnly: true,
      resourceVersion: listed.resourceVersion,
      signal: abort.signal,
    });
    const updated = await kube.applyObject(
      { ...configMap(name, { model: 'resnet' }), metadata: { name, namespace: ns, labels: { meta: name } } },
      { fieldManager },
    );
    for await (const event of events) {
      if (event.type !== 'MODIFIED') continue;
      expect(Object.keys(event.object).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
      expect(event.object).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
      expect(event.object.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);
      break;
    }
    abort.abort();
  });

  it('finds a CRD installed after the client first asked for its kind', async () => {
    const group = `k${suffix()}.tenantmesh.io`;
    const err = await rejection(kube.get(`${group}/v1`, 'Widget', 'w', ns));
    expect(err.reason).toBe('NoKindMatch');

    await kube.applyObject(widgetCrd(group), { fieldManager });
    await expect
      .poll(async () => {
        const crd = await kube.get<
          KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
        >('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `widgets.${group}`);
        return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      })
      .toBe(true);
    // Established is not quite the end: the apiserver's discovery serves the new group-version a moment later,
    // and until it does the kind is rightly unknown. What must not happen is the first answer sticking.
    await expect
      .poll(() =>
        kube.get(`${group}/v1`, 'Widget', 'w', ns).then(
          () => 'served',
          (error: unknown) => (error instanceof KubeError ? error.reason : String(error)),
        ),
      )
      .toBe('served');

    const widget = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns },
      spec: { size: 3 },
    };
    const applied = await kube.applyObject(widget, { fieldManager });
    expect(applied.metadata.uid).toBeDefined();

    const strict = await rejection(
      kube.applyObject({ ...widget, spec: { size: 3, colour: 'red' } }, { fieldManager }),
    );
    expect(strict.retryable).toBe(false);
    expect(strict.message).toContain('colour');

    const withStatus = await kube.applyStatus({ ...widget, status: { phase: 'Ready' } }, { fieldManager });
    expect(withStatus['status']).toEqual({ phase: 'Ready' });
    expect(withStatus['spec']).toEqual({ size: 3 });
    await kube.delete('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `widgets.${group}`);
  });

  it('removes a finalizer only if the object did not change since it was read', async () => {
    const name = `fin-${suffix()}`;
    const created = await kube.applyObject(
      {
        ...configMap(name, {}),
        metadata: { name, namespace: ns, finalizers: ['tenantmesh.io/a', 'tenantmesh.io/b'] },
      },
      { fieldManager },
    );
    await kube.patchMerge('v1', 'ConfigMap', name, ns, { data: { touched: 'yes' } });

    const stale = await rejection(kube.removeFinalizer(created, 'tenantmesh.io/a'));
    expect(stale.reason).toBe('Conflict');

    const fresh = await kube.get('v1', 'ConfigMap', name, ns);
    const removed = await kube.removeFinalizer(fresh!, 'tenantmesh.io/a');
    expect(removed?.metadata.finalizers).toEqual(['tenantmesh.io/b']);

    await kube.removeFinalizer(removed!, 'tenantmesh.io/b');
    expect(await kube.delete('v1', 'ConfigMap', name, ns)).toBe(true);
    expect(await kube.delete('v1', 'ConfigMap', name, ns)).toBe(false);
  });

  it('deletes with a resourceVersion precondition only when it still matches', async () => {
    const name = `del-${suffix()}`;
    const created = await kube.applyObject(configMap(name, { v: '1' }), { fieldManager });
    await kube.applyObject(configMap(name, { v: '2' }), { fieldManager });

    const err = await rejection(
      kube.delete('v1', 'ConfigMap', name, ns, {
        preconditions: { resourceVersion: created.metadata.resourceVersion! },
      }),
    );
    expect(err.reason).toBe('Conflict');
    expect(await kube.get('v1', 'ConfigMap', name, ns)).toBeDefined();
  });

  it('answers identity and authorization questions with the apiserver’s own reviews', async () => {
    const self = await kube.createSelfSubjectReview();
    expect(self.username).toBeTruthy();

    const allowed = await kube.createSubjectAccessReview({
      user: 'someone',
      groups: ['system:masters'],
      resourceAttributes: { namespace: ns, verb: 'get', resource: 'services', name: 'acme-mnist' },
    });
    expect(allowed.allowed).toBe(true);
    const denied = await kube.createSubjectAccessReview({
      user: 'nobody',
      groups: ['system:authenticated'],
      resourceAttributes: { namespace: ns, verb: 'delete', resource: 'secrets' },
    });
    expect(denied.allowed).toBe(false);

    const review = await kube.createTokenReview('not-a-real-token');
    expect(review.authenticated ?? false).toBe(false);
  });

  it('lists the served API groups for feature detection', async () => {
    const groups = await kube.serverGroups();
    const names = groups.map((group) => group.name);

    expect(names).toContain('');
    expect(names).toContain('coordination.k8s.io');
    expect(groups.find((group) => group.name === 'apps')?.versions).toContain('v1');
  });

  it('runs leader election on a real Lease with MicroTime timestamps', async () => {
    const store = kubeLeaseStore(kube, ns, `leader-${suffix()}`);
    const started = Promise.withResolvers<void>();
    const abort = new AbortController();
    const elector = new LeaderElector({
      identity: 'operator-0',
      store,
      onStartedLeading: () => started.resolve(),
      onStoppedLeading: () => undefined,
    });

    const run = elector.run(abort.signal);
    await started.promise;
    const lease = await store.get();
    expect(lease?.record.holderIdentity).toBe('operator-0');
    expect(lease?.record.renewTime).toMatch(/\.\d{6}Z$/);

    abort.abort();
    await run;
    expect((await store.get())?.record.holderIdentity).toBe('');
  });
});

function widgetCrd(group: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } } },
                status: { type: 'object', properties: { phase: { type: 'string' } } },
              },
            },
          },
        },
      ],
    },
  };
}
