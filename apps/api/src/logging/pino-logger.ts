import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/** The service's logger: JSON lines on stdout. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'tenantry-api' } });
}

/** Nest's logger interface over pino, so framework messages land in the same stream. */
export class PinoNestLogger implements LoggerService {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  log(message: unknown, context?: string): void {
    // Nest logs its start-up (modules, every mapped route) at "log": detail, not news.
    this.#logger.debug({ context }, String(message));
  }
  error(message: unknown, stackOrContext?: string, context?: string): void {
    this.#logger.error({ context: context ?? stackOrContext, stack: context === undefined ? undefined : stackOrContext }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.#logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.#logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.#logger.trace({ context }, String(message));
  }
}

interface Req {
  method?: string;
  originalUrl?: string;
  url?: string;
}
interface Res {
  statusCode: number;
  on(event: 'finish', fn: () => void): void;
}

/** Express middleware logging one line per request (method, path, status, duration). */
export function requestLogger(logger: Logger): (req: Req, res: Res, next: () => void) => void {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The path only: query strings may carry secrets.
      const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
      logger.info({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
