import { z } from 'zod';
import { ENDPOINT_NAME_PATTERN, TENANT_NAME_PATTERN } from '../domain/index.ts';

/** Tenant names: DNS labels of 3–40 characters (room for prefixes and the bucket name), no "--". */
export const tenantName = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(40, 'must be at most 40 characters')
  .regex(
    TENANT_NAME_PATTERN,
    'must be a DNS label starting with a letter: lowercase letters, digits and single "-" between them',
  );

/** Endpoint names: DNS labels without "--" (the InferenceEndpoint is `<tenant>--<endpoint>`, at most 63). */
export const endpointName = z
  .string()
  .min(1)
  .max(40)
  .regex(ENDPOINT_NAME_PATTERN, 'must be a DNS label: lowercase letters, digits and single "-" between them');

/** A Kubernetes resource quantity such as `4`, `500m`, `1.5`, `16Gi`, `100G`. */
export const quantity = z
  .string()
  .regex(
    /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/,
    'must be a Kubernetes quantity such as 500m or 16Gi',
  );

/** A DNS subdomain (RFC 1123), as hostnames are. */
export const hostname = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS name');

/** Tenant quota as the API accepts it. */
export const tenantQuota = z.strictObject({
  maxEndpoints: z.number().int().min(0).max(10_000).optional(),
  cpu: quantity.optional(),
  memory: quantity.optional(),
  storageBytes: z.number().int().min(0).optional(),
});

/** An RBAC subject; ServiceAccounts need a namespace, users and groups must not have one. */
export const subject = z
  .strictObject({
    kind: z.enum(['User', 'Group', 'ServiceAccount']),
    name: z.string().min(1).max(253),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name')
      .max(63)
      .optional(),
  })
  .refine((s) => (s.kind === 'ServiceAccount') === (s.namespace !== undefined), {
    message: 'namespace is required for ServiceAccount subjects and not allowed otherwise',
    path: ['namespace'],
  });

/** Error and list envelopes. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string(),
  requestId: z.string(),
  invalidParams: z
    .array(z.object({ pointer: z.string().optional(), parameter: z.string().optional(), reason: z.string() }))
    .optional(),
  /** Model Registry routes: the contract's error fields (the status as a string, and the detail). */
  code: z.string().optional(),
  message: z.string().optional(),
});
