import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_CERTIFICATE_REGISTRY_KEY,
  FIELD_MANAGERS,
  clientCertificateRegistryName,
  commonLabels,
  gatewayCredentialSecretName,
  type ClientCertificateRecord,
} from '../../../src/domain/index.ts';
import { createOperator, type Operator } from '../../../src/operator/controller.ts';
import { storagePortFrom } from '../../../src/operator/ports.ts';
import { normaliseSerialNumber, summariseCrl } from '../../../src/pki/index.ts';
import { waitFor } from '../../../src/testenv/wait.ts';
import {
  applyPlatformRbac,
  callersOf,
  createTenant,
  env,
  platform,
  removeTenant,
  startApiUnderTest,
  suffix,
  type ApiUnderTest,
  type Callers,
} from './fixture.ts';

const T = `certs-${suffix()}`;
/** The most a ConfigMap's data may hold. */
const CONFIGMAP_LIMIT = 1024 * 1024;

/** A registry of earlier versions, filled to within a few bytes of the ConfigMap limit. */
function fullLegacyRegistry(): { text: string; records: ClientCertificateRecord[] } {
  const records: ClientCertificateRecord[] = [];
  const record = (): ClientCertificateRecord => ({
    serialNumber: randomBytes(16).toString('hex'),
    commonName: `legacy-${records.length}`,
    notBefore: '2025-01-01T00:00:00.000Z',
    // Expired, all but the one the test revokes: only valid certificates count against the caps.
    notAfter: records.length === 7 ? '2099-01-01T00:00:00.000Z' : '2025-02-01T00:00:00.000Z',
    fingerprintSha256: randomBytes(32).toString('hex'),
    issuedBy: 'legacy@example.test',
  });
  let text = '[]';
  for (;;) {
    const next = [...records, record()];
    const nextText = JSON.stringify(next, null, 1);
    if (nextText.length + CLIENT_CERTIFICATE_REGISTRY_KEY.length > CONFIGMAP_LIMIT - 16)
      return { text, records };
    records.push(next.at(-1)!);
    text = nextText;
  }
}

describe('certificate records never run out of room, and the CRL still follows them', () => {
  let harness: ApiUnderTest;
  let callers: Callers;
  let operator: Operator;
  let legacy: ClientCertificateRecord[];

  beforeAll(async () => {
    harness = await startApiUnderTest();
    await applyPlatformRbac(harness.kube);
    callers = await callersOf(T);
    await createTenant(harness, callers, T);
    const full = fullLegacyRegistry();
    legacy = full.records;
    await harness.kube.applyObject(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: clientCertificateRegistryName(T),
          namespace: platform.servingNamespace,
          labels: commonLabels('pki', T),
        },
        data: { [CLIENT_CERTIFICATE_REGISTRY_KEY]: full.text },
      } as never,
      { fieldManager: FIELD_MANAGERS.api, force: true },
    );
  });

  afterAll(async () => {
    await operator?.stop();
    await removeTenant(harness, T);
    await harness?.api.close();
  });

  it('issues and revokes next to a registry of earlier versions that is full', async () => {
    expect(legacy.length).toBeGreaterThan(2_500);
    const issued = await harness.call('post', `/v1/tenants/${T}/certificates`, {
      token: callers.tenantAdmin,
      json: { commonName: 'after-the-full-registry' },
    });
    expect(issued.status, issued.text).toBe(201);
    const serial = issued.json().serialNumber as string;
    for (const revoke of [serial, legacy[7]!.serialNumber]) {
      const revoked = await harness.call('delete', `/v1/tenants/${T}/certificates/${revoke}`, {
        token: callers.tenantAdmin,
      });
      expect(revoked.status, revoked.text).toBe(200);
      expect(revoked.json().revoked).toBe(true);
    }
    const listed = await harness.call('get', `/v1/tenants/${T}/certificates`, { token: callers.tenantAdmin });
    const items = listed.json().items as { serialNumber: string; revoked: boolean }[];
    expect(items).toHaveLength(legacy.length + 1);
    expect(
      items
        .filter((item) => item.revoked)
        .map((item) => normaliseSerialNumber(item.serialNumber))
        .sort(),
    ).toEqual([serial, legacy[7]!.serialNumber].map(normaliseSerialNumber).sort());
  });

  it('has the operator publish both revocations in the gateway’s CRL', async () => {
    operator = createOperator({
      kube: harness.kube,
      platform: { ...platform, gatewayNamespace: env.namespaces.gateway },
      store: storagePortFrom(harness.store),
      leaderElection: false,
    });
    operator.start();
    const listed = await harness.call('get', `/v1/tenants/${T}/certificates`, { token: callers.tenantAdmin });
    const revoked = (listed.json().items as { serialNumber: string; revoked: boolean }[])
      .filter((item) => item.revoked)
      .map((item) => normaliseSerialNumber(item.serialNumber))
      .sort();
    await waitFor(
      async () => {
        const secret = await harness.kube.get(
          'v1',
          'Secret',
          gatewayCredentialSecretName(T),
          env.namespaces.gateway,
        );
        const crl = (secret?.['data'] as Record<string, string> | undefined)?.['ca.crl'];
        if (!crl) return false;
        const serials = summariseCrl(Buffer.from(crl, 'base64').toString('utf8')).serialNumbers.sort();
        return serials.join() === revoked.join();
      },
      { description: 'the CRL to list both revocations', timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
