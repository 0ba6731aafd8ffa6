import {
  CRD_DEFAULTS,
  commonLabels,
  endpointPodSelector,
  storageCredentialSecretName,
} from '../domain/index.ts';
import type { CpuMemory, EndpointResources, KubeObject, ServingRuntime } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { EndpointContext } from './types.ts';

/** Container port names: Istio reads the protocol from the `grpc-`/`http-` prefix. */
export const PORT_NAMES = { grpc: 'grpc-inference', http: 'http-inference' } as const;

/** Name of the init container; the operator reads its termination message into the endpoint's status. */
export const MODEL_PULLER_CONTAINER = 'model-puller';

/** Environment of the model puller, all from the tenant's storage Secret (src/render/secrets.ts). */
export const MODEL_STORE_ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'TENANTMESH_BUCKET',
] as const;

/** Non-root user the serving pods run as (runtime images differ; this one is fixed and unprivileged). */
const POD_USER = 65532;

const MODEL_VOLUME = 'model';
const TMP_VOLUME = 'tmp';

/** Where the model version's files go inside the runtime container. */
export function modelDirectory(runtime: ServingRuntime, model: string, version: string): string {
  const relative = runtime.spec.modelPath.template
    .replaceAll('{model}', model)
    .replaceAll('{version}', version);
  return `${modelRoot(runtime)}/${relative}`;
}

function modelRoot(runtime: ServingRuntime): string {
  return (
    runtime.spec.modelPath.mountPath ?? CRD_DEFAULTS.ServingRuntime['spec.modelPath.mountPath']
  ).replace(/\/+$/, '');
}

/** The hardened container security context every tenantmesh container gets. */
export function restrictedContainerSecurity(): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
  };
}

function storagePort(endpoint: string): string {
  const url = new URL(endpoint);
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function compact(resources: CpuMemory | undefined): CpuMemory | undefined {
  if (!resources) return undefined;
  const out: CpuMemory = {};
  if (resources.cpu !== undefined) out.cpu = resources.cpu;
  if (resources.memory !== undefined) out.memory = resources.memory;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The endpoint's own requests/limits win, field by field, over the runtime's defaults; a request without a
 * limit becomes the limit too, so a replica never uses more than the tenant's quota counted for it.
 */
export function effectiveResources(ctx: EndpointContext): EndpointResources {
  const own = ctx.resource.spec.resources ?? {};
  const fallback = ctx.runtime.spec.container.resources ?? {};
  const result: EndpointResources = {};
  const requests = compact({ ...fallback.requests, ...own.requests });
  const limits = compact({ ...requests, ...fallback.limits, ...own.limits });
  if (requests) result.requests = requests;
  if (limits) result.limits = limits;
  return result;
}

function containerPorts(runtime: ServingRuntime): Record<string, unknown>[] {
  const ports: Record<string, unknown>[] = [];
  if (runtime.spec.ports.grpc !== undefined) {
    ports.push({ name: PORT_NAMES.grpc, containerPort: runtime.spec.ports.grpc, protocol: 'TCP' });
  }
  if (runtime.spec.ports.http !== undefined) {
    ports.push({ name: PORT_NAMES.http, containerPort: runtime.spec.ports.http, protocol: 'TCP' });
  }
  return ports;
}

/** Ready means the model is loaded where the runtime can say so over REST; otherwise the port is open. */
function readinessProbe(runtime: ServingRuntime, model: string): Record<string, unknown> {
  const timing = { periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 2 };
  const { protocols, ports } = runtime.spec;
  if (ports.http !== undefined && protocols.includes('kserve-v2-rest')) {
    return { httpGet: { path: `/v2/models/${model}/ready`, port: PORT_NAMES.http }, ...timing };
  }
  if (ports.http !== undefined && protocols.includes('tfserving-rest')) {
    return { httpGet: { path: `/v1/models/${model}`, port: PORT_NAMES.http }, ...timing };
  }
  return { tcpSocket: { port: ports.grpc !== undefined ? PORT_NAMES.grpc : PORT_NAMES.http }, ...timing };
}

function modelLayout(runtime: ServingRuntime): string {
  return runtime.spec.modelPath.layout ?? CRD_DEFAULTS.ServingRuntime['spec.modelPath.layout'];
}

/**
 * The init step: `pull-model` of the tenantmesh image downloads the version with the tenant's read-only,
 * expiring credentials, verifies it against its manifest, unpacks it and lays it out for the runtime. A
 * failure ends it with a one-line termination message, which the operator shows on the endpoint.
 */
function modelPuller(ctx: EndpointContext, directory: string): Record<string, unknown> {
  const secret = storageCredentialSecretName(ctx.tenant);
  return {
    name: MODEL_PULLER_CONTAINER,
    image: ctx.platform.modelPullerImage,
    args: [
      'pull-model',
      `--model=${ctx.resource.spec.model.name}`,
      `--version=${ctx.modelVersion}`,
      `--layout=${modelLayout(ctx.runtime)}`,
      `--target=${directory}`,
    ],
    env: MODEL_STORE_ENV_KEYS.map((name) => ({
      name,
      valueFrom: {
        secretKeyRef: {
          name: secret,
          key: name,
          ...(name === 'AWS_SESSION_TOKEN' ? { optional: true } : {}),
        },
      },
    })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    securityContext: restrictedContainerSecurity(),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      { name: MODEL_VOLUME, mountPath: modelRoot(ctx.runtime) },
      { name: TMP_VOLUME, mountPath: '/tmp' },
    ],
  };
}

function runtimeContainer(ctx: EndpointContext, directory: string): Record<string, unknown> {
  const template = ctx.runtime.spec.container;
  const model = ctx.resource.spec.model.name;
  const env = [
    ...(template.env ?? []),
    { name: 'TENANTMESH_MODEL_NAME', value: model },
    { name: 'TENANTMESH_MODEL_VERSION', value: ctx.modelVersion },
    { name: 'TENANTMESH_MODEL_DIR', value: directory },
    { name: 'TENANTMESH_MODEL_ROOT', value: modelRoot(ctx.runtime) },
  ];
  const container: Record<string, unknown> = { name: 'server', image: template.image };
  if (template.command) container.command = template.command;
  if (template.args) container.args = template.args;
  container.env = env;
  container.ports = containerPorts(ctx.runtime);
  container.readinessProbe = readinessProbe(ctx.runtime, model);
  container.resources = effectiveResources(ctx);
  container.securityContext = restrictedContainerSecurity();
  container.volumeMounts = [
    { name: MODEL_VOLUME, mountPath: modelRoot(ctx.runtime), readOnly: true },
    { name: TMP_VOLUME, mountPath: '/tmp' },
  ];
  return container;
}

/**
 * The endpoint's Deployment: an init container pulls the model version out of the tenant's bucket with
 * that tenant's read-only credentials and lays it out for the runtime, then the runtime serves it. The pod is meshed (its only ingress is
 * the gateway), runs unprivileged with a read-only root filesystem and no ServiceAccount token.
 */
export function renderDeployment(ctx: EndpointContext): KubeObject {
  const directory = modelDirectory(ctx.runtime, ctx.resource.spec.model.name, ctx.modelVersion);
  const labels = commonLabels('serving', ctx.tenant, ctx.endpoint);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(ctx.name, ctx.platform.servingNamespace, labels),
    spec: {
      replicas: ctx.resource.spec.replicas ?? CRD_DEFAULTS.InferenceEndpoint['spec.replicas'],
      revisionHistoryLimit: 3,
      selector: { matchLabels: endpointPodSelector(ctx.tenant, ctx.endpoint) },
      template: {
        metadata: {
          labels: { ...labels, 'sidecar.istio.io/inject': 'true' },
          annotations: {
            // The puller runs before the sidecar is up; its traffic to the object store must bypass it.
            'traffic.sidecar.istio.io/excludeOutboundPorts': storagePort(ctx.platform.storage.endpoint),
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: POD_USER,
            runAsGroup: POD_USER,
            fsGroup: POD_USER,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          initContainers: [modelPuller(ctx, directory)],
          containers: [runtimeContainer(ctx, directory)],
          volumes: [
            { name: MODEL_VOLUME, emptyDir: {} },
            { name: TMP_VOLUME, emptyDir: {} },
          ],
        },
      },
    },
  };
}
