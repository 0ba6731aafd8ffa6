import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalCluster, type RunningNode } from '../../src/localcluster/index.ts';
import type { NodeSummary } from './support.ts';

const nodeLockWaitMs = 30 * 60_000;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Loopback URL of the control endpoint below: test workers (other processes) reach the node through it. */
    nodeControlUrl: string;
  }
}

/**
 * Brings up the local one-node cluster once for the e2e project and tears it down afterwards. Workers ask the
 * control endpoint for the node's facts (`/node`), and the teardown test stops it (`/node/stop`) and checks the
 * host; a later file asking for the node again gets a fresh one on the same loopback port.
 */
async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-e2e-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let node: RunningNode | undefined;
  let apiserverHostPort = 0;
  const start = async () => {
    const started = Date.now();
    // Another run on this machine (one node per machine) is waited for, not failed: parallel CI jobs queue.
    node = await startLocalCluster({
      logDir,
      log,
      apiserverHostPort,
      tenantmeshImage: true,
      lockWaitMs: nodeLockWaitMs,
    });
    apiserverHostPort = Number(new URL(node.info.apiserverUrl).port);
    log(`[e2e] local node up in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${logDir})`);
  };
  const summary = (): NodeSummary => ({
    apiserverUrl: node!.info.apiserverUrl,
    kubeconfig: node!.info.adminKubeconfigPath,
    kubectl: node!.info.kubectl,
    netns: node!.info.layout.netns,
    root: node!.info.layout.root,
    images: Object.fromEntries(
      Object.entries(node!.info.images).map(([role, image]) => [role, image.reference]),
    ),
    logDir,
  });
  await start();

  const forwards = new Map<string, number>();
  // One request at a time: a stop and a start must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const control = http.createServer((request, response) => {
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const handle = async () => {
      if (request.method === 'GET' && request.url === '/node') {
        if (!node) await start();
        return reply(200, summary());
      }
      if (request.method === 'POST' && request.url === '/node/stop') {
        if (!node) return reply(409, { message: 'the node is not running' });
        const started = Date.now();
        const report = await node.stop();
        node = undefined;
        forwards.clear();
        return reply(200, { report, seconds: (Date.now() - started) / 1000 });
      }
      if (request.method === 'POST' && request.url === '/forward') {
        // A loopback port into the node's namespace (an address there, e.g. a Service's cluster IP), one per name.
        const target = JSON.parse(await readBody(request)) as { name: string; host: string; port: number };
        const key = `${target.name}=${target.host}:${target.port}`;
        if (!node) await start();
        let port = forwards.get(key);
        if (port === undefined) {
          port = await node!.forward(target.name, target.host, target.port);
          forwards.set(key, port);
        }
        return reply(200, { port });
      }
      if (request.method === 'GET' && request.url === '/tails')
        return reply(200, node?.supervisor.tails(40) ?? '');
      reply(404, { message: 'unknown' });
    };
    queue = queue
      .then(handle)
      .catch((error: unknown) =>
        reply(500, { message: error instanceof Error ? error.message : String(error) }),
      );
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  project.provide('nodeControlUrl', `http://127.0.0.1:${(control.address() as AddressInfo).port}`);

  return async () => {
    await new Promise((resolve) => control.close(resolve));
    await queue;
    await node?.stop();
  };
}
