import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/cli/errors.ts';
import { run } from '../../../src/cli/program.ts';
import { fakeFetch, json, testIo } from './io.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tenantmesh-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An unsigned JWT with the given claims (the CLI only decodes it). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

const env = () => ({ TENANTMESH_CONFIG_DIR: dir, TENANTMESH_SERVER: 'http://api.test' });

describe('command-line parsing', () => {
  it('sends tenant create flags as the API body, quotas and subjects included', async () => {
    const { fetch, seen } = fakeFetch(() => json(201, { name: 'acme' }));
    const io = testIo(env(), fetch);
    const code = await run(
      [
        'tenants',
        'create',
        'acme',
        '--max-endpoints',
        '5',
        '--cpu',
        '8',
        '--memory',
        '32Gi',
        '--storage',
        '100Gi',
        '--admin',
        'group:acme-admins',
        '--user',
        'serviceaccount:ci/deployer',
        '--user',
        'user:bob@example.com',
      ],
      io,
    );
    expect(io.stderr.text).toBe('');
    expect(code).toBe(ExitCode.ok);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url.pathname).toBe('/v1/tenants');
    expect(seen[0]?.body).toEqual({
      name: 'acme',
      quota: { maxEndpoints: 5, cpu: '8', memory: '32Gi', storageBytes: 100 * 2 ** 30 },
      admins: [{ kind: 'Group', name: 'acme-admins' }],
      users: [
        { kind: 'ServiceAccount', namespace: 'ci', name: 'deployer' },
        { kind: 'User', name: 'bob@example.com' },
      ],
    });
  });

  it('grants endpoint access when --endpoint is given and revokes with the namespace in the query', async () => {
    const { fetch, seen } = fakeFetch(() =>
      json(200, { tenant: 'acme', admins: [], users: [], endpointUsers: [] }),
    );
    await run(['access', 'grant', 'acme', 'group:scorers', '--endpoint', 'fraud'], testIo(env(), fetch));
    await run(['access', 'revoke', 'acme', 'sa:ci/deployer'], testIo(env(), fetch));
    expect(seen[0]?.body).toEqual({
      role: 'endpointUsers',
      subject: { kind: 'Group', name: 'scorers' },
      endpoint: 'fraud',
    });
    expect(seen[1]?.method).toBe('DELETE');
    expect(seen[1]?.url.pathname).toBe('/v1/tenants/acme/access/users/ServiceAccount/deployer');
    expect(seen[1]?.url.search).toBe('?namespace=ci');
  });

  it('shows a grant to Kubernetes’ own groups in words, in the list and after granting', async () => {
    const lists = {
      tenant: 'public',
      admins: [],
      users: [
        { kind: 'Group', name: 'system:authenticated' },
        { kind: 'Group', name: 'system:serviceaccounts:ml-ci' },
      ],
      endpointUsers: [],
    };
    const { fetch } = fakeFetch(() => json(200, lists));
    const list = testIo(env(), fetch);
    expect(await run(['access', 'list', 'public'], list)).toBe(ExitCode.ok);
    expect(list.stdout.text).toContain('every signed-in user');
    expect(list.stdout.text).toContain('every ServiceAccount in namespace ml-ci');
    const grant = testIo(env(), fetch);
    expect(await run(['access', 'grant', 'public', 'group:system:authenticated'], grant)).toBe(ExitCode.ok);
    expect(grant.stdout.text).toBe('granted users on public for every signed-in user\n');
  });

  it('scales an endpoint through its replicas subresource', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { name: 'fraud', replicas: 3 }));
    const io = testIo(env(), fetch);
    expect(await run(['endpoints', 'scale', 'acme', 'fraud', '--replicas', '3'], io)).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'PATCH', body: { replicas: 3 } });
    expect(seen[0]?.url.pathname).toBe('/v1/tenants/acme/endpoints/fraud/replicas');
    expect(io.stdout.text).toBe('endpoint acme/fraud scaled to 3\n');
  });

  it('waits for an endpoint to serve the version it asks for, and says why when it does not in time', async () => {
    const endpoint = (readyReplicas: number, served: string, ready = 'True') => ({
      name: 'fraud',
      tenant: 'acme',
      model: { name: 'fraud', version: '7' },
      runtime: 'mlserver',
      replicas: 2,
      deleting: false,
      status: {
        ready,
        readyReplicas,
        servedModelVersion: served,
        conditions: [{ type: 'Ready', status: ready, reason: 'Rollout', message: 'waiting for pods' }],
      },
    });
    // Rolling out: one replica, then the old version on both, then the new one on both.
    const answers = [endpoint(1, '6'), endpoint(2, '6'), endpoint(2, '7')];
    const { fetch, seen } = fakeFetch(() => json(200, answers.shift() ?? endpoint(2, '7')));
    const io = testIo(env(), fetch);
    expect(await run(['endpoints', 'wait', 'acme', 'fraud', '--timeout', '10s'], io)).toBe(ExitCode.ok);
    expect(seen).toHaveLength(3);
    expect(seen.every((request) => request.url.pathname === '/v1/tenants/acme/endpoints/fraud')).toBe(true);
    expect(io.stdout.text).toContain('2/2 ready');

    const stuck = fakeFetch(() => json(200, endpoint(0, '7', 'False')));
    const late = testIo(env(), stuck.fetch);
    expect(await run(['endpoints', 'wait', 'acme', 'fraud', '--timeout', '1s'], late)).toBe(
      ExitCode.deadline,
    );
    expect(late.stderr.text).toContain(
      'endpoint acme/fraud is not serving after 1 s: 0/2 ready, Rollout: waiting for pods',
    );
  });

  it('switches an endpoint to another model version with a PATCH of the endpoint', async () => {
    const { fetch, seen } = fakeFetch(() =>
      json(200, { name: 'fraud', model: { name: 'fraud', version: '7' }, runtime: 'mlserver' }),
    );
    const io = testIo(env(), fetch);
    expect(await run(['endpoints', 'update', 'acme', 'fraud', '--model', 'fraud:7'], io)).toBe(0);
    expect(seen[0]).toMatchObject({ method: 'PATCH', body: { model: { name: 'fraud', version: '7' } } });
    expect(seen[0]?.url.pathname).toBe('/v1/tenants/acme/endpoints/fraud');
    expect(io.stdout.text).toBe('endpoint acme/fraud updated: fraud:7 on mlserver\n');
    const nothing = testIo(env());
    expect(await run(['endpoints', 'update', 'acme', 'fraud'], nothing)).toBe(ExitCode.usage);
    expect(nothing.stderr.text).toContain('give --model and/or --runtime');
  });

  it('exits with the usage code on an unknown option or a malformed subject', async () => {
    const io = testIo(env());
    expect(await run(['tenants', 'list', '--bogus'], io)).toBe(ExitCode.usage);
    expect(io.stderr.text).toMatch(/unknown option '--bogus'/);
    const io2 = testIo(env());
    expect(await run(['access', 'grant', 'acme', 'team-a'], io2)).toBe(ExitCode.usage);
    expect(io2.stderr.text).toMatch(/error: team-a: expected user:<name>, group:<name> or serviceaccount/);
  });

  it('prints a table by default and JSON with -o json', async () => {
    const items = [
      {
        name: 'triton',
        protocols: ['kserve-v2-grpc'],
        modelFormats: [{ name: 'onnx', version: '1' }],
        displayName: 'Triton',
      },
    ];
    const { fetch } = fakeFetch(() => json(200, { items }));
    const table = testIo(env(), fetch);
    await run(['runtimes', 'list'], table);
    expect(table.stdout.text).toBe(
      'NAME    PROTOCOLS       FORMATS  DESCRIPTION\ntriton  kserve-v2-grpc  onnx:1   Triton\n',
    );
    const machine = testIo(env(), fetch);
    await run(['-o', 'json', 'runtimes', 'list'], machine);
    expect(JSON.parse(machine.stdout.text)).toEqual(items);
  });

  it('lists model versions with the registry state, and - where the registry has no record', async () => {
    const { fetch } = fakeFetch(() =>
      json(200, {
        items: [
          { version: '2', publishedAt: '2026-01-02T00:00:00Z', registry: { id: '9', state: 'ARCHIVED' } },
          { version: '1', publishedAt: '2026-01-01T00:00:00Z' },
        ],
      }),
    );
    const io = testIo(env(), fetch);
    expect(await run(['models', 'versions', 'acme', 'm'], io)).toBe(0);
    expect(io.stdout.text).toBe(
      'VERSION  PUBLISHED             REGISTRY STATE\n' +
        '2        2026-01-02T00:00:00Z  ARCHIVED\n' +
        '1        2026-01-01T00:00:00Z  -\n',
    );
  });

  it('turns an API problem into one error line and its exit code', async () => {
    const { fetch } = fakeFetch(() =>
      json(
        409,
        { title: 'Conflict', status: 409, detail: 'version 1 of model m already exists' },
        'application/problem+json',
      ),
    );
    const io = testIo(env(), fetch);
    expect(await run(['models', 'delete', 'acme', 'm', '1'], io)).toBe(ExitCode.conflict);
    expect(io.stderr.text).toBe('error: 409 Conflict: version 1 of model m already exists\n');
  });

  it('refuses to delete a tenant without --yes', async () => {
    const io = testIo(env());
    expect(await run(['tenants', 'delete', 'acme'], io)).toBe(ExitCode.usage);
  });
});

describe('login, whoami, logout', () => {
  it('stores server and token in a 0600 profile file and uses them for later calls', async () => {
    const token = jwt({ sub: 'alice', iss: 'https://issuer', groups: ['acme-users'], exp: 4102444800 });
    const tokenFile = path.join(dir, 'token');
    await import('node:fs/promises').then((fs) => fs.writeFile(tokenFile, `${token}\n`));
    const { fetch, seen } = fakeFetch(() => json(200, { items: [] }));
    const io = testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch);
    expect(
      await run(
        ['--profile', 'staging', '--server', 'https://api.staging', 'login', '--token-file', tokenFile],
        io,
      ),
    ).toBe(0);
    // login checks the token against the API first
    expect(seen[0]?.url.href).toBe('https://api.staging/v1/runtimes');
    const file = path.join(dir, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(file, 'utf8'));
    expect(config).toEqual({
      currentProfile: 'staging',
      profiles: { staging: { server: 'https://api.staging', token } },
    });
    expect(io.stdout.text + io.stderr.text).not.toContain(token);

    await run(['tenants', 'list'], testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch));
    expect(seen[1]?.url.href).toBe('https://api.staging/v1/tenants');
    expect(seen[1]?.headers.get('authorization')).toBe(`Bearer ${token}`);
  });

  it('lets TENANTMESH_TOKEN and TENANTMESH_SERVER override the stored profile', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { items: [] }));
    await run(
      ['--server', 'https://api.one', 'login', '--token', 'stored', '--no-verify'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch),
    );
    await run(
      ['tenants', 'list'],
      testIo(
        { TENANTMESH_CONFIG_DIR: dir, TENANTMESH_TOKEN: 'from-env', TENANTMESH_SERVER: 'https://api.two' },
        fetch,
      ),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]?.url.origin).toBe('https://api.two');
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer from-env');
  });

  it('shows the token claims decoded locally and says the signature was not verified', async () => {
    const token = jwt({ sub: 'alice', preferred_username: 'alice', groups: ['acme-users'], exp: 1 });
    const io = testIo({ TENANTMESH_CONFIG_DIR: dir, TENANTMESH_TOKEN: token });
    expect(await run(['whoami'], io)).toBe(0);
    expect(io.stdout.text).toMatch(/username: +alice/);
    expect(io.stdout.text).toMatch(/groups: +acme-users/);
    expect(io.stdout.text).toMatch(/EXPIRED/);
    expect(io.stdout.text).toMatch(/signature was not verified/);
    expect(io.stdout.text).not.toContain(token);
  });

  it('forgets the token on logout and then reports not logged in', async () => {
    await run(
      ['--server', 'https://api', 'login', '--token', jwt({ sub: 'a' }), '--no-verify'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }),
    );
    await run(['logout'], testIo({ TENANTMESH_CONFIG_DIR: dir }));
    const io = testIo({ TENANTMESH_CONFIG_DIR: dir });
    expect(await run(['whoami'], io)).toBe(ExitCode.unauthenticated);
    expect(io.stderr.text).toMatch(/not logged in/);
  });

  it('never sends a stored token to another server named with --server', async () => {
    const { fetch, seen } = fakeFetch(() => json(200, { items: [] }));
    await run(
      ['--server', 'https://api.one', 'login', '--token', 'stored-secret', '--no-verify'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch),
    );
    await run(
      ['--server', 'https://evil.test', 'tenants', 'list'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch),
    );
    await run(
      ['--server', 'https://api.one:443/', 'tenants', 'list'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }, fetch),
    );
    expect(seen.map((r) => [r.url.origin, r.headers.get('authorization')])).toEqual([
      ['https://evil.test', null],
      ['https://api.one', 'Bearer stored-secret'],
    ]);
  });

  it('leaves the old token behind when a profile is logged in to another server without a token', async () => {
    await run(
      ['--server', 'https://api.one', 'login', '--token', 'stored-secret', '--no-verify'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }),
    );
    await run(
      ['--server', 'https://evil.test', 'login', '--no-verify'],
      testIo({ TENANTMESH_CONFIG_DIR: dir }),
    );
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(config.profiles.default).toEqual({ server: 'https://evil.test' });
  });

  it('makes a generated key file private even when a readable file of that name existed', async () => {
    const outDir = path.join(dir, 'certs');
    await mkdir(outDir);
    const keyFile = path.join(outDir, 'scorer.key');
    await writeFile(keyFile, 'old', { mode: 0o644 });
    await chmod(keyFile, 0o644);
    const { fetch } = fakeFetch(() =>
      json(201, { serialNumber: '01', certificatePem: 'CERT', caCertificatePem: 'CA', commonName: 'scorer' }),
    );
    const io = testIo(env(), fetch);
    const code = await run(
      ['certificates', 'issue', 'acme', 'scorer', '--generate-key', '--out-dir', outDir],
      io,
    );
    expect(io.stderr.text).toBe('');
    expect(code).toBe(ExitCode.ok);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('asks for a server when none is configured', async () => {
    const io = testIo({ TENANTMESH_CONFIG_DIR: dir });
    expect(await run(['tenants', 'list'], io)).toBe(ExitCode.usage);
    expect(io.stderr.text).toMatch(/no API server for profile "default"/);
  });
});
