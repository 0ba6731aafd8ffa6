import { Command } from 'commander';
import { seg } from '../api-client.ts';
import type { CommandContext } from '../context.ts';
import { formatDetails, formatTable } from '../output.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { collect, parseCount, parseDuration } from '../parse.ts';

/** An endpoint as the API presents it (src/api/routes/endpoints.ts endpointDto). */
export interface Endpoint {
  name: string;
  tenant: string;
  model: { name: string; version: string };
  runtime: string;
  replicas: number;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
  allowedClientSubjects?: string[];
  deleting: boolean;
  status: {
    ready: string;
    url?: string;
    readyReplicas: number;
    servedModelVersion?: string;
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
}

/** Serving what it asks for: Ready, every replica ready, and the requested model version the one served. */
export function isServing(e: Endpoint): boolean {
  return (
    e.status.ready === 'True' &&
    e.status.readyReplicas >= e.replicas &&
    (e.status.servedModelVersion === undefined || e.status.servedModelVersion === e.model.version)
  );
}

function details(e: Endpoint): string {
  return formatDetails([
    ['name', e.name],
    ['tenant', e.tenant],
    ['model', `${e.model.name}:${e.model.version}`],
    ['served version', e.status.servedModelVersion],
    ['runtime', e.runtime],
    ['replicas', `${e.status.readyReplicas}/${e.replicas} ready`],
    ['ready', e.deleting ? 'Deleting' : e.status.ready],
    ['url', e.status.url],
    ['requests', e.resources?.requests],
    ['limits', e.resources?.limits],
    ['allowed clients', e.allowedClientSubjects],
    ...e.status.conditions.map((c): [string, unknown] => [
      `condition ${c.type}`,
      `${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`,
    ]),
  ]);
}

interface CreateOptions {
  model: string;
  runtime: string;
  replicas?: number;
  cpu?: string;
  memory?: string;
  cpuLimit?: string;
  memoryLimit?: string;
  allowClient?: string[];
}

/** `model` or `model:version` → the API's model reference (version `latest` when absent). */
export function parseModelRef(text: string): { name: string; version: string } {
  const index = text.lastIndexOf(':');
  return index > 0
    ? { name: text.slice(0, index), version: text.slice(index + 1) }
    : { name: text, version: 'latest' };
}

/** `endpoints list|get|create|scale|delete`. */
export function endpointCommands(context: CommandContext): Command {
  const endpoints = new Command('endpoints').description('Inference endpoints of a tenant');
  const base = (tenant: string) => `/v1/tenants/${seg(tenant)}/endpoints`;

  endpoints.command('list <tenant>').action(async (tenant: string, _options: object, command: Command) => {
    const { api } = await context.api(command);
    const { items } = await api.get<{ items: Endpoint[] }>(base(tenant));
    context.print(command, items, () =>
      formatTable(items, [
        { header: 'name', value: (e) => e.name },
        { header: 'model', value: (e) => `${e.model.name}:${e.model.version}` },
        { header: 'serving', value: (e) => e.status.servedModelVersion },
        { header: 'runtime', value: (e) => e.runtime },
        { header: 'replicas', value: (e) => `${e.status.readyReplicas}/${e.replicas}` },
        { header: 'ready', value: (e) => (e.deleting ? 'Deleting' : e.status.ready) },
        { header: 'url', value: (e) => e.status.url },
      ]),
    );
  });

  endpoints
    .command('get <tenant> <endpoint>')
    .action(async (tenant: string, name: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      const endpoint = await api.get<Endpoint>(`${base(tenant)}/${seg(name)}`);
      context.print(command, endpoint, () => details(endpoint));
    });

  endpoints
    .command('create <tenant> <endpoint>')
    .description('Serve a model version (model or model:version; latest by default)')
    .requiredOption('--model <model[:version]>', 'model to serve')
    .requiredOption('--runtime <runtime>', 'serving runtime (see `tenantmesh runtimes list`)')
    .option('--replicas <n>', 'serving pods (default 1)', parseCount)
    .option('--cpu <quantity>', 'CPU request per pod')
    .option('--memory <quantity>', 'memory request per pod')
    .option('--cpu-limit <quantity>', 'CPU limit per pod')
    .option('--memory-limit <quantity>', 'memory limit per pod')
    .option(
      '--allow-client <common-name>',
      'only client certificates with this CN (repeatable)',
      collect(String),
    )
    .action(async (tenant: string, name: string, options: CreateOptions, command: Command) => {
      const requests = {
        ...(options.cpu ? { cpu: options.cpu } : {}),
        ...(options.memory ? { memory: options.memory } : {}),
      };
      const limits = {
        ...(options.cpuLimit ? { cpu: options.cpuLimit } : {}),
        ...(options.memoryLimit ? { memory: options.memoryLimit } : {}),
      };
      const resources = {
        ...(Object.keys(requests).length > 0 ? { requests } : {}),
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
      };
      const body = {
        name,
        model: parseModelRef(options.model),
        runtime: options.runtime,
        ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
        ...(Object.keys(resources).length > 0 ? { resources } : {}),
        ...(options.allowClient ? { allowedClientSubjects: options.allowClient } : {}),
      };
      const { api } = await context.api(command);
      const endpoint = await api.post<Endpoint>(base(tenant), body);
      context.print(command, endpoint, () => `endpoint ${tenant}/${endpoint.name} created\n`);
    });

  endpoints
    .command('update <tenant> <endpoint>')
    .description('Serve another model version (or the same on another runtime): a rolling update of the pods')
    .option('--model <model[:version]>', 'model to serve (latest version when none is given)')
    .option('--runtime <runtime>', 'serving runtime')
    .action(
      async (
        tenant: string,
        name: string,
        options: { model?: string; runtime?: string },
        command: Command,
      ) => {
        if (options.model === undefined && options.runtime === undefined)
          throw usageError('give --model and/or --runtime');
        const body = {
          ...(options.model !== undefined ? { model: parseModelRef(options.model) } : {}),
          ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
        };
        const { api } = await context.api(command);
        const endpoint = await api.patch<Endpoint>(`${base(tenant)}/${seg(name)}`, body);
        context.print(
          command,
          endpoint,
          () =>
            `endpoint ${tenant}/${name} updated: ${endpoint.model.name}:${endpoint.model.version} on ${endpoint.runtime}\n`,
        );
      },
    );

  endpoints
    .command('wait <tenant> <endpoint>')
    .description(
      'Wait until the endpoint serves what it asks for: Ready, every replica ready, the requested model version served',
    )
    .option('--timeout <duration>', 'give up after this long (e.g. 90s, 5m)', parseDuration, 300_000)
    .action(async (tenant: string, name: string, options: { timeout: number }, command: Command) => {
      const { api } = await context.api(command);
      const deadline = Date.now() + options.timeout;
      let endpoint = await api.get<Endpoint>(`${base(tenant)}/${seg(name)}`);
      while (!isServing(endpoint)) {
        if (Date.now() >= deadline) {
          const ready = endpoint.status.conditions.find((c) => c.type === 'Ready');
          throw new CliError(
            `endpoint ${tenant}/${name} is not serving after ${options.timeout / 1000} s: ` +
              `${endpoint.status.readyReplicas}/${endpoint.replicas} ready` +
              (ready ? `, ${ready.reason}: ${ready.message}` : ''),
            ExitCode.deadline,
          );
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(1_000, Math.max(0, deadline - Date.now()))),
        );
        endpoint = await api.get<Endpoint>(`${base(tenant)}/${seg(name)}`);
      }
      context.print(command, endpoint, () => details(endpoint));
    });

  endpoints
    .command('scale <tenant> <endpoint>')
    .requiredOption('--replicas <n>', 'desired serving pods (0 stops serving; quota is checked)', parseCount)
    .action(async (tenant: string, name: string, options: { replicas: number }, command: Command) => {
      const { api } = await context.api(command);
      const endpoint = await api.patch<Endpoint>(`${base(tenant)}/${seg(name)}/replicas`, {
        replicas: options.replicas,
      });
      context.print(command, endpoint, () => `endpoint ${tenant}/${name} scaled to ${endpoint.replicas}\n`);
    });

  endpoints
    .command('delete <tenant> <endpoint>')
    .action(async (tenant: string, name: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      await api.delete(`${base(tenant)}/${seg(name)}`);
      context.print(
        command,
        { tenant, endpoint: name, deleted: true },
        () => `endpoint ${tenant}/${name} deleted\n`,
      );
    });

  return endpoints;
}
