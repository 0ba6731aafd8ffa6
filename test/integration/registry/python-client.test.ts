import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketName } from '../../../src/domain/index.ts';
import { assetPath } from '../../../src/testenv/provision.ts';
import {
  applyPlatformRbac,
  callersOf,
  createTenant,
  env,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from '../api/fixture.ts';
import { grantRegistryUsers, serviceHost, waitForRegistryAccess } from './fixture.ts';

const run = promisify(execFile);
const userFlow = fileURLToPath(new URL('./user_flow.py', import.meta.url));

describe('the real model-registry Python client (PyPI) against a tenant registry', () => {
  let harness: ApiUnderTest;
  const tenant = `reg-py-${suffix()}`;
  let callers: Callers;

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(tenant);
    await createTenant(harness, callers, tenant);
    await grantRegistryUsers(harness, tenant);
    await waitForRegistryAccess(harness, serviceHost(tenant), callers.tenantUser);
  });

  afterAll(async () => {
    await removeTenant(harness, tenant);
    await harness?.api.close();
  });

  it("runs a user's flow at <t>.<serving namespace>.svc and finds a version uploaded through the management API", async () => {
    const upload = await harness.call(
      'put',
      `/v1/tenants/${tenant}/models/uploaded/versions/7/files/model.onnx?modelFormatName=onnx&modelFormatVersion=1`,
      {
        token: callers.tenantAdmin,
        body: Buffer.from('weights'),
        headers: { 'Content-Type': 'application/octet-stream' },
      },
    );
    expect(upload.status, upload.text).toBe(201);

    const port = new URL(harness.api.url).port;
    const { stdout } = await run(assetPath(env.assets, 'model-registry-python'), [userFlow], {
      env: {
        ...process.env,
        REGISTRY_HOST: serviceHost(tenant),
        REGISTRY_PORT: port,
        REGISTRY_TOKEN: callers.tenantUser,
        REGISTRY_BUCKET: bucketName(tenant),
        UPLOADED_MODEL: 'uploaded',
        UPLOADED_VERSION: '7',
      },
      timeout: 300_000,
    }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the Python user flow failed:\n${error.stderr ?? ''}\n${error.stdout ?? ''}\n${error.message}`,
      );
    });
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as {
      listed: number;
      uploaded: { uri: string };
    };
    // The uploaded model, fraud-detector and twelve more.
    expect(summary.listed).toBe(14);
    expect(summary.uploaded.uri).toBe(`s3://${bucketName(tenant)}/models/uploaded/7/`);
  }, 360_000);
});
