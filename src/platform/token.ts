import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mintToken, type OidcSigningMaterial } from '../testenv/oidc-issuer.ts';

/** `npm run token`: mints a token from the local platform's development OIDC issuer (never a production one). */
const { values } = parseArgs({
  options: {
    'run-dir': { type: 'string' },
    sub: { type: 'string', default: 'demo-user' },
    email: { type: 'string' },
    groups: { type: 'string', default: '' },
    'expires-in': { type: 'string', default: '3600' },
  },
});
if (!values['run-dir']) {
  console.error(
    'usage: npm run token -- --run-dir <dir printed by npm start> [--sub s] [--groups a,b] [--expires-in seconds]',
  );
  process.exit(2);
}
const signing = JSON.parse(
  readFileSync(path.join(values['run-dir'], 'oidc-signing.json'), 'utf8'),
) as OidcSigningMaterial;
const groups = values.groups.split(',').filter(Boolean);
console.log(
  await mintToken(signing, {
    sub: values.sub,
    email: values.email ?? `${values.sub}@tenantmesh.local`,
    groups,
    expiresIn: Number(values['expires-in']),
  }),
);
