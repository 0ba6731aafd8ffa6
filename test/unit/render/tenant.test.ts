import { describe, expect, it } from 'vitest';
import { InvalidError, NotFoundError } from '../../../src/domain/index.ts';
import { renderTenant, tenantContext } from '../../../src/render/index.ts';
import { bert, resnet, sampleInput, toYaml } from './fixtures.ts';

describe('renderTenant', () => {
  it('matches the golden tenant', async () => {
    await expect(toYaml(renderTenant(sampleInput()))).toMatchFileSnapshot('__golden__/tenant.yaml');
  });

  it('is deterministic whatever order the endpoints and runtimes arrive in', () => {
    const input = sampleInput();
    const shuffled = sampleInput({
      endpoints: [...input.endpoints].reverse(),
      runtimes: [...input.runtimes].reverse(),
    });
    expect(toYaml(renderTenant(shuffled))).toBe(toYaml(renderTenant(input)));
  });

  it('labels every object with the product and the tenant', () => {
    for (const object of renderTenant(sampleInput())) {
      expect(object.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'tenantmesh',
        'app.kubernetes.io/part-of': 'tenantmesh',
        'tenantmesh.io/tenant': 'acme',
      });
    }
  });

  it('sets no ownerReferences (the operator does)', () => {
    expect(renderTenant(sampleInput()).filter((o) => o.metadata.ownerReferences)).toEqual([]);
  });

  it('renders the OpenShift Group only on OpenShift', () => {
    const kinds = (openshift: boolean) =>
      renderTenant(sampleInput({ capabilities: { istio: true, authorino: true, openshift } })).map(
        (o) => o.apiVersion,
      );
    expect(kinds(true)).toContain('user.openshift.io/v1');
    expect(kinds(false)).not.toContain('user.openshift.io/v1');
  });

  it('serves endpoints under the tenant hostname when one is set', () => {
    const input = sampleInput();
    input.tenant.spec.hostname = 'ml.acme.example';
    expect(tenantContext(input).endpoints.map((e) => e.host)).toEqual([
      'bert.ml.acme.example',
      'resnet.ml.acme.example',
    ]);
  });

  it('refuses an endpoint of another tenant', () => {
    const foreign = { ...bert, spec: { ...bert.spec, tenant: 'other' } };
    expect(() =>
      renderTenant(sampleInput({ endpoints: [{ resource: foreign, modelVersion: 'v7' }] })),
    ).toThrow(InvalidError);
  });

  it('refuses an endpoint whose runtime does not exist', () => {
    const orphan = { ...resnet, spec: { ...resnet.spec, runtime: 'missing' } };
    expect(() => renderTenant(sampleInput({ endpoints: [{ resource: orphan, modelVersion: '1' }] }))).toThrow(
      NotFoundError,
    );
  });
});
