import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import https from 'node:https';
import { parseAllDocuments } from 'yaml';
import { assetPath, type Assets } from './provision.ts';
import { waitFor } from './wait.ts';

const fieldManager = 'tenantmesh-testenv';
const ourCrdDir = fileURLToPath(new URL('../../charts/tenantmesh/crds', import.meta.url));

/** Parses a multi-document YAML file, failing on any document with errors. */
export function readManifests(file: string): KubernetesObject[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  return documents.flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    const object = document.toJS() as KubernetesObject | null;
    return object && object.kind ? [object] : [];
  });
}

/** The CRDs every run installs: Istio's, Authorino's AuthConfig, and tenantmesh's own from charts/. */
export function clusterCrds(assets: Assets): KubernetesObject[] {
  const crds = [
    ...readManifests(assetPath(assets, 'istio-crds.yaml')),
    ...readManifests(assetPath(assets, 'authorino-install.yaml')),
  ].filter((object) => object.kind === 'CustomResourceDefinition');
  if (existsSync(ourCrdDir)) {
    for (const name of readdirSync(ourCrdDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()) {
      crds.push(...readManifests(path.join(ourCrdDir, name)));
    }
  }
  return crds;
}

/** REST paths of the cluster-scoped kinds the test environment installs. */
const clusterScopedPaths: Record<string, string> = {
  Namespace: '/api/v1/namespaces',
  CustomResourceDefinition: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
};

/**
 * Server-side applies cluster-scoped objects as raw JSON. The client library's typed serializer is avoided on
 * purpose: it drops keys its models spell differently, such as `x-kubernetes-int-or-string` in CRD schemas.
 */
export async function applyAll(kubeConfig: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const cluster = kubeConfig.getCurrentCluster();
  const user = kubeConfig.getCurrentUser();
  if (!cluster || !user?.token) throw new Error('the test environment applies with a token kubeconfig');
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString() : undefined;
  for (const object of objects) {
    const base = clusterScopedPaths[object.kind ?? ''];
    if (!base) throw new Error(`the test environment does not install ${object.kind}`);
    const url = new URL(
      `${base}/${object.metadata?.name}?fieldManager=${fieldManager}&force=true`,
      cluster.server,
    );
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = https.request(
        url,
        {
          method: 'PATCH',
          ca,
          headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/apply-patch+yaml' },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify(object));
    });
    if (status >= 300)
      throw new Error(`applying ${object.kind} ${object.metadata?.name} failed (${status}): ${body}`);
  }
}

/**
 * Installs what the cluster itself would have: namespaces, the CRDs (waiting until each is Established), and the
 * RBAC Authorino needs to read AuthConfigs and Secrets and to create TokenReviews and SubjectAccessReviews.
 */
export async function installClusterPrerequisites(options: {
  kubeconfigPath: string;
  assets: Assets;
  namespaces: string[];
  authorinoUser: string;
}): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(options.kubeconfigPath);
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const crds = clusterCrds(options.assets);
  await applyAll(kubeConfig, [
    ...options.namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...crds,
    ...authorinoRbac(options.authorinoUser),
  ]);
  await waitFor(
    async () => {
      for (const crd of crds) {
        const current = (await api.read({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: crd.metadata!.name! },
        })) as KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };
        const established = current.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        );
        if (!established) return false;
      }
      return true;
    },
    { description: `${crds.length} CRDs to be Established`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

function authorinoRbac(user: string): KubernetesObject[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const name = 'tenantmesh:authorino';
  return [
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name },
      rules: [
        { apiGroups: ['authorino.kuadrant.io'], resources: ['authconfigs'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: ['authorino.kuadrant.io'],
          resources: ['authconfigs/status'],
          verbs: ['get', 'patch', 'update'],
        },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
        },
        {
          apiGroups: [''],
          resources: ['events', 'configmaps'],
          verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
        },
      ],
    } as KubernetesObject,
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } as KubernetesObject,
  ];
}
