import { Command } from 'commander';
import {
  createInferClient,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  InferError,
  type InferClient,
  type InferClientOptions,
} from '../../infer/index.ts';
import { loadConfig, profileName } from '../config.ts';
import type { CommandContext } from '../context.ts';
import { CliError, ExitCode, usageError, type ExitCodeValue } from '../errors.ts';
import { parseInputs, toKserveInputs, toTfInputs, type InputFlags } from '../infer-input.ts';
import { formatJson } from '../output.ts';
import { collect, parseBytes, parseCount, parseDuration } from '../parse.ts';

/** Connection flags of every `infer` subcommand. */
interface ConnectionFlags {
  address?: string;
  authority?: string;
  serverName?: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  tokenFile?: string;
  plaintext?: boolean;
  deadline: number;
  maxMessageBytes: number;
}

const EXIT_OF_KIND: Record<InferError['kind'], ExitCodeValue> = {
  tls: ExitCode.tls,
  'permission-denied': ExitCode.permissionDenied,
  unauthenticated: ExitCode.unauthenticated,
  'deadline-exceeded': ExitCode.deadline,
  unavailable: ExitCode.unavailable,
  'not-found': ExitCode.notFound,
  'invalid-input': ExitCode.usage,
  'call-failed': ExitCode.failure,
};

/** One line a user can act on, for each kind of inference failure. */
export function inferErrorMessage(error: InferError, address: string, deadlineMs: number): string {
  const details = error.details ?? error.message;
  switch (error.kind) {
    case 'tls':
      return `TLS handshake with ${address} failed: ${details} (check --ca, --server-name, and that --cert was issued by the tenant's CA)`;
    case 'permission-denied':
      return `permission denied by ${address}: ${details} (RBAC does not let this identity call the endpoint; ask a tenant admin for access)`;
    case 'unauthenticated':
      return `not authenticated by ${address}: ${details} (send a client certificate of the tenant CA or a valid --token)`;
    case 'deadline-exceeded':
      return `no answer from ${address} within ${deadlineMs} ms (raise --deadline, or check the endpoint is ready)`;
    case 'unavailable':
      return `cannot reach ${address}: ${details}`;
    case 'not-found':
      return `not found at ${address}: ${details}`;
    default:
      return error.message;
  }
}

/** Maps an error from the infer client to a CliError (other errors pass through). */
export function toInferCliError(error: unknown, address: string, deadlineMs: number): unknown {
  if (error instanceof InferError)
    return new CliError(inferErrorMessage(error, address, deadlineMs), EXIT_OF_KIND[error.kind]);
  return error;
}

async function clientOptions(context: CommandContext, command: Command): Promise<InferClientOptions> {
  const flags = command.optsWithGlobals() as ConnectionFlags & { profile?: string };
  const config = await loadConfig(context.io.env);
  const stored = config.profiles[profileName(config, context.io.env, flags.profile)]?.infer ?? {};
  const address = flags.address ?? stored.address;
  if (!address)
    throw usageError(
      '--address <host:port> is required (or store one with `tenantmesh login --infer-address`)',
    );
  const caFile = flags.ca ?? stored.ca;
  const certFile = flags.cert ?? stored.cert;
  const keyFile = flags.key ?? stored.key;
  if (flags.token !== undefined && flags.tokenFile !== undefined)
    throw usageError('give --token or --token-file, not both');
  const token =
    flags.tokenFile !== undefined ? (await context.io.readText(flags.tokenFile)).trim() : flags.token;
  const serverName = flags.serverName ?? stored.serverName;
  let tls: InferClientOptions['tls'];
  if (!flags.plaintext) {
    if (!caFile)
      throw usageError('--ca <file> is required for TLS (or --plaintext for a local server without TLS)');
    if ((certFile === undefined) !== (keyFile === undefined))
      throw usageError('--cert and --key go together');
    tls = {
      caPem: await context.io.readText(caFile),
      ...(certFile && keyFile
        ? { certPem: await context.io.readText(certFile), keyPem: await context.io.readText(keyFile) }
        : {}),
      ...(serverName ? { serverName } : {}),
    };
  }
  return {
    address,
    deadlineMs: flags.deadline,
    maxMessageBytes: flags.maxMessageBytes,
    ...(tls ? { tls } : {}),
    ...(flags.authority ? { authority: flags.authority } : {}),
    ...(token ? { bearerToken: token } : {}),
  };
}

async function inputFlags(
  context: CommandContext,
  options: InputFlags & { inputFile?: string },
): Promise<InputFlags> {
  const { inputFile, ...rest } = options;
  return inputFile !== undefined ? { ...rest, inputFileText: await context.io.readText(inputFile) } : rest;
}

function withInputOptions(command: Command): Command {
  return command
    .option('--input <json>', 'tensor(s) as JSON: {"name","datatype","shape","data"} or an array of them')
    .option('--input-file <file>', 'the same JSON from a file')
    .option('--data <numbers>', 'shorthand: comma-separated values of one tensor')
    .option('--shape <dims>', 'with --data: e.g. 1,3 (default: one dimension)')
    .option('--datatype <type>', 'with --data: FP32 (default), INT64, … or DT_FLOAT, …')
    .option('--name <input-name>', 'with --data: tensor name (default "input")');
}

/** `infer kserve ready|metadata|infer`, `infer tfserving predict|metadata`. */
export function inferCommand(context: CommandContext): Command {
  const infer = new Command('infer')
    .description('Call a tenant endpoint over gRPC (KServe v2 or TF Serving) with mTLS; prints JSON')
    .option('--address <host:port>', 'where to connect, e.g. the ingress gateway')
    .option(
      '--authority <host>',
      'HTTP/2 :authority the gateway routes on, e.g. <endpoint>.<tenant>.<domain>',
    )
    .option(
      '--server-name <name>',
      'name expected in the server certificate and sent as SNI (default: from --authority)',
    )
    .option('--ca <file>', 'CA certificate that signed the server (PEM)')
    .option('--cert <file>', 'client certificate issued by the tenant CA (PEM)')
    .option('--key <file>', 'client private key (PEM)')
    .option('--token <jwt>', 'bearer token sent as authorization metadata')
    .option('--token-file <file>', 'read the bearer token from a file')
    .option('--plaintext', 'no TLS (local development servers only)')
    .option(
      '--deadline <duration>',
      'per-call deadline, e.g. 30s or 500ms',
      parseDuration,
      DEFAULT_DEADLINE_MS,
    )
    .option(
      '--max-message-bytes <size>',
      `largest message sent or received (default ${DEFAULT_MAX_MESSAGE_BYTES / 1024 / 1024} MiB; gRPC's own default is 4 MiB)`,
      parseBytes,
      DEFAULT_MAX_MESSAGE_BYTES,
    );

  /** Runs `call` with a client for the command's flags, mapping failures, printing the JSON result. */
  const run = async (command: Command, call: (client: InferClient) => Promise<unknown>): Promise<unknown> => {
    const options = await clientOptions(context, command);
    let client: InferClient;
    try {
      client = createInferClient(options);
    } catch (error) {
      throw toInferCliError(error, options.address, options.deadlineMs ?? DEFAULT_DEADLINE_MS);
    }
    try {
      const result = await call(client);
      context.io.stdout.write(formatJson(result));
      return result;
    } catch (error) {
      throw toInferCliError(error, options.address, options.deadlineMs ?? DEFAULT_DEADLINE_MS);
    } finally {
      client.close();
    }
  };

  const kserve = infer.command('kserve').description('KServe v2 / Open Inference Protocol');
  kserve
    .command('ready')
    .description('Server (and, with --model, model) readiness; exit code 1 when not ready')
    .option('--model <name>')
    .option('--model-version <version>')
    .action(async (options: { model?: string; modelVersion?: string }, command: Command) => {
      const result = (await run(command, async (client) => ({
        live: await client.kserve.serverLive(),
        ready: await client.kserve.serverReady(),
        ...(options.model
          ? { modelReady: await client.kserve.modelReady(options.model, options.modelVersion) }
          : {}),
      }))) as { ready: boolean; modelReady?: boolean };
      if (!result.ready || result.modelReady === false) throw new CliError('not ready', ExitCode.failure);
    });
  kserve
    .command('metadata')
    .description('Server metadata, or a model’s inputs and outputs with --model')
    .option('--model <name>')
    .option('--model-version <version>')
    .action(async (options: { model?: string; modelVersion?: string }, command: Command) => {
      await run(command, (client) =>
        options.model
          ? client.kserve.modelMetadata(options.model, options.modelVersion)
          : client.kserve.serverMetadata(),
      );
    });
  withInputOptions(
    kserve
      .command('infer')
      .description('Run ModelInfer')
      .requiredOption('--model <name>')
      .option('--model-version <version>')
      .option('--id <request-id>')
      .option('--output <name>', 'only this output (repeatable)', collect(String))
      .option('--raw', 'send raw little-endian tensor bytes (faster on Triton)'),
  ).action(
    async (
      options: InputFlags & {
        inputFile?: string;
        model: string;
        modelVersion?: string;
        id?: string;
        output?: string[];
        raw?: boolean;
      },
      command: Command,
    ) => {
      const inputs = toKserveInputs(parseInputs(await inputFlags(context, options)));
      await run(command, (client) =>
        client.kserve.modelInfer({
          model: options.model,
          inputs,
          ...(options.modelVersion ? { version: options.modelVersion } : {}),
          ...(options.id ? { id: options.id } : {}),
          ...(options.output ? { outputs: options.output } : {}),
          ...(options.raw ? { encoding: 'raw' as const } : {}),
        }),
      );
    },
  );

  const tfserving = infer.command('tfserving').description('TensorFlow Serving PredictionService');
  const modelRef = (options: {
    model: string;
    modelVersion?: number;
    versionLabel?: string;
    signature?: string;
  }) => ({
    model: options.model,
    ...(options.modelVersion !== undefined ? { version: options.modelVersion } : {}),
    ...(options.versionLabel ? { versionLabel: options.versionLabel } : {}),
    ...(options.signature ? { signatureName: options.signature } : {}),
  });
  const withModel = (command: Command) =>
    command
      .requiredOption('--model <name>')
      .option('--model-version <n>', 'numeric version (default: the latest)', parseCount)
      .option('--version-label <label>', 'e.g. stable')
      .option('--signature <name>', 'signature (default serving_default)');
  withInputOptions(
    withModel(tfserving.command('predict').description('Run Predict'))
      .option('--output <name>', 'output filter (repeatable)', collect(String))
      .option('--packed', 'send values packed in tensor_content'),
  ).action(
    async (
      options: InputFlags & {
        inputFile?: string;
        model: string;
        modelVersion?: number;
        versionLabel?: string;
        signature?: string;
        output?: string[];
        packed?: boolean;
      },
      command: Command,
    ) => {
      const inputs = toTfInputs(parseInputs(await inputFlags(context, options)));
      await run(command, (client) =>
        client.tfserving.predict({
          ...modelRef(options),
          inputs,
          ...(options.output ? { outputFilter: options.output } : {}),
          ...(options.packed ? { packed: true } : {}),
        }),
      );
    },
  );
  withModel(tfserving.command('metadata').description('GetModelMetadata (signature definitions)')).action(
    async (
      options: { model: string; modelVersion?: number; versionLabel?: string; signature?: string },
      command: Command,
    ) => {
      await run(command, (client) => client.tfserving.getModelMetadata(modelRef(options)));
    },
  );

  return infer;
}
