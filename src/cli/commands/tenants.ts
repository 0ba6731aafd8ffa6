import { Command, Option } from 'commander';
import { seg } from '../api-client.ts';
import type { CommandContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { formatDetails, formatTable } from '../output.ts';
import { describeSubject } from '../../domain/subjects.ts';
import { collect, parseBytes, parseCount, parseSubject, type SubjectArg } from '../parse.ts';
import { formatBytes } from '../progress.ts';

/** A tenant as the API presents it (src/api/presenters.ts TenantDto). */
interface Tenant {
  name: string;
  displayName?: string;
  hostname?: string;
  clientAuthentication?: string;
  quota: { maxEndpoints?: number; cpu?: string; memory?: string; storageBytes?: number };
  ca: { mode: string; fingerprint?: string };
  createdAt?: string;
  deleting: boolean;
  status: {
    ready: string;
    hosts: string[];
    bucket?: string;
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
}

interface Access {
  tenant: string;
  admins: SubjectArg[];
  users: SubjectArg[];
  endpointUsers: { endpoint: string; subjects: SubjectArg[] }[];
}

interface Runtime {
  name: string;
  displayName?: string;
  protocols: string[];
  modelFormats: { name: string; version?: string }[];
}

interface QuotaOptions {
  maxEndpoints?: number;
  cpu?: string;
  memory?: string;
  storage?: number;
}

function quotaOptions(command: Command): Command {
  return command
    .option('--max-endpoints <n>', 'quota: most endpoints', parseCount)
    .option('--cpu <quantity>', 'quota: total CPU of all endpoints, e.g. 8 or 500m')
    .option('--memory <quantity>', 'quota: total memory of all endpoints, e.g. 32Gi')
    .option('--storage <size>', 'quota: model storage, e.g. 100Gi or 500GB', parseBytes);
}

function quotaBody(options: QuotaOptions): Record<string, unknown> | undefined {
  const quota = {
    ...(options.maxEndpoints !== undefined ? { maxEndpoints: options.maxEndpoints } : {}),
    ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
    ...(options.memory !== undefined ? { memory: options.memory } : {}),
    ...(options.storage !== undefined ? { storageBytes: options.storage } : {}),
  };
  return Object.keys(quota).length > 0 ? quota : undefined;
}

const subjectText = (s: SubjectArg) => `${s.kind}:${s.namespace ? `${s.namespace}/` : ''}${s.name}`;

/** `--client-authentication`: what the tenant's clients present at the gateway. */
function clientAuthenticationOption(): Option {
  return new Option(
    '--client-authentication <mode>',
    'certificate: a client certificate always; certificateOrToken: a certificate, or else a bearer token',
  ).choices(['certificate', 'certificateOrToken']);
}

function tenantDetails(t: Tenant): string {
  return formatDetails([
    ['name', t.name],
    ['display name', t.displayName],
    ['hostname', t.hostname],
    ['client authentication', t.clientAuthentication],
    ['ready', t.status.ready],
    ['deleting', t.deleting ? 'yes' : undefined],
    ['hosts', t.status.hosts],
    ['bucket', t.status.bucket],
    ['ca', `${t.ca.mode}${t.ca.fingerprint ? ` (${t.ca.fingerprint})` : ''}`],
    ['max endpoints', t.quota.maxEndpoints],
    ['cpu', t.quota.cpu],
    ['memory', t.quota.memory],
    ['storage', t.quota.storageBytes !== undefined ? formatBytes(t.quota.storageBytes) : undefined],
    ['created', t.createdAt],
    ...t.status.conditions.map((c): [string, unknown] => [
      `condition ${c.type}`,
      `${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`,
    ]),
  ]);
}

/** `tenants …`, `access …`, `runtimes list`. */
export function tenantCommands(context: CommandContext): Command[] {
  const tenants = new Command('tenants').description('Create, inspect, change and delete tenants');

  tenants
    .command('list')
    .description('List the tenants you may see')
    .action(async (_options: object, command: Command) => {
      const { api } = await context.api(command);
      const { items } = await api.get<{ items: Tenant[] }>('/v1/tenants');
      context.print(command, items, () =>
        formatTable(items, [
          { header: 'name', value: (t) => t.name },
          { header: 'ready', value: (t) => (t.deleting ? 'Deleting' : t.status.ready) },
          { header: 'hosts', value: (t) => t.status.hosts },
          { header: 'endpoints', value: (t) => t.quota.maxEndpoints },
          { header: 'cpu', value: (t) => t.quota.cpu },
          { header: 'memory', value: (t) => t.quota.memory },
          {
            header: 'storage',
            value: (t) =>
              t.quota.storageBytes !== undefined ? formatBytes(t.quota.storageBytes) : undefined,
          },
        ]),
      );
    });

  tenants
    .command('get <tenant>')
    .description('Show one tenant')
    .action(async (name: string, _options: object, command: Command) => {
      const { api } = await context.api(command);
      const tenant = await api.get<Tenant>(`/v1/tenants/${seg(name)}`);
      context.print(command, tenant, () => tenantDetails(tenant));
    });

  quotaOptions(
    tenants
      .command('create <tenant>')
      .description('Create a tenant (platform admins)')
      .option('--display-name <text>')
      .option('--hostname <dns-name>', 'default: <tenant>.<platform domain>')
      .addOption(clientAuthenticationOption())
      .option(
        '--admin <subject>',
        'tenant admin: user:<name>, group:<name> or serviceaccount:<ns>/<name> (repeatable)',
        collect(parseSubject),
      )
      .option('--user <subject>', 'tenant user (repeatable)', collect(parseSubject))
      .option('--ca-cert <file>', 'bring your own CA: certificate (PEM)')
      .option('--ca-key <file>', 'bring your own CA: private key (PEM)'),
  ).action(
    async (
      name: string,
      options: QuotaOptions & {
        displayName?: string;
        hostname?: string;
        clientAuthentication?: string;
        admin?: SubjectArg[];
        user?: SubjectArg[];
        caCert?: string;
        caKey?: string;
      },
      command: Command,
    ) => {
      if ((options.caCert === undefined) !== (options.caKey === undefined))
        throw usageError('--ca-cert and --ca-key go together');
      const quota = quotaBody(options);
      const body = {
        name,
        ...(options.displayName ? { displayName: options.displayName } : {}),
        ...(options.hostname ? { hostname: options.hostname } : {}),
        ...(options.clientAuthentication ? { clientAuthentication: options.clientAuthentication } : {}),
        ...(quota ? { quota } : {}),
        admins: options.admin ?? [],
        users: options.user ?? [],
        ...(options.caCert && options.caKey
          ? {
              ca: {
                certificatePem: await context.io.readText(options.caCert),
                privateKeyPem: await context.io.readText(options.caKey),
              },
            }
          : {}),
      };
      const { api } = await context.api(command);
      const tenant = await api.post<Tenant>('/v1/tenants', body);
      context.print(command, tenant, () => `tenant ${tenant.name} created\n`);
    },
  );

  quotaOptions(
    tenants
      .command('patch <tenant>')
      .description(
        'Change display name, hostname, client authentication or quota (fields not given are kept)',
      )
      .option('--display-name <text>')
      .option('--hostname <dns-name>')
      .addOption(clientAuthenticationOption()),
  ).action(
    async (
      name: string,
      options: QuotaOptions & { displayName?: string; hostname?: string; clientAuthentication?: string },
      command: Command,
    ) => {
      const quota = quotaBody(options);
      const body = {
        ...(options.displayName ? { displayName: options.displayName } : {}),
        ...(options.hostname ? { hostname: options.hostname } : {}),
        ...(options.clientAuthentication ? { clientAuthentication: options.clientAuthentication } : {}),
        ...(quota ? { quota } : {}),
      };
      if (Object.keys(body).length === 0)
        throw usageError(
          'nothing to change: give --display-name, --hostname, --client-authentication or a quota flag',
        );
      const { api } = await context.api(command);
      const tenant = await api.patch<Tenant>(`/v1/tenants/${seg(name)}`, body);
      context.print(command, tenant, () => tenantDetails(tenant));
    },
  );

  tenants
    .command('delete <tenant>')
    .description('Delete a tenant and everything it owns (endpoints, certificates; models only with --purge)')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .option('--purge', 'also delete the model versions the tenant stores (refused without it)')
    .action(async (name: string, options: { purge?: boolean }, command: Command) => {
      const { api } = await context.api(command);
      await api.delete(`/v1/tenants/${seg(name)}${options.purge ? '?purge=true' : ''}`);
      context.print(command, { tenant: name, deleting: true }, () => `tenant ${name} is being deleted\n`);
    });

  const access = new Command('access').description('Who may administer and use a tenant');
  const roleOption = () =>
    new Option('--role <role>', 'admins, users, or (with --endpoint) endpointUsers').choices([
      'admins',
      'users',
      'endpointUsers',
    ]);

  access.command('list <tenant>').action(async (tenant: string, _options: object, command: Command) => {
    const { api } = await context.api(command);
    const lists = await api.get<Access>(`/v1/tenants/${seg(tenant)}/access`);
    const rows = [
      ...lists.admins.map((s) => ({ role: 'admins', endpoint: undefined as string | undefined, subject: s })),
      ...lists.users.map((s) => ({ role: 'users', endpoint: undefined as string | undefined, subject: s })),
      ...lists.endpointUsers.flatMap((g) =>
        g.subjects.map((s) => ({ role: 'endpointUsers', endpoint: g.endpoint, subject: s })),
      ),
    ];
    context.print(command, lists, () =>
      formatTable(rows, [
        { header: 'role', value: (r) => r.role },
        { header: 'endpoint', value: (r) => r.endpoint },
        { header: 'subject', value: (r) => subjectText(r.subject) },
        { header: 'who', value: (r) => describeSubject(r.subject) },
      ]),
    );
  });

  const grantOrRevoke = (verb: 'grant' | 'revoke') =>
    access
      .command(`${verb} <tenant> <subject>`)
      .description(
        `${verb === 'grant' ? 'Grant' : 'Revoke'} a role; subject is user:<name>, group:<name> or serviceaccount:<ns>/<name>`,
      )
      .addOption(roleOption())
      .option('--endpoint <endpoint>', 'only this endpoint (role endpointUsers)')
      .action(
        async (
          tenant: string,
          subjectText: string,
          options: { role?: string; endpoint?: string },
          command: Command,
        ) => {
          const subject = parseSubject(subjectText);
          const role = options.role ?? (options.endpoint ? 'endpointUsers' : 'users');
          if ((role === 'endpointUsers') !== (options.endpoint !== undefined)) {
            throw usageError('--endpoint goes with role endpointUsers, and only with it');
          }
          const { api } = await context.api(command);
          const lists =
            verb === 'grant'
              ? await api.post<Access>(`/v1/tenants/${seg(tenant)}/access`, {
                  role,
                  subject,
                  ...(options.endpoint ? { endpoint: options.endpoint } : {}),
                })
              : await api.delete<Access>(
                  `/v1/tenants/${seg(tenant)}/access/${seg(role)}/${seg(subject.kind)}/${seg(subject.name)}`,
                  {
                    namespace: subject.namespace,
                    endpoint: options.endpoint,
                  },
                );
          context.print(
            command,
            lists,
            () =>
              `${verb === 'grant' ? 'granted' : 'revoked'} ${role} on ${tenant}${options.endpoint ? `/${options.endpoint}` : ''} for ${describeSubject(subject)}\n`,
          );
        },
      );
  grantOrRevoke('grant');
  grantOrRevoke('revoke');

  const runtimes = new Command('runtimes').description('Serving runtimes endpoints can use');
  runtimes.command('list').action(async (_options: object, command: Command) => {
    const { api } = await context.api(command);
    const { items } = await api.get<{ items: Runtime[] }>('/v1/runtimes');
    context.print(command, items, () =>
      formatTable(items, [
        { header: 'name', value: (r) => r.name },
        { header: 'protocols', value: (r) => r.protocols },
        {
          header: 'formats',
          value: (r) => r.modelFormats.map((f) => (f.version ? `${f.name}:${f.version}` : f.name)),
        },
        { header: 'description', value: (r) => r.displayName },
      ]),
    );
  });

  return [tenants, access, runtimes];
}
