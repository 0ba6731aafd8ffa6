import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  registryDatabase,
  renderRegistryDatabase,
  renderRegistryDatabaseSecret,
} from '../../../src/localcluster/registry-database.ts';

const rendered = () =>
  renderRegistryDatabase({ image: 'tenantmesh.local/postgresql:0123', namespace: 'tenantmesh-system' });

describe('PostgreSQL for the model registry on the local node', () => {
  it('matches the golden objects', async () => {
    await expect(stringify(rendered())).toMatchFileSnapshot('__golden__/registry-database.yaml');
  });

  it('runs as non-root with a read-only root file system, its password from the Secret, never in the command', () => {
    const [deployment] = rendered();
    interface PodSpec {
      containers: { securityContext: unknown; env: unknown[]; command: string[] }[];
      volumes: { emptyDir?: unknown }[];
    }
    const pod = (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    const container = pod.containers[0]!;
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(container.env).toContainEqual({
      name: 'POSTGRES_PASSWORD',
      valueFrom: { secretKeyRef: { name: registryDatabase.credentialsSecret, key: 'password' } },
    });
    expect(container.command.join(' ')).not.toMatch(/--pwfile=\$|password=/i);
    expect(pod.volumes.map((v) => v.emptyDir !== undefined)).toEqual([true, true]);
  });

  it('admits only tenantmesh’s own Pods on the database port', () => {
    const policy = rendered().find((o) => o.kind === 'NetworkPolicy') as unknown as {
      spec: { ingress: unknown[] };
    };
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tenantmesh' } } }],
        ports: [{ port: 5432, protocol: 'TCP' }],
      },
    ]);
  });

  it('writes the connection Secret with the keys the chart’s registry.databaseSecret reads', () => {
    const secret = renderRegistryDatabaseSecret({ name: 'db', namespace: 'ns', password: 'pw' });
    expect(parse(stringify(secret))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'ns' },
      stringData: {
        host: 'postgresql.ns.svc',
        port: '5432',
        user: 'tenantmesh',
        password: 'pw',
        database: 'tenantmesh',
      },
    });
  });
});
