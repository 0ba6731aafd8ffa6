import { InvalidCertificateRequestError } from './errors.ts';
import { normaliseSerialNumber, readCertificate, x509 } from './keys.ts';

/** What the API and operator need to know about a certificate. */
export interface CertificateInfo {
  commonName: string | undefined;
  organizations: string[];
  /** Lower-case hex, no leading zero bytes. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
  isCa: boolean;
  /** DNS names and IP addresses from the subjectAltName. */
  hosts: string[];
  /** Extended key usages by name where known (`serverAuth`, `clientAuth`), else the OID. */
  extendedKeyUsages: string[];
}

const EKU_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(x509.ExtendedKeyUsage).map(([name, oid]) => [oid, name]),
);

/** Parses a PEM certificate. Throws {@link InvalidCertificateRequestError} if it is not one. */
export function parseCertificate(certPem: string): CertificateInfo {
  const node = readCertificate(certPem);
  if (!node) throw new InvalidCertificateRequestError('certificate', 'not a readable PEM certificate');
  const cert = new x509.X509Certificate(certPem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    commonName: cert.subjectName.getField('CN')[0],
    organizations: cert.subjectName.getField('O'),
    serialNumber: normaliseSerialNumber(node.serialNumber),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprintSha256: node.fingerprint256,
    isCa: node.ca,
    hosts: (san?.names.items ?? [])
      .filter((name) => name.type === 'dns' || name.type === 'ip')
      .map((name) => name.value),
    extendedKeyUsages: (eku?.usages ?? []).map((usage) => EKU_NAMES[String(usage)] ?? String(usage)),
  };
}

/** When to renew: once less than this fraction of the lifetime, or less than this duration, remains. */
export type RotationThreshold = { remainingFraction: number } | { remainingMs: number };

/** cert-manager's default: renew when a third of the lifetime is left. */
export const DEFAULT_ROTATION_THRESHOLD: RotationThreshold = { remainingFraction: 1 / 3 };

/**
 * True when the certificate should be replaced at `now`: it is past (or inside) the rotation threshold, already
 * expired, or not valid yet (a clock or issuance problem that a fresh certificate fixes).
 */
export function needsRotation(
  certPem: string,
  now: Date,
  threshold: RotationThreshold = DEFAULT_ROTATION_THRESHOLD,
): boolean {
  return validityNeedsRotation(parseCertificate(certPem), now, threshold);
}

/** {@link needsRotation} for an already parsed certificate's validity period. */
export function validityNeedsRotation(
  { notBefore, notAfter }: { notBefore: Date; notAfter: Date },
  now: Date,
  threshold: RotationThreshold = DEFAULT_ROTATION_THRESHOLD,
): boolean {
  if (now < notBefore || now >= notAfter) return true;
  const remaining = notAfter.getTime() - now.getTime();
  if ('remainingMs' in threshold) return remaining <= threshold.remainingMs;
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return remaining <= lifetime * threshold.remainingFraction;
}
