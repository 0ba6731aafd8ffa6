import { describe, expect, it } from 'vitest';
import { registryServiceName } from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/domain/index.ts';
import { renderPlatform, renderTenant, tenantContext } from '../../../src/render/index.ts';
import type { PolicyRule } from '../../../src/render/rbac.ts';
import { renderRegistryService } from '../../../src/render/service.ts';
import { find, platform, sampleInput, toYaml } from './fixtures.ts';

const ctx = tenantContext(sampleInput());
const service = renderRegistryService(ctx) as KubeObject & {
  spec: { type: string; externalName: string; ports: { name: string; port: number; appProtocol: string }[] };
};

/** Every rule of every Role and ClusterRole among `objects`, with the object it came from. */
const rulesOf = (objects: KubeObject[]) =>
  objects
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((o) => ((o as { rules?: PolicyRule[] }).rules ?? []).map((rule) => ({ of: o, rule })));

describe("the tenant's registry Service", () => {
  it('matches the golden Service', async () => {
    await expect(toYaml(service)).toMatchFileSnapshot('__golden__/registry-service.yaml');
  });

  it('is named after the tenant in the serving namespace, so clients reach <t>.<serving namespace>.svc', () => {
    expect(service.metadata.name).toBe(registryServiceName('acme'));
    expect(service.metadata.name).toBe('acme');
    expect(service.metadata.namespace).toBe(platform.servingNamespace);
  });

  it('carries the labels and the port name the dashboard finds registries by, beside our common labels', () => {
    expect(service.metadata.labels).toMatchObject({
      component: 'model-registry',
      'app.kubernetes.io/managed-by': 'tenantmesh',
      'app.kubernetes.io/component': 'registry',
      'tenantmesh.io/tenant': 'acme',
    });
    expect(service.metadata.labels?.['tenantmesh.io/endpoint']).toBeUndefined();
    expect(service.spec.ports.map((port) => port.name)).toEqual(['https-api']);
  });

  it("aliases the management API's Service, on its port, because the API pods live in another namespace", () => {
    expect(service.spec.type).toBe('ExternalName');
    expect(service.spec.externalName).toBe(platform.registryService.externalName);
    expect(service.spec.ports[0]!.port).toBe(platform.registryService.port);
    expect(service.spec).not.toHaveProperty('selector');
  });

  it('is part of the tenant with or without the mesh, and with no endpoints', () => {
    const without = renderTenant(
      sampleInput({ endpoints: [], capabilities: { istio: false, authorino: false, openshift: false } }),
    );
    expect(find(without, 'Service', 'acme')).toEqual(service);
  });
});

describe('access to the registry Service', () => {
  const tenantObjects = renderTenant(sampleInput());
  const everyRule = [
    ...rulesOf(tenantObjects),
    ...rulesOf(renderPlatform(platform, { istio: true, authorino: true, openshift: true })),
  ];

  it("Role registry-user-<t> grants get on exactly the tenant's registry Service", () => {
    const rules = find(tenantObjects, 'Role', 'registry-user-acme').rules as PolicyRule[];
    expect(rules.filter((rule) => rule.resources.includes('services'))).toEqual([
      { apiGroups: [''], resources: ['services'], verbs: ['get'], resourceNames: [service.metadata.name] },
    ]);
  });

  it('no rendered role grants anything broader on Services: no other verb, no other name, no list', () => {
    const onServices = everyRule.filter(
      ({ rule }) =>
        (rule.apiGroups.includes('') || rule.apiGroups.includes('*')) &&
        rule.resources.some((resource) => resource === '*' || resource.startsWith('services')),
    );
    expect(onServices.map(({ of }) => `${of.kind}/${of.metadata.name}`)).toEqual(['Role/registry-user-acme']);
    for (const { rule } of onServices) {
      expect(rule.resources).toEqual(['services']);
      expect(rule.verbs).toEqual(['get']);
      expect(rule.resourceNames).toEqual(['acme']);
    }
  });

  it('no rendered role uses a wildcard', () => {
    for (const { of, rule } of everyRule) {
      const fields = [...rule.apiGroups, ...rule.resources, ...rule.verbs, ...(rule.resourceNames ?? [])];
      expect(fields, `${of.kind}/${of.metadata.name}`).not.toContain('*');
    }
  });
});
