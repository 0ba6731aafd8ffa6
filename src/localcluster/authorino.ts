import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Kube, KubeObject } from '../kube/index.ts';
import { readManifests } from '../testenv/cluster.ts';
import { assetPath, type Assets } from '../testenv/provision.ts';
import { waitForDeployment, waitForRollout } from './node.ts';
import { restrictedContainerSecurity } from './pod-security.ts';

/**
 * Where Authorino runs on the node: the names the Authorino Operator gives an `Authorino` named `authorino` in
 * namespace `authorino`, so the Service is the one istio/mesh-config.yaml's extension provider names.
 */
export const authorinoNamespace = 'authorino';
const name = 'authorino';
/** The Deployment Authorino runs as (and its ServiceAccount). */
export const authorinoDeployment = name;
export const authorinoService = 'authorino-authorino-authorization';
const labels = { 'app.kubernetes.io/name': 'authorino' };
/** The label selector of Authorino's Pods. */
export const authorinoPodSelector = Object.entries(labels)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

/**
 * The CAs Authorino trusts beyond its image's for https to OIDC issuers (discovery document and JWKS): the
 * ConfigMap's files, named by `SSL_CERT_DIR`, which Go adds to the system's bundle. Optional: without a private
 * issuer there is no ConfigMap and nothing changes.
 */
export const authorinoIssuerTrust = {
  configMap: 'tenantmesh-oidc-ca',
  mountPath: '/etc/tenantmesh/oidc-ca',
  /** Pod template annotation: the trusted CAs' digest, so a changed CA restarts Authorino (Go reads them once). */
  annotation: 'tenantmesh.io/oidc-ca-sha256',
} as const;

/** The shipped policy that makes the mesh's mTLS mandatory to and at Authorino (authorino/README.md). */
const meshTransportFile = fileURLToPath(new URL('../../authorino/mesh-transport.yaml', import.meta.url));

/** The objects of authorino/mesh-transport.yaml: the DestinationRule and PeerAuthentication that mandate mTLS. */
export function authorinoMeshTransport(): KubeObject[] {
  return readManifests(meshTransportFile) as KubeObject[];
}

/** The ClusterRoles of Authorino's install manifest its ServiceAccount is bound to (AuthConfigs, Secrets, reviews). */
const authorinoClusterRoles = ['authorino-manager-role', 'authorino-manager-k8s-auth-role'];

/**
 * Authorino as a Pod in a meshed namespace, watching the whole cluster (no `--watch-namespace`): tenants' AuthConfigs
 * and CA Secrets live in the serving namespace, not in Authorino's. The gateway reaches it over the mesh's mTLS,
 * mandatory once {@link installAuthorino} has applied authorino/mesh-transport.yaml.
 */
export function renderAuthorino(image: string): KubeObject[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: authorinoNamespace, labels: { 'istio-injection': 'enabled' } },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: authorinoNamespace } },
    ...authorinoClusterRoles.map((role): KubeObject => ({
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: `tenantmesh:${role}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'ServiceAccount', name, namespace: authorinoNamespace }],
    })),
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: authorinoNamespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name,
                image,
                imagePullPolicy: 'Never',
                args: [
                  'server',
                  // registry.<tenant host> has an AuthConfig of its own beside the tenant's `*.<tenant host>`.
                  '--allow-superseding-host-subsets',
                  '--ext-auth-grpc-port=50051',
                  '--ext-auth-http-port=5001',
                  '--health-probe-addr=:8081',
                  '--metrics-addr=:8080',
                ],
                ports: [
                  { name: 'grpc', containerPort: 50051 },
                  { name: 'http', containerPort: 5001 },
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 8081 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/healthz', port: 8081 }, periodSeconds: 10 },
                env: [{ name: 'SSL_CERT_DIR', value: authorinoIssuerTrust.mountPath }],
                resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
                securityContext: restrictedContainerSecurity(65532),
                volumeMounts: [
                  { name: 'oidc-ca', mountPath: authorinoIssuerTrust.mountPath, readOnly: true },
                ],
              },
            ],
            volumes: [
              {
                name: 'oidc-ca',
                configMap: { name: authorinoIssuerTrust.configMap, optional: true },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: authorinoService, namespace: authorinoNamespace, labels },
      spec: {
        selector: labels,
        ports: [
          { name: 'grpc', port: 50051, targetPort: 50051, appProtocol: 'grpc' },
          { name: 'http', port: 5001, targetPort: 5001, appProtocol: 'http' },
        ],
      },
    },
  ] as KubeObject[];
}

/**
 * Installs Authorino's own manifest (the AuthConfig CRD and its ClusterRoles) and Authorino as a Pod, and waits
 * for it to be available. Needs the mesh (the namespace is injected).
 */
export async function installAuthorino(options: {
  kube: Kube;
  assets: Assets;
  image: string;
  log: (line: string) => void;
}): Promise<void> {
  const started = Date.now();
  const upstream = readManifests(assetPath(options.assets, 'authorino-install.yaml')).filter(
    (object) =>
      object.kind === 'CustomResourceDefinition' ||
      (object.kind === 'ClusterRole' && authorinoClusterRoles.includes(object.metadata?.name ?? '')),
  );
  for (const object of [...upstream, ...renderAuthorino(options.image)]) {
    await options.kube.applyObject(object, { fieldManager: 'tenantmesh-node', force: true });
  }
  await waitForDeployment(options.kube, authorinoNamespace, name, 180_000);
  // As a cluster admin would: plain text to or at Authorino is refused from here on.
  for (const object of authorinoMeshTransport()) {
    await options.kube.applyObject(object, { fieldManager: 'tenantmesh-node', force: true });
  }
  options.log(`[authorino] available in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * What makes Authorino trust a private OIDC issuer's CA: the CA in its trust ConfigMap, and the CA's digest on its
 * Pod template (applied by a field manager of its own, so only that annotation is owned), which rolls the Pod: Go
 * loads its trusted CAs once per process.
 */
export function renderAuthorinoIssuerTrust(caPem: string): KubeObject[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: authorinoIssuerTrust.configMap, namespace: authorinoNamespace },
      data: { 'ca.crt': caPem },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: authorinoNamespace },
      spec: {
        template: {
          metadata: {
            annotations: {
              [authorinoIssuerTrust.annotation]: createHash('sha256').update(caPem).digest('hex'),
            },
          },
        },
      },
    },
  ] as KubeObject[];
}

/**
 * Makes the node's Authorino trust `caPem` for OIDC issuers and waits until a Pod that does serves alone; false
 * (nothing done) on a node without Authorino.
 */
export async function trustIssuerCaInAuthorino(
  kube: Kube,
  caPem: string,
  timeoutMs = 180_000,
): Promise<boolean> {
  if (!(await kube.get('apps/v1', 'Deployment', name, authorinoNamespace))) return false;
  for (const object of renderAuthorinoIssuerTrust(caPem)) {
    await kube.applyObject(object, { fieldManager: 'tenantmesh-node-issuer-trust', force: true });
  }
  await waitForRollout(kube, authorinoNamespace, name, timeoutMs);
  return true;
}
