/**
 * `tenantmesh-server pull-model`: the init container of every serving pod. Downloads the endpoint's model
 * version, verifies it, unpacks it safely and lays it out for the runtime; on failure it ends with a one-line
 * termination message, which the operator copies into the endpoint's status.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { downloadVersion, type VersionSource } from './download.ts';
import {
  MODEL_LAYOUTS,
  PullError,
  arrangeModel,
  renamedMlserverSettings,
  type ModelLayout,
} from './layout.ts';
import { archiveKind, unpackArchive, type UnpackLimits } from './unpack.ts';

/** Everything one pull needs. */
export interface PullOptions {
  source: VersionSource;
  layout: ModelLayout;
  /** The directory the runtime reads the model from; replaced if it exists (a restarted init container). */
  target: string;
  limits: UnpackLimits;
}

/** What was pulled. */
export interface PullResult {
  files: string[];
  bytes: number;
}

/** The defaults of the limits, generous for real models and small enough to stop a decompression bomb. */
export const DEFAULT_LIMITS: UnpackLimits = { maxBytes: 20 * 1024 ** 3, maxEntries: 10_000 };

/** Pulls one version into `target`; throws {@link PullError} with a message for the endpoint's status. */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const { source, layout, target } = options;
  const parent = path.dirname(target);
  mkdirSync(parent, { recursive: true });
  // Work next to the target (same volume), so the final step is a rename and a failure leaves no half model.
  const work = path.join(parent, `.pull-${randomBytes(6).toString('hex')}`);
  const downloads = path.join(work, 'download');
  const content = path.join(work, 'content');
  mkdirSync(downloads, { recursive: true });
  mkdirSync(content);
  try {
    const manifest = await downloadVersion(source, downloads, options.limits.maxBytes);
    const single = manifest.files.length === 1 ? manifest.files[0]! : undefined;
    const kind = single ? archiveKind(single.name) : undefined;
    let paths: string[];
    if (single && kind) {
      paths = await unpackArchive(path.join(downloads, single.name), kind, content, options.limits);
    } else {
      for (const file of manifest.files)
        renameSync(path.join(downloads, file.name), path.join(content, file.name));
      paths = manifest.files.map((file) => file.name).sort();
    }
    const arrangement = arrangeModel(paths, layout, source.model, source.version);
    const modelRoot = path.join(content, ...arrangement.root.split('/').filter(Boolean));
    for (const [name, text] of Object.entries(arrangement.extraFiles)) {
      writeFileSync(path.join(modelRoot, name), text, { flag: 'wx' });
    }
    if (layout === 'mlserver' && !('model-settings.json' in arrangement.extraFiles)) {
      const settings = path.join(modelRoot, 'model-settings.json');
      const renamed = renamedMlserverSettings(readFileSync(settings, 'utf8'), source.model);
      // Replace by rename: never write through whatever the upload put at that name.
      writeFileSync(`${settings}.tmp`, renamed, { flag: 'wx' });
      renameSync(`${settings}.tmp`, settings);
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(modelRoot, target);
    return {
      files: paths.filter((p) => !p.endsWith('/')),
      bytes: manifest.files.reduce((sum, file) => sum + file.size, 0),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const usage = `Usage: tenantmesh-server pull-model --model <m> --version <v> --target <dir> [options]

  --layout <layout>            ${MODEL_LAYOUTS.join(' | ')} (default files)
  --max-bytes <n>              most bytes downloaded or unpacked (default ${DEFAULT_LIMITS.maxBytes})
  --max-entries <n>            most entries an archive may hold (default ${DEFAULT_LIMITS.maxEntries})
  --termination-log <file>     where a failure is written (default /dev/termination-log)

Storage from the tenant's Secret: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, TENANTMESH_BUCKET.`;

function positiveInteger(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new PullError(`${flag} must be a positive integer`);
  return number;
}

/** Parses the command line and environment into {@link PullOptions}. */
export function pullOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): PullOptions & { terminationLog: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      version: { type: 'string' },
      layout: { type: 'string', default: 'files' },
      target: { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-entries': { type: 'string' },
      'termination-log': { type: 'string', default: '/dev/termination-log' },
    },
  });
  const required = (value: string | undefined, what: string): string => {
    if (!value) throw new PullError(`${what} is required`);
    return value;
  };
  const layout = values.layout as ModelLayout;
  if (!MODEL_LAYOUTS.includes(layout))
    throw new PullError(`--layout must be one of ${MODEL_LAYOUTS.join(', ')}`);
  const target = required(values.target, '--target');
  if (!path.isAbsolute(target)) throw new PullError('--target must be an absolute directory');
  return {
    source: {
      endpoint: required(env['AWS_ENDPOINT_URL'], 'AWS_ENDPOINT_URL'),
      accessKey: required(env['AWS_ACCESS_KEY_ID'], 'AWS_ACCESS_KEY_ID'),
      secretKey: required(env['AWS_SECRET_ACCESS_KEY'], 'AWS_SECRET_ACCESS_KEY'),
      ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}),
      bucket: required(env['TENANTMESH_BUCKET'], 'TENANTMESH_BUCKET'),
      model: required(values.model, '--model'),
      version: required(values.version, '--version'),
    },
    layout,
    target,
    limits: {
      maxBytes: positiveInteger(values['max-bytes'], DEFAULT_LIMITS.maxBytes, '--max-bytes'),
      maxEntries: positiveInteger(values['max-entries'], DEFAULT_LIMITS.maxEntries, '--max-entries'),
    },
    terminationLog: values['termination-log'],
  };
}

/** The one line a failure leaves for the kubelet (it keeps at most 4096 bytes of it). */
export function terminationMessage(error: unknown): string {
  const text =
    error instanceof PullError ? error.message : `model pull failed: ${(error as Error)?.message ?? error}`;
  return text.replace(/\s+/g, ' ').trim().slice(0, 1024);
}

/** `tenantmesh-server pull-model …`: exits 0 with the model in place, or 1 with the termination message. */
export async function runPullModelCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help')) return void console.log(usage);
  let terminationLog = '/dev/termination-log';
  try {
    const options = pullOptions(argv, process.env);
    terminationLog = options.terminationLog;
    const started = Date.now();
    const result = await pullModel(options);
    console.log(
      `pulled ${options.source.model}/${options.source.version}: ${result.files.length} files, ${result.bytes} bytes, ` +
        `into ${options.target} (${options.layout}) in ${Date.now() - started} ms`,
    );
  } catch (error) {
    const message = terminationMessage(error);
    try {
      writeFileSync(terminationLog, message);
    } catch {
      // Outside a pod there may be no termination log; stderr still carries the message.
    }
    throw new Error(message, { cause: error });
  }
}
