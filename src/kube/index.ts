/**
 * The public face of `src/kube`, the only folder that talks to the Kubernetes client library. Other folders
 * import from here and depend on our own types, so swapping or upgrading the library touches nothing else.
 */
export {
  createKube,
  loadKubeConfig,
  type Applied,
  type ApplyOptions,
  type DeleteOptions,
  type FieldValidation,
  type JsonPatchOperation,
  type Kube,
  type KubeConnectionOptions,
  type ListOptions,
  type NonResourceAttributes,
  type PatchOptions,
  type ResourceAttributes,
  type SubjectAccessReviewSpec,
  type SubjectAccessReviewStatus,
  type TokenReviewStatus,
  type UserInfo,
  type WatchOptions,
  type WriteOptions,
} from './client.ts';
export type { KubeConnection, KubeCredentials, KubeTls } from './kubeconfig.ts';
export { sleep, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { servesGroup, type ApiGroupInfo, type ResourceMapping } from './discovery.ts';
export {
  KubeError,
  isConflict,
  isGone,
  isNoKindMatch,
  isNotFound,
  toKubeError,
  type KubeErrorReason,
  type KubeStatusDetails,
} from './errors.ts';
export {
  Informer,
  stripManagedFields,
  type InformerHandlers,
  type InformerOptions,
  type ListWatchSource,
  type WatchHandle,
  type WatchHandlers,
} from './informer.ts';
export {
  LeaderElector,
  kubeLeaseStore,
  toMicroTime,
  type LeaderElectionOptions,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from './leader.ts';
export {
  objectKey,
  splitObjectKey,
  type KubeList,
  type KubeObject,
  type ObjectMeta,
  type OwnerReference,
  type WatchEvent,
} from './types.ts';
