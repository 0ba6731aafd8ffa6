import { effectiveGroups } from '../domain/identity.ts';
import type { Identity } from './identity.ts';
import { TENANT_API_GROUP } from './authorize.ts';

/** A rule of a ClusterRole, as RBAC stores it. */
export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** A subject of a ClusterRoleBinding, as RBAC stores it. */
export interface RbacSubject {
  kind: string;
  name: string;
  namespace?: string;
}

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The key a binding subject is indexed under: `User:<name>`, `Group:<name>`, `ServiceAccount:<ns>/<name>`. */
export function subjectKey(subject: RbacSubject): string {
  return subject.kind === 'ServiceAccount'
    ? `ServiceAccount:${subject.namespace ?? ''}/${subject.name}`
    : `${subject.kind}:${subject.name}`;
}

/**
 * The binding subject keys that can name this caller, the way the RBAC authorizer matches them: the user,
 * each group its SubjectAccessReviews carry (with the implicit ones, e.g. `system:authenticated`), and for a
 * ServiceAccount user also the ServiceAccount subject.
 */
export function subjectKeysOf(identity: Identity): string[] {
  const keys = [`User:${identity.username}`, ...effectiveGroups(identity).map((group) => `Group:${group}`)];
  const serviceAccount = SERVICE_ACCOUNT_USER.exec(identity.username);
  if (serviceAccount) keys.push(`ServiceAccount:${serviceAccount[1]}/${serviceAccount[2]}`);
  return keys;
}

const covers = (values: string[] | undefined, wanted: string) =>
  (values ?? []).some((value) => value === wanted || value === '*');

/**
 * Tenants that rules let their holder `get` by name (`resourceNames`). A rule without names grants every
 * tenant; the API learns that from one name-less SubjectAccessReview, so such rules add nothing here.
 */
export function tenantsNamedByRules(rules: RbacRule[] | undefined): string[] {
  const names = new Set<string>();
  for (const rule of rules ?? []) {
    if (!covers(rule.apiGroups, TENANT_API_GROUP)) continue;
    if (!covers(rule.resources, 'tenants')) continue;
    if (!covers(rule.verbs, 'get')) continue;
    for (const name of rule.resourceNames ?? []) names.add(name);
  }
  return [...names];
}
