import { CertificateRejectedError } from './errors.ts';
import { normaliseSerialNumber, readCertificate, x509 } from './keys.ts';
import { parseCertificate } from './inspect.ts';
import type { CertificateInfo } from './inspect.ts';

/** Options for {@link verifyClientCertificate}. */
export interface VerifyClientCertificateOptions {
  now: Date;
  /** The tenant CA's CRL; a certificate listed in it is rejected. */
  crlPem?: string;
}

/**
 * Checks a client certificate the way the gateway and Authorino will: issued and signed by the tenant CA,
 * inside its validity period at `now`, an end-entity certificate with the clientAuth usage, and not revoked.
 * Returns the parsed certificate; throws {@link CertificateRejectedError} naming the first failed check.
 * Signature checks use Node's OpenSSL, independent of the library that issued the certificate.
 */
export async function verifyClientCertificate(
  caPem: string,
  certPem: string,
  options: VerifyClientCertificateOptions,
): Promise<CertificateInfo> {
  const ca = readCertificate(caPem);
  const cert = readCertificate(certPem);
  if (!ca) throw new CertificateRejectedError('malformed', 'the CA is not a readable PEM certificate');
  if (!cert)
    throw new CertificateRejectedError(
      'malformed',
      'the client certificate is not a readable PEM certificate',
    );
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new CertificateRejectedError(
      'untrusted-issuer',
      'the certificate was not issued by this tenant CA',
    );
  }
  const info = parseCertificate(certPem);
  if (options.now < info.notBefore) {
    throw new CertificateRejectedError(
      'not-yet-valid',
      `the certificate is not valid before ${info.notBefore.toISOString()}`,
    );
  }
  if (options.now > info.notAfter) {
    throw new CertificateRejectedError(
      'expired',
      `the certificate expired at ${info.notAfter.toISOString()}`,
    );
  }
  if (info.isCa || !info.extendedKeyUsages.includes('clientAuth')) {
    throw new CertificateRejectedError(
      'not-a-client-certificate',
      'the certificate does not allow client authentication',
    );
  }
  if (options.crlPem !== undefined) await assertNotRevoked(caPem, options.crlPem, info.serialNumber);
  return info;
}

async function assertNotRevoked(caPem: string, crlPem: string, serialNumber: string): Promise<void> {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(crlPem);
  } catch {
    throw new CertificateRejectedError('invalid-crl', 'the CRL is not readable');
  }
  const signedByCa = await crl.verify({ publicKey: new x509.X509Certificate(caPem) }).catch(() => false);
  if (!signedByCa)
    throw new CertificateRejectedError('invalid-crl', 'the CRL is not signed by this tenant CA');
  if (crl.entries.some((entry) => normaliseSerialNumber(entry.serialNumber) === serialNumber)) {
    throw new CertificateRejectedError('revoked', `certificate ${serialNumber} has been revoked`);
  }
}
