import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/cli/errors.ts';
import { parseCertificate } from '../../../src/pki/index.ts';
import {
  applyPlatformRbac,
  callersOf,
  createTenant,
  removeTenant,
  RUNTIME,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from '../api/fixture.ts';
import { runCli } from './run-cli.ts';

const MIB = 1024 * 1024;
const T = `cli-${suffix()}`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A pass-through proxy in front of the real API that can cut the connection of chosen part uploads, to
 * interrupt the CLI the way a network failure would; it records every request line.
 */
async function startCuttingProxy(target: string) {
  const seen: string[] = [];
  let cut: RegExp | undefined;
  const upstream = new URL(target);
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    if (cut && cut.test(`${request.method} ${request.url}`)) {
      request.socket.destroy();
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    cutWhen(pattern: RegExp | undefined) {
      cut = pattern;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tenantmesh against the real management API', () => {
  let harness: ApiUnderTest;
  let callers: Callers;
  let proxy: Awaited<ReturnType<typeof startCuttingProxy>>;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T, { quota: { maxEndpoints: 2, cpu: '4', memory: '4Gi' } });
    proxy = await startCuttingProxy(harness.api.url);
    dir = await mkdtemp(path.join(os.tmpdir(), 'tenantmesh-cli-api-'));
    env = { TENANTMESH_CONFIG_DIR: path.join(dir, 'config') };
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, callers.tenantAdmin);
    const login = await runCli(['--server', proxy.url, 'login', '--token-file', tokenFile], env);
    expect(login.stderr).toMatch(/logged in: profile "default"/);
    expect(login.code).toBe(0);
  });

  afterAll(async () => {
    await proxy?.close();
    await removeTenant(harness, T);
    await harness?.api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows who is logged in and the tenant it may see', async () => {
    const whoami = await runCli(['-o', 'json', 'whoami'], env);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ email: `admin@${T}.example.test`, verified: false });
    const tenant = await runCli(['-o', 'json', 'tenants', 'get', T], env);
    expect(tenant.code).toBe(0);
    expect(JSON.parse(tenant.stdout)).toMatchObject({ name: T, quota: { maxEndpoints: 2 } });
  });

  it('uploads a small file in one request, lists it, and refuses the same version twice with 409', async () => {
    const file = path.join(dir, 'small.onnx');
    const data = randomBytes(300 * 1024);
    await writeFile(file, data);
    const upload = await runCli(['-o', 'json', 'models', 'upload', T, 'small', '1', file], env);
    expect(upload.stderr).not.toMatch(/error/);
    expect(upload.code).toBe(0);
    expect(JSON.parse(upload.stdout).files).toEqual([
      { name: 'small.onnx', size: data.length, sha256: sha256(data) },
    ]);
    expect(proxy.seen).toContain(`PUT /v1/tenants/${T}/models/small/versions/1/files/small.onnx`);

    const versions = await runCli(['-o', 'json', 'models', 'versions', T, 'small'], env);
    expect(JSON.parse(versions.stdout).map((v: { version: string }) => v.version)).toEqual(['1']);

    const again = await runCli(['models', 'upload', T, 'small', '1', file], env);
    expect(again.code).toBe(ExitCode.conflict);
    expect(again.stderr).toMatch(/^error: 409 Conflict: .*already exists/m);
  });

  it('resumes an interrupted multipart upload by sending only the missing parts, then downloads the same bytes', async () => {
    const file = path.join(dir, 'big.bin');
    const data = randomBytes(15 * MIB + 1234); // 4 parts of 5 MiB
    await writeFile(file, data);
    const args = [
      'models',
      'upload',
      T,
      'big',
      '1',
      file,
      '--multipart-threshold',
      '5MiB',
      '--part-size',
      '5MiB',
    ];

    proxy.cutWhen(/^PUT .*\/uploads\/[0-9a-f]+\/parts\/3$/);
    const first = await runCli(args, env);
    expect(first.code).toBe(ExitCode.unavailable);
    expect(first.stderr).toMatch(/part 3 of 4 failed, re-run the same command to resume/);
    expect(await readdir(path.join(dir, 'config', 'uploads'))).toHaveLength(1);

    proxy.cutWhen(undefined);
    const before = proxy.seen.length;
    const second = await runCli(['-o', 'json', ...args], env);
    expect(second.stderr).toMatch(/resuming upload [0-9a-f]+: 2 part\(s\) already on the server/);
    expect(second.code).toBe(0);
    const parts = proxy.seen
      .slice(before)
      .filter((line) => line.startsWith('PUT '))
      .map((line) => Number(line.split('/').pop()));
    expect(parts).toEqual([3, 4]);
    expect(JSON.parse(second.stdout).files).toEqual([
      { name: 'big.bin', size: data.length, sha256: sha256(data) },
    ]);
    expect(await readdir(path.join(dir, 'config', 'uploads'))).toHaveLength(0);

    const out = path.join(dir, 'downloaded.bin');
    const download = await runCli(['models', 'download', T, 'big', '1', '--out', out], env);
    expect(download.code).toBe(0);
    expect(sha256(await readFile(out))).toBe(sha256(data));
  });

  it('aborts an unfinished upload with --abort', async () => {
    const file = path.join(dir, 'aborted.bin');
    await writeFile(file, randomBytes(10 * MIB + 1));
    const args = [
      'models',
      'upload',
      T,
      'aborted',
      '1',
      file,
      '--multipart-threshold',
      '5MiB',
      '--part-size',
      '5MiB',
    ];
    proxy.cutWhen(/^PUT .*\/parts\/2$/);
    expect((await runCli(args, env)).code).not.toBe(0);
    proxy.cutWhen(undefined);
    const abort = await runCli([...args, '--abort'], env);
    expect(abort.code).toBe(0);
    expect(abort.stdout).toMatch(/^aborted upload [0-9a-f]+/);
    expect(await readdir(path.join(dir, 'config', 'uploads'))).toHaveLength(0);
    const nothing = await runCli([...args, '--abort'], env);
    expect(nothing.code).toBe(ExitCode.notFound);
  });

  it('creates and scales an endpoint, and refuses to delete the version it serves', async () => {
    const create = await runCli(
      ['endpoints', 'create', T, 'fraud', '--model', 'small:1', '--runtime', RUNTIME],
      env,
    );
    expect(create.stderr).toBe('');
    expect(create.code).toBe(0);
    const scale = await runCli(['-o', 'json', 'endpoints', 'scale', T, 'fraud', '--replicas', '2'], env);
    expect(JSON.parse(scale.stdout)).toMatchObject({ name: 'fraud', replicas: 2 });
    const list = await runCli(['endpoints', 'list', T], env);
    expect(list.stdout).toMatch(/^NAME +MODEL +SERVING/);
    expect(list.stdout).toMatch(/fraud +small:1/);
    const tooMany = await runCli(['endpoints', 'scale', T, 'fraud', '--replicas', '50'], env);
    expect(tooMany.code).toBe(ExitCode.conflict);
    const inUse = await runCli(['models', 'delete', T, 'small', '1'], env);
    expect(inUse.code).toBe(ExitCode.conflict);
    expect(inUse.stderr).toMatch(/^error: 409 Conflict: .*in use/);
    expect((await runCli(['endpoints', 'delete', T, 'fraud'], env)).code).toBe(0);
  });

  it('issues a certificate for a key generated locally, lists and revokes it', async () => {
    const out = path.join(dir, 'certs');
    const issue = await runCli(
      [
        '-o',
        'json',
        'certificates',
        'issue',
        T,
        'scoring-job',
        '--generate-key',
        '--out-dir',
        out,
        '--save-profile',
      ],
      env,
    );
    expect(issue.stderr).toBe('');
    expect(issue.code).toBe(0);
    const issued = JSON.parse(issue.stdout);
    expect(issued.privateKeyPem).toBeUndefined();
    const certPem = await readFile(path.join(out, 'scoring-job.crt'), 'utf8');
    expect(parseCertificate(certPem).commonName).toBe('scoring-job');
    // The certificate is for the key that stayed on this machine.
    const key = createPrivateKey(await readFile(path.join(out, 'scoring-job.key'), 'utf8'));
    expect(new X509Certificate(certPem).checkPrivateKey(key)).toBe(true);
    const config = JSON.parse(await readFile(path.join(dir, 'config', 'config.json'), 'utf8'));
    expect(config.profiles.default.infer.cert).toBe(path.join(out, 'scoring-job.crt'));

    const list = await runCli(['-o', 'json', 'certificates', 'list', T], env);
    expect(JSON.parse(list.stdout)).toMatchObject([{ serialNumber: issued.serialNumber, revoked: false }]);
    const revoke = await runCli(['certificates', 'revoke', T, issued.serialNumber], env);
    expect(revoke.code).toBe(0);
    const after = await runCli(['-o', 'json', 'certificates', 'list', T], env);
    expect(JSON.parse(after.stdout)[0].revoked).toBe(true);
  });

  it('maps a forbidden action to exit code 4', async () => {
    const forbidden = await runCli(['tenants', 'delete', T, '--yes'], {
      ...env,
      TENANTMESH_TOKEN: callers.tenantUser,
    });
    expect(forbidden.code).toBe(ExitCode.permissionDenied);
    expect(forbidden.stderr).toMatch(/^error: 403 /);
    expect(forbidden.stderr).not.toContain(callers.tenantUser);
  });
});
