import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../src/testenv/wait.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe('npm start', () => {
  it('brings up a platform whose API lets the demo admin create a tenant the operator makes Ready, and stops cleanly', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/platform/main.ts', '--no-node', '--api-port', '0'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => output.includes('Press Ctrl-C'), {
        description: 'npm start to be up',
        timeoutMs: 120_000,
      });
      const apiUrl = /Management API\s+(http:\/\/\S+)/.exec(output)?.[1];
      const tokenFile = /Demo admin token\s+(\S+)/.exec(output)?.[1];
      expect(apiUrl, output).toBeDefined();
      expect(tokenFile, output).toBeDefined();
      const headers = {
        authorization: `Bearer ${readFileSync(tokenFile!, 'utf8')}`,
        'content-type': 'application/json',
      };

      const created = await fetch(`${apiUrl}/v1/tenants`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'startdemo', displayName: 'Start demo', quota: { maxEndpoints: 2 } }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      await waitFor(
        async () => {
          const tenant = (await (await fetch(`${apiUrl}/v1/tenants/startdemo`, { headers })).json()) as {
            status?: { ready?: string };
          };
          return tenant.status?.ready === 'True';
        },
        { description: 'the operator to make the tenant Ready', timeoutMs: 30_000, intervalMs: 250 },
      );
      // The run's own secrets never reach the console.
      expect(output).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('Stopped.');
  });
});
