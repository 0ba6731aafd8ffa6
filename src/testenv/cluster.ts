import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createKube, type KubeObject as KubernetesObject } from '../kube/index.ts';
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
  const kube = createKube({ kubeconfigPath: options.kubeconfigPath });
  const crds = clusterCrds(options.assets);
  for (const object of [
    ...options.namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...crds,
    ...authorinoRbac(options.authorinoUser),
  ]) {
    await kube.applyObject(object, { fieldManager, force: true });
  }
  await waitFor(
    async () => {
      for (const crd of crds) {
        const current = await kube.get<
          KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }
        >('apiextensions.k8s.io/v1', 'CustomResourceDefinition', crd.metadata.name);
        const established = current?.status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        );
        if (!established) return false;
        // Discovery serves a group-version a moment after Established; a test's first object must find its kind.
        if (!(await servesKind(kube, crd))) return false;
      }
      return true;
    },
    {
      description: `${crds.length} CRDs to be Established and discovered`,
      timeoutMs: 60_000,
      intervalMs: 200,
    },
  );
}

/** True once discovery maps each served version of the CRD to its kind (the client refetches on a miss). */
async function servesKind(kube: ReturnType<typeof createKube>, crd: KubernetesObject): Promise<boolean> {
  const spec = (crd as { spec?: CrdSpec }).spec;
  if (!spec) return true;
  for (const version of spec.versions.filter((v) => v.served)) {
    const found = await kube.resourceFor(`${spec.group}/${version.name}`, spec.names.kind).then(
      () => true,
      () => false,
    );
    if (!found) return false;
  }
  return true;
}

interface CrdSpec {
  group: string;
  names: { kind: string };
  versions: { name: string; served: boolean }[];
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
