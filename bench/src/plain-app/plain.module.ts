import {
  Global,
  Inject,
  Module,
  type CanActivate,
  type DynamicModule,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { bearerToken, InvalidTokenError } from '@tenantry/nestjs';
import type { TokenService } from './tokens.js';
import type { Tenancy } from '@tenantry/core';
import { header, TENANCY, TenancyModule } from '@tenantry/nestjs';
import type pg from 'pg';
import {
  POSTS_DB,
  PostsController,
  ROUTED_DB,
  RoutedPostsController,
  ValidatedPostsController,
  type PostsDb,
  type RoutedDb,
} from './posts.controller.js';

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
Reflect.decorate([(target: object) => Inject(POSTS_DB)(target, undefined, 0)], PoolCloser);

/** Each query is a read-only unit of work of the request's tenant, as in apps/api's `PostsService.get`. */
function tenantPostsDb(tenancy: Tenancy): PostsDb {
  return {
    // No tenant argument: the tenant TenancyMiddleware resolved and entered for this request.
    query: (text, values) => tenancy.withTenant((db) => db.query(text, values), { readOnly: true }),
  };
}

/**
 * The reference API's token check without tenancy: a valid HS256 tenant token (apps/api's own
 * TokenService: signature, algorithm, issuer, audience, expiry, claims), else 401.
 */
class TokenGuard implements CanActivate {
  readonly #tokens: TokenService;
  constructor(tokens: TokenService) {
    this.#tokens = tokens;
  }
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const token = bearerToken(context.switchToHttp().getRequest());
    if (token === undefined) throw new InvalidTokenError('Authorization: Bearer <token> is required');
    await this.#tokens.verify(token);
    return true;
  }
}

/** A global interceptor that does nothing: what being on Nest's interceptor path costs (the `plain-…interceptor` rows). */
class NoopInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): ReturnType<CallHandler['handle']> {
    return next.handle();
  }
}

/** The plain app: one controller and what it queries. */
export class PlainModule {
  /**
   * Plain mode: the controller queries `pool` (one schema, no tenancy); with `interceptor`, a
   * global no-op interceptor as well.
   */
  static register(pool: pg.Pool, options: { interceptor?: boolean } = {}): DynamicModule {
    const providers: Provider[] = [{ provide: POSTS_DB, useValue: pool }, PoolCloser];
    if (options.interceptor === true) providers.push({ provide: APP_INTERCEPTOR, useValue: new NoopInterceptor() });
    return { module: PlainModule, providers, controllers: [PostsController] };
  }

  /**
   * Plain mode with what the reference API does besides tenancy on every request: its JWT check
   * (a global guard) and the route's params validated as its DTO; main.ts adds its request
   * logging with its metrics, request context and global pipes.
   */
  static full(pool: pg.Pool, tokens: TokenService): DynamicModule {
    return {
      module: PlainModule,
      providers: [{ provide: POSTS_DB, useValue: pool }, PoolCloser, { provide: APP_GUARD, useValue: new TokenGuard(tokens) }],
      controllers: [ValidatedPostsController],
    };
  }

  /**
   * Routed mode (the `plain-routed` row): no tenancy library; the controller reads `x-tenant-id`
   * and `db` sends the session reset, the tenant's route and the query as one batch on `pool`.
   */
  static routed(pool: pg.Pool, db: RoutedDb): DynamicModule {
    return {
      module: PlainModule,
      providers: [{ provide: POSTS_DB, useValue: pool }, PoolCloser, { provide: ROUTED_DB, useValue: db }],
      controllers: [RoutedPostsController],
    };
  }

  /**
   * Tenancy mode: `@tenantry/nestjs` alone — the module (which creates the tenancy from `options`
   * and closes it on shutdown) with the `x-tenant-id` header resolver, its guard and exception
   * filter — and the same controller, whose query runs in the request's tenant. No auth.
   * `contextInterceptor: false` only for the `tenancy-lean` row.
   */
  static withTenancy(options: {
    registryUrl: string;
    poolMax: number;
    /** How long an idle connection is kept (`pool.idleTimeoutMillis`). */
    idleTimeoutMillis: number;
    applicationName: string;
    contextInterceptor: boolean;
  }): DynamicModule {
    return {
      module: PlainModule,
      imports: [
        TenancyModule.forRoot({
          registryUrl: options.registryUrl,
          pool: { max: options.poolMax, idleTimeoutMillis: options.idleTimeoutMillis, homeConnections: process.env['PLAIN_HOMES'] !== '0' },
          applicationName: options.applicationName,
          resolvers: [header('x-tenant-id')],
          contextInterceptor: options.contextInterceptor,
        }),
      ],
      providers: [{ provide: POSTS_DB, inject: [TENANCY], useFactory: tenantPostsDb }],
      controllers: [PostsController],
    };
  }
}
Reflect.decorate([Global(), Module({})], PlainModule);
