import { z } from 'zod';
import type { TenantAction, TenantSubresource } from '../../auth/authorize.ts';
import { defineRoute } from '../route.ts';
import type { ApiRoute } from '../route.ts';
import { tenantName } from '../schemas.ts';
import type { RouteDeps } from './context.ts';

/** The verbs a client (the console) asks about for each part of a tenant. */
const subresourceVerbs = ['list', 'get', 'create', 'patch', 'delete'] as const;
const subresources: TenantSubresource[] = ['access', 'models', 'endpoints', 'certificates'];

const verbMap = z.object(Object.fromEntries(subresourceVerbs.map((verb) => [verb, z.boolean()])));

/** Wire shape of what the caller may do on one tenant. */
export const tenantPermissionsDto = z.object({
  tenant: z.string(),
  tenantActions: z.object({ get: z.boolean(), patch: z.boolean(), delete: z.boolean() }),
  /** Granting or revoking the admins role needs `patch` on the tenant, other roles the access verbs. */
  access: verbMap,
  models: verbMap,
  endpoints: verbMap,
  certificates: verbMap,
});

/** Wire shape of what the caller may do platform-wide. */
export const platformPermissionsDto = z.object({
  tenants: z.object({ list: z.boolean(), create: z.boolean() }),
});

/**
 * What the caller may do, answered with the very SubjectAccessReviews the other routes make, so a client can leave
 * out the controls its user may not use. A tenant the caller may not see is answered with 404, as everywhere.
 */
export function permissionRoutes(deps: RouteDeps): ApiRoute[] {
  const { guard, prefix } = deps;
  return [
    defineRoute({
      operationId: 'getPlatformPermissions',
      method: 'get',
      path: `${prefix}/permissions`,
      resource: 'permissions',
      summary: 'What the caller may do platform-wide (list every tenant, create tenants)',
      authorization: 'any authenticated caller (answers about the caller only)',
      responses: { 200: { description: 'Permissions', schema: platformPermissionsDto } },
      async handle(ctx) {
        const [list, create] = await Promise.all([
          guard.canDoPlatformWide(ctx, 'list'),
          guard.canDoPlatformWide(ctx, 'create'),
        ]);
        return { status: 200, body: { tenants: { list, create } } };
      },
    }),
    defineRoute({
      operationId: 'getTenantPermissions',
      method: 'get',
      path: `${prefix}/tenants/:tenant/permissions`,
      resource: 'permissions',
      summary: 'What the caller may do on one tenant and its parts',
      authorization: 'get tenants/<tenant> (answers about the caller only)',
      params: z.object({ tenant: tenantName }),
      responses: { 200: { description: 'Permissions', schema: tenantPermissionsDto } },
      async handle(ctx, { params }) {
        const tenant = params.tenant;
        await guard.tenant(ctx, tenant, {
          action: 'permissions.get',
          target: `tenants/${tenant}`,
          verb: 'get',
        });
        await deps.tenants.get(tenant); // a tenant that does not exist is 404, even for those who may see all
        const may = (action: Omit<TenantAction, 'resource' | 'name'>) => guard.may(ctx, tenant, action);
        const [get, patch, del] = await Promise.all([
          may({ verb: 'get' }),
          may({ verb: 'patch' }),
          may({ verb: 'delete' }),
        ]);
        const parts = await Promise.all(
          subresources.map(async (subresource) => {
            const verdicts = await Promise.all(subresourceVerbs.map((verb) => may({ verb, subresource })));
            return [subresource, Object.fromEntries(subresourceVerbs.map((v, i) => [v, verdicts[i]]))];
          }),
        );
        return {
          status: 200,
          body: { tenant, tenantActions: { get, patch, delete: del }, ...Object.fromEntries(parts) },
        };
      },
    }),
  ];
}
