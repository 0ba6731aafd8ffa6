import type { Context, Next } from 'koa';
import { HttpProblem } from './problem.ts';

/** Default limit for JSON request bodies. Model uploads stream and are not read through here. */
export const DEFAULT_JSON_LIMIT_BYTES = 1024 * 1024;

function tooLarge(limit: number): HttpProblem {
  return new HttpProblem(
    413,
    'payload-too-large',
    'Payload too large',
    `request body exceeds ${limit} bytes`,
  );
}

/**
 * Refuses a request whose declared Content-Length exceeds `maxBytes` before anything else reads it
 * (including authentication), so oversized bodies cost nothing. Streaming routes set their own limits.
 */
export function declaredBodyLimit(maxBytes: number, exempt: (ctx: Context) => boolean = () => false) {
  return async function declaredBodyLimitMiddleware(ctx: Context, next: Next): Promise<void> {
    const declared = Number(ctx.get('Content-Length') || 0);
    if (declared > maxBytes && !exempt(ctx)) {
      ctx.set('Connection', 'close');
      throw tooLarge(maxBytes);
    }
    await next();
  };
}

/**
 * Reads and parses a JSON request body of at most `limit` bytes: 415 when it is not JSON, 413 when too
 * large (declared or actual), 400 when it does not parse. An empty body reads as `undefined`.
 */
export async function readJsonBody(ctx: Context, limit = DEFAULT_JSON_LIMIT_BYTES): Promise<unknown> {
  const declared = Number(ctx.get('Content-Length') || 0);
  const hasBody = declared > 0 || ctx.get('Transfer-Encoding') !== '';
  if (!hasBody) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new HttpProblem(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      'request body must be application/json',
    );
  }
  if (declared > limit) throw tooLarge(limit);

  const text = (await readLimited(ctx, limit)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpProblem(
      400,
      'malformed-json',
      'Malformed JSON',
      `request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/** Collects the raw body; past the limit it stops keeping bytes, drains the rest and reports 413. */
function readLimited(ctx: Context, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const req = ctx.req;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) {
        chunks.push(chunk);
        return;
      }
      // Drain without keeping, and close afterwards, rather than reset the socket under the 413.
      req.off('data', onData);
      req.resume();
      ctx.set('Connection', 'close');
      reject(tooLarge(limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
