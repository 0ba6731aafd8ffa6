import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A PEM certificate with its PKCS#8 private key. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

interface Signer extends KeyPairPem {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** The throwaway certificate authority of one test-environment run: it signs the apiserver's and the OIDC issuer's serving certificates. */
export class TestCertificateAuthority {
  private constructor(private readonly signer: Signer) {}

  static async create(commonName: string): Promise<TestCertificateAuthority> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const notBefore = new Date(Date.now() - 60_000);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=${commonName}`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 7 * 24 * 3600_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TestCertificateAuthority({
      cert,
      certPem: cert.toString('pem'),
      keyPem: await exportKey(keys.privateKey),
      privateKey: keys.privateKey,
    });
  }

  get certPem(): string {
    return this.signer.certPem;
  }

  /** Issues a serving certificate for loopback names (SANs: the given DNS names and IP addresses). */
  async issueServing(commonName: string, dnsNames: string[], ipAddresses: string[]): Promise<KeyPairPem> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const notBefore = new Date(Date.now() - 60_000);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${commonName}`,
      issuer: this.signer.cert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 7 * 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: this.signer.privateKey,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([
          ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(this.signer.cert.publicKey),
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
  }
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}
