import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ConflictError, InvalidError, NotFoundError } from '../domain/errors.ts';
import { compileFilter, parseFilter, type StandardProperty } from './filter.ts';
import { ARTIFACT_KINDS, KINDS, type EntityInput, type EntityKind, type EntityRow } from './kinds.ts';
import {
  decodePageToken,
  encodePageToken,
  ORDER_COLUMNS,
  queryFingerprint,
  type OrderBy,
  type SortOrder,
} from './paging.ts';

/** What a list call asks for (the contract's query parameters, validated). */
export interface ListQuery {
  kinds: readonly EntityKind[];
  /** Only children of this entity (nested routes). */
  parentId?: string;
  name?: string;
  externalId?: string;
  filterQuery?: string;
  orderBy?: OrderBy;
  sortOrder?: SortOrder;
  pageSize?: number;
  nextPageToken?: string;
}

/** One page of a list: `nextPageToken` is empty on the last page. */
export interface Page {
  items: EntityRow[];
  nextPageToken: string;
  pageSize: number;
  size: number;
}

/** What publishing a version through the upload path records. */
export interface PublishedVersion {
  model: string;
  version: string;
  uri: string;
  storageKey: string;
  storagePath: string;
  modelFormatName?: string;
  modelFormatVersion?: string;
  author?: string;
}

/**
 * An InferenceService of a tenant's serving environment that mirrors one InferenceEndpoint (the operator's
 * view of it). `externalId` says which endpoint (`<namespace>/<name>`); the mirror owns the rows carrying one.
 */
export interface MirroredInferenceService {
  externalId: string;
  name: string;
  description: string;
  /** The registered model served, by name; an endpoint whose model is not registered is not mirrored. */
  registeredModelName: string;
  /** The model version served, by name, when known and registered. */
  modelVersionName?: string;
  runtime: string;
  desiredState: 'DEPLOYED' | 'UNDEPLOYED';
  /** Where clients call it; recorded as the string custom property `url`. */
  url?: string;
}

/** What one mirror pass changed, and which endpoints it could not mirror (model not registered). */
export interface MirrorResult {
  created: number;
  updated: number;
  deleted: number;
  unresolved: string[];
}

/** Custom property holding a mirrored endpoint's URL. */
export const MIRROR_URL_PROPERTY = 'url';

/** What the registry says of one registered model or model version, beside the stored files. */
export interface RegistryRecord {
  id: string;
  /** `LIVE` or `ARCHIVED`. */
  state?: string;
  description?: string;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** The current time in milliseconds, from the database's clock so every API replica agrees. */
const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/**
 * The registry's metadata in PostgreSQL. Every statement names the tenant; ids are only ever looked up
 * together with it, so another tenant's id reads as "not found". Errors are domain errors.
 */
export class RegistryRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates an entity; the parent (if any) must exist in the same tenant and be of the right kind. */
  async create(tenant: string, kind: EntityKind, input: EntityInput): Promise<EntityRow> {
    const spec = KINDS[kind];
    if (spec.parent?.required && !input.parentId) {
      throw new InvalidError([{ pointer: `/${spec.parent.field ?? 'parent'}`, message: 'is required' }]);
    }
    if (input.parentId) await this.expect(tenant, spec.parent!.kinds, input.parentId);
    await this.checkReferences(tenant, kind, input, input.parentId);
    const properties = Object.fromEntries(Object.entries(input.properties).filter(([, v]) => v !== null));
    const result = await this.run(
      tenant,
      kind,
      `INSERT INTO registry_entity
         (tenant, kind, parent_id, name, external_id, description, state, properties, custom_properties,
          create_time, update_time)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, now.ms, now.ms FROM (SELECT ${NOW_MS} AS ms) now
       RETURNING *`,
      [
        tenant,
        kind,
        input.parentId ?? null,
        input.name ?? randomUUID(),
        input.externalId ?? null,
        input.description ?? null,
        input.state ?? spec.states?.initial ?? null,
        properties,
        input.customProperties ?? {},
      ],
    );
    return result.rows[0]!;
  }

  /** Reads one entity of one of `kinds`; NotFound otherwise. */
  async get(tenant: string, kinds: readonly EntityKind[], id: string): Promise<EntityRow> {
    const result = await this.pool.query<EntityRow>(
      'SELECT * FROM registry_entity WHERE tenant = $1 AND id = $2 AND kind = ANY($3)',
      [tenant, id, kinds],
    );
    if (!result.rows[0]) throw new NotFoundError(KINDS[kinds[0]!].title, id);
    return result.rows[0];
  }

  /**
   * Applies a PATCH: given fields replace stored ones, `null` clears an optional field, `customProperties`
   * replaces the whole map; absent fields stay. One statement, so concurrent patches never lose each other's
   * other fields.
   */
  async update(
    tenant: string,
    kinds: readonly EntityKind[],
    id: string,
    input: EntityInput,
  ): Promise<EntityRow> {
    const current = await this.get(tenant, kinds, id);
    await this.checkReferences(tenant, current.kind, input, current.parent_id ?? undefined, current);
    const result = await this.run(
      tenant,
      current.kind,
      `UPDATE registry_entity SET
         name = COALESCE($4, name),
         external_id = CASE WHEN $5 THEN $6 ELSE external_id END,
         description = CASE WHEN $7 THEN $8 ELSE description END,
         state = COALESCE($9, state),
         properties = jsonb_strip_nulls(properties || $10::jsonb),
         custom_properties = COALESCE($11::jsonb, custom_properties),
         update_time = GREATEST(${NOW_MS}, update_time)
       WHERE tenant = $1 AND id = $2 AND kind = ANY($3)
       RETURNING *`,
      [
        tenant,
        id,
        kinds,
        input.name ?? null,
        input.externalId !== undefined,
        input.externalId ?? null,
        input.description !== undefined,
        input.description ?? null,
        input.state ?? null,
        JSON.stringify(input.properties),
        input.customProperties === undefined ? null : JSON.stringify(input.customProperties),
      ],
    );
    if (!result.rows[0]) throw new NotFoundError(KINDS[kinds[0]!].title, id);
    return result.rows[0];
  }

  /** Makes an existing standalone artifact a child of a model version (the upsert route given an id). */
  async attach(
    tenant: string,
    artifactId: string,
    versionId: string,
    input: EntityInput,
  ): Promise<EntityRow> {
    await this.expect(tenant, ['model-version'], versionId);
    const artifact = await this.get(tenant, ARTIFACT_KINDS, artifactId);
    if (artifact.parent_id !== null && artifact.parent_id !== versionId) {
      throw new ConflictError(
        `artifact ${artifactId} already belongs to model version ${artifact.parent_id}`,
      );
    }
    if (artifact.parent_id === null) {
      await this.run(
        tenant,
        artifact.kind,
        'UPDATE registry_entity SET parent_id = $3 WHERE tenant = $1 AND id = $2',
        [tenant, artifactId, versionId],
      );
    }
    return this.update(tenant, [artifact.kind], artifactId, input);
  }

  /** Lists with keyset pagination; the token encodes the last row's position and the query's fingerprint. */
  async list(tenant: string, query: ListQuery): Promise<Page> {
    const orderBy = query.orderBy ?? 'ID';
    const sortOrder = query.sortOrder ?? 'ASC';
    const pageSize = Math.min(query.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const column = ORDER_COLUMNS[orderBy];
    const fingerprint = queryFingerprint({
      tenant,
      kinds: query.kinds,
      parent: query.parentId ?? null,
      name: query.name ?? null,
      externalId: query.externalId ?? null,
      filter: query.filterQuery ?? '',
      orderBy,
      sortOrder,
    });
    // One kind (every route but the generic artifacts list) is an equality, so the planner walks the
    // (tenant, kind, <order column>, id) index in order and stops after a page, instead of sorting every row of
    // the tenant's kind (or, ordered by id, filtering the tenant's whole primary key range).
    const single = query.kinds.length === 1;
    const params: unknown[] = [tenant, single ? query.kinds[0] : query.kinds];
    const conditions = ['tenant = $1', single ? 'kind = $2' : 'kind = ANY($2)'];
    const bind = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.parentId !== undefined) conditions.push(`parent_id = ${bind(query.parentId)}`);
    if (query.name !== undefined) conditions.push(`name = ${bind(query.name)}`);
    if (query.externalId !== undefined) conditions.push(`external_id = ${bind(query.externalId)}`);
    const filter = parseFilter(query.filterQuery);
    if (filter) conditions.push(compileFilter(filter, standardProperties(query.kinds), params));
    const comparison = sortOrder === 'ASC' ? '>' : '<';
    if (query.nextPageToken) {
      const position = decodePageToken(query.nextPageToken, fingerprint);
      conditions.push(
        column === 'id'
          ? `id ${comparison} ${bind(position.id)}`
          : `(${column}, id) ${comparison} (${bind(position.sortValue)}, ${bind(position.id)})`,
      );
    }
    const order = column === 'id' ? `id ${sortOrder}` : `${column} ${sortOrder}, id ${sortOrder}`;
    const result = await this.pool
      .query<EntityRow>(
        `SELECT * FROM registry_entity WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT ${bind(pageSize + 1)}`,
        params,
      )
      .catch(mapQueryError);
    const items = result.rows.slice(0, pageSize);
    const last = items[items.length - 1];
    const nextPageToken =
      result.rows.length > pageSize && last
        ? encodePageToken(fingerprint, { sortValue: String(last[column as keyof EntityRow]), id: last.id })
        : '';
    return { items, nextPageToken, pageSize, size: items.length };
  }

  /**
   * The singular "find" routes: by name (within `parentId` for kinds that live under a parent) and/or by
   * externalId. NotFound when nothing matches.
   */
  async find(
    tenant: string,
    kinds: readonly EntityKind[],
    by: { name?: string; externalId?: string; parentId?: string },
  ): Promise<EntityRow> {
    if (by.name === undefined && by.externalId === undefined) {
      throw new InvalidError([{ pointer: '', message: 'name or externalId is required' }]);
    }
    const spec = KINDS[kinds[0]!];
    if (by.name !== undefined && by.externalId === undefined && spec.parent?.required && !by.parentId) {
      throw new InvalidError([{ pointer: '', message: 'parentResourceId is required with name' }]);
    }
    const params: unknown[] = [tenant, kinds];
    const conditions = ['tenant = $1', 'kind = ANY($2)'];
    if (by.name !== undefined) {
      params.push(by.name);
      conditions.push(`name = $${params.length}`);
      if (spec.parent) {
        if (by.parentId) {
          params.push(by.parentId);
          conditions.push(`parent_id = $${params.length}`);
        } else if (by.externalId === undefined) conditions.push('parent_id IS NULL');
      }
    } else if (by.parentId) {
      params.push(by.parentId);
      conditions.push(`parent_id = $${params.length}`);
    }
    if (by.externalId !== undefined) {
      params.push(by.externalId);
      conditions.push(`external_id = $${params.length}`);
    }
    const result = await this.pool.query<EntityRow>(
      `SELECT * FROM registry_entity WHERE ${conditions.join(' AND ')} ORDER BY id LIMIT 1`,
      params,
    );
    if (!result.rows[0]) throw new NotFoundError(spec.title, by.name ?? by.externalId ?? '');
    return result.rows[0];
  }

  /**
   * Records a version published through the upload path, in one transaction: the registered model (created if
   * new), the model version (LIVE) and its model artifact named after the model (as the Python client's
   * `get_model_artifact(model, version)` looks it up), pointing at the version's objects in the tenant's bucket.
   */
  async publishModelVersion(
    tenant: string,
    published: PublishedVersion,
  ): Promise<{ registeredModel: EntityRow; modelVersion: EntityRow; modelArtifact: EntityRow }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const upsert = async (
        kind: EntityKind,
        parentId: string | null,
        name: string,
        state: string,
        properties: Record<string, string>,
      ) =>
        (
          await client.query<EntityRow>(
            `INSERT INTO registry_entity
               (tenant, kind, parent_id, name, state, properties, custom_properties, create_time, update_time)
             SELECT $1, $2, $3, $4, $5, $6, '{}', now.ms, now.ms FROM (SELECT ${NOW_MS} AS ms) now
             ON CONFLICT ON CONSTRAINT registry_entity_name_unique DO UPDATE SET
               state = CASE WHEN $2 = 'registered-model' THEN registry_entity.state ELSE EXCLUDED.state END,
               properties = registry_entity.properties || EXCLUDED.properties,
               update_time = GREATEST(EXCLUDED.update_time, registry_entity.update_time)
             RETURNING *`,
            [tenant, kind, parentId, name, state, properties],
          )
        ).rows[0]!;
      const registeredModel = await upsert('registered-model', null, published.model, 'LIVE', {});
      const modelVersion = await upsert(
        'model-version',
        registeredModel.id,
        published.version,
        'LIVE',
        published.author ? { author: published.author } : {},
      );
      const artifactProperties: Record<string, string> = {
        uri: published.uri,
        storageKey: published.storageKey,
        storagePath: published.storagePath,
      };
      if (published.modelFormatName) artifactProperties['modelFormatName'] = published.modelFormatName;
      if (published.modelFormatVersion)
        artifactProperties['modelFormatVersion'] = published.modelFormatVersion;
      const modelArtifact = await upsert(
        'model-artifact',
        modelVersion.id,
        published.model,
        'LIVE',
        artifactProperties,
      );
      await client.query('COMMIT');
      return { registeredModel, modelVersion, modelArtifact };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw mapQueryError(error);
    } finally {
      client.release();
    }
  }

  /**
   * What the registry records of the named registered models (`versions` undefined) or of the named versions of
   * registered model `model`: id, state and description by name, in one query. Names it does not know are
   * absent from the answer (a version published before the registry existed, say).
   */
  async describe(
    tenant: string,
    names: readonly string[],
    model?: string,
  ): Promise<Map<string, RegistryRecord>> {
    if (names.length === 0) return new Map();
    const result =
      model === undefined
        ? await this.pool.query<EntityRow>(
            `SELECT * FROM registry_entity
             WHERE tenant = $1 AND kind = 'registered-model' AND parent_id IS NULL AND name = ANY($2)`,
            [tenant, names],
          )
        : await this.pool.query<EntityRow>(
            `SELECT v.* FROM registry_entity v
             JOIN registry_entity m ON m.tenant = v.tenant AND m.id = v.parent_id
             WHERE v.tenant = $1 AND v.kind = 'model-version' AND v.name = ANY($2)
               AND m.kind = 'registered-model' AND m.parent_id IS NULL AND m.name = $3`,
            [tenant, names, model],
          );
    return new Map(
      result.rows.map((row) => [
        row.name,
        {
          id: row.id,
          ...(row.state ? { state: row.state } : {}),
          ...(row.description ? { description: row.description } : {}),
        },
      ]),
    );
  }

  /** Removes a version and its artifacts (our own API's hard delete, after its in-use check). */
  async deleteModelVersion(tenant: string, model: string, version: string): Promise<void> {
    await this.pool.query(
      `WITH version AS (
         SELECT v.id FROM registry_entity v JOIN registry_entity m ON m.tenant = v.tenant AND m.id = v.parent_id
         WHERE v.tenant = $1 AND v.kind = 'model-version' AND v.name = $3
           AND m.kind = 'registered-model' AND m.name = $2),
       artifacts AS (
         DELETE FROM registry_entity WHERE tenant = $1 AND parent_id IN (SELECT id FROM version)
           AND kind = ANY($4))
       DELETE FROM registry_entity WHERE tenant = $1 AND id IN (SELECT id FROM version)`,
      [tenant, model, version, ARTIFACT_KINDS],
    );
  }

  /**
   * Makes the tenant's serving environment `environment` hold exactly `services` among the inference services
   * whose externalId starts with `externalIdPrefix` (the operator's mirrors of InferenceEndpoints), in one
   * transaction: missing ones are created, changed ones updated (their serve models stay), others deleted with
   * their serve models. Rows created by users (another or no externalId) are never touched; a user's other
   * custom properties on a mirrored row are kept. Writes nothing when everything already matches.
   */
  async mirrorInferenceServices(
    tenant: string,
    environment: string,
    externalIdPrefix: string,
    services: MirroredInferenceService[],
  ): Promise<MirrorResult> {
    const result: MirrorResult = { created: 0, updated: 0, deleted: 0, unresolved: [] };
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // One mirror pass per tenant at a time, even while two operator replicas hand the lease over.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('registry-mirror'), hashtext($1))`, [tenant]);
      const environmentId = await this.servingEnvironmentId(client, tenant, environment, services.length > 0);
      if (environmentId === undefined) {
        await client.query('COMMIT');
        return result;
      }
      const resolved = await client.query<{ i: string; model_id: string; version_id: string | null }>(
        `SELECT d.i, m.id AS model_id, v.id AS version_id
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(model, version, i)
         JOIN registry_entity m ON m.tenant = $1 AND m.kind = 'registered-model' AND m.parent_id IS NULL
                                AND m.name = d.model
         LEFT JOIN registry_entity v ON v.tenant = $1 AND v.kind = 'model-version' AND v.parent_id = m.id
                                     AND v.name = d.version`,
        [tenant, services.map((s) => s.registeredModelName), services.map((s) => s.modelVersionName ?? null)],
      );
      const ids = new Map(resolved.rows.map((row) => [Number(row.i) - 1, row]));
      const existing = new Map(
        (
          await client.query<EntityRow>(
            `SELECT * FROM registry_entity WHERE tenant = $1 AND kind = 'inference-service' AND parent_id = $2
               AND starts_with(external_id, $3)`,
            [tenant, environmentId, externalIdPrefix],
          )
        ).rows.map((row) => [row.external_id!, row]),
      );
      const wanted = new Set<string>();
      for (const [index, service] of services.entries()) {
        if (ids.has(index)) wanted.add(service.externalId);
        else result.unresolved.push(service.externalId);
      }
      // Stale rows go first, so a name they held is free for the row that wants it.
      const stale = [...existing.values()]
        .filter((row) => !wanted.has(row.external_id!))
        .map((row) => row.id);
      if (stale.length > 0) {
        await client.query(
          `WITH serves AS (DELETE FROM registry_entity WHERE tenant = $1 AND kind = 'serve-model'
                             AND parent_id = ANY($2::bigint[]))
           DELETE FROM registry_entity WHERE tenant = $1 AND id = ANY($2::bigint[])`,
          [tenant, stale],
        );
        result.deleted = stale.length;
      }
      for (const [index, service] of services.entries()) {
        const model = ids.get(index);
        if (!model) continue;
        const properties: Record<string, string> = {
          registeredModelId: model.model_id,
          runtime: service.runtime,
        };
        if (model.version_id) properties['modelVersionId'] = model.version_id;
        const row = existing.get(service.externalId);
        const custom = { ...(row?.custom_properties ?? {}) };
        delete custom[MIRROR_URL_PROPERTY];
        if (service.url) {
          custom[MIRROR_URL_PROPERTY] = { metadataType: 'MetadataStringValue', string_value: service.url };
        }
        if (!row) {
          await client.query(
            `INSERT INTO registry_entity
               (tenant, kind, parent_id, name, external_id, description, state, properties, custom_properties,
                create_time, update_time)
             SELECT $1, 'inference-service', $2, $3, $4, $5, $6, $7, $8, now.ms, now.ms
             FROM (SELECT ${NOW_MS} AS ms) now`,
            [
              tenant,
              environmentId,
              service.name,
              service.externalId,
              service.description,
              service.desiredState,
              properties,
              custom,
            ],
          );
          result.created++;
        } else if (
          row.name !== service.name ||
          row.description !== service.description ||
          row.state !== service.desiredState ||
          !sameJson(row.properties, properties) ||
          !sameJson(row.custom_properties, custom)
        ) {
          await client.query(
            `UPDATE registry_entity SET name = $3, description = $4, state = $5, properties = $6,
               custom_properties = $7, update_time = GREATEST(${NOW_MS}, update_time)
             WHERE tenant = $1 AND id = $2`,
            [tenant, row.id, service.name, service.description, service.desiredState, properties, custom],
          );
          result.updated++;
        }
      }
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw mapQueryError(error, 'inference-service');
    } finally {
      client.release();
    }
  }

  /** The id of the tenant's serving environment named `name`, created when `create` (else undefined if none). */
  private async servingEnvironmentId(
    client: pg.PoolClient,
    tenant: string,
    name: string,
    create: boolean,
  ): Promise<string | undefined> {
    const find = () =>
      client.query<{ id: string }>(
        `SELECT id FROM registry_entity WHERE tenant = $1 AND kind = 'serving-environment' AND parent_id IS NULL
           AND name = $2`,
        [tenant, name],
      );
    const found = (await find()).rows[0]?.id;
    if (found !== undefined || !create) return found;
    await client.query(
      `INSERT INTO registry_entity (tenant, kind, name, description, create_time, update_time)
       SELECT $1, 'serving-environment', $2, $3, now.ms, now.ms FROM (SELECT ${NOW_MS} AS ms) now
       ON CONFLICT ON CONSTRAINT registry_entity_name_unique DO NOTHING`,
      [tenant, name, "Where the tenant's InferenceEndpoints serve (tenantmesh)"],
    );
    return (await find()).rows[0]?.id;
  }

  /** Removes every row of a tenant (the tenant itself is being purged). */
  async deleteTenant(tenant: string): Promise<void> {
    await this.pool.query('DELETE FROM registry_entity WHERE tenant = $1', [tenant]);
  }

  /** Throws NotFound unless `id` is an entity of one of `kinds` in the tenant. */
  private async expect(tenant: string, kinds: readonly EntityKind[], id: string): Promise<EntityRow> {
    return this.get(tenant, kinds, id);
  }

  /** Ids inside `properties` (an inference service's model and version, a serve model's version) must resolve. */
  private async checkReferences(
    tenant: string,
    kind: EntityKind,
    input: EntityInput,
    parentId: string | undefined,
    current?: EntityRow,
  ): Promise<void> {
    const registeredModelId =
      (input.properties['registeredModelId'] as string | undefined) ??
      (current?.properties['registeredModelId'] as string | undefined);
    const modelVersionId = input.properties['modelVersionId'];
    if (kind === 'inference-service') {
      if (typeof input.properties['registeredModelId'] === 'string') {
        await this.expect(tenant, ['registered-model'], input.properties['registeredModelId']);
      }
      if (typeof modelVersionId === 'string') {
        const version = await this.expect(tenant, ['model-version'], modelVersionId);
        if (registeredModelId && version.parent_id !== registeredModelId) {
          throw new InvalidError([
            {
              pointer: '/modelVersionId',
              message: `is not a version of registered model ${registeredModelId}`,
            },
          ]);
        }
      }
    }
    if (kind === 'serve-model' && typeof modelVersionId === 'string') {
      await this.expect(tenant, ['model-version'], modelVersionId);
      void parentId;
    }
  }

  private async run(
    tenant: string,
    kind: EntityKind,
    sql: string,
    params: unknown[],
  ): Promise<pg.QueryResult<EntityRow>> {
    void tenant;
    return this.pool.query<EntityRow>(sql, params).catch((error: unknown) => {
      throw mapQueryError(error, kind);
    });
  }
}

/** PostgreSQL errors that are the caller's doing become domain errors; anything else stays as it is (a 500). */
function mapQueryError(error: unknown, kind?: EntityKind): never {
  const code = (error as { code?: string }).code;
  const constraint = (error as { constraint?: string }).constraint;
  const title = kind ? KINDS[kind].title : 'entity';
  if (code === '23505') {
    throw new ConflictError(
      constraint === 'registry_entity_external_id_unique'
        ? `a ${title} with this externalId already exists`
        : `a ${title} with this name already exists${kind && KINDS[kind].parent ? ' under the same parent' : ''}`,
    );
  }
  if (code === '23503') throw new NotFoundError('parent', '');
  if (code === '22P02' || code === '22003') {
    throw new InvalidError([{ pointer: '', message: 'a value is out of range for its type' }]);
  }
  throw error;
}

/** Deep equality of JSON values, independent of key order. */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): string =>
    Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : value !== null && typeof value === 'object'
        ? `{${Object.keys(value)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
            .join(',')}}`
        : JSON.stringify(value);
  return canonical(a) === canonical(b);
}

/** The standard (non-custom) properties a filterQuery may name, for the given kinds. */
function standardProperties(kinds: readonly EntityKind[]): (name: string) => StandardProperty | undefined {
  const table: Record<string, StandardProperty> = {
    id: { sql: 'id', type: 'bigint' },
    name: { sql: 'name', type: 'text' },
    externalId: { sql: 'external_id', type: 'text' },
    description: { sql: 'description', type: 'text' },
    createTimeSinceEpoch: { sql: 'create_time', type: 'bigint' },
    lastUpdateTimeSinceEpoch: { sql: 'update_time', type: 'bigint' },
  };
  for (const kind of kinds) {
    const spec = KINDS[kind];
    if (spec.states) table[spec.states.field] = { sql: 'state', type: 'text' };
    if (spec.parent?.field) table[spec.parent.field] = { sql: 'parent_id', type: 'bigint' };
    for (const [field, fieldSpec] of Object.entries(spec.fields)) {
      if (fieldSpec.type === 'string') table[field] = { sql: `(properties ->> '${field}')`, type: 'text' };
      if (fieldSpec.type === 'id')
        table[field] = { sql: `(properties ->> '${field}')::bigint`, type: 'bigint' };
    }
  }
  return (name) => (Object.hasOwn(table, name) ? table[name] : undefined);
}
