import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { Kube, KubeObject } from '../kube/index.ts';
import { assetPath, type Assets } from '../testenv/provision.ts';
import type { MeshImages } from './images.ts';
import { waitForDeployment } from './node.ts';

const execFileAsync = promisify(execFile);
const meshConfigFile = fileURLToPath(new URL('../../istio/mesh-config.yaml', import.meta.url));

export const istioNamespace = 'istio-system';
/** Release name of Istio's gateway chart; the chart names the gateway's ServiceAccount (its principal) after it. */
export const gatewayRelease = 'istio-ingressgateway';

/** The meshConfig tenantmesh needs, read from istio/mesh-config.yaml (the one place it is written down). */
export function tenantmeshMeshConfig(): Record<string, unknown> {
  const overlay = parse(readFileSync(meshConfigFile, 'utf8')) as {
    spec: { meshConfig: Record<string, unknown> };
  };
  return overlay.spec.meshConfig;
}

/**
 * Values for Istio's istiod chart on the local node: our images, never pulled; the Authorino extension provider;
 * and istiod's own switches for the Istio-only Envoy extensions the upstream Envoy here lacks (metadata exchange,
 * ALPN override). Telemetry filters are switched off by a mesh-wide Telemetry (see {@link renderNoMetricsTelemetry}).
 */
export function renderIstiodValues(images: MeshImages): Record<string, unknown> {
  return {
    image: images.pilot.reference,
    autoscaleEnabled: false,
    replicaCount: 1,
    resources: { requests: { cpu: '50m', memory: '256Mi' } },
    env: {
      PILOT_ENABLE_METADATA_EXCHANGE: 'false',
      PILOT_ENABLE_ALPN_FILTER: 'false',
    },
    meshConfig: { ...tenantmeshMeshConfig(), enablePrometheusMerge: false },
    global: {
      imagePullPolicy: 'Never',
      proxy: {
        image: images.proxyv2.reference,
        resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } },
      },
      proxy_init: { image: images.proxyv2.reference },
      defaultPodDisruptionBudget: { enabled: false },
    },
  };
}

/** Values for Istio's gateway chart: the selector label tenantmesh's Gateways use, XFCC sanitised and set. */
export function renderGatewayValues(): Record<string, unknown> {
  return {
    labels: { istio: 'ingressgateway' },
    service: { type: 'ClusterIP' },
    imagePullPolicy: 'Never',
    autoscaling: { enabled: false },
    replicaCount: 1,
    resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } },
    podAnnotations: {
      'proxy.istio.io/config': stringify({ gatewayTopology: { forwardClientCertDetails: 'SANITIZE_SET' } }),
    },
  };
}

/** Mesh-wide Telemetry disabling the metrics filters (`istio.stats` is not in upstream Envoy). */
export function renderNoMetricsTelemetry(): KubeObject {
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: { name: 'mesh-default', namespace: istioNamespace },
    spec: { metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ disabled: true }] }] },
  } as KubeObject;
}

/**
 * Installs Istio on the node from Istio's own Helm charts (base, istiod, gateway) with `helm upgrade --install`,
 * and waits for istiod and the gateway to be available.
 */
export async function installMesh(options: {
  kube: Kube;
  assets: Assets;
  images: MeshImages;
  kubeconfig: string;
  workDir: string;
  log: (line: string) => void;
}): Promise<void> {
  const charts = assetPath(options.assets, 'istio-charts');
  const helm = async (args: string[]) => {
    try {
      await execFileAsync(assetPath(options.assets, 'helm'), [...args, '--kubeconfig', options.kubeconfig], {
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      throw new Error(`helm ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
        cause: error,
      });
    }
  };
  const valuesFile = (name: string, values: Record<string, unknown>) => {
    const file = path.join(options.workDir, `${name}-values.yaml`);
    writeFileSync(file, stringify(values));
    return file;
  };
  const install = (release: string, chart: string, values: Record<string, unknown>) =>
    helm([
      'upgrade',
      '--install',
      release,
      path.join(charts, chart),
      '--namespace',
      istioNamespace,
      '--create-namespace',
      '--values',
      valuesFile(release, values),
      '--wait',
      '--timeout',
      '5m',
    ]);

  let stepStarted = Date.now();
  const done = (what: string) => {
    options.log(`[mesh] ${what} in ${((Date.now() - stepStarted) / 1000).toFixed(1)} s`);
    stepStarted = Date.now();
  };
  await install('istio-base', 'base', { defaultRevision: 'default' });
  done('Istio base (CRDs, validation) installed');
  await install('istiod', 'istiod', renderIstiodValues(options.images));
  await waitForDeployment(options.kube, istioNamespace, 'istiod', 180_000);
  await options.kube.applyObject(renderNoMetricsTelemetry(), {
    fieldManager: 'tenantmesh-node',
    force: true,
  });
  done('istiod available');
  await install(gatewayRelease, 'gateway', renderGatewayValues());
  await waitForDeployment(options.kube, istioNamespace, gatewayRelease, 180_000);
  done('ingress gateway available');
}
