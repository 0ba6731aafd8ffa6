/** `npm run build:console`: bundles the web console's script and stylesheet into dist/console (hashed names). */
import { buildConsoleAssets, defaultAssetsDir } from '../src/console/assets.ts';

const urls = await buildConsoleAssets();
console.log(`console assets built in ${defaultAssetsDir}: ${urls.script}, ${urls.style}`);
