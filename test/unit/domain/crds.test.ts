import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const chart = join(import.meta.dirname, '../../../charts/tenantmesh');

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: Schema | boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [keyword: string]: unknown;
}

function loadYaml(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return (Array.isArray(docs) ? docs : [docs]).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS();
  });
}

const crdFiles = readdirSync(join(chart, 'crds')).filter((f) => f.endsWith('.yaml'));
const crds = new Map(
  crdFiles.map((file) => {
    const [crd] = loadYaml(join(chart, 'crds', file)) as {
      spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: Schema } }[] };
    }[];
    return [crd!.spec.names.kind, crd!] as const;
  }),
);

/** Paths of nodes that break the structural-schema rules the apiserver enforces (what we use of them). */
function structuralViolations(schema: Schema, path = ''): string[] {
  if (schema['x-kubernetes-int-or-string']) {
    const types = (schema.anyOf ?? []).map((s) => s.type).sort();
    return types.join() === 'integer,string' ? [] : [`${path}: int-or-string needs anyOf integer|string`];
  }
  if (schema.anyOf) return [`${path}: anyOf outside int-or-string`];
  if (!schema.type) return [`${path || '<root>'}: no type`];
  if (schema.type === 'array') {
    return schema.items ? structuralViolations(schema.items, `${path}[]`) : [`${path}: array without items`];
  }
  if (schema.type !== 'object') return [];
  if (schema.properties && schema.additionalProperties !== undefined) {
    return [`${path}: properties and additionalProperties together`];
  }
  return Object.entries(schema.properties ?? {}).flatMap(([key, child]) =>
    structuralViolations(child, `${path}.${key}`),
  );
}

function schemaValidator(kind: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  ajv.addFormat('int32', true).addFormat('int64', true);
  for (const keyword of [
    'x-kubernetes-int-or-string',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-validations',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
  ]) {
    ajv.addKeyword(keyword);
  }
  return ajv.compile(crds.get(kind)!.spec.versions[0]!.schema.openAPIV3Schema);
}

describe('CRDs', () => {
  it('there is one CRD file for each kind', () => {
    expect([...crds.keys()].sort()).toEqual(['InferenceEndpoint', 'ServingRuntime', 'Tenant']);
  });

  it.each([...crds.keys()])('the %s schema is structural (every property typed)', (kind) => {
    expect(structuralViolations(crds.get(kind)!.spec.versions[0]!.schema.openAPIV3Schema)).toEqual([]);
  });

  it.each(readdirSync(join(chart, 'runtimes')).filter((f) => f.endsWith('.yaml')))(
    'the default runtime %s validates against the ServingRuntime schema',
    (file) => {
      const validate = schemaValidator('ServingRuntime');
      for (const runtime of loadYaml(join(chart, 'runtimes', file))) {
        expect(validate(runtime) ? [] : validate.errors).toEqual([]);
      }
    },
  );

  it('an endpoint replica count above 50 is rejected by the schema', () => {
    const validate = schemaValidator('InferenceEndpoint');
    const endpoint = (replicas: number) => ({
      apiVersion: 'tenantmesh.io/v1alpha1',
      kind: 'InferenceEndpoint',
      metadata: { name: 'acme-a' },
      spec: { tenant: 'acme', model: { name: 'm', version: 'latest' }, runtime: 'triton', replicas },
    });
    expect(validate(endpoint(50))).toBe(true);
    expect(validate(endpoint(51))).toBe(false);
  });

  it('a tenant quota accepts Kubernetes quantities and rejects other strings', () => {
    const validate = schemaValidator('Tenant');
    const tenant = (cpu: string | number) => ({ metadata: { name: 'acme' }, spec: { quota: { cpu } } });
    expect(validate(tenant('500m'))).toBe(true);
    expect(validate(tenant(4))).toBe(true);
    expect(validate(tenant('lots'))).toBe(false);
  });

  it('a model version is an id or latest, never a path', () => {
    const validate = schemaValidator('InferenceEndpoint');
    const endpoint = (version: string) => ({
      metadata: { name: 'acme-a' },
      spec: { tenant: 'acme', model: { name: 'm', version }, runtime: 'triton' },
    });
    expect(validate(endpoint('latest'))).toBe(true);
    expect(validate(endpoint('2024-06-01_rc.1'))).toBe(true);
    expect(validate(endpoint('../etc'))).toBe(false);
  });
});
