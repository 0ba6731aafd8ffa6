import type { Command } from 'commander';
import path from 'node:path';
import { ApiClient } from './api-client.ts';
import { readFile } from 'node:fs/promises';
import { OidcClient } from '../auth/oidc-client.ts';
import { configDir, loadConfig, profileName, resolveConnection, saveConfig, type CliEnv } from './config.ts';
import { refreshIfExpiring, type OidcLogin } from './oidc-login.ts';
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
  /** Opens a URL in the user's browser (the browser login); defaults to $BROWSER or the desktop's opener. */
  openBrowser?: (url: string) => void;
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

  /** An OIDC client for a stored login (trusting its CA file when it names one). */
  async oidcClient(login: OidcLogin): Promise<OidcClient> {
    return new OidcClient({
      issuer: login.issuer,
      clientId: login.clientId,
      ...(login.caFile ? { caPem: await readFile(login.caFile, 'utf8') } : {}),
    });
  }

  /** An API client for the profile in effect; a stored interactive login is refreshed silently when due. */
  async api(command: Command): Promise<{ api: ApiClient; server: string; profile: string }> {
    const globals = this.globals(command);
    const config = await loadConfig(this.io.env);
    const name = profileName(config, this.io.env, globals.profile);
    const stored = config.profiles[name];
    if (stored?.oidc && !this.io.env.TENANTMESH_TOKEN) {
      const renewed = await refreshIfExpiring(
        stored.token,
        stored.oidc,
        this.io.now?.() ?? Date.now(),
        (login) => this.oidcClient(login),
      );
      if (renewed) {
        stored.token = renewed.token;
        stored.oidc = renewed.login;
        await saveConfig(this.io.env, config);
      }
    }
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
