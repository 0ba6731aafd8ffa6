import { defineConfig } from 'vitest/config';
import E2eOrderSequencer from './test/sequencer.ts';

export default defineConfig({
  test: {
    sequence: { sequencer: E2eOrderSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // One real control plane per run, shared by every integration file (see globalSetup).
          globalSetup: ['test/integration/global-setup.ts'],
          setupFiles: ['test/integration/setup-failure-tails.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          // One local node (Linux, root) per run, shared by every e2e file (see globalSetup).
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
