import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/cli/errors.ts';
import { createTenantCa, issueClientCertificate, issueServingCertificate } from '../../../src/pki/index.ts';
import { run } from '../../../src/cli/program.ts';
import { startModelServer, type RunningModelServer } from '../infer/inference-peer.ts';
import { testIo } from './io.ts';

/** Runs `tenantmesh …` in process, as the command-line entry point would, and captures what it printed. */
async function runCli(args: string[], env: Record<string, string>) {
  const io = testIo(env);
  const code = await run(args, io);
  return { code, stdout: io.stdout.text, stderr: io.stderr.text };
}

const HOST = 'double.acme.models.example.com';
let dir: string;
let server: RunningModelServer;
let tokenServer: RunningModelServer;
const files = { ca: '', cert: '', key: '', foreignCert: '', foreignKey: '' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tenantmesh-cli-infer-'));
  const now = new Date();
  const acme = await createTenantCa({ tenant: 'acme', validityDays: 30, now });
  const globex = await createTenantCa({ tenant: 'globex', validityDays: 30, now });
  const serving = await issueServingCertificate(acme, {
    hosts: ['*.acme.models.example.com'],
    validityDays: 30,
    now,
  });
  const client = await issueClientCertificate(acme, {
    commonName: 'scoring-job',
    tenant: 'acme',
    validityDays: 30,
    now,
  });
  const foreign = await issueClientCertificate(globex, {
    commonName: 'intruder',
    tenant: 'globex',
    validityDays: 30,
    now,
  });
  const write = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return file;
  };
  files.ca = await write('ca.crt', acme.certPem);
  files.cert = await write('client.crt', client.certPem);
  files.key = await write('client.key', client.keyPem);
  files.foreignCert = await write('foreign.crt', foreign.certPem);
  files.foreignKey = await write('foreign.key', foreign.keyPem);
  const tls = { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: acme.certPem };
  server = await startModelServer({ tls, stallModelName: 'slow' });
  tokenServer = await startModelServer({ tls, requiredBearerToken: 'right-token' });
});

afterAll(async () => {
  await server.close();
  await tokenServer.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ TENANTMESH_CONFIG_DIR: path.join(dir, 'config') });

function mtls(address: string, cert = files.cert, key = files.key): string[] {
  return ['--address', address, '--server-name', HOST, '--ca', files.ca, '--cert', cert, '--key', key];
}

/**
 * `tenantmesh infer`'s own behaviour (flags, TLS files, profile, errors turned into exit codes) against an
 * in-process peer over loopback mutual TLS; the real path (gateway, Authorino, MLServer) is in test/e2e.
 */
describe('tenantmesh infer over loopback mTLS', () => {
  it('prints a KServe v2 result as JSON with a certificate from the tenant CA', async () => {
    const result = await runCli(
      [
        'infer',
        ...mtls(server.address),
        'kserve',
        'infer',
        '--model',
        'double',
        '--data',
        '1,2,3',
        '--shape',
        '1,3',
      ],
      env(),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      model: 'double',
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 3], data: [2, 4, 6] }],
    });
  });

  it('runs TF Serving Predict from --input JSON and reports readiness and metadata', async () => {
    const predict = await runCli(
      [
        'infer',
        ...mtls(server.address),
        'tfserving',
        'predict',
        '--model',
        'double',
        '--input',
        '{"name":"x","datatype":"DT_FLOAT","shape":[2],"data":[0.5,4]}',
      ],
      env(),
    );
    expect(predict.code).toBe(0);
    expect(JSON.parse(predict.stdout).outputs).toEqual({
      x_output: { datatype: 'DT_FLOAT', shape: [2], data: [1, 8] },
    });
    const ready = await runCli(
      ['infer', ...mtls(server.address), 'kserve', 'ready', '--model', 'double'],
      env(),
    );
    expect(ready.code).toBe(0);
    expect(JSON.parse(ready.stdout)).toEqual({ live: true, ready: true, modelReady: true });
    const metadata = await runCli(
      ['infer', ...mtls(server.address), 'kserve', 'metadata', '--model', 'double'],
      env(),
    );
    expect(JSON.parse(metadata.stdout)).toMatchObject({ name: 'double', inputs: [{ name: 'input' }] });
  });

  it('fails with a one-line TLS error and exit code 7 for a certificate from another tenant’s CA', async () => {
    const result = await runCli(
      [
        'infer',
        ...mtls(server.address, files.foreignCert, files.foreignKey),
        'kserve',
        'infer',
        '--model',
        'double',
        '--data',
        '1',
      ],
      env(),
    );
    expect(result.code).toBe(ExitCode.tls);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: TLS handshake with 127\.0\.0\.1:\d+ failed: .+\n$/);
  });

  it('fails with a TLS error when the server certificate does not match --server-name', async () => {
    const args = mtls(server.address);
    args[3] = 'other.globex.example.com';
    const result = await runCli(['infer', ...args, 'kserve', 'ready'], env());
    expect(result.code).toBe(ExitCode.tls);
    expect(result.stderr).toMatch(/^error: TLS handshake/);
  });

  it('distinguishes a missing token (3) from a token without permission (4)', async () => {
    const missing = await runCli(['infer', ...mtls(tokenServer.address), 'kserve', 'ready'], env());
    expect(missing.code).toBe(ExitCode.unauthenticated);
    expect(missing.stderr).toMatch(/^error: not authenticated by .*bearer token required/);
    const wrong = await runCli(
      ['infer', ...mtls(tokenServer.address), '--token', 'wrong-token', 'kserve', 'ready'],
      env(),
    );
    expect(wrong.code).toBe(ExitCode.permissionDenied);
    expect(wrong.stderr).toMatch(/^error: permission denied by /);
    expect(wrong.stderr).not.toContain('wrong-token');
    const right = await runCli(
      ['infer', ...mtls(tokenServer.address), '--token', 'right-token', 'kserve', 'ready'],
      env(),
    );
    expect(right.code).toBe(0);
  });

  it('gives up at the deadline with exit code 8', async () => {
    const result = await runCli(
      [
        'infer',
        ...mtls(server.address),
        '--deadline',
        '300ms',
        'kserve',
        'infer',
        '--model',
        'slow',
        '--data',
        '1',
      ],
      env(),
    );
    expect(result.code).toBe(ExitCode.deadline);
    expect(result.stderr).toMatch(/^error: no answer from .* within 300 ms/);
  });

  it('uses the mTLS files stored in the profile when flags do not name them', async () => {
    const login = await runCli(
      [
        '--server',
        'http://127.0.0.1:9',
        'login',
        '--infer-address',
        server.address,
        '--infer-server-name',
        HOST,
        '--infer-ca',
        files.ca,
        '--infer-cert',
        files.cert,
        '--infer-key',
        files.key,
      ],
      env(),
    );
    expect(login.code).toBe(0);
    const result = await runCli(['infer', 'kserve', 'infer', '--model', 'double', '--data', '2'], env());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).outputs[0].data).toEqual([4]);
  });
});
