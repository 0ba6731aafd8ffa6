import { BaseSequencer, type TestSpecification } from 'vitest/node';

const isNodeTeardown = (file: TestSpecification) => file.moduleId.endsWith('/test/e2e/teardown.test.ts');

/**
 * Vitest's own order, except that the e2e teardown test runs last: it stops the node the e2e files share, and a
 * file after it would have to start a second node (about a minute).
 */
export default class TeardownLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((file) => !isNodeTeardown(file)), ...sorted.filter(isNodeTeardown)];
  }
}
