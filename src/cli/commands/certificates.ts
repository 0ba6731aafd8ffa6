import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateP256KeyPair, privateKeyToPem, x509 } from '../../pki/keys.ts';
import { seg } from '../api-client.ts';
import { loadConfig, profileName, saveConfig, writePrivateFile } from '../config.ts';
import type { CommandContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDetails, formatTable } from '../output.ts';
import { parseCount } from '../parse.ts';

/** A certificate as the API presents it (src/api/routes/certificates.ts certificateDto). */
interface Certificate {
  serialNumber: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  issuedBy: string;
  revoked: boolean;
  revokedAt?: string;
}

interface Issued extends Certificate {
  certificatePem: string;
  caCertificatePem: string;
  privateKeyPem?: string;
}

/**
 * A P-256 key and a CSR for it, made on this machine: with `--generate-key` the private key never leaves
 * it (the API could generate one, but then it would travel over the network once).
 */
export async function generateKeyAndCsr(commonName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName.replace(/([,+"\\<>;=])/g, '\\$1')}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: csr.toString('pem') };
}

interface IssueOptions {
  csr?: string;
  generateKey?: boolean;
  outDir?: string;
  validityDays?: number;
  saveProfile?: boolean;
}

/** `certificates issue|list|revoke|ca`. */
export function certificateCommands(context: CommandContext): Command {
  const certificates = new Command('certificates').description(
    'Client certificates of a tenant’s CA, for mTLS to its endpoints',
  );
  const base = (tenant: string) => `/v1/tenants/${seg(tenant)}/certificates`;

  certificates
    .command('issue <tenant> <common-name>')
    .description(
      'Issue a client certificate. The common name becomes the RBAC user tenantmesh:client:<tenant>:<cn>. ' +
        'Either sign your own CSR (--csr), or let the CLI make a key here (--generate-key --out-dir).',
    )
    .option('--csr <file>', 'a PKCS#10 CSR (PEM); only its public key is used')
    .option('--generate-key', 'generate a P-256 key locally and write key, certificate and CA to --out-dir')
    .option('--out-dir <dir>', 'where to write <cn>.key, <cn>.crt and ca.crt')
    .option('--validity-days <days>', 'lifetime (server default 90)', parseCount)
    .option('--save-profile', 'make these files the profile’s defaults for `tenantmesh infer`')
    .action(async (tenant: string, commonName: string, options: IssueOptions, command: Command) => {
      if ((options.csr === undefined) === (options.generateKey !== true))
        throw usageError('give exactly one of --csr <file> or --generate-key');
      if (options.generateKey && !options.outDir) throw usageError('--generate-key needs --out-dir <dir>');
      const generated = options.generateKey ? await generateKeyAndCsr(commonName) : undefined;
      const csr = generated?.csrPem ?? (await context.io.readText(options.csr as string));
      const { api } = await context.api(command);
      const issued = await api.post<Issued>(base(tenant), {
        commonName,
        csr,
        ...(options.validityDays !== undefined ? { validityDays: options.validityDays } : {}),
      });
      const written: Record<string, string> = {};
      if (options.outDir) {
        await mkdir(options.outDir, { recursive: true, mode: 0o700 });
        const safe = commonName.replace(/[^\w.@-]/g, '_');
        written['cert'] = path.resolve(options.outDir, `${safe}.crt`);
        written['ca'] = path.resolve(options.outDir, 'ca.crt');
        await writeFile(written['cert'], issued.certificatePem, { mode: 0o644 });
        await writeFile(written['ca'], issued.caCertificatePem, { mode: 0o644 });
        if (generated) {
          written['key'] = path.resolve(options.outDir, `${safe}.key`);
          await writePrivateFile(written['key'], generated.keyPem);
        }
      }
      if (options.saveProfile) {
        if (!written['cert']) throw usageError('--save-profile needs --out-dir');
        const config = await loadConfig(context.io.env);
        const name = profileName(config, context.io.env, context.globals(command).profile);
        const profile = (config.profiles[name] ??= {});
        profile.infer = {
          ...profile.infer,
          ca: written['ca'],
          cert: written['cert'],
          ...(written['key'] ? { key: written['key'] } : {}),
        };
        await saveConfig(context.io.env, config);
      }
      const { privateKeyPem: _never, ...shown } = issued;
      context.print(
        command,
        { ...shown, files: written },
        () =>
          formatDetails([
            ['serial', issued.serialNumber],
            ['common name', issued.commonName],
            ['valid', `${issued.notBefore} – ${issued.notAfter}`],
            ['fingerprint', issued.fingerprintSha256],
            ...Object.entries(written).map(([kind, file]): [string, unknown] => [kind, file]),
          ]) + (options.outDir ? '' : issued.certificatePem),
      );
    });

  certificates.command('list <tenant>').action(async (tenant: string, _options: object, command: Command) => {
    const { api } = await context.api(command);
    const { items } = await api.get<{ items: Certificate[] }>(base(tenant));
    context.print(command, items, () =>
      formatTable(items, [
        { header: 'serial', value: (c) => c.serialNumber },
        { header: 'common name', value: (c) => c.commonName },
        { header: 'not after', value: (c) => c.notAfter },
        { header: 'revoked', value: (c) => (c.revoked ? (c.revokedAt ?? 'yes') : 'no') },
        { header: 'issued by', value: (c) => c.issuedBy },
      ]),
    );
  });

  certificates
    .command('revoke <tenant> <serial>')
    .description('Revoke a certificate; the operator publishes it in the tenant’s CRL')
    .action(async (tenant: string, serial: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      const result = await api.delete<Certificate | undefined>(`${base(tenant)}/${seg(serial)}`);
      context.print(command, result ?? { serialNumber: serial, revoked: true }, () => `revoked ${serial}\n`);
    });

  certificates
    .command('ca <tenant>')
    .description('Print (or save) the tenant CA certificate, to trust the tenant’s gateway')
    .option('--out <file>', 'write the PEM to this file')
    .action(async (tenant: string, options: { out?: string }, command: Command) => {
      const { api } = await context.api(command);
      const ca = await api.get<{ certificatePem: string; fingerprintSha256: string }>(
        `/v1/tenants/${seg(tenant)}/ca`,
      );
      if (options.out) await writeFile(options.out, ca.certificatePem, { mode: 0o644 });
      context.print(command, ca, () =>
        options.out ? `saved ${options.out} (sha256 ${ca.fingerprintSha256})\n` : ca.certificatePem,
      );
    });

  return certificates;
}
