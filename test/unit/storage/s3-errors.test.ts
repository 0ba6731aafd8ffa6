import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, UnavailableError } from '../../../src/domain/errors.ts';
import { parseS3ErrorBody, toDomainError } from '../../../src/storage/s3-errors.ts';

function coded(code: string): Error {
  return Object.assign(new Error(`failure ${code}`), { code });
}

describe('toDomainError', () => {
  it.each([
    ['a refused connection is Unavailable', 'ECONNREFUSED', 'Unavailable'],
    ['a timeout is Unavailable', 'ETIMEDOUT', 'Unavailable'],
    ['a struggling store (SlowDown) is Unavailable', 'SlowDown', 'Unavailable'],
    ['a missing key is NotFound', 'NoSuchKey', 'NotFound'],
    ['a missing bucket is NotFound', 'NoSuchBucket', 'NotFound'],
    ['a missing multipart upload is NotFound', 'NoSuchUpload', 'NotFound'],
    ['a failed write precondition is Conflict', 'PreconditionFailed', 'Conflict'],
    ['a too small part is Invalid', 'EntityTooSmall', 'Invalid'],
    ['a wrong part etag is Invalid', 'InvalidPart', 'Invalid'],
  ])('%s', (_name, code, expected) => {
    expect(toDomainError(coded(code), 'version m/1')).toMatchObject({ code: expected });
  });

  it('names what was not found', () => {
    expect(toDomainError(coded('NoSuchKey'), 'version m/1').message).toBe('version m/1 not found');
  });

  it('passes domain errors through untouched', () => {
    const conflict = new ConflictError('taken');
    expect(toDomainError(conflict, 'x')).toBe(conflict);
  });

  it('leaves unknown failures as they are, so they surface as 500 instead of a misleading 4xx', () => {
    const error = coded('AccessDenied');
    expect(toDomainError(error, 'x')).toBe(error);
  });
});

describe('parseS3ErrorBody', () => {
  it('reads the S3 error code and message', () => {
    const error = parseS3ErrorBody(
      412,
      '<?xml version="1.0"?><Error><Code>PreconditionFailed</Code><Message>At least one failed</Message></Error>',
    );
    expect(error).toMatchObject({
      code: 'PreconditionFailed',
      statusCode: 412,
      message: 'At least one failed',
    });
  });

  it('falls back to the HTTP status when the body is not S3 XML', () => {
    expect(parseS3ErrorBody(502, 'bad gateway')).toMatchObject({ code: 'HTTP502' });
  });
});

describe('storage errors', () => {
  it('are the domain errors, so the API edge and the operator map them without knowing storage', () => {
    const error = toDomainError(coded('NoSuchKey'), 'version m/1');
    expect(error).toBeInstanceOf(NotFoundError);
    expect(toDomainError(coded('ECONNREFUSED'), 'x')).toBeInstanceOf(UnavailableError);
  });
});
