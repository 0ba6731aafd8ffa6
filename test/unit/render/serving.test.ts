import { describe, expect, it } from 'vitest';
import { tenantContext } from '../../../src/render/index.ts';
import { modelDirectory, renderDeployment } from '../../../src/render/deployment.ts';
import { renderService } from '../../../src/render/service.ts';
import { defaultRuntimes, sampleInput, toYaml } from './fixtures.ts';

type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown;
  securityContext: Record<string, unknown>;
  resources: unknown;
  ports?: { name: string }[];
};
type PodSpec = {
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  initContainers: Container[];
  containers: Container[];
};

const ctx = tenantContext(sampleInput());
const [bert, resnet] = ctx.endpoints;
const podOf = (deployment: ReturnType<typeof renderDeployment>) =>
  (deployment.spec as { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } }).template;

describe('serving objects', () => {
  it('match the golden Deployments and Services', async () => {
    const objects = ctx.endpoints.flatMap((e) => [renderDeployment(e), renderService(e)]);
    await expect(toYaml(objects)).toMatchFileSnapshot('__golden__/serving.yaml');
  });

  it('the model puller pulls the resolved version into the runtime model path with the runtime layout', () => {
    const puller = podOf(renderDeployment(resnet!)).spec.initContainers[0]!;
    expect(puller.args).toEqual([
      'pull-model',
      '--model=resnet50',
      '--version=2024-06-01',
      '--layout=tensorflow-saved-model',
      '--target=/models/resnet50/1',
    ]);
  });

  it('the model puller takes its credentials only from the tenant storage Secret', () => {
    const puller = podOf(renderDeployment(resnet!)).spec.initContainers[0]!;
    expect(puller.envFrom).toBeUndefined();
    const secretKey = (name: string, optional?: boolean) => ({
      name,
      valueFrom: {
        secretKeyRef: { name: 'tenantmesh-acme-storage-read', key: name, ...(optional ? { optional } : {}) },
      },
    });
    expect(puller.env).toEqual([
      secretKey('AWS_ENDPOINT_URL'),
      secretKey('AWS_ACCESS_KEY_ID'),
      secretKey('AWS_SECRET_ACCESS_KEY'),
      secretKey('AWS_SESSION_TOKEN', true),
      secretKey('TENANTMESH_BUCKET'),
    ]);
  });

  it('serving pods are meshed, unprivileged and carry no ServiceAccount token', () => {
    const pod = podOf(renderDeployment(bert!));
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of [...pod.spec.initContainers, ...pod.spec.containers]) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
    }
  });

  it("an endpoint's own resources override the runtime defaults field by field", () => {
    const server = podOf(renderDeployment(resnet!)).spec.containers[0]!;
    expect(server.resources).toEqual({
      requests: { cpu: '1', memory: '1Gi' },
      // A request without a limit is its own limit: what the quota counts bounds what the pod may use.
      limits: { cpu: '1', memory: '3Gi' },
    });
  });

  it('ports are named so Istio knows gRPC from HTTP', () => {
    const service = renderService(resnet!) as unknown as {
      spec: { ports: { name: string; appProtocol: string }[] };
    };
    expect(service.spec.ports.map((p) => [p.name, p.appProtocol])).toEqual([
      ['grpc-inference', 'grpc'],
      ['http-inference', 'http'],
    ]);
  });

  it('a Triton model version lands as a whole model directory in the repository', () => {
    const triton = defaultRuntimes().find((r) => r.metadata.name === 'triton')!;
    expect(modelDirectory(triton, 'bert', 'v7')).toBe('/models/bert');
  });
});
