import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { GROUP_VERSION, grantRefusal, type GrantRole, type Subject } from '../../../src/domain/index.ts';
import { createKube } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import type { KubeObject } from '../../../src/kube/types.ts';

const env = inject('env');
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const run = randomBytes(3).toString('hex');

function tenant(name: string, role: GrantRole, subject: Subject): KubeObject {
  const spec =
    role === 'endpointUsers'
      ? { endpointGrants: [{ endpoint: 'e', subjects: [subject] }] }
      : { [role]: [subject] };
  return { apiVersion: GROUP_VERSION, kind: 'Tenant', metadata: { name }, spec };
}

/**
 * The Tenant CRD carries the API's grant rules, so a platform admin with kubectl cannot grant what the API
 * refuses. The cases are judged by the domain's grantRefusal and by the real apiserver; both must agree.
 */
describe('the Tenant CRD refuses the grants the API refuses', () => {
  const cases: [GrantRole, Subject][] = [
    ['users', { kind: 'Group', name: 'system:unauthenticated' }],
    ['users', { kind: 'User', name: 'system:anonymous' }],
    ['endpointUsers', { kind: 'Group', name: 'system:anonymous' }],
    ['admins', { kind: 'Group', name: 'system:authenticated' }],
    ['admins', { kind: 'Group', name: 'system:masters' }],
    ['users', { kind: 'Group', name: 'system:authenticated' }],
    ['endpointUsers', { kind: 'Group', name: 'system:serviceaccounts:ml-ci' }],
    ['admins', { kind: 'User', name: 'alice@example.com' }],
  ];
  it.each(cases.map(([role, subject], index) => ({ role, subject, index })))(
    '$role = $subject.kind $subject.name: the apiserver agrees with the API',
    async ({ role, subject, index }) => {
      const name = `crd-${run}-${index}`;
      const refusedByApi = grantRefusal(role, subject) !== undefined;
      const outcome = await kube
        // Dry run: validated like a real write, and no operator ever sees the Tenant.
        .applyObject(tenant(name, role, subject), { fieldManager: 'tenantmesh-test', dryRun: true })
        .then(
          () => 'accepted',
          (error: unknown) => error,
        );
      if (refusedByApi) {
        expect(outcome).toBeInstanceOf(KubeError);
        expect((outcome as KubeError).code).toBe(422);
      } else {
        expect(outcome).toBe('accepted');
      }
    },
  );
});
