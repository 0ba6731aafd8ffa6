import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AssetUrls } from './pages/layout.ts';

/** Where `npm run build:console` puts the built assets (outside src, never committed). */
export const defaultAssetsDir = fileURLToPath(new URL('../../dist/console/', import.meta.url));
const clientDir = fileURLToPath(new URL('./client/', import.meta.url));

/** The built assets in memory: their hashed URLs and bodies. */
export interface ConsoleAssets {
  urls: AssetUrls;
  files: Map<string, { body: Buffer; contentType: string }>;
}

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Bundles the console's script and stylesheet with esbuild into `outDir`, each named by a hash of its content
 * (so browsers may cache them for good), and writes `manifest.json` naming them. Run by `npm run build:console`.
 */
export async function buildConsoleAssets(outDir = defaultAssetsDir): Promise<AssetUrls> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(clientDir, 'main.ts'), path.join(clientDir, 'console.css')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const urls: Partial<AssetUrls> = {};
  for (const output of result.outputFiles) {
    const extension = path.extname(output.path);
    const hash = createHash('sha256').update(output.contents).digest('hex').slice(0, 16);
    const name = `console-${hash}${extension}`;
    writeFileSync(path.join(outDir, name), output.contents);
    if (extension === '.js') urls.script = `/console/assets/${name}`;
    if (extension === '.css') urls.style = `/console/assets/${name}`;
  }
  if (!urls.script || !urls.style) throw new Error('the console build produced no script or stylesheet');
  writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(urls, null, 2) + '\n');
  return urls as AssetUrls;
}

/** Reads the built assets; undefined when they were not built (the console then answers 503 saying so). */
export function loadConsoleAssets(dir = defaultAssetsDir): ConsoleAssets | undefined {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const urls = JSON.parse(readFileSync(manifestPath, 'utf8')) as AssetUrls;
  const files = new Map<string, { body: Buffer; contentType: string }>();
  for (const url of [urls.script, urls.style]) {
    const name = path.basename(url);
    files.set(url, {
      body: readFileSync(path.join(dir, name)),
      contentType: contentTypes[path.extname(name)] ?? 'application/octet-stream',
    });
  }
  return { urls, files };
}
