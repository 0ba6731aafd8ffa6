import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { ApiUnderTest } from '../api/fixture.ts';

/** What a step of the browser scenario gets. */
export interface EndpointStep {
  page: Page;
  harness: ApiUnderTest;
  tenant: string;
  endpoint: string;
}

/**
 * The "endpoint becomes Ready" step of the console scenario. This project runs without a kubelet, so no pod ever
 * runs: the step checks that the page shows what the control plane reports (pending, 0 ready replicas). On the
 * local node, test/e2e/console.test.ts sees the endpoint become Ready (see docs/console.md).
 */
export let endpointBecomesReady = async ({ page, endpoint }: EndpointStep): Promise<void> => {
  const section = page.getByRole('region', { name: new RegExp(`^${endpoint}`) });
  await expect
    .poll(() => section.getByText(/0 of \d+ ready/).count(), { timeout: 30_000, interval: 200 })
    .toBe(1);
  expect(await section.getByText('Pending', { exact: true }).count()).toBe(1);
};

/** Lets a project with a real node install its own step. */
export function useEndpointReadyStep(step: typeof endpointBecomesReady): void {
  endpointBecomesReady = step;
}
