import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** A self-signed certificate and its key, PEM. */
export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

x509.cryptoProvider.set(webcrypto);

/** A self-signed ECDSA certificate for `commonName`, valid for the given DNS names and IP addresses. */
export async function selfSignedCertificate(
  commonName: string,
  altNames: { dns?: string[]; ip?: string[] },
  options: { clientAuth?: boolean } = {},
): Promise<TestCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const names = [
    ...(altNames.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(altNames.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const usage = options.clientAuth ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * 60 * 60 * 1000),
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  return { certPem: cert.toString('pem'), keyPem };
}
