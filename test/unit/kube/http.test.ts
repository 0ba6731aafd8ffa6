import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKube, loadKubeConfig } from '../../../src/kube/client.ts';
import { KubeError } from '../../../src/kube/errors.ts';
import { KubeHttp } from '../../../src/kube/http.ts';
import type { KubeConnection } from '../../../src/kube/kubeconfig.ts';
import type { WatchEvent } from '../../../src/kube/types.ts';
import { selfSignedCertificate, type TestCertificate } from './tls-fixture.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let serverCert: TestCertificate;
let namedOnlyCert: TestCertificate;
let clientCert: TestCertificate;
const servers: Server[] = [];
const clients: KubeHttp[] = [];

beforeAll(async () => {
  serverCert = await selfSignedCertificate('apiserver', { dns: ['localhost'], ip: ['127.0.0.1'] });
  namedOnlyCert = await selfSignedCertificate('apiserver', { dns: ['kubernetes.default.svc'] });
  clientCert = await selfSignedCertificate('system:admin', {}, { clientAuth: true });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function localHttpsEndpoint(handler: Handler, cert = serverCert): Promise<string> {
  const server = createServer({
    cert: cert.certPem,
    key: cert.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks).toString(), res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function connection(server: string, overrides: Partial<KubeConnection> = {}): KubeConnection {
  return {
    server,
    tls: { ca: Buffer.from(serverCert.certPem), rejectUnauthorized: true },
    credentials: { kind: 'token', token: 'abc' },
    ...overrides,
  };
}

function client(conn: KubeConnection): KubeHttp {
  const http = new KubeHttp(conn);
  clients.push(http);
  return http;
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('HTTPS transport', () => {
  it('sends the bearer token, query and JSON body, and returns the parsed answer', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    const server = await localHttpsEndpoint((req, body, res) => {
      seen = {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body,
      };
      sendJson(res, 200, {
        kind: 'ConfigMap',
        metadata: { name: 'a', creationTimestamp: '2030-01-01T00:00:00Z' },
      });
    });

    const answer = await client(connection(server)).json({
      method: 'PATCH',
      path: '/api/v1/namespaces/ns/configmaps/a',
      query: { fieldManager: 'tenantmesh', force: true, dryRun: undefined },
      contentType: 'application/apply-patch+yaml',
      body: { data: { x: '1' } },
    });

    expect(answer).toEqual({
      kind: 'ConfigMap',
      metadata: { name: 'a', creationTimestamp: '2030-01-01T00:00:00Z' },
    });
    expect(seen).toEqual({
      method: 'PATCH',
      url: '/api/v1/namespaces/ns/configmaps/a?fieldManager=tenantmesh&force=true',
      auth: 'Bearer abc',
      type: 'application/apply-patch+yaml',
      body: '{"data":{"x":"1"}}',
    });
  });

  it('turns a Status answer into a KubeError with its reason', async () => {
    const server = await localHttpsEndpoint((_req, _body, res) =>
      sendJson(res, 409, {
        kind: 'Status',
        code: 409,
        reason: 'AlreadyExists',
        message: 'configmaps "a" already exists',
      }),
    );

    const failure = client(connection(server)).json({
      method: 'POST',
      path: '/api/v1/namespaces/ns/configmaps',
      body: {},
    });

    await expect(failure).rejects.toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'configmaps "a" already exists',
    });
  });

  it('refuses a server whose certificate the configured CA did not sign, as a retryable network error', async () => {
    const server = await localHttpsEndpoint((_req, _body, res) => sendJson(res, 200, {}));
    const untrusted = connection(server, {
      tls: { ca: Buffer.from(namedOnlyCert.certPem), rejectUnauthorized: true },
    });

    const failure = client(untrusted).json({ method: 'GET', path: '/api' });

    await expect(failure).rejects.toBeInstanceOf(KubeError);
    await expect(failure).rejects.toMatchObject({ code: 0, reason: 'Network', retryable: true });
  });

  it('verifies the certificate against tls-server-name instead of the address', async () => {
    const server = await localHttpsEndpoint(
      (_req, _body, res) => sendJson(res, 200, { ok: true }),
      namedOnlyCert,
    );
    const conn = connection(server, {
      tls: {
        ca: Buffer.from(namedOnlyCert.certPem),
        rejectUnauthorized: true,
        servername: 'kubernetes.default.svc',
      },
    });

    await expect(client(conn).json({ method: 'GET', path: '/api' })).resolves.toEqual({ ok: true });
  });

  it('skips verification only when insecure-skip-tls-verify is set', async () => {
    const server = await localHttpsEndpoint(
      (_req, _body, res) => sendJson(res, 200, { ok: true }),
      namedOnlyCert,
    );

    const answer = client(connection(server, { tls: { rejectUnauthorized: false } })).json({
      method: 'GET',
      path: '/api',
    });

    await expect(answer).resolves.toEqual({ ok: true });
  });

  it('presents the client certificate of the kubeconfig user', async () => {
    let subject: string | undefined;
    const server = await localHttpsEndpoint((req, _body, res) => {
      subject = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
      sendJson(res, 200, {});
    });
    const conn = connection(server, {
      tls: {
        ca: Buffer.from(serverCert.certPem),
        cert: Buffer.from(clientCert.certPem),
        key: Buffer.from(clientCert.keyPem),
        rejectUnauthorized: true,
      },
      credentials: { kind: 'none' },
    });

    await client(conn).json({ method: 'GET', path: '/api' });

    expect(subject).toBe('system:admin');
  });

  it('sends basic auth for username and password users', async () => {
    let auth: string | undefined;
    const server = await localHttpsEndpoint((req, _body, res) => {
      auth = req.headers.authorization;
      sendJson(res, 200, {});
    });

    await client(
      connection(server, { credentials: { kind: 'basic', username: 'admin', password: 'pw' } }),
    ).json({
      method: 'GET',
      path: '/api',
    });

    expect(auth).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
  });
});

describe('connection pools', () => {
  it('serve requests while watches hold their connections open', async () => {
    const server = await localHttpsEndpoint((req, _body, res) => {
      if (req.url?.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('\n');
        return;
      }
      sendJson(res, 200, { ok: true });
    });
    const http = new KubeHttp(connection(server), { maxSockets: 1 });
    clients.push(http);
    const watch = new AbortController();
    const watchRequest = { method: 'GET' as const, path: '/api/v1/pods', query: { watch: true } };

    const events = await http.stream({ ...watchRequest, signal: watch.signal });
    await http.stream({ ...watchRequest, signal: watch.signal });

    await expect(http.json({ method: 'GET', path: '/api' })).resolves.toEqual({ ok: true });
    watch.abort();
    await expect(drain(events)).rejects.toThrow();
  });
});

async function drain(chunks: AsyncIterable<string>): Promise<void> {
  for await (const _chunk of chunks) {
    // Only the end (or failure) of the stream matters here.
  }
}

describe('exec plugin users', () => {
  it('authenticate with the token the plugin prints, through the lazily loaded client library', async () => {
    let auth: string | undefined;
    const server = await localHttpsEndpoint((req, _body, res) => {
      auth = req.headers.authorization;
      sendJson(res, 200, {});
    });
    const credential = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-plugin' },
    };
    const kubeconfigYaml = JSON.stringify({
      'current-context': 'fake',
      clusters: [
        { name: 'fake', cluster: { server, 'certificate-authority-data': base64(serverCert.certPem) } },
      ],
      users: [
        {
          name: 'fake',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: ['-e', `console.log(${JSON.stringify(JSON.stringify(credential))})`],
              interactiveMode: 'Never',
            },
          },
        },
      ],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    });

    await client(loadKubeConfig({ kubeconfigYaml })).json({ method: 'GET', path: '/api' });

    expect(auth).toBe('Bearer from-plugin');
  });
});

describe('watch over the HTTPS transport', () => {
  const discovery = { resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true }] };

  it('yields one event per JSON line, however the stream is chunked', async () => {
    const events: WatchEvent[] = [
      { type: 'ADDED', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'größe' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '42' } } },
    ];
    const wire = Buffer.from(events.map((event) => JSON.stringify(event)).join('\n') + '\n');
    // Split inside the first event and inside the two-byte "ö", so both line and UTF-8 boundaries are crossed.
    const split = wire.indexOf(Buffer.from('ö')) + 1;
    let watchUrl: string | undefined;
    const server = await localHttpsEndpoint((req, _body, res) => {
      if (req.url === '/api/v1') return sendJson(res, 200, discovery);
      watchUrl = req.url;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(wire.subarray(0, split));
      setImmediate(() => res.end(wire.subarray(split)));
    });
    const kubeconfigYaml = JSON.stringify({
      'current-context': 'fake',
      clusters: [
        {
          name: 'fake',
          cluster: {
            server,
            'certificate-authority-data': base64(serverCert.certPem),
          },
        },
      ],
      users: [{ name: 'fake', user: { token: 'abc' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    });

    const received: WatchEvent[] = [];
    for await (const event of createKube({ kubeconfigYaml }).watch('v1', 'ConfigMap', {
      namespace: 'ns',
      resourceVersion: '7',
    })) {
      received.push(event);
    }

    expect(received).toEqual(events);
    expect(watchUrl).toBe('/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion=7');
  });
});
