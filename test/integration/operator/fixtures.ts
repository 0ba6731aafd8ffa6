import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { endpointResourceName } from '../../../src/domain/index.ts';
import type { InferenceEndpoint, ServingRuntime, Tenant } from '../../../src/domain/index.ts';

const runtimesDir = join(import.meta.dirname, '../../../charts/tenantmesh/runtimes');

/** The chart's TensorFlow Serving runtime under another name, so test files do not share runtimes. */
export function runtimeNamed(name: string): ServingRuntime {
  const runtime = parse(readFileSync(join(runtimesDir, 'tensorflow-serving.yaml'), 'utf8')) as ServingRuntime;
  return { ...runtime, metadata: { name } };
}

export function tenant(name: string, spec: Partial<Tenant['spec']> = {}): Tenant {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name },
    spec: { displayName: name, ...spec },
  };
}

export function endpoint(
  t: string,
  e: string,
  runtime: string,
  namespace: string,
  spec: Partial<InferenceEndpoint['spec']> = {},
): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name: endpointResourceName(t, e), namespace },
    spec: { tenant: t, model: { name: 'mnist', version: 'v1' }, runtime, ...spec },
  };
}
