import { describe, expect, it } from 'vitest';
import { defaultPki, SERVING_CERTIFICATE_DAYS } from '../../../src/operator/ports.ts';

const DAY = 24 * 60 * 60 * 1000;
const now = new Date('2030-06-01T12:00:00Z');

describe("defaultPki's serving certificate checks", () => {
  it('covers the hosts it was issued for and is due once a third of its lifetime is left', async () => {
    const ca = await defaultPki.createCa('acme', now);
    const { certPem } = await defaultPki.issueServing(ca, ['*.acme.models.example.com'], now);

    expect(defaultPki.hostsOf(certPem)).toEqual(['*.acme.models.example.com']);
    expect(defaultPki.needsRotation(certPem, now)).toBe(false);
    // Issued a few minutes backdated (clock skew), so "a third left" falls a little before day 60.
    const renewAt = now.getTime() + ((SERVING_CERTIFICATE_DAYS * 2) / 3) * DAY;
    expect(defaultPki.needsRotation(certPem, new Date(renewAt - 3600_000))).toBe(false);
    expect(defaultPki.needsRotation(certPem, new Date(renewAt + 3600_000))).toBe(true);
  });

  it('treats a Secret whose certificate is unreadable (edited by hand) as due and covering nothing, so it is reissued', () => {
    const garbage = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(defaultPki.hostsOf(garbage)).toEqual([]);
    expect(defaultPki.needsRotation(garbage, now)).toBe(true);
  });
});
