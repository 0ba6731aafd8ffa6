import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';

const script = fileURLToPath(new URL('./kserve_v2_grpc_client.py', import.meta.url));

/** Where and how a third-party client connects: mutual TLS to `address`, naming `authority`. */
export interface KserveGrpcTarget {
  address: string;
  authority: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** What the client saw: the model's readiness and each output tensor (nested lists, as numpy gives them). */
export interface KserveGrpcAnswer {
  ready: boolean;
  outputs: Record<string, unknown>;
}

/**
 * One inference of `rows` (FP64 features) by NVIDIA's tritonclient over KServe v2 gRPC (provisioned venv
 * `kserve-client`, tritonclient[grpc] from PyPI): a client tenantmesh does not write, so what it gets shows the
 * path speaks the protocol, not our reading of it.
 */
export async function inferWithTritonClient(
  target: KserveGrpcTarget,
  model: string,
  rows: number[][],
): Promise<KserveGrpcAnswer> {
  const python = assetPath(await provisionAssets(['kserve-client']), 'kserve-client-python');
  const args = [
    script,
    ...['--address', target.address, '--authority', target.authority],
    ...['--ca', target.caFile, '--cert', target.certFile, '--key', target.keyFile],
    ...['--model', model, '--inputs', JSON.stringify(rows)],
  ];
  try {
    const { stdout } = await promisify(execFile)(python, args, { timeout: 60_000 });
    return JSON.parse(stdout) as KserveGrpcAnswer;
  } catch (error) {
    throw new Error(`tritonclient: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
      cause: error,
    });
  }
}
