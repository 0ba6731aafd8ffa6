import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  authorinoNamespace,
  authorinoService,
  renderAuthorino,
} from '../../../src/localcluster/authorino.ts';
import { tenantmeshMeshConfig } from '../../../src/localcluster/mesh.ts';

describe('Authorino on the local node', () => {
  it('matches the golden objects', async () => {
    await expect(stringify(renderAuthorino('tenantmesh.local/authorino:0123'))).toMatchFileSnapshot(
      '__golden__/authorino.yaml',
    );
  });

  it('watches the whole cluster, since AuthConfigs and CA Secrets live in the serving namespace', () => {
    const deployment = renderAuthorino('a').find((object) => object.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const args = deployment.spec.template.spec.containers.flatMap((container) => container.args);
    expect(args).toContain('server');
    expect(args.some((arg) => arg.startsWith('--watch-namespace'))).toBe(false);
  });

  it("is the Service the mesh config's extension provider names", () => {
    const providers = tenantmeshMeshConfig()['extensionProviders'] as {
      envoyExtAuthzGrpc: { service: string; port: number };
    }[];
    const provider = providers[0]?.envoyExtAuthzGrpc;
    expect(provider?.service).toBe(`${authorinoService}.${authorinoNamespace}.svc.cluster.local`);
    const service = renderAuthorino('a').find((object) => object.kind === 'Service') as unknown as {
      spec: { ports: { port: number }[] };
    };
    expect(service.spec.ports.map((port) => port.port)).toContain(provider?.port);
  });
});
