import { z } from 'zod';

/**
 * The entities of the Kubeflow Model Registry REST contract, as this implementation stores them: one row per
 * entity with the common columns (name, externalId, description, state, customProperties, times, parent) and
 * the kind's own typed fields in `properties`. The field names are the contract's (facts learnt from the
 * upstream OpenAPI document); nothing of upstream's code is used.
 */
export type EntityKind =
  | 'registered-model'
  | 'model-version'
  | 'model-artifact'
  | 'doc-artifact'
  | 'serving-environment'
  | 'inference-service'
  | 'serve-model';

export const ARTIFACT_KINDS: readonly EntityKind[] = ['model-artifact', 'doc-artifact'];

/** A kind-specific field: a string (the default), a list of strings, or the id of another entity. */
interface FieldSpec {
  type: 'string' | 'strings' | 'id';
  /** Settable at creation only (e.g. the registered model an inference service serves). */
  createOnly?: boolean;
  /** Must be present at creation. */
  required?: boolean;
}

/** How one kind maps onto the common columns. */
export interface KindSpec {
  kind: EntityKind;
  /** What the contract calls it, for messages (`RegisteredModel`). */
  title: string;
  /** Allowed states and the default; undefined when the kind has no `state`. */
  states?: { field: 'state' | 'desiredState' | 'lastKnownState'; values: readonly string[]; initial: string };
  /**
   * The parent's kind, and the wire field holding its id when the contract has one (artifacts and serve models
   * only get a parent through their nested routes).
   */
  parent?: { field?: string; kinds: readonly EntityKind[]; required: boolean };
  /** Whether `name` must be given (otherwise a unique one is made up, as upstream does). */
  nameRequired: boolean;
  fields: Record<string, FieldSpec>;
  /** `artifactType` value on the wire, for artifacts. */
  artifactType?: string;
}

const ARTIFACT_STATES = [
  'UNKNOWN',
  'PENDING',
  'LIVE',
  'MARKED_FOR_DELETION',
  'DELETED',
  'ABANDONED',
  'REFERENCE',
];
const LIVE_ARCHIVED = ['LIVE', 'ARCHIVED'];
const EXECUTION_STATES = ['UNKNOWN', 'NEW', 'RUNNING', 'COMPLETE', 'FAILED', 'CACHED', 'CANCELED'];

const artifactFields: Record<string, FieldSpec> = {
  uri: { type: 'string' },
  experimentId: { type: 'string' },
  experimentRunId: { type: 'string' },
};

export const KINDS: Record<EntityKind, KindSpec> = {
  'registered-model': {
    kind: 'registered-model',
    title: 'RegisteredModel',
    states: { field: 'state', values: LIVE_ARCHIVED, initial: 'LIVE' },
    nameRequired: true,
    fields: {
      owner: { type: 'string' },
      readme: { type: 'string' },
      maturity: { type: 'string' },
      language: { type: 'strings' },
      tasks: { type: 'strings' },
      provider: { type: 'string' },
      logo: { type: 'string' },
      license: { type: 'string' },
      licenseLink: { type: 'string' },
      libraryName: { type: 'string' },
    },
  },
  'model-version': {
    kind: 'model-version',
    title: 'ModelVersion',
    states: { field: 'state', values: LIVE_ARCHIVED, initial: 'LIVE' },
    parent: { field: 'registeredModelId', kinds: ['registered-model'], required: true },
    nameRequired: true,
    fields: { author: { type: 'string' } },
  },
  'model-artifact': {
    kind: 'model-artifact',
    title: 'ModelArtifact',
    artifactType: 'model-artifact',
    states: { field: 'state', values: ARTIFACT_STATES, initial: 'UNKNOWN' },
    parent: { kinds: ['model-version'], required: false },
    nameRequired: false,
    fields: {
      ...artifactFields,
      modelFormatName: { type: 'string' },
      modelFormatVersion: { type: 'string' },
      storageKey: { type: 'string' },
      storagePath: { type: 'string' },
      serviceAccountName: { type: 'string' },
      modelSourceKind: { type: 'string' },
      modelSourceClass: { type: 'string' },
      modelSourceGroup: { type: 'string' },
      modelSourceId: { type: 'string' },
      modelSourceName: { type: 'string' },
    },
  },
  'doc-artifact': {
    kind: 'doc-artifact',
    title: 'DocArtifact',
    artifactType: 'doc-artifact',
    states: { field: 'state', values: ARTIFACT_STATES, initial: 'UNKNOWN' },
    parent: { kinds: ['model-version'], required: false },
    nameRequired: false,
    fields: { ...artifactFields },
  },
  'serving-environment': {
    kind: 'serving-environment',
    title: 'ServingEnvironment',
    nameRequired: true,
    fields: {},
  },
  'inference-service': {
    kind: 'inference-service',
    title: 'InferenceService',
    states: { field: 'desiredState', values: ['DEPLOYED', 'UNDEPLOYED'], initial: 'DEPLOYED' },
    parent: { field: 'servingEnvironmentId', kinds: ['serving-environment'], required: true },
    nameRequired: false,
    fields: {
      registeredModelId: { type: 'id', createOnly: true, required: true },
      modelVersionId: { type: 'id' },
      runtime: { type: 'string' },
    },
  },
  'serve-model': {
    kind: 'serve-model',
    title: 'ServeModel',
    states: { field: 'lastKnownState', values: EXECUTION_STATES, initial: 'UNKNOWN' },
    parent: { kinds: ['inference-service'], required: true },
    nameRequired: false,
    fields: { modelVersionId: { type: 'id', createOnly: true, required: true } },
  },
};

/** The kind whose `artifactType` is `type`, if any. */
export function artifactKind(type: string): EntityKind | undefined {
  return ARTIFACT_KINDS.find((kind) => KINDS[kind].artifactType === type);
}

/** Ids on the wire: strings of digits without a leading zero (the contract's pattern). */
export const idSchema = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be an id (a string of digits)');

const printable = /^[\x20-\x7E]*$/;

const metadataValue = z.discriminatedUnion('metadataType', [
  z.strictObject({
    metadataType: z.literal('MetadataStringValue'),
    string_value: z.string(),
  }),
  z.strictObject({
    metadataType: z.literal('MetadataIntValue'),
    int_value: z
      .string()
      .refine(
        (v) => /^-?[0-9]{1,19}$/.test(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n,
        'must be a 64-bit integer in a string',
      ),
  }),
  z.strictObject({
    metadataType: z.literal('MetadataDoubleValue'),
    double_value: z.number(),
  }),
  z.strictObject({
    metadataType: z.literal('MetadataBoolValue'),
    bool_value: z.boolean(),
  }),
  z.strictObject({
    metadataType: z.literal('MetadataStructValue'),
    struct_value: z.string(),
  }),
  z.strictObject({
    metadataType: z.literal('MetadataProtoValue'),
    type: z.string(),
    proto_value: z.string(),
  }),
]);

/** `customProperties`: typed values by name, stored and returned exactly as given. */
export const customPropertiesSchema = z.record(z.string().min(1).max(255), metadataValue);
export type CustomProperties = z.infer<typeof customPropertiesSchema>;

/** What a create or update request carries, already validated, in storage terms. */
export interface EntityInput {
  name?: string;
  externalId?: string | null;
  description?: string | null;
  state?: string;
  parentId?: string;
  customProperties?: CustomProperties;
  /** Kind-specific fields; `null` clears one. */
  properties: Record<string, string | string[] | null>;
}

/** Fields the server sets; clients (the Python client among them) may echo them back and they are ignored. */
const READ_ONLY = ['id', 'createTimeSinceEpoch', 'lastUpdateTimeSinceEpoch'] as const;

/**
 * The request body schema of a kind for `create` or `update`. Unknown fields are refused (a 400 that names
 * them), so a typo never silently drops data. `fixedParent` is set on nested routes, whose path names the parent.
 */
export function bodySchema(
  spec: KindSpec,
  mode: 'create' | 'update',
  options: { parentInPath?: boolean } = {},
): z.ZodType<EntityInput> {
  const nullableString = z.string().max(65_535).nullable().optional();
  const shape: Record<string, z.ZodType> = {
    description: nullableString,
    externalId: z.string().min(1).max(255).regex(printable, 'must be printable ASCII').nullable().optional(),
    customProperties: customPropertiesSchema.nullable().optional(),
  };
  for (const field of READ_ONLY) shape[field] = z.unknown().optional();
  if (mode === 'create' || spec.kind.endsWith('artifact')) {
    // Artifacts: the upsert routes take full Artifact objects, name included.
    shape['name'] = z.string().min(1).max(255);
    if (!spec.nameRequired || mode === 'update') shape['name'] = (shape['name'] as z.ZodString).optional();
  }
  if (spec.artifactType) shape['artifactType'] = z.literal(spec.artifactType).optional();
  if (spec.states) shape[spec.states.field] = z.enum(spec.states.values as [string, ...string[]]).optional();
  if (spec.parent?.field && mode === 'create') {
    shape[spec.parent.field] = spec.parent.required && !options.parentInPath ? idSchema : idSchema.optional();
  }
  for (const [field, fieldSpec] of Object.entries(spec.fields)) {
    if (mode === 'update' && fieldSpec.createOnly) {
      shape[field] = z.unknown().optional();
      continue;
    }
    const base =
      fieldSpec.type === 'strings'
        ? z.array(z.string().max(1024)).max(256)
        : fieldSpec.type === 'id'
          ? idSchema
          : z.string().max(65_535);
    shape[field] = mode === 'create' && fieldSpec.required ? base : base.nullable().optional();
  }
  return z.strictObject(shape).transform((body: Record<string, unknown>): EntityInput => {
    const input: EntityInput = { properties: {} };
    if (typeof body['name'] === 'string') input.name = body['name'];
    if (body['externalId'] !== undefined) input.externalId = body['externalId'] as string | null;
    if (body['description'] !== undefined) input.description = body['description'] as string | null;
    if (body['customProperties'] !== undefined) {
      input.customProperties = (body['customProperties'] as CustomProperties | null) ?? {};
    }
    if (spec.states && typeof body[spec.states.field] === 'string')
      input.state = body[spec.states.field] as string;
    if (spec.parent?.field && typeof body[spec.parent.field] === 'string') {
      input.parentId = body[spec.parent.field] as string;
    }
    for (const [field, fieldSpec] of Object.entries(spec.fields)) {
      if (mode === 'update' && fieldSpec.createOnly) continue;
      const value = body[field];
      if (value !== undefined) input.properties[field] = value as string | string[] | null;
    }
    return input;
  }) as unknown as z.ZodType<EntityInput>;
}

/** A stored row as the repository reads it (bigint columns arrive as strings). */
export interface EntityRow {
  tenant: string;
  id: string;
  kind: EntityKind;
  parent_id: string | null;
  name: string;
  external_id: string | null;
  description: string | null;
  state: string | null;
  properties: Record<string, unknown>;
  custom_properties: CustomProperties;
  create_time: string;
  update_time: string;
}

/** The wire representation of a stored entity (the contract's response object). */
export function present(row: EntityRow): Record<string, unknown> {
  const spec = KINDS[row.kind];
  const body: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    customProperties: row.custom_properties,
    createTimeSinceEpoch: row.create_time,
    lastUpdateTimeSinceEpoch: row.update_time,
  };
  if (spec.artifactType) body['artifactType'] = spec.artifactType;
  if (spec.states && row.state !== null) body[spec.states.field] = row.state;
  if (spec.parent?.field && row.parent_id !== null) body[spec.parent.field] = row.parent_id;
  for (const [field, value] of Object.entries(row.properties)) {
    if (value !== null && value !== undefined) body[field] = value;
  }
  return body;
}
