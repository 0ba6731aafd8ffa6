import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  allComponents,
  appComponents,
  meshComponents,
  nodeComponents,
  optionalComponents,
} from '../../../src/testenv/provision.ts';
import { provisionScript } from '../../../src/testenv/versions.ts';

const members = (group: string) =>
  execFileSync('bash', [provisionScript, '--list', group], { encoding: 'utf8' }).trim().split(/\s+/).sort();

describe("provision.sh's groups", () => {
  it('platform is what npm start and the integration tests provision', () => {
    expect(members('platform')).toEqual([...allComponents].sort());
  });

  it('node, mesh and apps are what the local node provisions', () => {
    expect(members('node')).toEqual([...new Set(nodeComponents)].sort());
    expect(members('mesh')).toEqual([...new Set(meshComponents)].sort());
    expect(members('apps')).toEqual([...new Set(appComponents)].sort());
  });

  it('tests holds every component a test can ask for, so `npm test` never builds one inside a test', () => {
    const asked = new Set([
      ...allComponents,
      ...nodeComponents,
      ...meshComponents,
      ...appComponents,
      ...optionalComponents,
    ]);
    expect(members('tests')).toEqual([...asked].sort());
  });
});
