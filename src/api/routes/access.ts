import { z } from 'zod';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { grantRefusal } from '../../domain/subjects.ts';
import { presentAccess } from '../presenters.ts';
import type { Subject, Tenant, TenantSpec } from '../../domain/index.ts';
import { defineRoute } from '../route.ts';
import type { ApiRoute } from '../route.ts';
import { endpointName, subject, tenantName } from '../schemas.ts';
import type { RouteDeps } from './context.ts';

/** Who a grant is for: tenant admins, tenant users (every endpoint), or users of one endpoint. */
export const accessRole = z.enum(['admins', 'users', 'endpointUsers']);
type AccessRole = z.infer<typeof accessRole>;

/** Wire shape of a tenant's access lists (mirrors presenters.AccessDto). */
export const accessDto = z.object({
  tenant: z.string(),
  admins: z.array(subject),
  users: z.array(subject),
  endpointUsers: z.array(z.object({ endpoint: z.string(), subjects: z.array(subject) })),
  resourceVersion: z.string().optional(),
});

/** POST /tenants/:tenant/access body. */
export const grantBody = z
  .strictObject({ role: accessRole, subject, endpoint: endpointName.optional() })
  .refine((g) => (g.role === 'endpointUsers') === (g.endpoint !== undefined), {
    message: 'endpoint is required for endpointUsers grants and not allowed otherwise',
    path: ['endpoint'],
  });

const revokeParams = z.object({
  tenant: tenantName,
  role: accessRole,
  kind: z.enum(['User', 'Group', 'ServiceAccount']),
  name: z.string().min(1).max(253),
});
const revokeQuery = z.object({ namespace: z.string().max(63).optional(), endpoint: endpointName.optional() });

/** Granting and revoking access to a tenant; the lists live in the Tenant spec. */
export function accessRoutes(deps: RouteDeps): ApiRoute[] {
  const { tenants, guard, prefix } = deps;
  return [
    defineRoute({
      operationId: 'listAccess',
      method: 'get',
      path: `${prefix}/tenants/:tenant/access`,
      resource: 'access',
      summary: 'List who may administer and use a tenant',
      authorization: 'list tenants/<tenant>/access',
      params: z.object({ tenant: tenantName }),
      responses: { 200: { description: 'Access lists', schema: accessDto } },
      async handle(ctx, { params }) {
        const target = `tenants/${params.tenant}/access`;
        await guard.tenant(ctx, params.tenant, {
          action: 'access.list',
          target,
          verb: 'list',
          subresource: 'access',
        });
        return { status: 200, body: presentAccess(await tenants.get(params.tenant)) };
      },
    }),
    defineRoute({
      operationId: 'grantAccess',
      method: 'post',
      path: `${prefix}/tenants/:tenant/access`,
      resource: 'access',
      summary: 'Grant a user, group or ServiceAccount a role on the tenant',
      authorization: 'create tenants/<tenant>/access; patch tenants/<tenant> for the admins role',
      params: z.object({ tenant: tenantName }),
      body: grantBody,
      responses: {
        200: { description: 'Already granted; nothing changed', schema: accessDto },
        201: { description: 'Granted', schema: accessDto },
      },
      async handle(ctx, { params, body }) {
        const target = grantTarget(params.tenant, body.role, body.subject, body.endpoint);
        await guard.tenant(ctx, params.tenant, {
          action: 'access.grant',
          target,
          ...grantCheck(body.role, 'create'),
        });
        const refusal = grantRefusal(body.role, body.subject);
        if (refusal) throw new InvalidError([{ pointer: '/subject/name', message: refusal }]);
        if (body.endpoint !== undefined) await requireOwnEndpoint(deps, params.tenant, body.endpoint);
        const outcome = await onFreshTenant(deps, params.tenant, (current) =>
          withGrant(current.spec, body.role, body.subject, body.endpoint),
        );
        if (!outcome.changed) return { status: 200, body: presentAccess(outcome.tenant) };
        guard.changed(ctx, params.tenant, 'access.grant', target);
        return { status: 201, body: presentAccess(outcome.tenant) };
      },
    }),
    defineRoute({
      operationId: 'revokeAccess',
      method: 'delete',
      path: `${prefix}/tenants/:tenant/access/:role/:kind/:name`,
      resource: 'access',
      summary: 'Revoke a grant (ServiceAccounts name their namespace, endpoint grants their endpoint)',
      authorization: 'delete tenants/<tenant>/access; patch tenants/<tenant> for the admins role',
      params: revokeParams,
      query: revokeQuery,
      responses: { 200: { description: 'Revoked', schema: accessDto } },
      async handle(ctx, { params, query }) {
        const revoked: Subject = {
          kind: params.kind,
          name: params.name,
          ...(query.namespace ? { namespace: query.namespace } : {}),
        };
        const target = grantTarget(params.tenant, params.role, revoked, query.endpoint);
        await guard.tenant(ctx, params.tenant, {
          action: 'access.revoke',
          target,
          ...grantCheck(params.role, 'delete'),
        });
        const outcome = await onFreshTenant(deps, params.tenant, (current) => {
          const spec = withoutGrant(current.spec, params.role, revoked, query.endpoint);
          if (!spec) throw new NotFoundError('grant', target, `no such grant on tenant "${params.tenant}"`);
          return spec;
        });
        guard.changed(ctx, params.tenant, 'access.revoke', target);
        return { status: 200, body: presentAccess(outcome.tenant) };
      },
    }),
  ];
}

/**
 * A grant names an endpoint of this tenant that exists: a grant on a name the tenant does not own would be a
 * standing Role waiting for whoever creates that endpoint later.
 */
async function requireOwnEndpoint(deps: RouteDeps, tenant: string, endpoint: string): Promise<void> {
  if (deps.endpointExists && (await deps.endpointExists(tenant, endpoint))) return;
  throw new InvalidError([
    { pointer: '/endpoint', message: `tenant "${tenant}" has no endpoint "${endpoint}"` },
  ]);
}

/**
 * The RBAC check for changing a grant (docs/rbac.md): who administers a tenant is part of the tenant
 * itself (platform admins, `patch tenants`); users and endpoint users are the `access` subresource.
 */
function grantCheck(role: AccessRole, verb: 'create' | 'delete') {
  return role === 'admins' ? { verb: 'patch' as const } : { verb, subresource: 'access' as const };
}

/** Waits before another attempt of a change that lost a race: short, growing, bounded (client-go's habit). */
const CONFLICT_BACKOFF_MS = [25, 50, 100, 200, 400];

/**
 * Applies `change` to the tenant's spec with the read resourceVersion as precondition, so a concurrent change is
 * never overwritten; when it loses that race (the operator's status write, another grant, a cache a moment
 * behind), it reads again and applies the change to what is there now. The caller named no version, so a
 * retry is what they asked for. `change` answers undefined when there is nothing to do.
 */
async function onFreshTenant(
  deps: RouteDeps,
  name: string,
  change: (current: Tenant) => TenantSpec | undefined,
): Promise<{ tenant: Tenant; changed: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const current = await deps.tenants.get(name);
    const spec = change(current);
    if (!spec) return { tenant: current, changed: false };
    try {
      const tenant = await deps.tenants.update(name, spec, {
        resourceVersion: current.metadata.resourceVersion,
      });
      return { tenant, changed: true };
    } catch (error) {
      const wait = CONFLICT_BACKOFF_MS[attempt];
      if (!(error instanceof ConflictError) || wait === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

function sameSubject(a: Subject, b: Subject): boolean {
  return a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');
}

function grantTarget(tenant: string, role: AccessRole, s: Subject, endpoint?: string): string {
  const who = `${s.kind}/${s.namespace ? `${s.namespace}/` : ''}${s.name}`;
  return `tenants/${tenant}/access/${role}/${endpoint ? `${endpoint}/` : ''}${who}`;
}

/** The spec with the grant added, or undefined when it is already there. */
export function withGrant(
  spec: TenantSpec,
  role: AccessRole,
  s: Subject,
  endpoint?: string,
): TenantSpec | undefined {
  if (role === 'endpointUsers') {
    const grants = spec.endpointGrants ?? [];
    const existing = grants.find((g) => g.endpoint === endpoint);
    if (existing?.subjects.some((x) => sameSubject(x, s))) return undefined;
    const next = existing
      ? grants.map((g) => (g === existing ? { endpoint: g.endpoint, subjects: [...g.subjects, s] } : g))
      : [...grants, { endpoint: endpoint as string, subjects: [s] }];
    return { ...spec, endpointGrants: next };
  }
  const current = spec[role] ?? [];
  if (current.some((x) => sameSubject(x, s))) return undefined;
  return { ...spec, [role]: [...current, s] };
}

/** The spec with the grant removed, or undefined when there was no such grant. */
export function withoutGrant(
  spec: TenantSpec,
  role: AccessRole,
  s: Subject,
  endpoint?: string,
): TenantSpec | undefined {
  if (role === 'endpointUsers') {
    const grants = spec.endpointGrants ?? [];
    const existing = grants.find((g) => g.endpoint === endpoint);
    if (!existing?.subjects.some((x) => sameSubject(x, s))) return undefined;
    const remaining = existing.subjects.filter((x) => !sameSubject(x, s));
    const next = grants
      .map((g) => (g === existing ? { endpoint: g.endpoint, subjects: remaining } : g))
      .filter((g) => g.subjects.length > 0);
    return { ...spec, endpointGrants: next };
  }
  const current = spec[role] ?? [];
  if (!current.some((x) => sameSubject(x, s))) return undefined;
  return { ...spec, [role]: current.filter((x) => !sameSubject(x, s)) };
}
