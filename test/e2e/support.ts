import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../../src/testenv/wait.ts';

const execFileAsync = promisify(execFile);

/** The node's facts as the e2e global setup hands them to test workers. */
export interface NodeSummary {
  apiserverUrl: string;
  kubeconfig: string;
  kubectl: string;
  netns: string;
  root: string;
  images: Record<string, string>;
  logDir: string;
}

async function control<T>(method: 'GET' | 'POST', route: string): Promise<T> {
  const response = await fetch(`${inject('nodeControlUrl')}${route}`, { method });
  const body = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${body.message ?? ''}`);
  return body;
}

/** The running node (started again if the teardown test stopped it). */
export const currentNode = () => control<NodeSummary>('GET', '/node');
export const stopNode = () =>
  control<{ report: Record<string, unknown>; seconds: number }>('POST', '/node/stop');

/** Runs kubectl against the node as its admin; stdin is sent as given (manifests). */
export async function kubectl(node: NodeSummary, args: string[], stdin?: string): Promise<string> {
  const child = execFileAsync(node.kubectl, ['--kubeconfig', node.kubeconfig, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    throw new Error(`kubectl ${args.join(' ')}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}

export async function apply(node: NodeSummary, objects: unknown[]): Promise<void> {
  await kubectl(node, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
}

/** Runs a one-shot Pod to completion and returns its log; fails with the Pod's status if it does not succeed. */
export async function runPod(
  node: NodeSummary,
  options: {
    namespace: string;
    name: string;
    image: string;
    command: string[];
    /** Environment variables, e.g. a credential from a Secret (kept out of the Pod's command line). */
    env?: unknown[];
    timeoutMs?: number;
  },
): Promise<string> {
  await apply(node, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: options.name, namespace: options.namespace },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'main',
            image: options.image,
            imagePullPolicy: 'Never',
            command: options.command,
            env: options.env ?? [],
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
          },
        ],
      },
    },
  ]);
  let phase = '';
  await waitFor(
    async () => {
      phase = (
        await kubectl(node, [
          'get',
          'pod',
          options.name,
          '-n',
          options.namespace,
          '-o',
          'jsonpath={.status.phase}',
        ])
      ).trim();
      return phase === 'Succeeded' || phase === 'Failed';
    },
    {
      description: `Pod ${options.namespace}/${options.name} to finish`,
      timeoutMs: options.timeoutMs ?? 90_000,
      intervalMs: 500,
    },
  );
  const logs = await kubectl(node, ['logs', options.name, '-n', options.namespace]);
  if (phase !== 'Succeeded') throw new Error(`Pod ${options.name} ${phase}: ${logs}`);
  return logs;
}
