import { caSigningKey, loadCa } from './ca.ts';
import type { TenantCa } from './ca.ts';
import { InvalidCertificateRequestError } from './errors.ts';
import { derSerialHex, normaliseSerialNumber, x509 } from './keys.ts';

/** One revoked certificate. */
export interface RevokedCertificate {
  /** Hex serial number as returned when the certificate was issued. */
  serialNumber: string;
  revokedAt: Date;
}

/** Options for {@link createCrl}. */
export interface CrlOptions {
  now: Date;
  /** Days until the CRL's nextUpdate (default 7); relying parties may treat a CRL past it as stale. */
  nextUpdateDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Builds a CRL signed by the tenant CA, listing every revoked serial. The whole list is reissued each time:
 * the gateway Secret's `ca.crl` and Authorino read one complete CRL, not deltas.
 */
export async function createCrl(
  ca: Pick<TenantCa, 'certPem' | 'keyPem'>,
  revoked: RevokedCertificate[],
  options: CrlOptions,
): Promise<string> {
  const nextUpdateDays = options.nextUpdateDays ?? 7;
  if (!(nextUpdateDays > 0))
    throw new InvalidCertificateRequestError('nextUpdateDays', 'nextUpdateDays must be positive');
  const loaded = loadCa(ca, options.now);
  const { signingKey, signAlg } = await caSigningKey(loaded);
  const crl = await x509.X509CrlGenerator.create({
    issuer: loaded.cert.subjectName,
    thisUpdate: options.now,
    nextUpdate: new Date(options.now.getTime() + nextUpdateDays * DAY_MS),
    signingKey,
    signingAlgorithm: signAlg,
    entries: revoked.map((entry) => ({
      serialNumber: derSerialHex(normaliseSerialNumber(entry.serialNumber)),
      revocationDate: entry.revokedAt,
      // Without an extension @peculiar/x509 writes an empty crlEntryExtensions SEQUENCE, which DER forbids;
      // BoringSSL (Envoy, the Istio gateway) then rejects the whole CRL, and the tenant's credential with it.
      invalidity: entry.revokedAt,
    })),
  });
  return toPem('X509 CRL', crl.rawData);
}

/**
 * @peculiar/x509 labels CRLs `BEGIN CRL`; OpenSSL/BoringSSL (Envoy, the Istio gateway's `ca.crl`) only read the
 * RFC 7468 label `BEGIN X509 CRL`.
 */
function toPem(label: string, der: ArrayBuffer): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** What a CRL says, for deciding whether a live one can stay: its revoked serials (normalised hex) and expiry. */
export interface CrlSummary {
  serialNumbers: string[];
  nextUpdate: Date | undefined;
}

/** Reads a PEM CRL (either label); throws on anything that is not one. */
export function summariseCrl(pem: string): CrlSummary {
  const body = pem.replace(/-----(BEGIN|END) (X509 )?CRL-----|\s/g, '');
  const crl = new x509.X509Crl(Buffer.from(body, 'base64'));
  return {
    serialNumbers: crl.entries.map((entry) => normaliseSerialNumber(entry.serialNumber)).sort(),
    nextUpdate: crl.nextUpdate,
  };
}
