import { Command } from 'commander';
import path from 'node:path';
import { seg } from '../api-client.ts';
import type { CommandContext } from '../context.ts';
import { downloadModel } from '../download.ts';
import { formatDetails, formatTable } from '../output.ts';
import { parseBytes } from '../parse.ts';
import { formatBytes } from '../progress.ts';
import { abortUpload, DEFAULT_MULTIPART_THRESHOLD, uploadModel, type VersionManifest } from '../upload.ts';

interface ModelSummary {
  name: string;
  versions: number;
  lastPublishedAt: string;
}

interface VersionSummary {
  version: string;
  publishedAt: string;
  [key: string]: unknown;
}

interface UploadFlags {
  name?: string;
  multipartThreshold: number;
  partSize?: number;
  abort?: boolean;
}

function manifestDetails(m: VersionManifest): string {
  return formatDetails([
    ['model', m.model],
    ['version', m.version],
    ['published', m.publishedAt],
    ...m.files.flatMap((f): [string, unknown][] => [
      ['file', f.name],
      ['size', `${formatBytes(f.size)} (${f.size} bytes)`],
      ['sha256', f.sha256],
    ]),
  ]);
}

/** A listed model or version with the registry's record of it, where the registry has one. */
type Registered<T> = T & { registry?: { state?: string } };

/** `LIVE`/`ARCHIVED` from the registry, `-` for a version it does not know (published before it existed). */
const registryState = (item: Registered<object>) => item.registry?.state ?? '-';

/** `models list|versions|get|upload|download|delete`. */
export function modelCommands(context: CommandContext): Command {
  const models = new Command('models').description('Model versions in a tenant’s registry');
  const base = (tenant: string) => `/v1/tenants/${seg(tenant)}/models`;

  models.command('list <tenant>').action(async (tenant: string, _options: object, command: Command) => {
    const { api } = await context.api(command);
    const { items } = await api.get<{ items: Registered<ModelSummary>[] }>(base(tenant));
    context.print(command, items, () =>
      formatTable(items, [
        { header: 'model', value: (m) => m.name },
        { header: 'versions', value: (m) => m.versions },
        { header: 'last published', value: (m) => m.lastPublishedAt },
        { header: 'registry state', value: (m) => registryState(m) },
      ]),
    );
  });

  models
    .command('versions <tenant> <model>')
    .action(async (tenant: string, model: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      const { items } = await api.get<{ items: Registered<VersionSummary>[] }>(
        `${base(tenant)}/${seg(model)}/versions`,
      );
      context.print(command, items, () =>
        formatTable(items, [
          { header: 'version', value: (v) => v.version },
          { header: 'published', value: (v) => v.publishedAt },
          { header: 'registry state', value: (v) => registryState(v) },
        ]),
      );
    });

  models
    .command('get <tenant> <model> <version>')
    .description('Show a version’s manifest (files, sizes, SHA-256)')
    .action(async (tenant: string, model: string, version: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      const manifest = await api.get<VersionManifest>(
        `${base(tenant)}/${seg(model)}/versions/${seg(version)}`,
      );
      context.print(command, manifest, () => manifestDetails(manifest));
    });

  models
    .command('upload <tenant> <model> <version> <file>')
    .description(
      'Upload a file as a new version. Large files go through a resumable multipart session: if the upload ' +
        'is interrupted, run the same command again to send only the missing parts.',
    )
    .option('--name <file-name>', 'file name inside the version (default: the local base name)')
    .option(
      '--multipart-threshold <size>',
      'files at least this large use a multipart session (default 64MiB)',
      parseBytes,
      DEFAULT_MULTIPART_THRESHOLD,
    )
    .option(
      '--part-size <size>',
      'multipart part size, 5MiB–512MiB (default 16MiB, larger for huge files)',
      parseBytes,
    )
    .option('--abort', 'abort the unfinished upload of this file instead of resuming it')
    .action(
      async (
        tenant: string,
        model: string,
        version: string,
        file: string,
        options: UploadFlags,
        command: Command,
      ) => {
        const { api, server } = await context.api(command);
        const ref = { tenant, model, version };
        const deps = {
          api,
          server,
          stateDir: context.uploadsDir(),
          progress: (label: string, total: number) => context.progress(command, label, total),
          log: (line: string) => context.info(command, line),
        };
        if (options.abort) {
          const uploadId = await abortUpload(deps, ref, file);
          context.print(command, { aborted: uploadId }, () => `aborted upload ${uploadId}\n`);
          return;
        }
        const result = await uploadModel(deps, ref, {
          localPath: file,
          ...(options.name ? { fileName: options.name } : {}),
          multipartThreshold: options.multipartThreshold,
          ...(options.partSize !== undefined ? { partSize: options.partSize } : {}),
        });
        context.print(
          command,
          result.manifest,
          () => `published ${model}:${version}\n${manifestDetails(result.manifest)}`,
        );
      },
    );

  models
    .command('download <tenant> <model> <version>')
    .description('Download a version’s file, verifying its SHA-256')
    .option('--file <name>', 'which file (default: the only one in the manifest)')
    .option('--out <path>', 'where to write it (default: the file name, in the current directory)')
    .action(
      async (
        tenant: string,
        model: string,
        version: string,
        options: { file?: string; out?: string },
        command: Command,
      ) => {
        const { api } = await context.api(command);
        let file = options.file;
        if (!file) {
          const manifest = await api.get<VersionManifest>(
            `${base(tenant)}/${seg(model)}/versions/${seg(version)}`,
          );
          file = manifest.files[0]?.name;
          if (!file || manifest.files.length > 1) {
            throw new Error(`choose one file with --file: ${manifest.files.map((f) => f.name).join(', ')}`);
          }
        }
        const out = options.out ?? path.basename(file);
        const result = await downloadModel(
          { api, progress: (label, total) => context.progress(command, label, total) },
          { tenant, model, version, file },
          out,
        );
        context.print(
          command,
          result,
          () => `saved ${result.path} (${formatBytes(result.size)}, sha256 ${result.sha256})\n`,
        );
      },
    );

  models
    .command('delete <tenant> <model> <version>')
    .description('Delete a version (refused while an endpoint serves it)')
    .action(async (tenant: string, model: string, version: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      await api.delete(`${base(tenant)}/${seg(model)}/versions/${seg(version)}`);
      context.print(
        command,
        { tenant, model, version, deleted: true },
        () => `deleted ${model}:${version}\n`,
      );
    });

  return models;
}
