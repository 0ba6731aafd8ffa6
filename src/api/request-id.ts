import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

/** Header carrying the request id, accepted from the caller and always echoed. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

// Caller-supplied ids end up in logs and audit lines: accept only short, plain tokens.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Puts a request id on `ctx.state.requestId` (the caller's, when sane, else a new UUID) and echoes it. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  const offered = ctx.get(REQUEST_ID_HEADER);
  const id = ACCEPTABLE_ID.test(offered) ? offered : randomUUID();
  ctx.state['requestId'] = id;
  ctx.set(REQUEST_ID_HEADER, id);
  await next();
}
