import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mlserverImageSpec } from '../../../src/localcluster/images.ts';

const runtime = parse(
  readFileSync(
    fileURLToPath(new URL('../../../charts/tenantmesh/runtimes/mlserver.yaml', import.meta.url)),
    'utf8',
  ),
) as { spec: { container: { command: string[] }; modelPath: { mountPath: string } } };

const assets = {
  'rootfs.tar': '/cache/debian-rootfs/rootfs.tar',
  'mlserver-site-packages': '/cache/mlserver/mlserver-site-packages',
  mlserver: '/cache/mlserver/mlserver',
};

describe('the mlserver image', () => {
  const spec = mlserverImageSpec(assets);
  const env = Object.fromEntries(
    (spec.config.env ?? []).map((entry) => [
      entry.slice(0, entry.indexOf('=')),
      entry.slice(entry.indexOf('=') + 1),
    ]),
  );
  const files = spec.layers.flatMap((layer) => (layer.kind === 'files' ? layer.files : []));

  it('is the Debian root file system with the provisioned packages on PYTHONPATH and a launcher on PATH', () => {
    expect(spec.layers[0]).toEqual({ kind: 'tar', path: assets['rootfs.tar'] });
    const packages = files.find((file) => file.source === assets['mlserver-site-packages']);
    expect(env['PYTHONPATH']).toBe(packages?.target);
    // The ServingRuntime's command is looked up on the image's PATH.
    const [command] = runtime.spec.container.command;
    const launcher = files.find((file) => file.source === assets.mlserver)!;
    expect(path.posix.basename(launcher.target)).toBe(command);
    expect(env['PATH']!.split(':')).toContain(path.posix.dirname(launcher.target));
  });

  it('runs unprivileged and writes nothing to its root file system (serving Pods mount it read-only)', () => {
    expect(spec.config.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(env['PYTHONDONTWRITEBYTECODE']).toBe('1');
    expect(env['HOME']).toBe('/tmp');
    expect(spec.config.workingDir).toBe('/tmp');
  });

  it('serves the runtime’s model root when started without arguments', () => {
    expect(spec.config.cmd).toEqual(['start', runtime.spec.modelPath.mountPath]);
  });
});
