import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Envoy's ext_authz v3 CheckRequest, the subset our tests shape the way the Istio ingress gateway sends it. */
export interface CheckInput {
  host: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

export interface CheckResult {
  /** google.rpc.Code: 0 OK, 7 PERMISSION_DENIED, 16 UNAUTHENTICATED. */
  code: number;
  httpStatus?: number;
  body?: string;
  headers: Record<string, string>;
}

type CheckFn = (
  request: unknown,
  callback: (error: grpc.ServiceError | null, response: Record<string, unknown>) => void,
) => void;

/** A gRPC client of Envoy's `envoy.service.auth.v3.Authorization` service (protos from @grpc/grpc-js-xds). */
export function createExtAuthzClient(address: string): {
  check(input: CheckInput): Promise<CheckResult>;
  close(): void;
} {
  const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => path.join(deps, dir)),
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
  };
  const client = new loaded.envoy.service.auth.v3.Authorization(address, grpc.credentials.createInsecure());
  const check = (client as unknown as { Check: CheckFn }).Check.bind(client);
  return {
    check: (input) =>
      new Promise((resolve, reject) => {
        const headers = {
          ':authority': input.host,
          ':method': input.method ?? 'POST',
          ':path': input.path ?? '/',
          ...input.headers,
        };
        check(
          {
            attributes: {
              request: {
                http: {
                  method: input.method ?? 'POST',
                  path: input.path ?? '/',
                  host: input.host,
                  scheme: 'https',
                  protocol: 'HTTP/2',
                  headers,
                },
              },
            },
          },
          (error, response) => {
            if (error) return reject(error);
            const status = response.status as { code?: number } | undefined;
            const denied = response.denied_response as
              | { status?: { code?: string | number }; body?: string; headers?: HeaderValueOption[] }
              | undefined;
            const ok = response.ok_response as { headers?: HeaderValueOption[] } | undefined;
            resolve({
              code: status?.code ?? 0,
              httpStatus: denied?.status?.code !== undefined ? httpCode(denied.status.code) : undefined,
              body: denied?.body,
              headers: Object.fromEntries(
                (denied?.headers ?? ok?.headers ?? []).map((h) => [
                  h.header?.key ?? '',
                  h.header?.value ?? '',
                ]),
              ),
            });
          },
        );
      }),
    close: () => client.close(),
  };
}

interface HeaderValueOption {
  header?: { key?: string; value?: string };
}

const statusNames: Record<string, number> = { Unauthorized: 401, Forbidden: 403, NotFound: 404, OK: 200 };
function httpCode(code: string | number): number {
  return typeof code === 'number' ? code : (statusNames[code] ?? Number.NaN);
}
