import { describe, expect, it } from 'vitest';
import { ApiClient, ApiError, exitCodeForStatus, problemMessage } from '../../../src/cli/api-client.ts';
import { CliError, ExitCode } from '../../../src/cli/errors.ts';
import { fakeFetch, json } from './io.ts';

describe('problem+json to CLI message', () => {
  it.each([
    [
      'a conflict reads as status, title and detail',
      409,
      { title: 'Conflict', detail: 'version 1 of model m already exists' },
      '409 Conflict: version 1 of model m already exists',
    ],
    [
      'rejected fields are listed after the detail',
      422,
      {
        title: 'Invalid request',
        detail: 'request is invalid',
        invalidParams: [{ pointer: '/quota/cpu', reason: 'must be a Kubernetes quantity' }],
      },
      '422 Invalid request: request is invalid (/quota/cpu: must be a Kubernetes quantity)',
    ],
    [
      'a server error quotes the request id',
      500,
      { title: 'Internal server error', detail: 'quote the request id', requestId: 'r-123' },
      '500 Internal server error: quote the request id [request id r-123]',
    ],
    ['a response without a problem body still names its status', 404, undefined, '404 Not Found'],
  ])('%s', (_name, status, problem, expected) => {
    expect(problemMessage(status, problem)).toBe(expected);
  });

  it('tells the user to log in again on 401', () => {
    expect(problemMessage(401, { title: 'Authentication required', detail: 'token expired' })).toMatch(
      /^401 Authentication required: token expired \(run `tenantmesh login` again/,
    );
  });

  it.each([
    [401, ExitCode.unauthenticated],
    [403, ExitCode.permissionDenied],
    [404, ExitCode.notFound],
    [409, ExitCode.conflict],
    [422, ExitCode.usage],
    [503, ExitCode.unavailable],
    [504, ExitCode.deadline],
    [500, ExitCode.failure],
  ])('maps HTTP %i to exit code %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });
});

describe('ApiClient', () => {
  it('sends the bearer token only in the Authorization header and turns a problem into an ApiError', async () => {
    const { fetch, seen } = fakeFetch(() =>
      json(
        409,
        { title: 'Conflict', detail: 'version 1 of model m already exists', status: 409 },
        'application/problem+json',
      ),
    );
    const client = new ApiClient({ server: 'https://api.example.com/', token: 'secret-token', fetch });
    const error = await client
      .post('/v1/tenants/acme/models/m/versions/1/uploads', { file: 'f' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('409 Conflict: version 1 of model m already exists');
    expect((error as ApiError).exitCode).toBe(ExitCode.conflict);
    expect(String((error as Error).message)).not.toContain('secret-token');
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer secret-token');
    expect(seen[0]?.url.href).toBe('https://api.example.com/v1/tenants/acme/models/m/versions/1/uploads');
  });

  it('reports an unreachable server with the unavailable exit code and without the token', async () => {
    const client = new ApiClient({ server: 'http://127.0.0.1:9', token: 'secret-token' });
    const error = (await client.get('/v1/tenants').catch((e: unknown) => e)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(ExitCode.unavailable);
    expect(error.message).toMatch(/^cannot reach the API at http:\/\/127\.0\.0\.1:9/);
    expect(error.message).not.toContain('secret-token');
  });

  it('drops empty query values and returns nothing for 204', async () => {
    const { fetch, seen } = fakeFetch(() => new Response(null, { status: 204 }));
    const client = new ApiClient({ server: 'http://api', fetch });
    expect(await client.delete('/v1/x', { namespace: undefined, endpoint: 'e' })).toBeUndefined();
    expect(seen[0]?.url.search).toBe('?endpoint=e');
    expect(seen[0]?.headers.get('authorization')).toBeNull();
  });
});
