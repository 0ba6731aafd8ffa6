import { describe, expect, it } from 'vitest';
import { platformConfig, type InferenceEndpoint } from '../../../src/domain/index.ts';
import {
  mirrorExternalIdPrefix,
  mirroredInferenceServices,
  servingEnvironmentName,
} from '../../../src/operator/registry-mirror.ts';

const platform = platformConfig();

function endpoint(name: string, spec: Partial<InferenceEndpoint['spec']> = {}): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name, namespace: platform.servingNamespace },
    spec: { tenant: 'acme', model: { name: 'mnist', version: 'v1' }, runtime: 'triton', ...spec },
  };
}

describe('the registry mirror of a tenant’s endpoints', () => {
  it('names the serving environment after the serving namespace and keys each mirror by namespace/name', () => {
    expect(servingEnvironmentName(platform)).toBe('tenantmesh-serving');
    expect(mirrorExternalIdPrefix(platform)).toBe('tenantmesh-serving/');
  });

  it('mirrors an admitted endpoint with its model, served version, runtime, URL and DEPLOYED', () => {
    expect(
      mirroredInferenceServices(
        'acme',
        'acme.example.com',
        [{ endpoint: endpoint('acme--bert'), modelVersion: 'v1' }],
        platform,
      ),
    ).toEqual([
      {
        externalId: 'tenantmesh-serving/acme--bert',
        name: 'bert',
        description: 'InferenceEndpoint tenantmesh-serving/acme--bert',
        registeredModelName: 'mnist',
        modelVersionName: 'v1',
        runtime: 'triton',
        desiredState: 'DEPLOYED',
        url: 'https://bert.acme.example.com',
      },
    ]);
  });

  it('records an endpoint scaled to zero as UNDEPLOYED', () => {
    const [service] = mirroredInferenceServices(
      'acme',
      'acme.example.com',
      [{ endpoint: endpoint('acme--idle', { replicas: 0 }), modelVersion: 'v1' }],
      platform,
    );
    expect(service?.desiredState).toBe('UNDEPLOYED');
  });

  it('mirrors an endpoint that got no objects without a URL, with the version it asks for unless latest', () => {
    const services = mirroredInferenceServices(
      'acme',
      'acme.example.com',
      [
        { endpoint: endpoint('acme--pinned', { model: { name: 'mnist', version: 'v9' } }) },
        { endpoint: endpoint('acme--newest', { model: { name: 'mnist', version: 'latest' } }) },
      ],
      platform,
    );
    expect(services.map((s) => [s.name, s.modelVersionName, s.url])).toEqual([
      ['newest', undefined, undefined],
      ['pinned', 'v9', undefined],
    ]);
  });

  it('the version actually served wins over `latest`, and the list is sorted by name', () => {
    const services = mirroredInferenceServices(
      'acme',
      'acme.example.com',
      [
        { endpoint: endpoint('acme--b', { model: { name: 'm', version: 'latest' } }), modelVersion: '3' },
        { endpoint: endpoint('acme--a'), modelVersion: 'v1' },
      ],
      platform,
    );
    expect(services.map((s) => [s.name, s.modelVersionName])).toEqual([
      ['a', 'v1'],
      ['b', '3'],
    ]);
  });

  it('ignores an endpoint whose name does not belong to the tenant', () => {
    expect(
      mirroredInferenceServices('acme', 'acme.example.com', [{ endpoint: endpoint('other--x') }], platform),
    ).toEqual([]);
  });
});
