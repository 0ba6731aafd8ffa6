import { z } from 'zod';
import { presentRuntime } from '../presenters.ts';
import { defineRoute } from '../route.ts';
import type { ApiRoute } from '../route.ts';
import type { RouteDeps } from './context.ts';

/** Wire shape of a serving runtime (mirrors presenters.RuntimeDto). */
export const runtimeDto = z.object({
  name: z.string(),
  displayName: z.string().optional(),
  protocols: z.array(z.string()),
  modelFormats: z.array(z.object({ name: z.string(), version: z.string().optional() })),
});

/** The admin-curated ServingRuntimes, readable by every authenticated caller (they pick one per endpoint). */
export function runtimeRoutes(deps: RouteDeps): ApiRoute[] {
  return [
    defineRoute({
      operationId: 'listRuntimes',
      method: 'get',
      path: `${deps.prefix}/runtimes`,
      resource: 'runtimes',
      summary: 'List the serving runtimes endpoints can use',
      authorization: 'any authenticated caller',
      responses: { 200: { description: 'Runtimes', schema: z.object({ items: z.array(runtimeDto) }) } },
      async handle() {
        const runtimes = await deps.runtimes.list();
        const items = runtimes.map(presentRuntime).sort((a, b) => a.name.localeCompare(b.name));
        return { status: 200, body: { items } };
      },
    }),
  ];
}
