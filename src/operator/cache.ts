import type { InferenceEndpoint, ServingRuntime, Tenant } from '../domain/index.ts';
import type { KubeObject } from '../kube/index.ts';
import { LABELS } from '../domain/index.ts';

/** apiVersion and kind of an object the operator writes. */
export interface OwnedKind {
  apiVersion: string;
  kind: string;
  /** The API group that must be served for the kind to exist (feature detection). */
  group: string;
  /** Informers watch only these namespaces (none: cluster-scoped). */
  namespaced: boolean;
  /**
   * Watched only in the platform's own namespaces (serving, gateway, CA), one informer each, so the operator
   * needs no cluster-wide right on the kind: Secrets hold keys, and the chart grants them per namespace.
   */
  platformNamespacesOnly?: boolean;
  /**
   * Served from a CRD with a status subresource, where the apiserver bumps the generation for every change
   * outside status and metadata: an update with the same generation only moved another controller's status.
   */
  customResource?: boolean;
  /**
   * The reconciler reads more than metadata of it from the cache (key material, records, rollout status), so it
   * is watched whole. Every other kind is watched as metadata only: its content is judged by
   * {@link KnownContent}, and read from the apiserver when someone else changed it.
   */
  contentRead?: boolean;
}

/** Every kind the renderers produce, in the order deletes are safest (dependents first is not needed: GC). */
export const OWNED_KINDS: OwnedKind[] = [
  {
    apiVersion: 'v1',
    kind: 'Secret',
    group: '',
    namespaced: true,
    platformNamespacesOnly: true,
    contentRead: true,
  },
  { apiVersion: 'v1', kind: 'Service', group: '', namespaced: true },
  // Not rendered: the API's client-certificate registry, watched so a revocation reaches the gateway's CRL.
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    group: '',
    namespaced: true,
    platformNamespacesOnly: true,
    contentRead: true,
  },
  { apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', namespaced: true, contentRead: true },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    group: 'rbac.authorization.k8s.io',
    namespaced: true,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    group: 'rbac.authorization.k8s.io',
    namespaced: true,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    group: 'rbac.authorization.k8s.io',
    namespaced: false,
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    group: 'rbac.authorization.k8s.io',
    namespaced: false,
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    group: 'networking.istio.io',
    namespaced: true,
    customResource: true,
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    group: 'networking.istio.io',
    namespaced: true,
    customResource: true,
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    group: 'networking.istio.io',
    namespaced: true,
    customResource: true,
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    group: 'security.istio.io',
    namespaced: true,
    customResource: true,
  },
  {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    group: 'security.istio.io',
    namespaced: true,
    customResource: true,
  },
  {
    apiVersion: 'authorino.kuadrant.io/v1beta3',
    kind: 'AuthConfig',
    group: 'authorino.kuadrant.io',
    namespaced: true,
    customResource: true,
  },
  { apiVersion: 'user.openshift.io/v1', kind: 'Group', group: 'user.openshift.io', namespaced: false },
];

/** A tenantmesh object as read from the apiserver. */
export type Live<T> = T & KubeObject;

/** Names one object of any kind. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** `apiVersion/kind/namespace/name`: identifies an object across kinds. */
export function identityOf(object: ObjectRef): string {
  return `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/**
 * The operator's read side: informer caches, never the apiserver. Workers read from here (controller-runtime's
 * cached client), so a no-op resync reads nothing and writes nothing.
 */
export interface OperatorCache {
  tenant(name: string): Live<Tenant> | undefined;
  tenantNames(): string[];
  /** Endpoints whose `spec.tenant` is `tenant`. */
  endpointsOf(tenant: string): Live<InferenceEndpoint>[];
  runtimes(): Live<ServingRuntime>[];
  /** Objects labelled for `tenant` and managed by tenantmesh, of every watched kind. */
  ownedBy(tenant: string): KubeObject[];
  /** The cached managed object with this apiVersion, kind, namespace and name. */
  owned(ref: ObjectRef): KubeObject | undefined;
  /** Why the model puller of one of the endpoint's pods failed, if one did (its termination message). */
  modelPullFailure?(tenant: string, endpoint: string): string | undefined;
}

/**
 * True when an update changed nothing the operator renders: the generation (bumped by the apiserver for every
 * spec change of a custom resource) and the metadata it sets are the same, so only status or bookkeeping moved,
 * e.g. Authorino marking an AuthConfig ready. Objects without a generation never qualify.
 */
export function onlyStatusChanged(old: KubeObject, updated: KubeObject): boolean {
  const generation = updated.metadata.generation;
  if (generation === undefined || old.metadata.generation !== generation) return false;
  const rendered = (object: KubeObject) =>
    JSON.stringify([
      object.metadata.labels,
      object.metadata.annotations,
      object.metadata.ownerReferences,
      object.metadata.finalizers,
      object.metadata.deletionTimestamp,
    ]);
  return rendered(old) === rendered(updated);
}

/** True when the object carries nothing but its metadata (it came from a metadata-only list or watch). */
export function isMetadataOnly(object: KubeObject): boolean {
  for (const key in object) if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata') return false;
  return true;
}

/** The tenant an owned object belongs to (its label), if any. */
export function tenantOfObject(object: KubeObject): string | undefined {
  return object.metadata.labels?.[LABELS.tenant];
}
