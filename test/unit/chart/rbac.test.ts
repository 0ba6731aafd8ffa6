import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/domain/index.ts';
import { renderPlatform, renderTenant } from '../../../src/render/index.ts';
import { platform as fixturePlatform, sampleInput } from '../render/fixtures.ts';
import { RELEASE_NAMESPACE, chartDocuments, chartValues } from '../../support/chart.ts';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The rules a service account of the chart holds: cluster-wide, and per namespace through Roles. */
interface Grants {
  cluster: PolicyRule[];
  namespaced: Map<string, PolicyRule[]>;
}

function grantsOf(template: string, name: string): Grants {
  const documents = chartDocuments(template);
  const named = (kind: string) =>
    documents.filter((doc) => doc.kind === kind && (doc.metadata as { name?: string }).name === name);
  const cluster = named('ClusterRole').flatMap((role) => role.rules as PolicyRule[]);
  const namespaced = new Map<string, PolicyRule[]>();
  for (const role of named('Role')) {
    const namespace = (role.metadata as { namespace: string }).namespace;
    namespaced.set(namespace, [...(namespaced.get(namespace) ?? []), ...(role.rules as PolicyRule[])]);
  }
  // Every Role and ClusterRole of the chart is bound to its service account, and nothing else is.
  for (const binding of [...named('ClusterRoleBinding'), ...named('RoleBinding')]) {
    expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name, namespace: RELEASE_NAMESPACE }]);
  }
  expect(named('RoleBinding')).toHaveLength(named('Role').length);
  return { cluster, namespaced };
}

const chartDefaults = chartValues() as {
  servingNamespace: string;
  gateway: { namespace: string; serviceAccount: string; selector: Record<string, string> };
};
/** The renderers' platform as the chart's defaults configure it. */
const platform = {
  ...fixturePlatform,
  servingNamespace: chartDefaults.servingNamespace,
  gatewayNamespace: chartDefaults.gateway.namespace,
  gatewayServiceAccount: chartDefaults.gateway.serviceAccount,
  gatewaySelector: chartDefaults.gateway.selector,
};

const plural: Record<string, string> = {
  Deployment: 'deployments',
  Service: 'services',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  Gateway: 'gateways',
  VirtualService: 'virtualservices',
  DestinationRule: 'destinationrules',
  PeerAuthentication: 'peerauthentications',
  AuthorizationPolicy: 'authorizationpolicies',
  AuthConfig: 'authconfigs',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Group: 'groups',
};

const matches = (list: string[], value: string) => list.includes(value) || list.includes('*');

function allows(
  rules: PolicyRule[],
  group: string,
  resource: string,
  verb: string,
  resourceName?: string,
): boolean {
  return rules.some(
    (rule) =>
      matches(rule.apiGroups, group) &&
      matches(rule.resources, resource) &&
      matches(rule.verbs, verb) &&
      (!rule.resourceNames || (resourceName !== undefined && rule.resourceNames.includes(resourceName))),
  );
}

/** Whether the grants allow `verb` at `namespace` (a cluster-wide grant covers every namespace). */
function grantsAllow(
  grants: Grants,
  namespace: string | undefined,
  group: string,
  resource: string,
  verb: string,
): boolean {
  return (
    allows(grants.cluster, group, resource, verb) ||
    (namespace !== undefined && allows(grants.namespaced.get(namespace) ?? [], group, resource, verb))
  );
}

const groupOf = (object: KubeObject) =>
  object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';

describe('the chart grants the operator exactly what its renderers need', () => {
  const operator = grantsOf('operator-rbac.yaml', 'tenantmesh-operator');
  const everything = { istio: true, authorino: true, openshift: true };
  const rendered = [
    ...renderTenant(sampleInput({ capabilities: everything, platform })),
    ...renderPlatform(platform, everything),
  ];

  it('lets the operator apply, watch and delete every kind it renders, where it renders it', () => {
    const missing: string[] = [];
    for (const object of rendered) {
      const resource = plural[object.kind];
      if (!resource) throw new Error(`add ${object.kind} to the plural table of this test`);
      for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) {
        if (!grantsAllow(operator, object.metadata.namespace, groupOf(object), resource, verb)) {
          missing.push(
            `${verb} ${groupOf(object) || 'core'}/${resource} in ${object.metadata.namespace ?? '*'}`,
          );
        }
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });

  it('lets the operator keep CA keys and read the certificate registry outside the serving namespace’s Pods', () => {
    for (const namespace of [platform.servingNamespace, platform.gatewayNamespace, RELEASE_NAMESPACE]) {
      expect(grantsAllow(operator, namespace, '', 'secrets', 'watch')).toBe(true);
    }
    expect(grantsAllow(operator, platform.servingNamespace, '', 'configmaps', 'watch')).toBe(true);
  });

  it('lets the operator write status of the tenantmesh resources it reconciles', () => {
    expect(allows(operator.cluster, 'tenantmesh.io', 'tenants/status', 'patch')).toBe(true);
    expect(allows(operator.cluster, 'tenantmesh.io', 'inferenceendpoints/status', 'patch')).toBe(true);
  });

  it('holds every permission the roles it writes hand out, so it needs neither bind nor escalate', () => {
    const uncovered: string[] = [];
    for (const role of rendered.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
      for (const rule of (role as unknown as { rules: PolicyRule[] }).rules) {
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            for (const verb of rule.verbs) {
              if (!grantsAllow(operator, role.metadata.namespace, group, resource, verb)) {
                uncovered.push(`${role.kind} ${role.metadata.name}: ${verb} ${group}/${resource}`);
              }
            }
      }
    }
    expect(uncovered).toEqual([]);
  });

  it('gives the operator no bind, no escalate and no impersonation anywhere', () => {
    const all = [...operator.cluster, ...[...operator.namespaced.values()].flat()];
    for (const verb of ['bind', 'escalate', 'impersonate', '*']) {
      expect(all.filter((rule) => rule.verbs.includes(verb))).toEqual([]);
    }
  });

  it('gives the operator Secrets and ConfigMaps only through Roles in the platform’s namespaces', () => {
    expect(allows(operator.cluster, '', 'secrets', 'get')).toBe(false);
    expect(allows(operator.cluster, '', 'configmaps', 'get')).toBe(false);
    expect([...operator.namespaced.keys()].sort()).toEqual(
      [platform.gatewayNamespace, platform.servingNamespace, RELEASE_NAMESPACE].sort(),
    );
  });
});

describe('the chart keeps the management API away from RBAC and from Secrets at large', () => {
  const api = grantsOf('api-rbac.yaml', 'tenantmesh-api');

  it('gives the API no write access to roles or bindings, only the watch its tenant list needs', () => {
    const all = [...api.cluster, ...[...api.namespaced.values()].flat()];
    const rbacRules = all.filter((rule) => rule.apiGroups.includes('rbac.authorization.k8s.io'));
    expect(rbacRules.flatMap((rule) => rule.verbs).sort()).toEqual(['list', 'watch']);
    expect(rbacRules.flatMap((rule) => rule.resources).sort()).toEqual([
      'clusterrolebindings',
      'clusterroles',
    ]);
    expect(allows(api.cluster, 'authorization.k8s.io', 'subjectaccessreviews', 'create')).toBe(true);
    expect(allows(api.cluster, 'authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
  });

  it('gives the API Secrets only where the CA keys are, and never lets it list them', () => {
    expect(allows(api.cluster, '', 'secrets', 'get')).toBe(false);
    expect(allows(api.cluster, '', 'configmaps', 'get')).toBe(false);
    for (const [namespace, rules] of api.namespaced) {
      expect([platform.servingNamespace, RELEASE_NAMESPACE]).toContain(namespace);
      expect(allows(rules, '', 'secrets', 'list')).toBe(false);
      expect(allows(rules, '', 'secrets', 'watch')).toBe(false);
    }
    // The CA keys live in the release namespace (finding 10): no Secret right where tenant code runs.
    expect(allows(api.namespaced.get(RELEASE_NAMESPACE) ?? [], '', 'secrets', 'get')).toBe(true);
    expect(allows(api.namespaced.get(platform.servingNamespace) ?? [], '', 'secrets', 'get')).toBe(false);
  });
});
