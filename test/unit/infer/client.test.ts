import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createInferClient,
  InferDeadlineExceededError,
  InferError,
  InferInputError,
  InferNotFoundError,
  InferPermissionDeniedError,
  InferTlsError,
  InferUnauthenticatedError,
  InferUnavailableError,
} from '../../../src/infer/index.ts';
import type { InferClient, InferClientOptions } from '../../../src/infer/index.ts';
import { createTenantCa, issueClientCertificate, issueServingCertificate } from '../../../src/pki/index.ts';
import type { IssuedCertificateWithKey, TenantCa } from '../../../src/pki/index.ts';
import { startModelServer } from './inference-peer.ts';
import type { RunningModelServer } from './inference-peer.ts';

const now = new Date();
const HOST = 'double.acme.models.example.com';

let acme: TenantCa;
let globex: TenantCa;
let acmeClient: IssuedCertificateWithKey;
let server: RunningModelServer;
const clients: InferClient[] = [];

beforeAll(async () => {
  acme = await createTenantCa({ tenant: 'acme', validityDays: 30, now });
  globex = await createTenantCa({ tenant: 'globex', validityDays: 30, now });
  const serving = await issueServingCertificate(acme, {
    hosts: ['*.acme.models.example.com'],
    validityDays: 30,
    now,
  });
  acmeClient = await issueClientCertificate(acme, {
    commonName: 'scoring-job',
    tenant: 'acme',
    validityDays: 30,
    now,
  });
  server = await startModelServer({
    tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: acme.certPem },
  });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await server.close();
});

function client(
  overrides: Partial<InferClientOptions> = {},
  cert: IssuedCertificateWithKey = acmeClient,
): InferClient {
  const created = createInferClient({
    address: server.address,
    tls: { caPem: acme.certPem, certPem: cert.certPem, keyPem: cert.keyPem, serverName: HOST },
    deadlineMs: 10_000,
    ...overrides,
  });
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<InferError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof InferError) return error;
  throw new Error(`expected an InferError, got ${String(error)}`);
}

describe('infer client over mTLS with tenant certificates', () => {
  it('gets a KServe v2 result with a client certificate from the tenant CA', async () => {
    const result = await client().kserve.modelInfer({
      model: 'double',
      id: 'req-1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: [1, 2.5, -3, 0] }],
    });
    expect(result).toEqual({
      model: 'double',
      version: '1',
      id: 'req-1',
      outputs: [{ name: 'output', datatype: 'FP32', shape: [2, 2], data: [2, 5, -6, 0] }],
    });
  });

  it('sends raw tensor bytes when asked and decodes raw outputs, 64-bit integers included', async () => {
    const result = await client().kserve.modelInfer({
      model: 'double',
      encoding: 'raw',
      inputs: [
        { name: 'input', datatype: 'INT64', shape: [3], data: [1, -2, 2 ** 40] },
        { name: 'scale', datatype: 'FP64', shape: [1], data: [0.25] },
      ],
    });
    expect(result.outputs).toEqual([
      { name: 'output', datatype: 'INT64', shape: [3], data: [2, -4, 2 ** 41] },
      { name: 'scale_output', datatype: 'FP64', shape: [1], data: [0.5] },
    ]);
  });

  it('answers KServe health and metadata calls', async () => {
    const kserve = client().kserve;
    expect(await kserve.serverLive()).toBe(true);
    expect(await kserve.serverReady()).toBe(true);
    expect(await kserve.modelReady('double')).toBe(true);
    expect(await kserve.modelReady('other')).toBe(false);
    expect((await kserve.serverMetadata()).name).toBe('tenantmesh-test-model-server');
    expect(await kserve.modelMetadata('double')).toMatchObject({
      name: 'double',
      versions: ['1'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1] }],
    });
  });

  it('gets a TF Serving Predict result, from typed values or packed tensor_content', async () => {
    for (const packed of [false, true]) {
      const result = await client().tfserving.predict({
        model: 'double',
        version: 1,
        packed,
        inputs: { input: { datatype: 'DT_FLOAT', shape: [1, 3], data: [1, 2, 3] } },
      });
      expect(result).toEqual({
        model: 'double',
        version: 1,
        outputs: { output: { datatype: 'DT_FLOAT', shape: [1, 3], data: [2, 4, 6] } },
      });
    }
  });

  it("reads a TF Serving model's signatures", async () => {
    const metadata = await client().tfserving.getModelMetadata({ model: 'double' });
    expect(metadata.signatures.serving_default).toEqual({
      methodName: 'tensorflow/serving/predict',
      inputs: { input: { name: 'input:0', dtype: 'DT_FLOAT', shape: [-1] } },
      outputs: { output: { name: 'output:0', dtype: 'DT_FLOAT', shape: [-1] } },
    });
  });

  it('sends the authority the gateway routes on', async () => {
    await client({ authority: `${HOST}:443` }).kserve.serverReady();
    expect(server.calls.at(-1)).toMatchObject({ method: 'ServerReady', authority: `${HOST}:443` });
  });

  it('keeps one connection per client: its calls share it, another client opens its own', async () => {
    const peerOf = async (created: InferClient) => {
      await created.kserve.serverReady();
      return server.calls.at(-1)!.peer;
    };
    const reused = client();
    const first = await peerOf(reused);
    expect(await peerOf(reused)).toBe(first);
    expect(await peerOf(client())).not.toBe(first);
  });

  it('carries messages above 4 MiB both ways with the raised default limit', async () => {
    const values = 1_500_000; // 6 MB of FP32 each way
    const data = Array.from({ length: values }, (_, i) => i % 1000);
    const result = await client().kserve.modelInfer({
      model: 'double',
      encoding: 'raw',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [values], data }],
    });
    expect(result.outputs[0]!.data.length).toBe(values);
    expect(result.outputs[0]!.data[999]).toBe(1998);
  });

  it('refuses messages above a lower configured limit', async () => {
    const data = new Array<number>(1_500_000).fill(1);
    const error = await failure(
      client({ maxMessageBytes: 4 * 1024 * 1024 }).kserve.modelInfer({
        model: 'double',
        encoding: 'raw',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length], data }],
      }),
    );
    expect(error.kind).toBe('call-failed');
    expect(error.message).toContain('RESOURCE_EXHAUSTED');
  });
});

describe('infer client errors', () => {
  it("fails with a TLS error for a client certificate from another tenant's CA", async () => {
    const foreign = await issueClientCertificate(globex, {
      commonName: 'scoring-job',
      tenant: 'acme',
      validityDays: 30,
      now,
    });
    const error = await failure(client({}, foreign).kserve.serverReady());
    expect(error).toBeInstanceOf(InferTlsError);
    expect(error.kind).toBe('tls');
  });

  it('fails with a TLS error without a client certificate', async () => {
    const noCert = createInferClient({
      address: server.address,
      tls: { caPem: acme.certPem, serverName: HOST },
    });
    clients.push(noCert);
    expect(await failure(noCert.kserve.serverReady())).toBeInstanceOf(InferTlsError);
  });

  it('fails with a TLS error when the server certificate is not from the trusted CA', async () => {
    const error = await failure(
      client({
        tls: {
          caPem: globex.certPem,
          certPem: acmeClient.certPem,
          keyPem: acmeClient.keyPem,
          serverName: HOST,
        },
      }).kserve.serverReady(),
    );
    expect(error).toBeInstanceOf(InferTlsError);
  });

  it('fails with a TLS error when the server certificate does not name the host', async () => {
    const error = await failure(
      client({
        tls: {
          caPem: acme.certPem,
          certPem: acmeClient.certPem,
          keyPem: acmeClient.keyPem,
          serverName: 'double.globex.example.com',
        },
      }).kserve.serverReady(),
    );
    expect(error).toBeInstanceOf(InferTlsError);
    expect(error.message).toContain('double.globex.example.com');
  });

  it('fails as unavailable, not TLS, when nothing listens at the address', async () => {
    const stopped = await startModelServer();
    await stopped.close();
    const error = await failure(client({ address: stopped.address }).kserve.serverReady());
    expect(error).toBeInstanceOf(InferUnavailableError);
  });

  it('maps a missing bearer token to unauthenticated and a refused one to permission denied', async () => {
    const guarded = await startModelServer({ requiredBearerToken: 's3cret' });
    try {
      const plain = (bearerToken?: string) => {
        const created = createInferClient({ address: guarded.address, bearerToken });
        clients.push(created);
        return created.kserve;
      };
      expect(await failure(plain().serverReady())).toBeInstanceOf(InferUnauthenticatedError);
      expect(await failure(plain('wrong').serverReady())).toBeInstanceOf(InferPermissionDeniedError);
      expect(await plain('s3cret').serverReady()).toBe(true);
      expect(guarded.calls.at(-1)!.authorization).toBe('Bearer s3cret');
    } finally {
      await guarded.close();
    }
  });

  it('fails with deadline exceeded when the model does not answer in time', async () => {
    const stalling = await startModelServer({ stallModelName: 'slow' });
    try {
      const slow = createInferClient({ address: stalling.address, deadlineMs: 100 });
      clients.push(slow);
      const error = await failure(
        slow.kserve.modelInfer({
          model: 'slow',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1], data: [1] }],
        }),
      );
      expect(error).toBeInstanceOf(InferDeadlineExceededError);
    } finally {
      await stalling.close();
    }
  });

  it('reports an unknown model as not found', async () => {
    const error = await failure(client().tfserving.predict({ model: 'nope', inputs: {} }));
    expect(error).toBeInstanceOf(InferNotFoundError);
  });

  it('rejects data that does not fill the shape before sending anything', async () => {
    const before = server.calls.length;
    const error = await failure(
      client().kserve.modelInfer({
        model: 'double',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: [1] }],
      }),
    );
    expect(error).toBeInstanceOf(InferInputError);
    expect(error.message).toContain('needs 4 values, got 1');
    expect(server.calls.length).toBe(before);
  });
});
