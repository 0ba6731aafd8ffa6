import { jsonPointer } from './errors.ts';
import type { FieldViolation } from './errors.ts';
import type { Subject } from './generated.ts';
import {
  ANONYMOUS_USER,
  AUTHENTICATED_GROUP,
  RESERVED_NAME_PREFIX,
  SERVICE_ACCOUNTS_GROUP,
  UNAUTHENTICATED_GROUP,
} from './identity.ts';

/** The roles a subject can be granted on a tenant (the Tenant spec's lists). */
export type GrantRole = 'admins' | 'users' | 'endpointUsers';

/**
 * Why `subject` may not be granted `role`, or undefined when it may. Kubernetes' own groups make a tenant or
 * an endpoint public (`system:authenticated`, `system:serviceaccounts[:<ns>]`), which is supported for users;
 * but nothing is ever granted to callers without credentials, and no built-in group administers a tenant.
 */
export function grantRefusal(role: GrantRole, subject: Subject): string | undefined {
  if (subject.kind !== 'ServiceAccount' && [UNAUTHENTICATED_GROUP, ANONYMOUS_USER].includes(subject.name)) {
    return `${subject.name} means callers without credentials; tenantmesh never grants them anything`;
  }
  if (role === 'admins' && subject.kind === 'Group' && subject.name.startsWith(RESERVED_NAME_PREFIX)) {
    return `${subject.name} is a Kubernetes built-in group; it cannot administer a tenant (grant it as users instead)`;
  }
  return undefined;
}

/**
 * One violation per subject of `subjects` that `role` may not be granted; `path` is where the list sits in the
 * request body (for the problem's pointers).
 */
export function grantViolations(
  role: GrantRole,
  subjects: readonly Subject[],
  path: readonly (string | number)[],
): FieldViolation[] {
  return subjects.flatMap((subject, index) => {
    const refusal = grantRefusal(role, subject);
    return refusal === undefined
      ? []
      : [{ pointer: jsonPointer([...path, index, 'name']), message: refusal }];
  });
}

/**
 * A subject in words, for people reading a grant (CLI, console): Kubernetes' built-in groups say whom they
 * stand for ("every signed-in user"), other subjects say their kind and name.
 */
export function describeSubject(subject: Subject): string {
  if (subject.kind === 'ServiceAccount') return `ServiceAccount ${subject.namespace ?? ''}/${subject.name}`;
  if (subject.kind === 'User') return `user ${subject.name}`;
  if (subject.name === AUTHENTICATED_GROUP) return 'every signed-in user';
  if (subject.name === SERVICE_ACCOUNTS_GROUP) return 'every ServiceAccount of the cluster';
  const serviceAccountsOf = `${SERVICE_ACCOUNTS_GROUP}:`;
  if (subject.name.startsWith(serviceAccountsOf)) {
    return `every ServiceAccount in namespace ${subject.name.slice(serviceAccountsOf.length)}`;
  }
  return `group ${subject.name}`;
}
