import { describe, expect, it } from 'vitest';
import {
  bucketName,
  fileKey,
  isUploadId,
  manifestKey,
  normaliseSha256,
  validateFile,
  validateModel,
  validateTenant,
  validateVersion,
} from '../../../src/storage/layout.ts';
import { readOnlyPolicy } from '../../../src/storage/store.ts';

describe('object layout', () => {
  it('puts a tenant in bucket tenantmesh-<tenant> and a version under models/<model>/<version>/', () => {
    expect(bucketName('acme')).toBe('tenantmesh-acme');
    expect(fileKey('resnet', '3', 'model.onnx')).toBe('models/resnet/3/model.onnx');
    expect(manifestKey('resnet', '3')).toBe('models/resnet/3/manifest.json');
  });
});

describe('name validation', () => {
  it.each(['acme', 'team-a1', 'a'.repeat(40)])('accepts tenant %s', (name) => {
    expect(() => validateTenant(name)).not.toThrow();
  });
  it.each(['ab', 'Acme', '-acme', 'a'.repeat(41), 'a_b'])('rejects tenant %s as Invalid', (name) => {
    expect(() => validateTenant(name)).toThrow(expect.objectContaining({ code: 'Invalid' }));
  });

  it.each(['resnet', 'bert.base', 'llama_3-8b'])('accepts model %s', (name) => {
    expect(() => validateModel(name)).not.toThrow();
  });
  it.each(['', 'ResNet', '../x', 'a/b', '.hidden', 'x'.repeat(64)])('rejects model %j', (name) => {
    expect(() => validateModel(name)).toThrow(expect.objectContaining({ code: 'Invalid' }));
  });

  it.each(['1', 'v2.0.1', '2024-05-01', '1.0.0+build'])('accepts version %s', (name) => {
    expect(() => validateVersion(name)).not.toThrow();
  });
  it.each(['', '..', 'a/b', '-1', 'v1-'])('rejects version %j', (name) => {
    expect(() => validateVersion(name)).toThrow(expect.objectContaining({ code: 'Invalid' }));
  });

  it.each(['model.onnx', 'saved_model.tar.gz', 'weights-00001.bin'])('accepts file %s', (name) => {
    expect(() => validateFile(name)).not.toThrow();
  });
  it.each(['', '.', '..', '.env', 'a/b', 'manifest.json'])(
    'rejects file %j, including the reserved manifest name',
    (name) => {
      expect(() => validateFile(name)).toThrow(expect.objectContaining({ code: 'Invalid' }));
    },
  );

  it('recognises only store-minted upload ids, so a crafted id cannot address another key', () => {
    expect(isUploadId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isUploadId('../../models/x')).toBe(false);
    expect(isUploadId('0123456789ABCDEF0123456789ABCDEF')).toBe(false);
  });

  it('normalises a SHA-256 to lower case and rejects anything else', () => {
    expect(normaliseSha256('AB'.repeat(32))).toBe('ab'.repeat(32));
    expect(() => normaliseSha256('xyz')).toThrow(expect.objectContaining({ code: 'Invalid' }));
  });
});

describe('read-only session policy', () => {
  it('allows reading and listing models/ of the one bucket and nothing else', () => {
    const policy = readOnlyPolicy('tenantmesh-acme') as {
      Statement: { Action: string[]; Resource: string[] }[];
    };
    const resources = policy.Statement.flatMap((s) => s.Resource);
    expect(resources.every((r) => r.startsWith('arn:aws:s3:::tenantmesh-acme'))).toBe(true);
    expect(resources).not.toContain('arn:aws:s3:::tenantmesh-acme/*');
    const actions = policy.Statement.flatMap((s) => s.Action);
    expect(actions.sort()).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket']);
  });
});
