import { Command, Option } from 'commander';
import http from 'node:http';
import https from 'node:https';
import { ApiClient, seg } from '../api-client.ts';
import { loadConfig, resolveConnection } from '../config.ts';
import type { CommandContext } from '../context.ts';
import { formatDetails, formatTable } from '../output.ts';

/** A registry entity as the Model Registry API returns it (the fields the CLI shows). */
interface Entity {
  id: string;
  name: string;
  state?: string;
  owner?: string;
  author?: string;
  description?: string;
  externalId?: string;
  uri?: string;
  artifactType?: string;
  modelFormatName?: string;
  modelFormatVersion?: string;
  createTimeSinceEpoch: string;
  lastUpdateTimeSinceEpoch: string;
  customProperties?: Record<string, Record<string, unknown>>;
}

interface EntityList {
  items: Entity[];
  nextPageToken: string;
}

const V1 = '/api/model_registry/v1';
/** At most this many pages are read for one listing (a server that never ends paging cannot hang the CLI). */
const MAX_PAGES = 1000;

const time = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);

/** `name=value` of typed custom properties, as people read them. */
function properties(entity: Entity): string | undefined {
  const entries = Object.entries(entity.customProperties ?? {}).map(([name, value]) => {
    const typed = Object.entries(value).find(([key]) => key.endsWith('_value'));
    return `${name}=${String(typed?.[1])}`;
  });
  return entries.length > 0 ? entries.join(', ') : undefined;
}

/**
 * A fetch that sends the Host header it is given (the standard fetch replaces it with the URL's host): the
 * management API picks a tenant's registry by the host a request names, `<tenant>.<serving namespace>.svc`.
 */
export function hostRoutedFetch(host: string): typeof fetch {
  return (async (input: URL | string | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = { ...(init.headers as Record<string, string>), Host: host };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const request = transport.request(url, { method: init.method ?? 'GET', headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          resolve(
            new Response(Buffer.concat(chunks), {
              status: response.statusCode ?? 500,
              statusText: response.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        });
        response.on('error', reject);
      });
      request.on('error', (error) => reject(Object.assign(new TypeError('fetch failed'), { cause: error })));
      request.end(typeof init.body === 'string' ? init.body : undefined);
    });
  }) as typeof fetch;
}

/** `registry models|model|versions|version`: read a tenant's Kubeflow Model Registry. */
export function registryCommands(context: CommandContext): Command {
  const registry = new Command('registry')
    .description('Registered models and versions in a tenant’s model registry (Kubeflow Model Registry API)')
    .addOption(
      new Option(
        '--registry-url <url>',
        'the registry’s own URL (e.g. https://registry.<tenant host>); default: the management API, which serves every tenant’s registry',
      ),
    )
    .option(
      '--serving-namespace <ns>',
      'serving namespace, for the in-cluster registry host name',
      'tenantmesh-serving',
    );

  /** A client for tenant `t`'s registry, with the profile's token. */
  const clientFor = async (command: Command, tenant: string): Promise<ApiClient> => {
    const options = command.optsWithGlobals<{ registryUrl?: string; servingNamespace: string }>();
    const config = await loadConfig(context.io.env);
    const connection = resolveConnection(config, context.io.env, context.globals(command));
    const host = `${tenant}.${options.servingNamespace}.svc`;
    const viaManagementApi = !options.registryUrl;
    return new ApiClient({
      server: options.registryUrl ?? connection.server,
      ...(connection.token ? { token: connection.token } : {}),
      ...(context.io.fetch
        ? { fetch: context.io.fetch }
        : viaManagementApi
          ? { fetch: hostRoutedFetch(host) }
          : {}),
    });
  };

  const listAll = async (api: ApiClient, path: string, query: Record<string, string | undefined>) => {
    const items: Entity[] = [];
    let nextPageToken = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await api.get<EntityList>(path, {
        ...query,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      items.push(...result.items);
      nextPageToken = result.nextPageToken;
      if (!nextPageToken) break;
    }
    return items;
  };

  const listOptions = (command: Command) =>
    command
      .option('--filter <query>', 'filterQuery, e.g. \'state = "LIVE" AND name LIKE "fraud%"\'')
      .addOption(
        new Option('--order-by <field>', 'sort key')
          .choices(['ID', 'CREATE_TIME', 'LAST_UPDATE_TIME'])
          .default('ID'),
      )
      .option('--desc', 'newest / largest first');
  const queryOf = (options: { filter?: string; orderBy: string; desc?: boolean }) => ({
    pageSize: '100',
    orderBy: options.orderBy,
    sortOrder: options.desc ? 'DESC' : 'ASC',
    ...(options.filter ? { filterQuery: options.filter } : {}),
  });

  listOptions(registry.command('models <tenant>').description('List registered models')).action(
    async (
      tenant: string,
      options: { filter?: string; orderBy: string; desc?: boolean },
      command: Command,
    ) => {
      const api = await clientFor(command, tenant);
      const items = await listAll(api, `${V1}/registered_models`, queryOf(options));
      context.print(command, items, () =>
        formatTable(items, [
          { header: 'id', value: (m) => m.id },
          { header: 'name', value: (m) => m.name },
          { header: 'state', value: (m) => m.state },
          { header: 'owner', value: (m) => m.owner },
          { header: 'updated', value: (m) => time(m.lastUpdateTimeSinceEpoch) },
        ]),
      );
    },
  );

  registry
    .command('model <tenant> <name>')
    .description('Show a registered model')
    .action(async (tenant: string, name: string, _options: object, command: Command) => {
      const api = await clientFor(command, tenant);
      const model = await api.get<Entity>(`${V1}/registered_model`, { name });
      context.print(command, model, () =>
        formatDetails([
          ['id', model.id],
          ['name', model.name],
          ['state', model.state],
          ['owner', model.owner],
          ['description', model.description],
          ['externalId', model.externalId],
          ['created', time(model.createTimeSinceEpoch)],
          ['updated', time(model.lastUpdateTimeSinceEpoch)],
          ['properties', properties(model)],
        ]),
      );
    });

  listOptions(
    registry.command('versions <tenant> <model>').description('List the versions of a registered model'),
  ).action(
    async (
      tenant: string,
      name: string,
      options: { filter?: string; orderBy: string; desc?: boolean },
      command: Command,
    ) => {
      const api = await clientFor(command, tenant);
      const model = await api.get<Entity>(`${V1}/registered_model`, { name });
      const items = await listAll(api, `${V1}/registered_models/${seg(model.id)}/versions`, queryOf(options));
      context.print(command, items, () =>
        formatTable(items, [
          { header: 'id', value: (v) => v.id },
          { header: 'version', value: (v) => v.name },
          { header: 'state', value: (v) => v.state },
          { header: 'author', value: (v) => v.author },
          { header: 'created', value: (v) => time(v.createTimeSinceEpoch) },
        ]),
      );
    },
  );

  registry
    .command('version <tenant> <model> <version>')
    .description('Show a model version and its artifacts')
    .action(async (tenant: string, name: string, version: string, _options: object, command: Command) => {
      const api = await clientFor(command, tenant);
      const model = await api.get<Entity>(`${V1}/registered_model`, { name });
      const found = await api.get<Entity>(`${V1}/model_version`, {
        name: version,
        parentResourceId: model.id,
      });
      const artifacts = await listAll(api, `${V1}/model_versions/${seg(found.id)}/artifacts`, {
        pageSize: '100',
      });
      context.print(command, { ...found, artifacts }, () =>
        formatDetails([
          ['id', found.id],
          ['model', name],
          ['version', found.name],
          ['state', found.state],
          ['author', found.author],
          ['description', found.description],
          ['created', time(found.createTimeSinceEpoch)],
          ['properties', properties(found)],
          ...artifacts.flatMap((a): [string, unknown][] => [
            ['artifact', `${a.name} (${a.artifactType ?? 'artifact'}, ${a.state ?? 'UNKNOWN'})`],
            ['  uri', a.uri],
            [
              '  format',
              a.modelFormatName ? `${a.modelFormatName} ${a.modelFormatVersion ?? ''}`.trim() : undefined,
            ],
          ]),
        ]),
      );
    });

  return registry;
}
