import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, Options, ServiceDefinition } from '@grpc/proto-loader';

/** Folder holding tenantmesh's own wire-compatible .proto files. */
export const PROTOS_DIR = fileURLToPath(new URL('./protos/', import.meta.url));

/** Fully qualified service names, as they appear in the gRPC path `/<service>/<method>`. */
export const KSERVE_SERVICE = 'inference.GRPCInferenceService';
export const TFSERVING_SERVICE = 'tensorflow.serving.PredictionService';

/** The loaded inference services, ready for `server.addService` or `client.makeUnaryRequest`. */
export interface InferenceProtos {
  kserve: ServiceDefinition;
  tfserving: ServiceDefinition;
}

/**
 * Conversion options shared by client and server: field names as in the .proto (snake_case), 64-bit integers
 * as decimal strings (no precision loss), enums as their names, unset fields filled with defaults, and the
 * name of the set oneof member in a virtual field (e.g. `version_choice`).
 */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTOS_DIR],
};

let loaded: InferenceProtos | undefined;

/** Loads both protocols once per process; later calls return the same definitions. */
export function loadInferenceProtos(): InferenceProtos {
  if (!loaded) {
    const definition = loadSync(['kserve/inference.proto', 'tfserving/prediction_service.proto'], {
      ...LOADER_OPTIONS,
    });
    loaded = {
      kserve: definition[KSERVE_SERVICE] as ServiceDefinition,
      tfserving: definition[TFSERVING_SERVICE] as ServiceDefinition,
    };
  }
  return loaded;
}

/** A method of a loaded service, typed by its request and response. */
export type Method<Request, Response> = MethodDefinition<Request, Response>;

/** Looks up one method, failing loudly if the .proto and the code disagree about its name. */
export function methodOf<Request, Response>(
  service: ServiceDefinition,
  name: string,
): Method<Request, Response> {
  const method = service[name];
  if (!method) throw new Error(`gRPC method ${name} is not defined in the loaded protos`);
  return method as unknown as Method<Request, Response>;
}
