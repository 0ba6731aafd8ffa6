import pg from 'pg';

/** Where the registry's PostgreSQL is and how to log in (the chart fills it from a connection Secret). */
export interface RegistryDatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS to the server: off for loopback, on (optionally with a CA) for a production server. */
  ssl?: boolean | { caPem?: string };
  /** Pool size (default 10). */
  maxConnections?: number;
}

/** A pool of connections; bigint columns (ids, timestamps) arrive as strings, as the wire format wants them. */
export function createRegistryPool(config: RegistryDatabaseConfig): pg.Pool {
  const ssl =
    config.ssl === true
      ? { rejectUnauthorized: true }
      : typeof config.ssl === 'object'
        ? { rejectUnauthorized: true, ...(config.ssl.caPem ? { ca: config.ssl.caPem } : {}) }
        : false;
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl,
    max: config.maxConnections ?? 10,
    // Generous: a busy machine or a database failing over must not fail start-up or a request at once.
    connectionTimeoutMillis: 30_000,
    idleTimeoutMillis: 30_000,
    application_name: 'tenantmesh',
  });
  // An idle client that loses its connection emits here; without a listener the process would crash.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Reads the connection from the libpq-style variables the chart sets from its connection Secret (`PGHOST`,
 * `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`: anything but `disable` means verified TLS).
 * Undefined when no host is configured: the registry is then not served.
 */
export function databaseConfigFromEnv(env: NodeJS.ProcessEnv): RegistryDatabaseConfig | undefined {
  if (!env['PGHOST']) return undefined;
  return {
    host: env['PGHOST'],
    port: Number(env['PGPORT'] ?? 5432),
    user: env['PGUSER'] ?? 'tenantmesh',
    password: env['PGPASSWORD'] ?? '',
    database: env['PGDATABASE'] ?? 'tenantmesh',
    ssl: env['PGSSLMODE'] !== undefined && env['PGSSLMODE'] !== 'disable',
  };
}
