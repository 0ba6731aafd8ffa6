import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authenticatorFor, tokenFileRefreshMs } from '../../../src/kube/credentials.ts';

function tokenFile(token: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'token-test-')), 'token');
  writeFileSync(path, `${token}\n`);
  return path;
}

describe('token file credentials', () => {
  it('re-reads a rotated token once the refresh interval has passed, not before', async () => {
    const path = tokenFile('first');
    let now = 1_000_000;
    const authenticate = authenticatorFor({ kind: 'tokenFile', path }, () => now);

    expect((await authenticate()).headers).toEqual({ Authorization: 'Bearer first' });
    writeFileSync(path, 'second');
    now += tokenFileRefreshMs - 1;
    expect((await authenticate()).headers).toEqual({ Authorization: 'Bearer first' });
    now += 1;
    expect((await authenticate()).headers).toEqual({ Authorization: 'Bearer second' });
  });

  it('keeps the last token when a re-read fails', async () => {
    const path = tokenFile('kept');
    let now = 0;
    const authenticate = authenticatorFor({ kind: 'tokenFile', path }, () => now);
    await authenticate();

    rmSync(path);
    now += tokenFileRefreshMs;

    expect((await authenticate()).headers).toEqual({ Authorization: 'Bearer kept' });
  });

  it('fails when the token file was never readable', async () => {
    const authenticate = authenticatorFor({ kind: 'tokenFile', path: join(tmpdir(), 'no-such-token') });

    await expect(authenticate()).rejects.toThrow(/ENOENT/);
  });
});

describe('static credentials', () => {
  it('sends nothing for a user without credentials (client certificates authenticate at TLS)', async () => {
    expect(await authenticatorFor({ kind: 'none' })()).toEqual({ headers: {} });
  });
});
