import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOpenApiPath } from '../../../src/api/openapi.ts';
import {
  CLIENT_CERTIFICATE_RECORD_KEY,
  GROUP_VERSION,
  caKeySecretName,
  clientCertificateRecordName,
  endpointResourceName,
} from '../../../src/domain/index.ts';
import { createTenantCa, normaliseSerialNumber } from '../../../src/pki/index.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import { buildEcCsrPem } from '../../unit/pki/csr.ts';
import {
  RUNTIME,
  applyPlatformRbac,
  callersOf,
  createTenant,
  env,
  minio,
  platform,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';

const MIB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const run = suffix();
const T = `bh-${run}`;
const octets = { 'Content-Type': 'application/octet-stream' };

describe('the management API against the real apiserver and MinIO', () => {
  let harness: ApiUnderTest;
  let callers: Callers;
  let token = '';
  const models = `/v1/tenants/${T}/models`;

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T, { quota: { maxEndpoints: 2, cpu: '2', memory: '1Gi' } });
    token = callers.tenantUser;
  });

  afterAll(async () => {
    await removeTenant(harness, T);
    await harness?.api.close();
  });

  const put = (model: string, version: string, body: Buffer, headers: Record<string, string> = {}) =>
    harness.call('put', `${models}/${model}/versions/${version}/files/model.bin`, {
      token,
      body,
      headers: { ...octets, ...headers },
    });

  describe('uploads', () => {
    it('publishes a zero-byte file', async () => {
      const response = await put('empty', '1', Buffer.alloc(0));
      expect(response.status, response.text).toBe(201);
      expect(response.json().files).toEqual([
        { name: 'model.bin', size: 0, sha256: sha256(Buffer.alloc(0)) },
      ]);
      const download = await harness.call('get', `${models}/empty/versions/1/files/model.bin`, { token });
      expect(download.status).toBe(200);
      expect(download.text).toBe('');
    });

    it('resumes a multipart upload from the parts the server reports', async () => {
      const data = randomBytes(5 * MIB + 1234);
      const start = await harness.call('post', `${models}/multi/versions/1/uploads`, {
        token,
        json: { file: 'model.bin', size: data.length, sha256: sha256(data) },
      });
      expect(start.status, start.text).toBe(201);
      const session = `${models}/multi/versions/1/uploads/${start.json().uploadId}`;
      const first = data.subarray(0, 5 * MIB);
      expect(
        (await harness.call('put', `${session}/parts/1`, { token, body: first, headers: octets })).status,
      ).toBe(200);
      // A client that lost track asks what arrived and sends only the rest.
      const status = await harness.call('get', session, { token });
      expect(status.json().parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1]);
      expect(status.json().receivedBytes).toBe(first.length);
      const rest = data.subarray(5 * MIB);
      expect(
        (await harness.call('put', `${session}/parts/2`, { token, body: rest, headers: octets })).status,
      ).toBe(200);
      const complete = await harness.call('post', `${session}/complete`, { token, json: {} });
      expect(complete.status, complete.text).toBe(201);
      expect(complete.json().files[0].sha256).toBe(sha256(data));
    });

    it('answers a checksum mismatch with 422 and stores nothing', async () => {
      const response = await put('bad-sum', '1', randomBytes(1000), { 'X-Checksum-Sha256': 'a'.repeat(64) });
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect((await harness.call('get', `${models}/bad-sum/versions/1`, { token })).status).toBe(404);
      const objects: string[] = [];
      const s3 = new (await import('minio')).Client({ ...env.s3, region: 'us-east-1' });
      for await (const item of s3.listObjects(`tenantmesh-${T}`, '', true)) {
        objects.push((item as { name: string }).name);
      }
      expect(objects.filter((name) => name.includes('bad-sum'))).toEqual([]);
    });

    it('publishes nothing when the client drops the connection mid-upload', async () => {
      const url = new URL(`${harness.api.url}${models}/dropped/versions/1/files/model.bin`);
      await new Promise<void>((resolve) => {
        const request = http.request(url, {
          method: 'PUT',
          headers: { ...octets, Authorization: `Bearer ${token}`, 'Content-Length': String(64 * MIB) },
        });
        request.on('error', () => resolve());
        request.write(randomBytes(2 * MIB), () => {
          request.destroy();
          resolve();
        });
      });
      expect((await harness.call('get', `${models}/dropped/versions/1`, { token })).status).toBe(404);
      // Once the server has cleaned up, the same version can be uploaded afresh.
      const retried = await waitFor(
        async () => {
          const response = await put('dropped', '1', Buffer.from('complete'));
          return response.status === 201 ? response : undefined;
        },
        { description: 'the dropped upload to be released', timeoutMs: 20_000, intervalMs: 250 },
      );
      expect(retried.json().files[0].size).toBe('complete'.length);
    });

    it('lets one of two concurrent uploads of a version win and answers the other 409', async () => {
      const [x, y] = await Promise.all([
        put('race', '1', randomBytes(8 * MIB)),
        put('race', '1', randomBytes(8 * MIB)),
      ]);
      expect([x.status, y.status].sort()).toEqual([201, 409]);
    });
  });

  describe('endpoints', () => {
    beforeAll(async () => {
      expect((await put('served', '1', Buffer.from('weights'))).status).toBe(201);
    });

    const create = (body: Record<string, unknown>) =>
      harness.call('post', `/v1/tenants/${T}/endpoints`, {
        token,
        json: { model: { name: 'served', version: '1' }, runtime: RUNTIME, ...body },
      });

    it('refuses an unknown runtime with 422 naming /runtime', async () => {
      const response = await create({ name: 'r1', runtime: 'no-such-runtime' });
      expect(response.status).toBe(422);
      expect(response.json().invalidParams[0].pointer).toBe('/runtime');
    });

    it('refuses a model version that is not published with 422 naming /model/version', async () => {
      const response = await create({ name: 'r2', model: { name: 'served', version: '9' } });
      expect(response.status).toBe(422);
      expect(response.json().invalidParams[0].pointer).toBe('/model/version');
    });

    it('refuses endpoints over the quota with 409 naming the limit, before creating anything', async () => {
      const cpu = await create({ name: 'big-cpu', resources: { requests: { cpu: '3' } } });
      expect(cpu.status).toBe(409);
      expect(cpu.json().type).toContain('quota-exceeded');
      expect(cpu.json().detail).toContain('cpu');
      const memory = await create({ name: 'big-mem', resources: { requests: { memory: '2Gi' } } });
      expect(memory.status).toBe(409);
      expect(memory.json().detail).toContain('memory');
      expect((await create({ name: 'one' })).status).toBe(201);
      expect((await create({ name: 'two' })).status).toBe(201);
      const third = await create({ name: 'three' });
      expect(third.status).toBe(409);
      expect(third.json().detail).toContain('maxEndpoints');
      const listed = await harness.call('get', `/v1/tenants/${T}/endpoints`, { token });
      expect(listed.json().items.map((e: { name: string }) => e.name)).toEqual(['one', 'two']);
      const scaled = await harness.call('put', `/v1/tenants/${T}/endpoints/one/replicas`, {
        token,
        json: { replicas: 4 },
      });
      expect(scaled.status).toBe(409);
      expect(scaled.json().detail).toContain('cpu');
    });

    it('shows the status the operator wrote, and blocks deleting a version an endpoint serves', async () => {
      const name = endpointResourceName(T, 'one');
      await harness.kube.applyStatus(
        {
          apiVersion: GROUP_VERSION,
          kind: 'InferenceEndpoint',
          metadata: { name, namespace: platform.servingNamespace },
          status: { readyReplicas: 1, servedModelVersion: '1', url: `one.${T}.example.test` },
        },
        { fieldManager: 'tenantmesh-operator', force: true },
      );
      const got = await harness.call('get', `/v1/tenants/${T}/endpoints/one`, { token });
      expect(got.json().status).toMatchObject({ readyReplicas: 1, servedModelVersion: '1' });
      const blocked = await harness.call('delete', `${models}/served/versions/1`, { token });
      expect(blocked.status).toBe(409);
      expect(blocked.json().detail).toContain('one');
      for (const e of ['one', 'two']) {
        expect((await harness.call('delete', `/v1/tenants/${T}/endpoints/${e}`, { token })).status).toBe(204);
      }
      expect((await harness.call('delete', `${models}/served/versions/1`, { token })).status).toBe(204);
    });
  });

  describe('certificates', () => {
    it('signs a CSR with the server’s subject, chaining to the tenant CA, and lists a revocation', async () => {
      const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const csr = buildEcCsrPem('platform-admin', keys.publicKey, keys.privateKey);
      const issued = await harness.call('post', `/v1/tenants/${T}/certificates`, {
        token,
        json: { commonName: `client-${run}`, csr },
      });
      expect(issued.status, issued.text).toBe(201);
      expect(issued.json().privateKeyPem).toBeUndefined();
      const cert = new X509Certificate(issued.json().certificatePem);
      const ca = new X509Certificate(
        (await harness.call('get', `/v1/tenants/${T}/ca`, { token })).json().certificatePem,
      );
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subject).toContain(`CN=client-${run}`);
      expect(cert.subject).toContain(`O=${T}`);
      expect(cert.subject).not.toContain('platform-admin');
      expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
        keys.publicKey.export({ type: 'spki', format: 'der' }),
      );

      const serial = issued.json().serialNumber;
      const revoke = await harness.call('delete', `/v1/tenants/${T}/certificates/${serial}`, {
        token: callers.tenantAdmin,
      });
      expect(revoke.status).toBe(200);
      const listed = await harness.call('get', `/v1/tenants/${T}/certificates`, { token });
      expect(listed.json().items).toContainEqual(
        expect.objectContaining({ serialNumber: serial, revoked: true }),
      );
      // The revocation is kept in the certificate's own record, which the operator turns into the CRL.
      const stored = await harness.kube.get(
        'v1',
        'ConfigMap',
        clientCertificateRecordName(normaliseSerialNumber(serial)),
        platform.servingNamespace,
      );
      const record = JSON.parse((stored?.['data'] as Record<string, string>)[CLIENT_CERTIFICATE_RECORD_KEY]!);
      expect(record).toMatchObject({ serialNumber: serial, revokedAt: expect.any(String) });
    });

    it('returns a generated key once and refuses a second live certificate with the same name', async () => {
      const first = await harness.call('post', `/v1/tenants/${T}/certificates`, {
        token,
        json: { commonName: `gen-${run}` },
      });
      expect(first.status).toBe(201);
      expect(first.json().privateKeyPem).toContain('PRIVATE KEY');
      const listed = await harness.call('get', `/v1/tenants/${T}/certificates`, { token });
      expect(listed.text).not.toContain('PRIVATE KEY');
      const again = await harness.call('post', `/v1/tenants/${T}/certificates`, {
        token,
        json: { commonName: `gen-${run}` },
      });
      expect(again.status).toBe(409);
    });
  });

  describe('tenants', () => {
    it('refuses a provided CA that is not a CA with 422 naming the field, leaving nothing behind', async () => {
      const name = `bad-ca-${run}`;
      const ca = await createTenantCa({ tenant: name, now: new Date() });
      const other = await createTenantCa({ tenant: name, now: new Date() });
      const response = await harness.call('post', '/v1/tenants', {
        token: callers.platformAdmin,
        json: { name, ca: { certificatePem: ca.certPem, privateKeyPem: other.keyPem } },
      });
      expect(response.status).toBe(422);
      expect(response.json().invalidParams[0].pointer).toBe('/ca/privateKeyPem');
      expect(await harness.kube.get(GROUP_VERSION, 'Tenant', name)).toBeUndefined();
      expect(
        await harness.kube.get('v1', 'Secret', caKeySecretName(name), platform.caNamespace),
      ).toBeUndefined();
    });
  });

  describe('the OpenAPI document', () => {
    it('is structurally valid and documents exactly the served routes', async () => {
      const document = (await harness.call('get', '/openapi.json')).json();
      expect(document.openapi).toBe('3.1.0');
      const operationIds = new Set<string>();
      const documented: string[] = [];
      type Operation = { operationId: string; responses: object; parameters: { in: string; name: string }[] };
      for (const [path, operations] of Object.entries(
        document.paths as Record<string, Record<string, Operation>>,
      )) {
        const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        for (const [method, operation] of Object.entries(operations)) {
          documented.push(`${method} ${path}`);
          expect(operationIds.has(operation.operationId), operation.operationId).toBe(false);
          operationIds.add(operation.operationId);
          expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
          const inPath = operation.parameters
            .filter((p) => p.in === 'path')
            .map((p) => p.name)
            .sort();
          expect(inPath, `${method} ${path}`).toEqual(templated);
        }
      }
      const served = harness.api.routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort();
      expect(documented.sort()).toEqual(served);
    });
  });

  describe('when MinIO is down', () => {
    it('answers 503 problems and is not ready; once MinIO is back everything is still there', async () => {
      const before = await harness.call('get', `${models}/empty/versions/1`, { token });
      expect(before.status).toBe(200);
      await minio('stop');
      try {
        const listed = await harness.call('get', models, { token });
        expect(listed.status).toBe(503);
        expect(listed.headers.get('content-type')).toContain('application/problem+json');
        const upload = await put('during-outage', '1', Buffer.from('x'));
        expect(upload.status).toBe(503);
        // Readiness is cached for a moment: wait for the answer that sees the outage.
        let ready = await harness.call('get', '/readyz');
        await waitFor(async () => (ready = await harness.call('get', '/readyz')).status === 503, {
          description: 'the API to report the outage',
          timeoutMs: 10_000,
          intervalMs: 250,
        });
        expect(ready.json().detail).toBe('not ready: storage');
      } finally {
        await minio('start');
      }
      await waitFor(async () => (await harness.call('get', '/readyz')).status === 200, {
        description: 'the API to be ready again',
        timeoutMs: 30_000,
        intervalMs: 250,
      });
      const after = await harness.call('get', `${models}/empty/versions/1`, { token });
      expect(after.status).toBe(200);
      expect(after.json()).toEqual(before.json());
      expect((await put('after-outage', '1', Buffer.from('x'))).status).toBe(201);
    });
  });
});
