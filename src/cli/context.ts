import type { Command } from 'commander';
import path from 'node:path';
import { ApiClient } from './api-client.ts';
import { configDir, loadConfig, resolveConnection, type CliEnv } from './config.ts';
import { usageError } from './errors.ts';
import { formatJson, type OutputFormat } from './output.ts';
import { createProgress, type Progress, type ProgressSink } from './progress.ts';

/** A writable text stream (process.stdout/stderr or a test buffer). */
export interface TextOut extends ProgressSink {
  write(text: string): unknown;
}

/** Everything a command needs from the outside world, injected so tests run the CLI in-process. */
export interface CliIo {
  env: CliEnv;
  stdout: TextOut;
  stderr: TextOut;
  /** Reads a file as text (for --token-file, --input-file, --csr …). */
  readText(file: string): Promise<string>;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The root program's options, available to every command. */
export interface GlobalOptions {
  profile?: string;
  server?: string;
  output: OutputFormat;
  quiet?: boolean;
}

/** Helpers shared by the commands. */
export class CommandContext {
  constructor(readonly io: CliIo) {}

  globals(command: Command): GlobalOptions {
    const options = command.optsWithGlobals() as GlobalOptions;
    if (options.output !== 'table' && options.output !== 'json') {
      throw usageError(`-o ${String(options.output)}: expected table or json`);
    }
    return options;
  }

  /** An API client for the profile in effect. */
  async api(command: Command): Promise<{ api: ApiClient; server: string; profile: string }> {
    const globals = this.globals(command);
    const config = await loadConfig(this.io.env);
    const connection = resolveConnection(config, this.io.env, globals);
    return {
      api: new ApiClient({
        server: connection.server,
        ...(connection.token ? { token: connection.token } : {}),
        ...(this.io.fetch ? { fetch: this.io.fetch } : {}),
      }),
      server: connection.server,
      profile: connection.profile,
    };
  }

  /** Prints `value` as JSON with `-o json`, otherwise the human rendering. */
  print(command: Command, value: unknown, human: () => string): void {
    this.io.stdout.write(this.globals(command).output === 'json' ? formatJson(value) : human());
  }

  /** An informational line on stderr (suppressed by --quiet). */
  info(command: Command, line: string): void {
    if (!this.globals(command).quiet) this.io.stderr.write(`${line}\n`);
  }

  progress(command: Command, label: string, total: number): Progress {
    return createProgress({
      label,
      total,
      sink: this.io.stderr,
      quiet: this.globals(command).quiet === true,
      ...(this.io.now ? { now: this.io.now } : {}),
    });
  }

  uploadsDir(): string {
    return path.join(configDir(this.io.env), 'uploads');
  }
}
