/**
 * Generates src/domain/generated.ts from the CRD schemas in charts/tenantmesh/crds, so the TypeScript types
 * cannot drift from what the apiserver accepts. A unit test regenerates and compares with the committed file.
 *
 * Run: node --import tsx scripts/gen-types.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

/** Subset of a structural OpenAPI v3 schema that the CRDs use. */
interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  default?: unknown;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface CrdSource {
  file: string;
  kind: string;
  /** Schema path (dot-separated, `[]` for array items) → name of the exported type for that node. */
  names: Record<string, string>;
}

/** The CRDs in the order their types appear, with the nodes that get a named type. */
const SOURCES: CrdSource[] = [
  {
    file: 'tenants.tenantmesh.io.yaml',
    kind: 'Tenant',
    names: {
      spec: 'TenantSpec',
      'spec.admins[]': 'Subject',
      'spec.users[]': 'Subject',
      'spec.endpointGrants[]': 'EndpointGrant',
      'spec.endpointGrants[].subjects[]': 'Subject',
      'spec.quota': 'TenantQuota',
      'spec.ca': 'TenantCaSettings',
      status: 'TenantStatus',
      'status.conditions[]': 'Condition',
    },
  },
  {
    file: 'inferenceendpoints.tenantmesh.io.yaml',
    kind: 'InferenceEndpoint',
    names: {
      spec: 'InferenceEndpointSpec',
      'spec.model': 'ModelReference',
      'spec.resources': 'EndpointResources',
      'spec.resources.requests': 'CpuMemory',
      'spec.resources.limits': 'CpuMemory',
      status: 'InferenceEndpointStatus',
      'status.conditions[]': 'Condition',
    },
  },
  {
    file: 'servingruntimes.tenantmesh.io.yaml',
    kind: 'ServingRuntime',
    names: {
      spec: 'ServingRuntimeSpec',
      'spec.protocols[]': 'InferenceProtocol',
      'spec.ports': 'RuntimePorts',
      'spec.modelFormats[]': 'ModelFormat',
      'spec.container': 'RuntimeContainer',
      'spec.container.env[]': 'EnvVar',
      'spec.container.resources': 'RuntimeResources',
      'spec.container.resources.requests': 'CpuMemory',
      'spec.container.resources.limits': 'CpuMemory',
      'spec.modelPath': 'ModelPathConvention',
    },
  },
];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the generated module is written, relative to the repository root. */
export const GENERATED_PATH = 'src/domain/generated.ts';

class TypeEmitter {
  /** Named declarations in first-seen order; the same name must always describe the same shape. */
  private readonly declarations = new Map<string, string>();
  readonly defaults: Record<string, Record<string, unknown>> = {};

  constructor(private readonly source: CrdSource) {}

  declare(name: string, body: string): void {
    const existing = this.declarations.get(name);
    if (existing !== undefined && existing !== body) {
      throw new Error(`type ${name} would describe two different schemas`);
    }
    this.declarations.set(name, body);
  }

  typeOf(schema: Schema, path: string): string {
    this.recordDefault(schema, path);
    const name = this.source.names[path];
    const inline = this.inlineTypeOf(schema, path);
    if (name === undefined) return inline;
    const isObject = inline.startsWith('{');
    this.declare(
      name,
      `${docComment(schema.description)}export ${isObject ? `interface ${name} ${inline}` : `type ${name} = ${inline};`}`,
    );
    return name;
  }

  private inlineTypeOf(schema: Schema, path: string): string {
    if (schema['x-kubernetes-int-or-string']) return 'IntOrString';
    if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (!schema.items) throw new Error(`${path}: array without items`);
        return `${wrapUnion(this.typeOf(schema.items, `${path}[]`))}[]`;
      case 'object':
        return this.objectTypeOf(schema, path);
      default:
        throw new Error(`${path || '<root>'}: no type (not a structural schema)`);
    }
  }

  private objectTypeOf(schema: Schema, path: string): string {
    if (!schema.properties) {
      if (typeof schema.additionalProperties === 'object') {
        return `Record<string, ${this.typeOf(schema.additionalProperties, `${path}{}`)}>`;
      }
      return 'Record<string, unknown>';
    }
    const required = new Set(schema.required ?? []);
    const members = Object.entries(schema.properties).map(([key, child]) => {
      const childPath = path ? `${path}.${key}` : key;
      const optional = required.has(key) ? '' : '?';
      return `${docComment(child.description)}${key}${optional}: ${this.typeOf(child, childPath)};`;
    });
    return `{\n${members.join('\n')}\n}`;
  }

  private recordDefault(schema: Schema, path: string): void {
    if (schema.default === undefined) return;
    (this.defaults[this.source.kind] ??= {})[path] = schema.default;
  }

  emitRoot(schema: Schema): string {
    const properties = schema.properties ?? {};
    const members = [
      `apiVersion: 'tenantmesh.io/v1alpha1';`,
      `kind: '${this.source.kind}';`,
      'metadata: ObjectMeta;',
    ];
    for (const key of ['spec', 'status']) {
      const child = properties[key];
      if (!child) continue;
      const optional = schema.required?.includes(key) ? '' : '?';
      members.push(`${docComment(child.description)}${key}${optional}: ${this.typeOf(child, key)};`);
    }
    return `${docComment(schema.description)}export interface ${this.source.kind} {\n${members.join('\n')}\n}`;
  }

  get emitted(): Map<string, string> {
    return this.declarations;
  }
}

function wrapUnion(type: string): string {
  return type.includes('|') ? `(${type})` : type;
}

function docComment(description: string | undefined): string {
  if (!description) return '';
  const text = description.trim().replaceAll('*/', '*\\/');
  return `/** ${text} */\n`;
}

function openApiSchemaOf(crd: unknown, file: string): Schema {
  const versions = (crd as { spec?: { versions?: { schema?: { openAPIV3Schema?: Schema } }[] } }).spec
    ?.versions;
  const schema = versions?.[0]?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`${file}: no openAPIV3Schema`);
  return schema;
}

/** Builds the text of src/domain/generated.ts from the CRD files under `root`, formatted like the repo. */
export async function generateTypes(root: string = repoRoot): Promise<string> {
  const declarations = new Map<string, string>();
  const roots: string[] = [];
  const defaults: Record<string, Record<string, unknown>> = {};
  for (const source of SOURCES) {
    const file = join(root, 'charts/tenantmesh/crds', source.file);
    const schema = openApiSchemaOf(parse(await readFile(file, 'utf8')), source.file);
    const emitter = new TypeEmitter(source);
    roots.push(emitter.emitRoot(schema));
    for (const [name, body] of emitter.emitted) {
      const existing = declarations.get(name);
      if (existing !== undefined && existing !== body) {
        throw new Error(`type ${name} differs between CRDs`);
      }
      declarations.set(name, body);
    }
    Object.assign(defaults, emitter.defaults);
  }
  const text = [
    '// Generated by scripts/gen-types.ts from charts/tenantmesh/crds. Do not edit; run',
    '// `node --import tsx scripts/gen-types.ts` after changing a CRD.',
    '',
    "import type { IntOrString, ObjectMeta } from './objects.ts';",
    '',
    [...roots, ...declarations.values()].join('\n\n'),
    '',
    '/** Defaults the apiserver applies, by kind and schema path; code reading unapplied objects uses these. */',
    `export const CRD_DEFAULTS = ${JSON.stringify(defaults)} as const;`,
    '',
  ].join('\n');
  const config = await resolveConfig(join(root, GENERATED_PATH));
  return format(text, { ...config, parser: 'typescript' });
}

async function main(): Promise<void> {
  const target = join(repoRoot, GENERATED_PATH);
  await writeFile(target, await generateTypes());
  console.log(`wrote ${GENERATED_PATH}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
