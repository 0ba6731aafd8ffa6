import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderObjectStore } from '../../../src/localcluster/object-store.ts';

describe('the object store on the local node', () => {
  it('matches the golden objects', async () => {
    await expect(
      stringify(
        renderObjectStore({
          image: 'tenantmesh.local/minio:0123',
          namespace: 'tenantmesh-system',
          credentialsSecret: 'tenantmesh-storage',
        }),
      ),
    ).toMatchFileSnapshot('__golden__/object-store.yaml');
  });

  it('logs in with the keys of the chart’s storage Secret', () => {
    const text = stringify(renderObjectStore({ image: 'm', namespace: 'n', credentialsSecret: 'storage' }));
    expect(text).toContain('name: MINIO_ROOT_USER');
    expect(text).toMatch(/name: storage\n\s+key: accessKey/);
    expect(text).toMatch(/name: storage\n\s+key: secretKey/);
  });
});
