import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  KubeError,
  isConflict,
  isGone,
  isNotFound,
  kubeErrorFromResponse,
  toKubeError,
} from '../../../src/kube/errors.ts';

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

describe('toKubeError', () => {
  it.each([
    { name: 'NotFound is terminal', code: 404, reason: 'NotFound', retryable: false },
    { name: 'a resourceVersion conflict is retried', code: 409, reason: 'Conflict', retryable: true },
    { name: 'AlreadyExists keeps its own reason', code: 409, reason: 'AlreadyExists', retryable: true },
    { name: 'Invalid is terminal', code: 422, reason: 'Invalid', retryable: false },
    { name: 'Forbidden is terminal', code: 403, reason: 'Forbidden', retryable: false },
    { name: 'throttling is retried', code: 429, reason: 'TooManyRequests', retryable: true },
    { name: 'a server error is retried', code: 500, reason: 'InternalError', retryable: true },
    { name: 'an unavailable server is retried', code: 503, reason: 'ServiceUnavailable', retryable: true },
  ])('$name', ({ code, reason, retryable }) => {
    const err = toKubeError(new ApiException(code, 'HTTP error', status(code, reason, 'boom'), {}));

    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ code, reason, retryable, message: 'boom' });
  });

  it('parses the Status out of the string body KubernetesObjectApi hands back', () => {
    const body = JSON.stringify({
      ...status(422, 'Invalid', 'spec.replicas: Invalid value: -1'),
      details: { name: 'acme-mnist', kind: 'InferenceEndpoint', causes: [{ field: 'spec.replicas' }] },
    });

    const err = toKubeError(new ApiException(422, 'HTTP error', body, {}));

    expect(err.reason).toBe('Invalid');
    expect(err.message).toBe('spec.replicas: Invalid value: -1');
    expect(err.details?.causes?.[0]?.field).toBe('spec.replicas');
  });

  it('maps any error shaped like ApiException ({code, body}) without the client library', () => {
    const err = toKubeError(
      Object.assign(new Error('HTTP error'), { code: 404, body: status(404, 'NotFound', 'gone') }),
    );

    expect(err).toMatchObject({ code: 404, reason: 'NotFound', retryable: false, message: 'gone' });
  });

  it('does not mistake a socket error code for an HTTP status', () => {
    const err = toKubeError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', body: '' }),
    );

    expect(err).toMatchObject({ code: 0, reason: 'Network', retryable: true });
  });

  it('falls back to the HTTP code when the body is not a Status', () => {
    const err = kubeErrorFromResponse(502, '<html>bad gateway</html>');

    expect(err).toMatchObject({
      code: 502,
      reason: 'InternalError',
      retryable: true,
      message: '<html>bad gateway</html>',
    });
  });

  it('treats the 500 that server-side apply answers for a field missing from a built-in schema as terminal', () => {
    const message =
      'failed to create typed patch object (serving/x; /v1, Kind=ConfigMap): .bogusField: field not declared in schema';

    const err = kubeErrorFromResponse(500, status(500, 'InternalError', message));

    expect(err).toMatchObject({ code: 500, reason: 'Invalid', retryable: false });
  });

  it('maps a refused connection to a retryable network error that keeps its cause', () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });

    const err = toKubeError(refused);

    expect(err).toMatchObject({ code: 0, reason: 'Network', retryable: true });
    expect(err.cause).toBe(refused);
  });

  it('keeps an unknown error visible as a terminal Unknown error instead of dropping it', () => {
    const bug = new RangeError('index out of range');

    const err = toKubeError(bug);

    expect(err).toMatchObject({ reason: 'Unknown', retryable: false, message: 'index out of range' });
    expect(err.cause).toBe(bug);
  });

  it('returns a KubeError unchanged', () => {
    const original = new KubeError({ code: 409, reason: 'Conflict', message: 'modified' });

    expect(toKubeError(original)).toBe(original);
  });
});

describe('error predicates', () => {
  it('tell not-found objects, conflicts and expired resourceVersions apart', () => {
    const notFound = kubeErrorFromResponse(404, status(404, 'NotFound', 'x'));
    const noKind = new KubeError({ code: 404, reason: 'NoKindMatch', message: 'no kind' });
    const conflict = kubeErrorFromResponse(409, status(409, 'Conflict', 'x'));
    const gone = kubeErrorFromResponse(410, status(410, 'Expired', 'too old resource version'));

    expect([isNotFound(notFound), isNotFound(noKind), isNotFound(conflict)]).toEqual([true, false, false]);
    expect([isConflict(conflict), isConflict(notFound)]).toEqual([true, false]);
    expect([isGone(gone), isGone(notFound)]).toEqual([true, false]);
  });
});
