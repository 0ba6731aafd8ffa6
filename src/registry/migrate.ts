import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';

/** The migrations shipped with this version, oldest first: `<4-digit number>-<what it does>.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Reads the migrations in the repository's `src/registry/migrations` folder. */
export function shippedMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}-[a-z0-9-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: path.basename(file, '.sql'),
      sql: readFileSync(path.join(dir, file), 'utf8'),
    }));
}

/** Any 64-bit number works; this one is ours ("tenantmesh registry" in a few hex digits). */
const MIGRATION_LOCK_KEY = 0x7e4a_3e5b_0001;

/**
 * Brings the schema up to date at start-up. Every replica of the API may start at once: a transaction-scoped
 * advisory lock lets one of them apply what is missing while the others wait, then find nothing left to do.
 * All pending migrations apply in one transaction, so a failure leaves the schema as it was.
 * Returns the versions applied now.
 */
export async function migrate(pool: pg.Pool, migrations = shippedMigrations()): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS registry_schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Set(
      (await client.query<{ version: number }>('SELECT version FROM registry_schema_migrations')).rows.map(
        (row) => row.version,
      ),
    );
    const newer = [...applied].filter((version) => !migrations.some((m) => m.version === version));
    if (newer.length > 0) {
      throw new Error(
        `the database has registry schema versions this build does not know (${newer.join(', ')}): run a newer build`,
      );
    }
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query('INSERT INTO registry_schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return pending.map((m) => m.version);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
