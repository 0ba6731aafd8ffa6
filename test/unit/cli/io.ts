import { readFile } from 'node:fs/promises';
import type { CliIo } from '../../../src/cli/context.ts';
import type { CliEnv } from '../../../src/cli/config.ts';

/** A captured text stream. */
export interface Captured {
  text: string;
  isTTY?: boolean;
  write(text: string): boolean;
}

export function captured(isTTY = false): Captured {
  return {
    text: '',
    isTTY,
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

/** An in-process CLI environment with captured output and an optional fake fetch. */
export function testIo(
  env: CliEnv,
  fetchImpl?: typeof fetch,
): CliIo & { stdout: Captured; stderr: Captured } {
  return {
    env,
    stdout: captured(),
    stderr: captured(),
    readText: (file) => readFile(file, 'utf8'),
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  };
}

/** One request as a fake fetch saw it. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

/** A fetch that records requests and answers from `respond`. */
export function fakeFetch(respond: (request: SeenRequest) => Response): {
  fetch: typeof fetch;
  seen: SeenRequest[];
} {
  const seen: SeenRequest[] = [];
  const impl = (async (input: URL | string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body;
    const request = { method: init?.method ?? 'GET', url: new URL(String(input)), headers, body };
    seen.push(request);
    return respond(request);
  }) as typeof fetch;
  return { fetch: impl, seen };
}

export function json(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': contentType },
  });
}
