import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { seg, type ApiClient } from './api-client.ts';
import { CliError } from './errors.ts';
import type { Progress } from './progress.ts';
import type { VersionRef } from './upload.ts';

/** Result of {@link downloadModel}. */
export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Streams a version's file to `outPath` through a temporary `<outPath>.partial`, checking the SHA-256 the
 * API announces (X-Checksum-Sha256) before the file takes its final name, so a cut-off or corrupted download
 * never looks complete.
 */
export async function downloadModel(
  deps: { api: ApiClient; progress(label: string, total: number): Progress },
  ref: VersionRef & { file: string },
  outPath: string,
): Promise<DownloadResult> {
  const response = await deps.api.request({
    path: `/v1/tenants/${seg(ref.tenant)}/models/${seg(ref.model)}/versions/${seg(ref.version)}/files/${seg(ref.file)}`,
    headers: { Accept: 'application/octet-stream' },
  });
  const expected = response.headers.get('x-checksum-sha256') ?? undefined;
  const total = Number(response.headers.get('content-length') ?? 0);
  const progress = deps.progress(`download ${ref.file}`, total);
  const hash = createHash('sha256');
  let size = 0;
  const partial = `${outPath}.partial`;
  if (!response.body) throw new CliError('the API sent no body');
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          size += chunk.length;
          progress.advance(chunk.length);
          callback(null, chunk);
        },
      }),
      createWriteStream(partial, { mode: 0o644 }),
    );
    const sha256 = hash.digest('hex');
    if (expected && expected.toLowerCase() !== sha256) {
      throw new CliError(
        `downloaded ${ref.file} has SHA-256 ${sha256}, the API announced ${expected}; nothing was saved`,
      );
    }
    await rename(partial, outPath);
    progress.finish();
    return { path: outPath, size, sha256 };
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof CliError) throw error;
    throw new CliError(`download of ${ref.file} failed: ${(error as Error).message}`);
  }
}
