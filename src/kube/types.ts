/**
 * Plain-JSON shapes of Kubernetes objects as the facade sends and returns them. They are ours (not the
 * client library's model classes) so that no other folder depends on the library and objects round-trip
 * unchanged: timestamps stay RFC 3339 strings and unknown fields survive.
 */

/** An owner reference; the operator sets `controller: true` on the children it manages. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The metadata fields tenantmesh reads or writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  [field: string]: unknown;
}

/** Any Kubernetes object: built-in kinds and custom resources alike. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A list answer: the items and the collection resourceVersion a watch continues from. */
export interface KubeList<T extends KubeObject = KubeObject> {
  items: T[];
  resourceVersion: string;
}

/** One event of a watch stream, as the apiserver sends it. */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | {
      type: 'BOOKMARK';
      object: { apiVersion?: string; kind?: string; metadata: { resourceVersion: string } };
    }
  | { type: 'ERROR'; object: { code?: number; reason?: string; message?: string } };

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's cache key). */
export function objectKey(obj: { metadata: { name: string; namespace?: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Splits an object key made by {@link objectKey}. */
export function splitObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
