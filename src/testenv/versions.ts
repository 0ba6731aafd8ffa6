import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Location of the provisioning script and the pinned component versions. */
export const provisionScript = fileURLToPath(new URL('../../scripts/testenv/provision.sh', import.meta.url));
const versionsFile = fileURLToPath(new URL('../../scripts/testenv/versions.env', import.meta.url));

/** The pinned versions of the real components, parsed from scripts/testenv/versions.env. */
export function componentVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(versionsFile, 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (match?.[1] && match[2]) versions[match[1]] = match[2];
  }
  return versions;
}
