import { afterAll, beforeAll } from 'vitest';
import { redisMissing, startRedis, type RedisServer } from '@tenantry/testing';

/**
 * Whether this machine can run the BullMQ tests: locally a missing redis-server skips them with a
 * line saying how to install it; under CI=true it fails them (startRedis throws).
 */
export function redisSkip(): boolean {
  const missing = redisMissing();
  const skip = missing !== undefined && process.env['CI'] !== 'true';
  if (skip) console.warn(`BullMQ tests skipped (apt-get install redis-server): ${missing}`);
  return skip;
}

/** A redis-server of this test file's own, on a free port in a temp folder, stopped after the file. */
export function useRedis(): { current(): RedisServer } {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    current() {
      if (server === undefined) throw new Error('redis-server is not started yet');
      return server;
    },
  };
}
