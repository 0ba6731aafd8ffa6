import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The e2e files that check the node itself, in this order, before any file that installs tenantmesh: once the
 * chart's operator runs, its platform-wide ext_authz policy sends every request at the gateway to Authorino, which
 * is right for tenantmesh's gateway but not for the mesh test's own route; and the chart test proves a fresh
 * `helm install`.
 */
const nodeFirst = ['dns', 'mesh', 'authorino', 'chart'].map((name) => `/test/e2e/${name}.test.ts`);
/** Stops the node the e2e files share: a file after it would have to start a second node (about a minute). */
const nodeTeardown = '/test/e2e/teardown.test.ts';

const rank = (file: TestSpecification) => {
  const first = nodeFirst.findIndex((suffix) => file.moduleId.endsWith(suffix));
  if (first >= 0) return first;
  return file.moduleId.endsWith(nodeTeardown) ? nodeFirst.length + 1 : nodeFirst.length;
};

/** Vitest's own order, except for the e2e files above: the node's own checks first, its teardown last. */
export default class E2eOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: within one rank, Vitest's order stays.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
