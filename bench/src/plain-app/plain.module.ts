import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';
import { PLAIN_POOL, PostsController } from './posts.controller.js';

/** Ends the pool when the application shuts down. */
class PoolCloser implements OnApplicationShutdown {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }
  async onApplicationShutdown(): Promise<void> {
    await this.#pool.end();
  }
}
Reflect.decorate([(target: object) => Inject(PLAIN_POOL)(target, undefined, 0)], PoolCloser);

/** The plain app: one controller and its pool. */
export class PlainModule {
  static register(pool: pg.Pool): DynamicModule {
    return { module: PlainModule, providers: [{ provide: PLAIN_POOL, useValue: pool }, PoolCloser], controllers: [PostsController] };
  }
}
Reflect.decorate([Global(), Module({})], PlainModule);
