import type { KubeObject } from '../kube/index.ts';
import { LABELS } from '../domain/index.ts';
import { MODEL_PULLER_CONTAINER } from '../render/deployment.ts';

interface ContainerState {
  terminated?: { exitCode?: number; message?: string; reason?: string };
}
interface ContainerStatus {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

function failureOf(state: ContainerState | undefined): string | undefined {
  const terminated = state?.terminated;
  if (!terminated || terminated.exitCode === 0 || terminated.exitCode === undefined) return undefined;
  const message = terminated.message?.trim();
  return message
    ? message
    : `the model puller failed (${terminated.reason ?? `exit ${terminated.exitCode}`})`;
}

/**
 * Why the model puller of a serving pod failed, from its termination message: the current state while the
 * container has just ended, the last state while the kubelet waits to restart it (CrashLoopBackOff).
 */
export function modelPullFailure(pod: KubeObject): string | undefined {
  const statuses = ((pod['status'] as { initContainerStatuses?: ContainerStatus[] } | undefined)
    ?.initContainerStatuses ?? []) as ContainerStatus[];
  const puller = statuses.find((status) => status.name === MODEL_PULLER_CONTAINER);
  if (!puller) return undefined;
  return failureOf(puller.state) ?? failureOf(puller.lastState);
}

/**
 * What the operator keeps of a serving pod: its labels and the model puller's status. Pods change often and
 * are many; the cache holds no more than this.
 */
export function slimServingPod(pod: KubeObject): KubeObject {
  const statuses = ((pod['status'] as { initContainerStatuses?: ContainerStatus[] } | undefined)
    ?.initContainerStatuses ?? []) as ContainerStatus[];
  const puller = statuses.filter((status) => status.name === MODEL_PULLER_CONTAINER);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      resourceVersion: pod.metadata.resourceVersion,
      ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
    },
    status: { initContainerStatuses: puller },
  } as KubeObject;
}

/** The endpoint (short name) a serving pod belongs to. */
export function endpointOfPod(pod: KubeObject): string | undefined {
  return pod.metadata.labels?.[LABELS.endpoint];
}
