// One pino logger for the process. Secrets never go in: authorization headers
// and connection strings are redacted wherever they appear in a log object.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'portfolio-data-service' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', '*.url', 'url', 'password', '*.password'],
      censor: '[redacted]',
    },
  });
}

/** A logger that drops everything: for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
