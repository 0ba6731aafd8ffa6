import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostRoutedFetch } from '../../../src/cli/commands/registry.ts';
import { run } from '../../../src/cli/program.ts';
import { fakeFetch, json, testIo } from './io.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tenantmesh-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const env = () => ({
  TENANTMESH_CONFIG_DIR: dir,
  TENANTMESH_SERVER: 'http://api.test',
  TENANTMESH_TOKEN: 't0k',
});

const model = (id: string, name: string) => ({
  id,
  name,
  state: 'LIVE',
  owner: 'ann',
  createTimeSinceEpoch: '1700000000000',
  lastUpdateTimeSinceEpoch: '1700000000000',
});

describe('tenantmesh registry', () => {
  it('lists every page of registered models, in the order asked', async () => {
    const { fetch, seen } = fakeFetch((request) =>
      request.url.searchParams.get('nextPageToken')
        ? json(200, { items: [model('3', 'c')], nextPageToken: '', size: 1, pageSize: 100 })
        : json(200, {
            items: [model('1', 'a'), model('2', 'b')],
            nextPageToken: 'next',
            size: 2,
            pageSize: 100,
          }),
    );
    const io = testIo(env(), fetch);
    expect(await run(['registry', 'models', 'acme', '--order-by', 'CREATE_TIME', '--desc'], io)).toBe(0);
    expect(seen.map((r) => r.url.pathname)).toEqual([
      '/api/model_registry/v1/registered_models',
      '/api/model_registry/v1/registered_models',
    ]);
    expect(seen[0]!.url.searchParams.get('sortOrder')).toBe('DESC');
    expect(seen[0]!.url.searchParams.get('orderBy')).toBe('CREATE_TIME');
    expect(io.stdout.text.split('\n').filter((line) => /^\d/.test(line))).toHaveLength(3);
  });

  it('shows a version with its artifacts', async () => {
    const { fetch } = fakeFetch((request) => {
      if (request.url.pathname.endsWith('/registered_model')) return json(200, model('1', 'fraud'));
      if (request.url.pathname.endsWith('/model_version'))
        return json(200, { ...model('5', '2'), author: 'bob' });
      return json(200, {
        items: [
          {
            ...model('6', 'fraud'),
            artifactType: 'model-artifact',
            uri: 's3://b/m/2/',
            modelFormatName: 'onnx',
          },
        ],
        nextPageToken: '',
      });
    });
    const io = testIo(env(), fetch);
    expect(await run(['registry', 'version', 'acme', 'fraud', '2'], io)).toBe(0);
    expect(io.stdout.text).toContain('s3://b/m/2/');
    expect(io.stdout.text).toContain('onnx');
  });

  it('a missing model is a not-found exit with the server message', async () => {
    const { fetch } = fakeFetch(() =>
      json(
        404,
        {
          code: '404',
          message: 'RegisteredModel "x" not found',
          status: 404,
          title: 'Not found',
          detail: 'RegisteredModel "x" not found',
        },
        'application/problem+json',
      ),
    );
    const io = testIo(env(), fetch);
    expect(await run(['registry', 'model', 'acme', 'x'], io)).not.toBe(0);
    expect(io.stderr.text).toContain('not found');
  });

  it('names the tenant registry by the Host header when it talks to the management API', async () => {
    const server = http.createServer((request, response) => response.end(request.headers.host));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const response = await hostRoutedFetch('acme.tenantmesh-serving.svc')(`http://127.0.0.1:${port}/x`);
      expect(await response.text()).toBe('acme.tenantmesh-serving.svc');
    } finally {
      server.close();
    }
  });
});
