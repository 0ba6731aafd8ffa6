import { describe, expect, it } from 'vitest';
import { gatewayRelease } from '../../../src/localcluster/mesh.ts';
import { renderReleaseValues } from '../../../src/localcluster/release.ts';

describe('the chart values of the local node', () => {
  it('run the locally built image, never pulled, behind the gateway Istio’s gateway chart made', () => {
    const values = renderReleaseValues({
      tenantmesh: 'tenantmesh.local/tenantmesh:sha-0123abcd',
      minio: 'tenantmesh.local/minio:sha-4567',
    });
    expect(values).toMatchObject({
      image: { repository: 'tenantmesh.local/tenantmesh', tag: 'sha-0123abcd', pullPolicy: 'Never' },
      gateway: {
        namespace: 'istio-system',
        serviceAccount: gatewayRelease,
        selector: { istio: 'ingressgateway' },
      },
    });
  });

  it('serve the model registry from the node’s PostgreSQL through the Secret prepareRelease writes', () => {
    expect(renderReleaseValues({ tenantmesh: 't:1' })['registry']).toEqual({
      databaseSecret: 'tenantmesh-registry-database',
      sslMode: 'disable',
    });
  });

  it('point the mlserver runtime at the MLServer image the node built', () => {
    const images = { tenantmesh: 'tenantmesh.local/tenantmesh:a', mlserver: 'tenantmesh.local/mlserver:b' };
    expect(renderReleaseValues(images)['runtimeImages']).toEqual({ mlserver: 'tenantmesh.local/mlserver:b' });
    expect(renderReleaseValues({ tenantmesh: 'tenantmesh.local/tenantmesh:a' })).not.toHaveProperty(
      'runtimeImages',
    );
  });

  it('say what is missing when the node was started without the tenantmesh image', () => {
    expect(() => renderReleaseValues({ minio: 'm:1' })).toThrow(/no tenantmesh image/);
  });
});
