import { readFile } from 'node:fs/promises';
import { run } from './program.ts';

/** Entry point of the `tenantmesh` command (bin/tenantmesh.js, `npm run cli`). */
const code = await run(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  readText: (file) => (file === '-' ? readStdin() : readFile(file, 'utf8')),
});
process.exitCode = code;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
