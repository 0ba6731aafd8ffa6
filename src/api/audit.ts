import type { Identity } from '../auth/identity.ts';

/** Version of the audit line format; bump when a field changes meaning. */
export const AUDIT_SCHEMA_VERSION = 1;

/** One audit line: a state change that happened, or a request that was refused. Never holds credentials. */
export interface AuditEvent {
  schema_version: number;
  time: string;
  request_id: string;
  subject: string;
  groups: string[];
  /** The tenant concerned, or null for platform-wide actions. */
  tenant: string | null;
  /** Operation, e.g. `tenants.create`, `access.grant`. */
  action: string;
  /** What was acted on, e.g. `tenants/acme`, `tenants/acme/access/users/Group/ml-team`. */
  target: string;
  decision: 'allow' | 'deny';
  reason: string;
}

/** Where audit lines go. */
export interface AuditLog {
  record(event: Omit<AuditEvent, 'schema_version' | 'time'>): void;
}

/**
 * Writes one JSON line per event through `write` (stdout by default, for the cluster's log pipeline).
 * Events are built from explicit fields only, so a token can never slip in from a request object.
 */
export function createAuditLog(
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  now: () => Date = () => new Date(),
): AuditLog {
  return {
    record(event) {
      const line: AuditEvent = {
        schema_version: AUDIT_SCHEMA_VERSION,
        time: now().toISOString(),
        request_id: event.request_id,
        subject: event.subject,
        groups: [...event.groups],
        tenant: event.tenant,
        action: event.action,
        target: event.target,
        decision: event.decision,
        reason: event.reason,
      };
      write(JSON.stringify(line));
    },
  };
}

/** The subject fields of an audit event for an identity. */
export function auditSubject(identity: Identity): { subject: string; groups: string[] } {
  return { subject: identity.username, groups: identity.groups };
}
