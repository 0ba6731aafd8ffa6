import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { endpointPodSelector, endpointResourceName } from '../../src/domain/index.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { runCli, type CliRun } from '../integration/cli/run-cli.ts';
import {
  apply,
  installedTenantmesh,
  kubectl,
  type InstalledTenantmesh,
  type NodeSummary,
} from './support.ts';

/**
 * A user of tenantmesh on this host, as the serving e2e tests drive it: the `tenantmesh` CLI with a platform
 * admin's token (a ServiceAccount bound to cluster-admin, checked by the API with a TokenReview), the chart's API
 * and the ingress gateway reached through 127.0.0.1 forwards.
 */
export interface ServingUser {
  node: NodeSummary;
  installed: InstalledTenantmesh;
  /** A scratch directory: the CLI's configuration, certificates, models. */
  work: string;
  /** The CLI's environment (server, token, configuration directory). */
  env: Record<string, string>;
  /** Runs `tenantmesh …`; fails with what it printed when it exits non-zero. */
  cli(...args: string[]): Promise<string>;
  /** Runs `tenantmesh …` and returns how it ended, for commands expected to fail. */
  run(...args: string[]): Promise<CliRun>;
}

/** A client certificate issued by `tenantmesh certificates issue --generate-key`: file paths. */
export interface ClientCertificate {
  ca: string;
  cert: string;
  key: string;
}

/** Installs the chart if needed and makes `name` a platform admin using the CLI (namespace `e2e-<name>`). */
export async function servingUser(node: NodeSummary, name: string): Promise<ServingUser> {
  const installed = await installedTenantmesh(node);
  const namespace = `e2e-${name}`;
  await apply(node, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `e2e-${name}-admin` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ]);
  const token = (
    await kubectl(node, [
      'create',
      'token',
      name,
      '-n',
      namespace,
      '--audience',
      'tenantmesh',
      '--duration',
      '2h',
    ])
  ).trim();
  const work = mkdtempSync(path.join(os.tmpdir(), `tenantmesh-e2e-${name}-`));
  const env = {
    TENANTMESH_CONFIG_DIR: path.join(work, 'config'),
    TENANTMESH_SERVER: installed.apiUrl,
    TENANTMESH_TOKEN: token,
  };
  const run = (...args: string[]) => runCli(args, env);
  const cli = async (...args: string[]) => {
    const result = await run(...args);
    if (result.code !== 0) {
      throw new Error(`tenantmesh ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
    }
    return result.stdout;
  };
  return { node, installed, work, env, cli, run };
}

/** Removes what {@link servingUser} made on the node. */
export async function removeServingUser(user: ServingUser, name: string): Promise<void> {
  await kubectl(user.node, ['delete', 'clusterrolebinding', `e2e-${name}-admin`, '--ignore-not-found']);
  await kubectl(user.node, ['delete', 'namespace', `e2e-${name}`, '--ignore-not-found', '--wait=false']);
}

/** `-l` selector text of an endpoint's Pods (and Deployment). */
export const endpointPodSelectorText = (tenant: string, endpoint: string) =>
  Object.entries(endpointPodSelector(tenant, endpoint))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

/** Waits for the endpoint's Ready condition; a timeout carries the endpoint's status and its Pods' description. */
export async function waitForEndpointReady(
  node: NodeSummary,
  tenant: string,
  endpoint: string,
  timeout = '300s',
): Promise<void> {
  const { servingNamespace } = tenantmeshRelease;
  const object = endpointResourceName(tenant, endpoint);
  try {
    await kubectl(node, [
      'wait',
      '--for=condition=Ready',
      `inferenceendpoint/${object}`,
      '-n',
      servingNamespace,
      `--timeout=${timeout}`,
    ]);
  } catch (error) {
    const show = (args: string[]) => kubectl(node, args).catch((failure: unknown) => String(failure));
    const state = [
      await show(['get', 'inferenceendpoint', object, '-n', servingNamespace, '-o', 'yaml']),
      await show([
        'describe',
        'pods',
        '-n',
        servingNamespace,
        '-l',
        endpointPodSelectorText(tenant, endpoint),
      ]),
    ].join('\n');
    throw new Error(`${(error as Error).message}\n${state}`, { cause: error });
  }
}

/** The endpoint's host as its status URL gives it (`<endpoint>.<tenant hostname>`). */
export async function endpointHost(user: ServingUser, tenant: string, endpoint: string): Promise<string> {
  const shown = JSON.parse(await user.cli('-o', 'json', 'endpoints', 'get', tenant, endpoint)) as {
    status: { url: string };
  };
  return new URL(shown.status.url).hostname;
}

/** Issues a client certificate of the tenant's CA with a key made here, into `<work>/certs/<cn>`. */
export async function issueClientCertificate(
  user: ServingUser,
  tenant: string,
  commonName: string,
): Promise<ClientCertificate> {
  const dir = path.join(user.work, 'certs', `${tenant}-${commonName}`);
  await user.cli('certificates', 'issue', tenant, commonName, '--generate-key', '--out-dir', dir);
  return {
    ca: path.join(dir, 'ca.crt'),
    cert: path.join(dir, `${commonName}.crt`),
    key: path.join(dir, `${commonName}.key`),
  };
}

/**
 * `tenantmesh infer` flags: the gateway's loopback forward, the endpoint's host, the tenant's CA and a client
 * certificate (`withCertificate: false` leaves the certificate out, as a bearer-only caller does).
 */
export function gatewayInferFlags(
  user: ServingUser,
  host: string,
  certificate: ClientCertificate,
  { withCertificate = true }: { withCertificate?: boolean } = {},
): string[] {
  return [
    ...['--address', `127.0.0.1:${user.installed.gatewayPort}`, '--authority', host, '--ca', certificate.ca],
    ...(withCertificate ? ['--cert', certificate.cert, '--key', certificate.key] : []),
  ];
}

/** `kserve infer` arguments sending rows of FP64 features, the input the trained test models take. */
export function kserveInferArgs(model: string, rows: number[][]): string[] {
  const input = {
    name: 'input-0',
    datatype: 'FP64',
    shape: [rows.length, rows[0]!.length],
    data: rows.flat(),
  };
  return ['kserve', 'infer', '--model', model, '--input', JSON.stringify(input)];
}

/** Waits until the gateway routes `host` to a model that says it is ready (`tenantmesh infer kserve ready`). */
export async function waitForGatewayRoute(
  user: ServingUser,
  host: string,
  certificate: ClientCertificate,
  model: string,
): Promise<void> {
  let last = '';
  try {
    await waitFor(
      async () => {
        const result = await user.run(
          'infer',
          ...gatewayInferFlags(user, host, certificate),
          'kserve',
          'ready',
          '--model',
          model,
        );
        last = result.stderr + result.stdout;
        return result.code === 0;
      },
      { description: `the gateway to route ${host} to a ready model`, timeoutMs: 90_000, intervalMs: 1_000 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer: ${last}`, { cause: error });
  }
}

/** A KServe v2 answer as `tenantmesh infer … kserve infer` prints it. */
export interface InferAnswer {
  model: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

/** `tenantmesh infer … kserve infer` of rows of FP64 features through the gateway. */
export async function inferThroughGateway(
  user: ServingUser,
  host: string,
  certificate: ClientCertificate,
  model: string,
  rows: number[][],
): Promise<InferAnswer> {
  const stdout = await user.cli(
    'infer',
    ...gatewayInferFlags(user, host, certificate),
    ...kserveInferArgs(model, rows),
  );
  return JSON.parse(stdout) as InferAnswer;
}

/**
 * A tenant serving a model file on the `mlserver` runtime, made through the CLI: tenant created and Ready, the
 * file uploaded as `<model>:<version>`, an endpoint named after the model, waited for until Ready.
 */
export async function serveModel(
  user: ServingUser,
  options: { tenant: string; model: string; version: string; file: string },
): Promise<void> {
  const { tenant, model, version, file } = options;
  await user.cli('tenants', 'create', tenant);
  await kubectl(user.node, ['wait', '--for=condition=Ready', `tenant/${tenant}`, '--timeout=120s']);
  await user.cli('models', 'upload', tenant, model, version, file);
  await user.cli(
    'endpoints',
    'create',
    tenant,
    model,
    '--model',
    `${model}:${version}`,
    '--runtime',
    'mlserver',
  );
  await waitForEndpointReady(user.node, tenant, model);
}
