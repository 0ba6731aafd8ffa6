import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderPlatform, renderTenant } from '../../../src/render/index.ts';
import { platform, sampleInput } from '../render/fixtures.ts';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Reads a chart template, standing in for Helm's own values so the YAML parses. */
function chartDocuments(template: string): Record<string, unknown>[] {
  const text = readFileSync(
    fileURLToPath(new URL(`../../../charts/tenantmesh/templates/${template}`, import.meta.url)),
    'utf8',
  )
    .replace(/\{\{-? *include[^}]*\}\}/g, '{}')
    .replace(/\{\{-?[^}]*\}\}/g, 'templated');
  return parseAllDocuments(text).map((document) => document.toJS() as Record<string, unknown>);
}

function clusterRoleRules(template: string, name: string): PolicyRule[] {
  const role = chartDocuments(template).find(
    (doc) => doc.kind === 'ClusterRole' && (doc.metadata as { name?: string }).name === name,
  );
  if (!role) throw new Error(`${template} has no ClusterRole ${name}`);
  return role.rules as PolicyRule[];
}

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

function allows(rules: PolicyRule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (rule) =>
      rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb),
  );
}

describe('the chart grants the operator exactly what its renderers need', () => {
  const rules = clusterRoleRules('operator-rbac.yaml', 'tenantmesh-operator');
  const everything = { istio: true, authorino: true, openshift: true };
  const rendered = [
    ...renderTenant(sampleInput({ capabilities: everything })),
    ...renderPlatform(platform, everything),
  ];

  it('lets the operator apply, watch and delete every kind it renders', () => {
    const missing: string[] = [];
    for (const object of rendered) {
      const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0]! : '';
      const resource = plural[object.kind];
      if (!resource) throw new Error(`add ${object.kind} to the plural table of this test`);
      for (const verb of ['get', 'list', 'watch', 'create', 'patch', 'delete']) {
        if (!allows(rules, group, resource, verb)) missing.push(`${verb} ${group || 'core'}/${resource}`);
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });

  it('lets the operator write status of the tenantmesh resources it reconciles', () => {
    expect(allows(rules, 'tenantmesh.io', 'tenants/status', 'patch')).toBe(true);
    expect(allows(rules, 'tenantmesh.io', 'inferenceendpoints/status', 'patch')).toBe(true);
  });

  it('lets the operator grant what the tenant roles grant, through bind and escalate rather than holding it', () => {
    expect(allows(rules, 'rbac.authorization.k8s.io', 'clusterroles', 'escalate')).toBe(true);
    expect(allows(rules, 'rbac.authorization.k8s.io', 'roles', 'bind')).toBe(true);
  });
});

describe('the chart keeps the management API away from RBAC', () => {
  it('gives the API no write access to roles or bindings, only the watch its tenant list needs', () => {
    const rules = clusterRoleRules('api-rbac.yaml', 'tenantmesh-api');
    const rbacRules = rules.filter((rule) => rule.apiGroups.includes('rbac.authorization.k8s.io'));
    expect(rbacRules.flatMap((rule) => rule.verbs).sort()).toEqual(['list', 'watch']);
    expect(rbacRules.flatMap((rule) => rule.resources).sort()).toEqual([
      'clusterrolebindings',
      'clusterroles',
    ]);
    expect(allows(rules, 'authorization.k8s.io', 'subjectaccessreviews', 'create')).toBe(true);
    expect(allows(rules, 'authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
  });
});
