import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentRequestId } from './request-context.js';

/**
 * The service's logger: JSON lines on stdout (or `destination`). A line written while a
 * request is served carries its `reqId`. `hooks` are pino's (children inherit them).
 */
export function createLogger(level: string, destination?: DestinationStream, hooks?: LoggerOptions['hooks']): Logger {
  const options = {
    level,
    ...(hooks === undefined ? {} : { hooks }),
    base: { service: 'tenantry-api' },
    mixin: () => {
      const reqId = currentRequestId();
      return reqId === undefined ? {} : { reqId };
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
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
