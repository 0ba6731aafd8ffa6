import { describe, expect, it } from 'vitest';
import type { InferenceEndpoint } from '../../../src/domain/index.ts';
import { tenantContext } from '../../../src/render/index.ts';
import { renderDeployment } from '../../../src/render/deployment.ts';
import { defaultRuntimes, sampleInput } from './fixtures.ts';

type Container = {
  name: string;
  command?: string[];
  args?: string[];
  env: { name: string; value?: string }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: Record<string, unknown>;
};

/** The default runtime `name` rendered for an endpoint serving model `iris`, version 3. */
function rendered(name: string) {
  const endpoint: InferenceEndpoint = {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name: 'acme--iris', namespace: 'tenantmesh-serving', uid: 'u-iris', generation: 1 },
    spec: { tenant: 'acme', model: { name: 'iris', version: '3' }, runtime: name },
  };
  const ctx = tenantContext(sampleInput({ endpoints: [{ resource: endpoint, modelVersion: '3' }] }));
  const pod = (
    renderDeployment(ctx.endpoints[0]!).spec as { template: { spec: Record<string, Container[]> } }
  ).template.spec;
  const server = pod['containers']![0]!;
  const puller = pod['initContainers']![0]!;
  const env = Object.fromEntries(server.env.map((e) => [e.name, e.value]));
  /** The arguments as the kubelet expands them: $(VAR) from the container's environment. */
  const expand = (args: string[] = []) =>
    args.map((arg) => arg.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? ''));
  return { server, puller, env, args: expand(server.args), pullerArgs: puller.args! };
}

describe('each default runtime gets its model where it looks for it', () => {
  it('TF Serving reads <base>/<numeric version>/saved_model.pb: the SavedModel lands in /models/iris/1', () => {
    const { args, pullerArgs } = rendered('tensorflow-serving');
    expect(args).toEqual([
      '--port=8500',
      '--rest_api_port=8501',
      '--model_name=iris',
      '--model_base_path=/models/iris',
    ]);
    expect(pullerArgs).toEqual(
      expect.arrayContaining(['--layout=tensorflow-saved-model', '--target=/models/iris/1']),
    );
  });

  it('OVMS reads <model_path>/<numeric version>/: the model lands in /models/iris/1', () => {
    const { args, pullerArgs } = rendered('openvino-model-server');
    expect(args).toEqual([
      '--model_name=iris',
      '--model_path=/models/iris',
      '--port=9000',
      '--rest_port=8000',
    ]);
    expect(pullerArgs).toEqual(expect.arrayContaining(['--layout=openvino', '--target=/models/iris/1']));
  });

  it('Triton reads a repository of model directories: the model directory lands in /models/iris', () => {
    const { args, pullerArgs } = rendered('triton');
    expect(args).toEqual([
      '--model-repository=/models',
      '--grpc-port=8001',
      '--http-port=8000',
      '--allow-metrics=false',
    ]);
    expect(pullerArgs).toEqual(expect.arrayContaining(['--layout=triton-model', '--target=/models/iris']));
  });

  it('MLServer scans its root for model-settings.json: the model lands in /models/iris', () => {
    const { server, env, args, pullerArgs } = rendered('mlserver');
    expect(server.command).toEqual(['mlserver']);
    expect(args).toEqual(['start', '/models']);
    expect(env).toMatchObject({ MLSERVER_HTTP_PORT: '8080', MLSERVER_GRPC_PORT: '8081' });
    expect(server.ports).toEqual([
      { name: 'grpc-inference', containerPort: 8081, protocol: 'TCP' },
      { name: 'http-inference', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(server.readinessProbe).toMatchObject({
      httpGet: { path: '/v2/models/iris/ready', port: 'http-inference' },
    });
    expect(pullerArgs).toEqual(expect.arrayContaining(['--layout=mlserver', '--target=/models/iris']));
  });

  it('every default runtime names a layout the puller knows', () => {
    expect(defaultRuntimes().map((r) => [r.metadata.name, r.spec.modelPath.layout])).toEqual([
      ['mlserver', 'mlserver'],
      ['openvino-model-server', 'openvino'],
      ['tensorflow-serving', 'tensorflow-saved-model'],
      ['triton', 'triton-model'],
    ]);
  });
});
