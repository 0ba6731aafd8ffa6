import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startEnvironment, type EnvironmentInfo } from '../../src/testenv/environment.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    env: EnvironmentInfo;
    /** Loopback URL of the control endpoint below: test workers use it to stop/start MinIO and read log tails. */
    controlUrl: string;
  }
}

/**
 * Starts one real local platform for the whole integration run and stops every process of it afterwards.
 * Test workers run in other processes, so a small loopback control endpoint lets them act on components.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const environment = await startEnvironment();
  process.stderr.write(
    `[testenv] local platform up in ${((Date.now() - started) / 1000).toFixed(1)} s (${environment.info.runDir})\n`,
  );

  const control = http.createServer((request, response) => {
    const done = (status: number, body = '') =>
      response.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    const run = async () => {
      if (request.method === 'GET' && request.url === '/tails') return done(200, environment.tails(40));
      if (request.method === 'POST' && request.url === '/minio/stop')
        return (await environment.stopMinio(), done(204));
      if (request.method === 'POST' && request.url === '/minio/start')
        return (await environment.startMinio(), done(204));
      done(404);
    };
    run().catch((error: unknown) => done(500, error instanceof Error ? error.message : String(error)));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));

  project.provide('env', environment.info);
  project.provide('controlUrl', `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  return async () => {
    await new Promise((resolve) => control.close(resolve));
    await environment.stop();
  };
}
