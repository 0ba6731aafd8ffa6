import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** A ClusterRole's rules as the chart declares them. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * Reads a chart template whose rules carry no templating, standing in for Helm's own values so the YAML
 * parses. The rules are copied exactly as the chart writes them.
 */
export function chartTemplateDocuments(template: string): Record<string, unknown>[] {
  const text = readFileSync(
    fileURLToPath(new URL(`../../charts/tenantmesh/templates/${template}`, import.meta.url)),
    'utf8',
  )
    .replace(/\{\{-? *include[^}]*\}\}/g, '{}')
    .replace(/\{\{-?[^}]*\}\}/g, 'templated');
  return parseAllDocuments(text).map((document) => document.toJS() as Record<string, unknown>);
}

/** The rules of the chart's ClusterRole `name` in `template`. */
export function chartClusterRoleRules(template: string, name: string): PolicyRule[] {
  const role = chartTemplateDocuments(template).find(
    (doc) => doc.kind === 'ClusterRole' && (doc.metadata as { name?: string }).name === name,
  );
  if (!role) throw new Error(`${template} has no ClusterRole ${name}`);
  return role.rules as PolicyRule[];
}
