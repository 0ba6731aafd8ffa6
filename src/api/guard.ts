import { enforceTenantVerdict, judgeTenantAction } from '../auth/authorize.ts';
import type { Authorizer, TenantAction, TenantSubresource } from '../auth/authorize.ts';
import { ForbiddenError } from '../domain/errors.ts';
import type { AuditLog } from './audit.ts';
import { identityOf } from './route.ts';
import type { ApiContext } from './route.ts';

/** What a handler is about to do, for the RBAC check and the audit line. */
export interface GuardedAction {
  /** Audit action name, e.g. `tenants.update`. */
  action: string;
  /** Audit target, e.g. `tenants/acme`. */
  target: string;
  verb: TenantAction['verb'];
  subresource?: TenantSubresource;
}

/**
 * Authorization and audit for handlers. Every denial is audited here; handlers call `changed` after a
 * state change succeeded, so the audit log holds exactly what happened and what was refused.
 */
export interface Guard {
  /** Allows, or throws NotFound (tenant hidden from the caller) / Forbidden (visible, action refused). */
  tenant(ctx: ApiContext, tenant: string, action: GuardedAction): Promise<void>;
  /** Allows a platform-wide action on the `tenants` collection (e.g. create), or throws Forbidden. */
  platform(ctx: ApiContext, action: GuardedAction): Promise<void>;
  /** Whether the caller may `get` the tenant (for filtering lists; not audited). */
  canSee(ctx: ApiContext, tenant: string): Promise<boolean>;
  /** Whether the caller may act on the whole collection (e.g. list every tenant; not audited). */
  canDoPlatformWide(ctx: ApiContext, verb: TenantAction['verb']): Promise<boolean>;
  /** Whether the caller may take an action on a tenant (for telling clients what they may do; not audited). */
  may(ctx: ApiContext, tenant: string, action: Omit<TenantAction, 'resource' | 'name'>): Promise<boolean>;
  /** Records a successful state change. */
  changed(ctx: ApiContext, tenant: string | null, action: string, target: string): void;
}

/** Builds the guard over an authorizer and an audit log. */
export function createGuard(authorizer: Authorizer, audit: AuditLog): Guard {
  const record = (
    ctx: ApiContext,
    tenant: string | null,
    action: string,
    target: string,
    decision: 'allow' | 'deny',
    reason: string,
  ) => {
    const identity = identityOf(ctx);
    audit.record({
      request_id: ctx.state.requestId,
      subject: identity.username,
      groups: identity.groups,
      tenant,
      action,
      target,
      decision,
      reason,
    });
  };

  return {
    async tenant(ctx, tenant, action) {
      const verdict = await judgeTenantAction(authorizer, identityOf(ctx), tenant, {
        verb: action.verb,
        subresource: action.subresource,
      });
      if (verdict.outcome !== 'allowed') {
        record(ctx, tenant, action.action, action.target, 'deny', `${verdict.outcome}: ${verdict.reason}`);
      }
      enforceTenantVerdict(verdict, tenant);
    },
    async platform(ctx, action) {
      const decision = await authorizer.can(identityOf(ctx), { verb: action.verb, resource: 'tenants' });
      if (!decision.allowed) {
        record(ctx, null, action.action, action.target, 'deny', decision.reason);
        throw new ForbiddenError(`not allowed to ${action.verb} tenants`);
      }
    },
    async canSee(ctx, tenant) {
      return (await authorizer.can(identityOf(ctx), { verb: 'get', resource: 'tenants', name: tenant }))
        .allowed;
    },
    async canDoPlatformWide(ctx, verb) {
      return (await authorizer.can(identityOf(ctx), { verb, resource: 'tenants' })).allowed;
    },
    async may(ctx, tenant, action) {
      const verdict = await judgeTenantAction(authorizer, identityOf(ctx), tenant, action);
      return verdict.outcome === 'allowed';
    },
    changed(ctx, tenant, action, target) {
      record(ctx, tenant, action, target, 'allow', 'allowed by RBAC');
    },
  };
}
