import { bucketName, modelVersionPrefix } from '../domain/names.ts';
import { Invalid } from './errors.ts';

export { bucketName };

/**
 * Object layout inside a tenant's bucket (docs/architecture.md, docs/storage.md):
 *
 *   models/<model>/<version>/<file>          published files
 *   models/<model>/<version>/manifest.json   written last; its presence is what makes a version visible
 *   .staging/<uploadId>/data                 bytes of an upload that is not yet published
 *   .staging/<uploadId>/session.json         what a multipart session is for (model, version, file, S3 upload id)
 *   .claims/<model>/<version>.json           held by whoever publishes or deletes the version right now
 *
 * Readers only ever trust `models/`; everything else is private to the store.
 */

/** File name of the manifest that seals a version. Reserved: no uploaded file may take it. */
export const MANIFEST_FILE = 'manifest.json';

const MODEL_PATTERN = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;
const VERSION_PATTERN = /^[A-Za-z0-9]([-A-Za-z0-9_.+]{0,62}[A-Za-z0-9])?$/;
const FILE_PATTERN = /^[A-Za-z0-9_][-A-Za-z0-9_.+]{0,254}$/;
const TENANT_PATTERN = /^[a-z0-9]([-a-z0-9]{1,38}[a-z0-9])$/;
const UPLOAD_ID_PATTERN = /^[a-f0-9]{32}$/;

/** Prefix of one version's objects (the domain's naming rule). */
export const versionPrefix = modelVersionPrefix;

export function fileKey(model: string, version: string, file: string): string {
  return `${versionPrefix(model, version)}${file}`;
}

export function manifestKey(model: string, version: string): string {
  return fileKey(model, version, MANIFEST_FILE);
}

export function stagingPrefix(uploadId: string): string {
  return `.staging/${uploadId}/`;
}

export function stagingDataKey(uploadId: string): string {
  return `${stagingPrefix(uploadId)}data`;
}

export function sessionKey(uploadId: string): string {
  return `${stagingPrefix(uploadId)}session.json`;
}

export function claimKey(model: string, version: string): string {
  return `.claims/${model}/${version}.json`;
}

function check(value: string, pattern: RegExp, pointer: string, rule: string): void {
  if (!pattern.test(value))
    throw new Invalid(`invalid ${pointer} "${value}": ${rule}`, [{ pointer, reason: rule }]);
}

/** Tenant names are DNS labels of 3–40 characters (docs/architecture.md). */
export function validateTenant(tenant: string): void {
  check(tenant, TENANT_PATTERN, 'tenant', 'a DNS label of 3-40 lowercase letters, digits and "-"');
}

export function validateModel(model: string): void {
  check(
    model,
    MODEL_PATTERN,
    'model',
    '1-63 lowercase letters, digits, "-", "_" or ".", starting and ending alphanumeric',
  );
}

export function validateVersion(version: string): void {
  check(
    version,
    VERSION_PATTERN,
    'version',
    '1-64 letters, digits, "-", "_", "." or "+", starting and ending alphanumeric',
  );
}

export function validateFile(file: string): void {
  check(
    file,
    FILE_PATTERN,
    'file',
    '1-255 letters, digits, "-", "_", "." or "+", not starting with "." or "-"',
  );
  if (file === MANIFEST_FILE) {
    throw new Invalid(`file name "${MANIFEST_FILE}" is reserved`, [
      { pointer: 'file', reason: 'reserved name' },
    ]);
  }
}

/** Upload ids are minted by the store (128 random bits, hex); anything else cannot name a session. */
export function isUploadId(uploadId: string): boolean {
  return UPLOAD_ID_PATTERN.test(uploadId);
}

const SHA256_PATTERN = /^[a-f0-9]{64}$/;

/** Normalises a caller-supplied SHA-256 (hex, any case) or rejects it. */
export function normaliseSha256(sha256: string, pointer = 'sha256'): string {
  const lower = sha256.trim().toLowerCase();
  check(lower, SHA256_PATTERN, pointer, '64 hexadecimal digits (SHA-256)');
  return lower;
}
