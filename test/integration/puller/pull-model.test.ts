import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pullModel, type PullOptions } from '../../../src/puller/main.ts';
import type { ModelLayout } from '../../../src/puller/layout.ts';
import { createModelStore, type ReadCredentials } from '../../../src/storage/store.ts';
import { s3Client } from '../../../src/testenv/identities.ts';
import { tarGz, zip } from '../../support/archives.ts';

/**
 * The model puller against the real MinIO: versions published through the store, read back with the tenant's
 * STS credentials (what the init container gets), archives real and malicious.
 */
const env = inject('env');
const store = createModelStore(env.s3);
const tenant = `pull-${randomBytes(4).toString('hex')}`;
const otherTenant = `pullx-${randomBytes(4).toString('hex')}`;
let credentials: ReadCredentials;
let scratch: string;

async function publish(model: string, version: string, file: string, bytes: Buffer, owner = tenant) {
  await store.putVersionFile(owner, model, version, file, Readable.from([bytes]), { size: bytes.length });
}

function options(model: string, version: string, layout: ModelLayout, overrides: Partial<PullOptions> = {}) {
  return {
    source: {
      endpoint: `http://${env.s3.endPoint}:${env.s3.port}`,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      sessionToken: credentials.sessionToken,
      bucket: credentials.bucket,
      model,
      version,
    },
    layout,
    target: path.join(scratch, 'models', model, ...(layout === 'tensorflow-saved-model' ? ['1'] : [])),
    limits: { maxBytes: 4 * 1024 * 1024, maxEntries: 100 },
    ...overrides,
  } satisfies PullOptions;
}

/** Everything under a directory, relative, directories with a trailing `/`. */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const relative = path.relative(root, path.join(entry.parentPath, entry.name));
      return entry.isDirectory() ? `${relative}/` : relative;
    })
    .sort();
}

beforeAll(async () => {
  await store.ensureBucket(tenant);
  await store.ensureBucket(otherTenant);
  credentials = await store.issueReadCredentials(tenant, 900);
  scratch = mkdtempSync(path.join(tmpdir(), 'pull-model-'));
});

afterAll(async () => {
  await store.removeBucket(tenant, { purge: true });
  await store.removeBucket(otherTenant, { purge: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe('pull-model against a real MinIO with the tenant read credentials', () => {
  it('lays a SavedModel .tar.gz out as TF Serving reads it: <model>/1/saved_model.pb', async () => {
    await publish(
      'resnet',
      '3',
      'resnet.tar.gz',
      tarGz([
        { type: 'directory', name: 'resnet' },
        { type: 'file', name: 'resnet/saved_model.pb', content: 'graph' },
        { type: 'file', name: 'resnet/variables/variables.index', content: 'index' },
        {
          type: 'file',
          name: 'resnet/variables/variables.data-00000-of-00001',
          content: randomBytes(64 * 1024),
        },
      ]),
    );
    const pulled = await pullModel(options('resnet', '3', 'tensorflow-saved-model'));
    expect(pulled.files).toHaveLength(3);
    expect(tree(path.join(scratch, 'models/resnet'))).toEqual([
      '1/',
      '1/saved_model.pb',
      '1/variables/',
      '1/variables/variables.data-00000-of-00001',
      '1/variables/variables.index',
    ]);
  });

  it('lays a Triton model directory .zip out as a repository entry: <model>/config.pbtxt, <model>/1/', async () => {
    await publish(
      'bert',
      'v7',
      'bert.zip',
      zip([
        { type: 'file', name: 'config.pbtxt', content: 'name: "bert"' },
        { type: 'directory', name: '1' },
        { type: 'file', name: '1/model.onnx', content: 'onnx' },
      ]),
    );
    await pullModel(options('bert', 'v7', 'triton-model'));
    expect(tree(path.join(scratch, 'models/bert'))).toEqual(['1/', '1/model.onnx', 'config.pbtxt']);
  });

  it('gives a single scikit-learn file the model-settings.json MLServer needs', async () => {
    await publish('iris', '1', 'model.joblib', Buffer.from('joblib bytes'));
    await pullModel(options('iris', '1', 'mlserver'));
    const target = path.join(scratch, 'models/iris');
    expect(tree(target)).toEqual(['model-settings.json', 'model.joblib']);
    expect(JSON.parse(readFileSync(path.join(target, 'model-settings.json'), 'utf8'))).toEqual({
      name: 'iris',
      implementation: 'mlserver_sklearn.SKLearnModel',
      parameters: { uri: './model.joblib', version: '1' },
    });
  });

  it('replaces what a previous attempt left in the target (a restarted init container)', async () => {
    await publish('again', '1', 'weights.bin', Buffer.from('first'));
    await pullModel(options('again', '1', 'files'));
    await pullModel(options('again', '1', 'files'));
    expect(tree(path.join(scratch, 'models/again'))).toEqual(['weights.bin']);
    expect(readdirSync(path.join(scratch, 'models')).filter((name) => name.startsWith('.pull-'))).toEqual([]);
  });

  it.each([
    [
      'path traversal',
      'evil.tar.gz',
      tarGz([{ type: 'file', name: '../../escaped', content: 'x' }]),
      /leaves the model directory/,
    ],
    [
      'a symlink escape',
      'evil.zip',
      zip([{ type: 'symlink', name: 'model.onnx', target: '../../../etc/passwd' }]),
      /points outside the model directory/,
    ],
    [
      'a zip bomb',
      'bomb.zip',
      zip([{ type: 'file', name: 'zeros.bin', content: Buffer.alloc(32 * 1024 * 1024) }]),
      /archive unpacks to more than 4194304 bytes/,
    ],
    [
      'a tar bomb',
      'bomb.tgz',
      tarGz([{ type: 'file', name: 'zeros.bin', content: Buffer.alloc(32 * 1024 * 1024) }]),
      /archive unpacks to more than 4194304 bytes|decompression bomb/,
    ],
  ])('refuses %s, leaving no file behind', async (_case, file, bytes, message) => {
    const model = `evil-${randomBytes(3).toString('hex')}`;
    await publish(model, '1', file, bytes);
    await expect(pullModel(options(model, '1', 'files'))).rejects.toThrow(message);
    expect(existsSync(path.join(scratch, 'models', model))).toBe(false);
    expect(existsSync(path.join(scratch, 'escaped'))).toBe(false);
    expect(readdirSync(path.join(scratch, 'models')).filter((name) => name.startsWith('.pull-'))).toEqual([]);
  });

  it('refuses bytes that do not match the manifest (changed in the bucket after publishing)', async () => {
    await publish('tampered', '1', 'model.onnx', Buffer.from('the published bytes'));
    const root = s3Client(env);
    const replaced = Buffer.from('other bytes, same size');
    await root.putObject(`tenantmesh-${tenant}`, 'models/tampered/1/model.onnx', replaced, replaced.length);
    await expect(pullModel(options('tampered', '1', 'files'))).rejects.toThrow(
      /model\.onnx (does not match its manifest|has \d+ bytes, its manifest says|is longer than its manifest says)/,
    );
  });

  it("cannot read another tenant's version with this tenant's credentials", async () => {
    await publish('secret', '1', 'model.onnx', Buffer.from('theirs'), otherTenant);
    await expect(
      pullModel({
        ...options('secret', '1', 'files'),
        source: { ...options('secret', '1', 'files').source, bucket: `tenantmesh-${otherTenant}` },
      }),
    ).rejects.toThrow(/the storage credentials may not read version secret\/1 \(AccessDenied\)/);
  });

  it('says plainly when the version does not exist', async () => {
    await expect(pullModel(options('missing', '9', 'files'))).rejects.toThrow(
      "version missing/9 does not exist in the tenant's bucket",
    );
  });

  it('says what TF Serving needs when the upload is not a SavedModel', async () => {
    await publish('notsaved', '1', 'model.onnx', Buffer.from('onnx'));
    await expect(pullModel(options('notsaved', '1', 'tensorflow-saved-model'))).rejects.toThrow(
      /TensorFlow Serving needs a SavedModel/,
    );
  });
});
