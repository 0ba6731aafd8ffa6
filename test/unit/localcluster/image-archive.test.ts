import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildImage,
  renderArchiveManifest,
  renderImageConfig,
  type ImageSpec,
} from '../../../src/localcluster/image-archive.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tm-image-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('image archives', () => {
  it('render an image config with only the given runtime settings and the layer digests', () => {
    const config = JSON.parse(
      renderImageConfig({ entrypoint: ['/pause'], user: '65535' }, ['sha256:ab']),
    ) as Record<string, unknown>;
    expect(config).toEqual({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['/pause'],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        User: '65535',
      },
      rootfs: { type: 'layers', diff_ids: ['sha256:ab'] },
    });
  });

  it('render a docker-archive manifest naming the config, the tag and the layers in order', () => {
    expect(JSON.parse(renderArchiveManifest('r/x:1', 'c.json', ['a/layer.tar', 'b/layer.tar']))).toEqual([
      { Config: 'c.json', RepoTags: ['r/x:1'], Layers: ['a/layer.tar', 'b/layer.tar'] },
    ]);
  });

  it('are reproducible, reused while the inputs stay the same, and retagged when an input changes', async () => {
    const inputs = tempDir();
    const binary = path.join(inputs, 'tool');
    writeFileSync(binary, '#!/bin/sh\necho one\n', { mode: 0o755 });
    const spec: ImageSpec = {
      repository: 'tenantmesh.local/tool',
      layers: [{ kind: 'files', files: [{ source: binary, target: '/usr/local/bin/tool' }] }],
      config: { entrypoint: ['/usr/local/bin/tool'] },
    };
    const first = await buildImage(spec, tempDir());
    const again = await buildImage(spec, tempDir());
    expect(again.reference).toBe(first.reference);
    expect(readFileSync(again.archive).equals(readFileSync(first.archive))).toBe(true);

    const listing = execFileSync('tar', ['-tf', first.archive], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('./manifest.json');
    const manifest = JSON.parse(
      execFileSync('tar', ['-xOf', first.archive, './manifest.json'], { encoding: 'utf8' }),
    ) as { RepoTags: string[]; Layers: string[] }[];
    expect(manifest[0]?.RepoTags).toEqual([first.reference]);
    const layer = execFileSync('tar', ['-xOf', first.archive, `./${manifest[0]!.Layers[0]}`]);
    const layerDir = tempDir();
    writeFileSync(path.join(layerDir, 'layer.tar'), layer);
    const files = execFileSync('tar', ['-tvf', path.join(layerDir, 'layer.tar')], { encoding: 'utf8' });
    expect(files).toMatch(/-rwxr-xr-x 0\/0 .* \.\/usr\/local\/bin\/tool/);

    writeFileSync(binary, '#!/bin/sh\necho two\n', { mode: 0o755 });
    const changed = await buildImage(spec, tempDir());
    expect(changed.reference).not.toBe(first.reference);
    // Several tar runs: generous on a loaded machine.
  }, 60_000);
});
