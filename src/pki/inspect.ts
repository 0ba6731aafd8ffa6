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

/** What a reconcile checks on every tenant's serving certificate: the hosts it covers and when it is valid. */
export interface HostsAndValidity {
  hosts: string[];
  notBefore: Date;
  notAfter: Date;
}

/**
 * {@link parseCertificate}'s `hosts`, `notBefore` and `notAfter` from OpenSSL's parse (node:crypto) instead of an
 * ASN.1 walk in JavaScript: the operator asks this of every tenant's serving certificate after each issue and
 * restart, and the full parse cost 1.8 ms per certificate. Undefined when the PEM is not a certificate.
 */
export function hostsAndValidity(certPem: string): HostsAndValidity | undefined {
  const cert = readCertificate(certPem);
  if (!cert) return undefined;
  return {
    hosts: subjectAltNameHosts(cert.subjectAltName),
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
  };
}

/**
 * The DNS names and IP addresses of OpenSSL's subjectAltName text: `DNS:a.example, IP Address:10.0.0.1`, a value
 * with special characters JSON-quoted, IPv6 written out in full (compressed here, as parseCertificate gives it).
 */
function subjectAltNameHosts(text: string | undefined): string[] {
  if (!text) return [];
  const hosts: string[] = [];
  for (const [, type, raw] of text.matchAll(/([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const value = raw!.startsWith('"') ? (JSON.parse(raw!) as string) : raw!;
    if (type === 'DNS') hosts.push(value);
    else if (type === 'IP Address')
      hosts.push(value.includes(':') ? new URL(`http://[${value}]`).hostname.slice(1, -1) : value);
  }
  return hosts;
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
