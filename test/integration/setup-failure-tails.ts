import { afterEach, inject } from 'vitest';

// When a test fails, print the tail of every component's log next to the failure.
afterEach(async ({ task }) => {
  if (task.result?.state !== 'fail') return;
  const response = await fetch(`${inject('controlUrl')}/tails`).catch(() => undefined);
  if (response?.ok)
    process.stderr.write(`\n[testenv] component logs after "${task.name}":\n${await response.text()}\n`);
});
