import { describe, expect, it } from 'vitest';
import {
  InvalidError,
  isDomainError,
  endpointGrantRoleName,
  endpointResourceName,
  isValidEndpointName,
  isValidTenantName,
  jsonPointer,
  platformConfig,
  registryUserRoleName,
  registryUsersBindingName,
  shortEndpointName,
  tenantHostname,
} from '../../../src/domain/index.ts';

describe('names', () => {
  it('tenant names are DNS labels of 3 to 40 characters starting with a letter, without "--"', () => {
    expect(isValidTenantName('acme')).toBe(true);
    expect(isValidTenantName('acme-prod')).toBe(true);
    expect(isValidTenantName('ab')).toBe(false);
    expect(isValidTenantName('a'.repeat(41))).toBe(false);
    expect(isValidTenantName('1acme')).toBe(false);
    expect(isValidTenantName('acme-')).toBe(false);
    expect(isValidTenantName('acme--prod')).toBe(false);
  });

  it('an endpoint name must leave <tenant>--<endpoint> within 63 characters and contain no "--"', () => {
    expect(isValidEndpointName('acme', 'resnet')).toBe(true);
    expect(isValidEndpointName('acme', 'x'.repeat(57))).toBe(true);
    expect(isValidEndpointName('acme', 'x'.repeat(58))).toBe(false);
    expect(isValidEndpointName('acme', 'prod--x')).toBe(false);
    // registry.<tenant hostname> is the tenant's model registry, so no endpoint may be reached there.
    expect(isValidEndpointName('acme', 'registry')).toBe(false);
    expect(isValidEndpointName('acme', 'registry-2')).toBe(true);
  });

  it('the short endpoint name is what follows the tenant prefix and separator', () => {
    expect(shortEndpointName('acme', 'acme--resnet')).toBe('resnet');
    expect(shortEndpointName('acme', 'acme-resnet')).toBeUndefined();
    expect(shortEndpointName('acme', 'acmeresnet')).toBeUndefined();
    expect(shortEndpointName('acme', 'acme--')).toBeUndefined();
    expect(shortEndpointName('acme', 'acme---x')).toBeUndefined();
  });

  it('tenants that share a prefix never derive the same name (acme endpoint prod-x, acme-prod endpoint x)', () => {
    const acme = (e: string) => [endpointResourceName('acme', e), endpointGrantRoleName('acme', e)];
    const acmeProd = (e: string) => [
      endpointResourceName('acme-prod', e),
      endpointGrantRoleName('acme-prod', e),
    ];
    const tenantLevel = (t: string) => [registryUserRoleName(t), registryUsersBindingName(t)];
    const taken = new Set([...acmeProd('x'), ...acmeProd('prod'), ...tenantLevel('acme-prod')]);
    for (const name of [...acme('prod-x'), ...acme('prod'), ...acme('x'), ...tenantLevel('acme')]) {
      expect(taken.has(name), name).toBe(false);
    }
    // The owner of a name is recovered in exactly one way.
    expect(shortEndpointName('acme', endpointResourceName('acme-prod', 'x'))).toBeUndefined();
    expect(shortEndpointName('acme-prod', endpointResourceName('acme', 'prod-x'))).toBeUndefined();
  });

  it('a tenant without a hostname is served under <tenant>.<platform domain>', () => {
    const platform = platformConfig({ domain: 'models.test' });
    const tenant = { metadata: { name: 'acme' }, spec: {} };
    expect(tenantHostname(tenant, platform)).toBe('acme.models.test');
    expect(tenantHostname({ ...tenant, spec: { hostname: 'ml.acme.com' } }, platform)).toBe('ml.acme.com');
  });
});

describe('domain errors', () => {
  it('an invalid input names every bad field by JSON pointer', () => {
    const error = new InvalidError([{ pointer: jsonPointer(['spec', 'model/name']), message: 'required' }]);
    expect(error.message).toBe('/spec/model~1name: required');
    expect(isDomainError(error, 'Invalid')).toBe(true);
    expect(isDomainError(new Error('x'))).toBe(false);
  });
});
