/**
 * `tenantmesh-server`: the program the tenantmesh image runs. One image, three commands:
 *   operator --config <file>     the operator (charts/tenantmesh/templates/operator.yaml)
 *   api --config <file>          the management API (templates/api.yaml)
 *   pull-model [options]         the serving pods' init step (rendered by src/render/deployment.ts)
 */
import { runApiCommand } from './api/main.ts';
import { runOperatorCommand } from './operator/main.ts';
import { runPullModelCommand } from './puller/main.ts';

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  operator: runOperatorCommand,
  api: runApiCommand,
  'pull-model': runPullModelCommand,
};

const [name, ...argv] = process.argv.slice(2);
const command = name === undefined ? undefined : commands[name];
if (!command) {
  console.error(`usage: tenantmesh-server <${Object.keys(commands).join('|')}> [options] (--help for each)`);
  process.exit(2);
}
try {
  await command(argv);
  process.exit(0);
} catch (error: unknown) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
