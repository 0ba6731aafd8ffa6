import { pino } from 'pino';
import type { Logger } from 'pino';

/** Paths pino must never print: credentials in headers and in anything shaped like a token or key. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.privateKeyPem',
  'ca.privateKeyPem',
];

/** The API's JSON logger, with credentials redacted. */
export function createApiLogger(options: { level?: string } = {}): Logger {
  return pino({ name: 'tenantmesh-api', level: options.level ?? 'info', redact: REDACTED_PATHS });
}
