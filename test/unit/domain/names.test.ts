import { describe, expect, it } from 'vitest';
import {
  InvalidError,
  isDomainError,
  isValidEndpointName,
  isValidTenantName,
  jsonPointer,
  platformConfig,
  shortEndpointName,
  tenantHostname,
} from '../../../src/domain/index.ts';

describe('names', () => {
  it('tenant names are DNS labels of 3 to 40 characters starting with a letter', () => {
    expect(isValidTenantName('acme')).toBe(true);
    expect(isValidTenantName('ab')).toBe(false);
    expect(isValidTenantName('a'.repeat(41))).toBe(false);
    expect(isValidTenantName('1acme')).toBe(false);
    expect(isValidTenantName('acme-')).toBe(false);
  });

  it('an endpoint name must leave <tenant>-<endpoint> within 63 characters', () => {
    expect(isValidEndpointName('acme', 'resnet')).toBe(true);
    expect(isValidEndpointName('acme', 'x'.repeat(58))).toBe(true);
    expect(isValidEndpointName('acme', 'x'.repeat(59))).toBe(false);
  });

  it('the short endpoint name is what follows the tenant prefix', () => {
    expect(shortEndpointName('acme', 'acme-resnet')).toBe('resnet');
    expect(shortEndpointName('acme', 'acmeresnet')).toBeUndefined();
    expect(shortEndpointName('acme', 'acme-')).toBeUndefined();
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
