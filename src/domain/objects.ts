/** Reference from a dependent object to its owner; the operator sets these, renderers never do. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The part of Kubernetes ObjectMeta that tenantmesh reads or writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Any Kubernetes object, as rendered for server-side apply or read back from the API. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A Kubernetes int-or-string value such as a resource quantity ("500m", "2Gi", 4). */
export type IntOrString = number | string;
