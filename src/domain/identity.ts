/**
 * How an identity becomes the (user, groups) pair Kubernetes RBAC judges. The kube-apiserver adds groups of
 * its own to every authenticated request, and RBAC bindings rely on them (a binding to `system:authenticated`
 * is how a cluster makes something public). Every SubjectAccessReview tenantmesh sends — the API's and, through
 * the rendered AuthConfig, Authorino's — must carry the same groups, so both are derived from this module.
 */

/** Prefix of every user and group name Kubernetes reserves for itself. */
export const RESERVED_NAME_PREFIX = 'system:';

/** The group the kube-apiserver adds to every authenticated request. */
export const AUTHENTICATED_GROUP = 'system:authenticated';

/** The group of requests that carried no credentials; never a tenantmesh identity. */
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';

/** The user of requests that carried no credentials. */
export const ANONYMOUS_USER = 'system:anonymous';

/** The group of every ServiceAccount of the cluster. */
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

/** ServiceAccount usernames are `system:serviceaccount:<namespace>:<name>`. */
export const SERVICE_ACCOUNT_USERNAME_PREFIX = 'system:serviceaccount:';

/** The groups the kube-apiserver adds to every authenticated caller, whatever proved who they are. */
export const IMPLICIT_GROUPS_OF_EVERY_CALLER: readonly string[] = [AUTHENTICATED_GROUP];

/** The group of the ServiceAccounts of one namespace. */
export function serviceAccountNamespaceGroup(namespace: string): string {
  return `${SERVICE_ACCOUNTS_GROUP}:${namespace}`;
}

/** The ServiceAccount username of `namespace/name`. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_USERNAME_PREFIX}${namespace}:${name}`;
}

/** The namespace of a ServiceAccount username, or undefined when the username is not a ServiceAccount's. */
export function serviceAccountNamespace(username: string): string | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_USERNAME_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SERVICE_ACCOUNT_USERNAME_PREFIX.length).split(':');
  return namespace && name && rest.length === 0 ? namespace : undefined;
}

/** A user as authentication established it: the username and the groups its credential carried. */
export interface AuthenticatedUser {
  username: string;
  groups: readonly string[];
}

/**
 * The groups Kubernetes would give this authenticated user: the credential's own groups, then
 * `system:authenticated`, and for a ServiceAccount `system:serviceaccounts` and `system:serviceaccounts:<ns>`
 * (a TokenReview answer already lists them; they are not repeated). Order is kept, duplicates dropped.
 */
export function effectiveGroups(user: AuthenticatedUser): string[] {
  const namespace = serviceAccountNamespace(user.username);
  const implicit =
    namespace === undefined
      ? IMPLICIT_GROUPS_OF_EVERY_CALLER
      : [...IMPLICIT_GROUPS_OF_EVERY_CALLER, SERVICE_ACCOUNTS_GROUP, serviceAccountNamespaceGroup(namespace)];
  return [...new Set([...user.groups, ...implicit])];
}

/** True for a user or group name Kubernetes reserves (`system:…`); an identity provider may not claim one. */
export function isReservedName(name: string): boolean {
  return name.startsWith(RESERVED_NAME_PREFIX);
}
