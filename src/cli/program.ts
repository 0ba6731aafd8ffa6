import { Command, CommanderError, Option } from 'commander';
import { authCommands } from './commands/auth.ts';
import { certificateCommands } from './commands/certificates.ts';
import { endpointCommands } from './commands/endpoints.ts';
import { inferCommand } from './commands/infer.ts';
import { modelCommands } from './commands/models.ts';
import { registryCommands } from './commands/registry.ts';
import { tenantCommands } from './commands/tenants.ts';
import { CommandContext, type CliIo } from './context.ts';
import { CliError, ExitCode } from './errors.ts';

/** The version `tenantmesh --version` prints. */
export const CLI_VERSION = '0.1.0';

/** Builds the `tenantmesh` command tree; `io` is everything it touches outside the process. */
export function createProgram(io: CliIo): Command {
  const context = new CommandContext(io);
  const program = new Command('tenantmesh')
    .description(
      'Manage tenantmesh tenants, endpoints, models, access and certificates; call endpoints over gRPC',
    )
    .version(CLI_VERSION)
    .option('--profile <name>', 'configuration profile (default: the current one, or $TENANTMESH_PROFILE)')
    .option('--server <url>', 'management API URL (overrides the profile and $TENANTMESH_SERVER)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('-q, --quiet', 'no progress or informational lines on stderr')
    .showSuggestionAfterError(true);
  for (const command of [
    ...authCommands(context),
    ...tenantCommands(context),
    endpointCommands(context),
    modelCommands(context),
    registryCommands(context),
    certificateCommands(context),
    inferCommand(context),
  ]) {
    program.addCommand(command);
  }
  configureTree(program, io);
  return program;
}

/** Commander settings are not inherited through addCommand: apply them to every command of the tree. */
function configureTree(command: Command, io: CliIo): void {
  command.exitOverride();
  command.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  for (const child of command.commands) configureTree(child, io);
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit code; errors are
 * printed as one `error: …` line. Never throws.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    ) {
      return ExitCode.ok;
    }
    // Commander printed its own message already, unless the error came from our own argument checks.
    if (error.code === 'commander.invalidArgument' && !/^error:/.test(error.message))
      io.stderr.write(`error: ${error.message}\n`);
    return error.code === 'commander.executeSubCommandAsync' ? ExitCode.failure : ExitCode.usage;
  }
  if (error instanceof CliError) {
    io.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error: ${message}\n`);
  if (io.env.TENANTMESH_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return ExitCode.failure;
}
