#!/usr/bin/env node
// The program the tenantmesh image runs: `tenantmesh-server operator|api|pull-model …` (src/main.ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
