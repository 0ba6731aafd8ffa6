import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { envoyBootstrapYaml } from '../../../src/dataplane/index.ts';
import { authConfigName } from '../../../src/domain/index.ts';
import type { KubeObject } from '../../../src/domain/index.ts';
import { createInferClient, InferError } from '../../../src/infer/index.ts';
import type { InferClient } from '../../../src/infer/index.ts';
import { createKube } from '../../../src/kube/index.ts';
import type { IssuedCertificateWithKey } from '../../../src/pki/index.ts';
import { probe } from '../../../src/testenv/http.ts';
import { oidcToken } from '../../../src/testenv/identities.ts';
import { freePort } from '../../../src/testenv/ports.ts';
import { ProcessSupervisor } from '../../../src/testenv/processes.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { startModelServer, type RunningModelServer } from '../../support/model-server.ts';
import {
  applyAll,
  dataplanePlatform,
  deleteAll,
  endpointResource,
  renderTestTenant,
  tenantPki,
  waitAuthConfigReady,
  type TenantPki,
} from './fixture.ts';

const env = inject('env');
const kube = createKube({ kubeconfigPath: env.adminKubeconfigPath });
const platform = dataplanePlatform(env);

async function failure(promise: Promise<unknown>): Promise<InferError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof InferError) return error;
  throw new Error(`expected an InferError, got ${String(error)}`);
}

/**
 * A real Envoy configured from the rendered Gateway, VirtualServices and credential Secret (src/dataplane), with
 * ext_authz to the real Authorino deciding by the rendered AuthConfig, in front of an in-process model server.
 */
describe('through a real Envoy built from the rendered gateway objects', () => {
  let orchid: TenantPki;
  let quartz: TenantPki;
  let revoked: IssuedCertificateWithKey;
  let applied: KubeObject[] = [];
  let modelServer: RunningModelServer;
  let supervisor: ProcessSupervisor;
  let runDir: string;
  let listenerPort: number;
  const clients: InferClient[] = [];

  const host = (endpoint: string) => `${endpoint}.${orchid.hostname}`;
  function client(
    endpoint: string,
    credentials: {
      cert?: IssuedCertificateWithKey;
      bearerToken?: string;
      caPem?: string;
      authority?: string;
    } = {},
  ): InferClient {
    const created = createInferClient({
      address: `127.0.0.1:${listenerPort}`,
      authority: credentials.authority ?? host(endpoint),
      deadlineMs: 10_000,
      tls: {
        caPem: credentials.caPem ?? orchid.ca.certPem,
        serverName: host(endpoint),
        ...(credentials.cert ? { certPem: credentials.cert.certPem, keyPem: credentials.cert.keyPem } : {}),
      },
      ...(credentials.bearerToken ? { bearerToken: credentials.bearerToken } : {}),
    });
    clients.push(created);
    return created;
  }
  const kserveInfer = (infer: InferClient) =>
    infer.kserve.modelInfer({
      model: 'double',
      id: 'through-envoy',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [3], data: [1, 2.5, -3] }],
    });

  beforeAll(async () => {
    [orchid, quartz] = await Promise.all([tenantPki('orchid'), tenantPki('quartz')]);
    revoked = await orchid.client('revoked-job');
    const crlPem = await orchid.crl([{ serialNumber: revoked.serialNumber, revokedAt: new Date() }]);
    applied = renderTestTenant({
      platform,
      pki: orchid,
      crlPem,
      endpoints: [
        endpointResource(platform, 'orchid', 'kserve', 'triton'),
        endpointResource(platform, 'orchid', 'tf', 'tensorflow-serving', {
          allowedClientSubjects: ['scoring-job', 'revoked-job'],
        }),
      ],
    });
    await applyAll(kube, applied);
    await waitAuthConfigReady(kube, authConfigName('orchid'), platform.servingNamespace);

    modelServer = await startModelServer();
    const [listener, admin] = await Promise.all([freePort(), freePort()]);
    listenerPort = listener;
    const [authzHost, authzPort] = env.authorino.grpcAddress.split(':');
    const config = envoyBootstrapYaml({
      objects: applied,
      gatewayNamespace: platform.gatewayNamespace,
      authorizationProvider: platform.authorinoProvider,
      listener: { address: '127.0.0.1', port: listener },
      admin: { address: '127.0.0.1', port: admin },
      extAuthz: { address: authzHost!, port: Number(authzPort) },
      resolveDestination: () => ({ address: '127.0.0.1', port: modelServer.port }),
    });
    runDir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-envoy-'));
    const configPath = path.join(runDir, 'envoy.yaml');
    writeFileSync(configPath, config, { mode: 0o600 });
    supervisor = new ProcessSupervisor(runDir);
    supervisor.start('envoy', env.assets.envoy!, [
      '-c',
      configPath,
      '--base-id',
      String(randomInt(1_000, 1_000_000)),
      '--log-level',
      'warn',
    ]);
    const exited = supervisor.exited('envoy').then((code) => {
      throw new Error(`Envoy exited with ${code}:\n${supervisor.tail('envoy')}`);
    });
    await Promise.race([
      exited,
      waitFor(async () => (await probe(`http://127.0.0.1:${admin}/ready`)).status === 200, {
        description: 'Envoy ready',
        timeoutMs: 30_000,
        intervalMs: 100,
      }),
    ]);
    exited.catch(() => undefined);
  });

  afterAll(async () => {
    for (const created of clients) created.close();
    await supervisor?.stopAll();
    await modelServer?.close();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    await deleteAll(kube, applied);
  });

  it('serves KServe ModelInfer and TF Predict to a granted client certificate of the tenant', async () => {
    const cert = await orchid.client('scoring-job');
    expect(await kserveInfer(client('kserve', { cert }))).toEqual({
      model: 'double',
      version: '1',
      id: 'through-envoy',
      outputs: [{ name: 'output', datatype: 'FP32', shape: [3], data: [2, 5, -6] }],
    });
    const predicted = await client('tf', { cert }).tfserving.predict({
      model: 'double',
      inputs: { input: { datatype: 'DT_FLOAT', shape: [1, 2], data: [4, -1] } },
    });
    expect(predicted.outputs).toEqual({ output: { datatype: 'DT_FLOAT', shape: [1, 2], data: [8, -2] } });
    // The model server saw the endpoint's host as authority: routing was by host, through the gateway.
    expect(modelServer.calls.map((c) => c.authority)).toContain(host('kserve'));
  });

  it('fails the TLS handshake without a client certificate', async () => {
    const error = await failure(kserveInfer(client('kserve')));
    expect(error.kind).toBe('tls');
  });

  it("fails the TLS handshake with a certificate of another tenant's CA", async () => {
    const cert = await quartz.client('scoring-job');
    const error = await failure(kserveInfer(client('kserve', { cert })));
    expect(error.kind).toBe('tls');
  });

  it('fails the TLS handshake with a certificate revoked in the CRL of the credential Secret', async () => {
    const error = await failure(kserveInfer(client('tf', { cert: revoked })));
    expect(error.kind).toBe('tls');
  });

  it('answers PERMISSION_DENIED to a tenant certificate whose identity the endpoint does not allow', async () => {
    const cert = await orchid.client('intruder');
    const error = await failure(
      client('tf', { cert }).tfserving.predict({
        model: 'double',
        inputs: { input: { datatype: 'DT_FLOAT', shape: [1], data: [1] } },
      }),
    );
    expect(error.kind).toBe('permission-denied');
  });

  it("lets an OIDC user of the tenant's users group in and keeps another tenant's users out", async () => {
    const cert = await orchid.client('scoring-job');
    const member = await oidcToken(env, {
      sub: 'carol',
      email: 'carol@example.com',
      groups: ['orchid-users'],
    });
    const other = await oidcToken(env, { sub: 'dave', email: 'dave@example.com', groups: ['quartz-users'] });
    const allowed = await kserveInfer(client('kserve', { cert, bearerToken: member }));
    expect(allowed.outputs[0]?.data).toEqual([2, 5, -6]);
    const error = await failure(kserveInfer(client('kserve', { cert, bearerToken: other })));
    expect(error.kind).toBe('permission-denied');
  });

  it('asks Authorino whatever port or letter case the :authority carries, so none reaches the model unchecked', async () => {
    // The endpoint allows only scoring-job: a request that skipped Authorino would be answered by the model.
    const cert = await orchid.client('intruder');
    const predict = (authority: string) =>
      client('tf', { cert, authority }).tfserving.predict({
        model: 'double',
        inputs: { input: { datatype: 'DT_FLOAT', shape: [1], data: [1] } },
      });
    const callsBefore = modelServer.calls.length;
    for (const authority of [`${host('tf')}:8443`, `${host('tf')}:1`, `${host('tf')}:443`]) {
      const error = await failure(predict(authority));
      expect(error.kind, authority).toBe('permission-denied');
    }
    // Upper case: routed by Envoy (domains ignore case), refused by Authorino (no AuthConfig claims that host).
    for (const authority of [host('tf').toUpperCase(), `${host('tf').toUpperCase()}:8443`]) {
      const error = await failure(predict(authority));
      expect(error.kind, authority).not.toBe('tls');
    }
    expect(modelServer.calls.length).toBe(callsBefore);
    // The same certificate on an endpoint that admits it is still served through any port.
    const allowed = await orchid.client('scoring-job');
    const served = await kserveInfer(
      client('kserve', { cert: allowed, authority: `${host('kserve')}:8443` }),
    );
    expect(served.outputs[0]?.data).toEqual([2, 5, -6]);
  });
});
