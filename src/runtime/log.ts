// Structured JSON logs (pino). Each reconcile gets a child logger with controller, key and id.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.BOSUN_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { app: 'bosun' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A logger that drops everything, for unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
