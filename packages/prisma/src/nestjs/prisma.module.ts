import { Global, Inject, Module, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import { invalidArgument, type Tenancy } from '@tenantry/core';
import { TENANCY } from '@tenantry/nestjs';
import { prismaTenancy, type PrismaAdapter, type PrismaClientLike, type PrismaTenancyOptions } from '../prisma-adapter.js';
import { PRISMA, PRISMA_ADAPTER } from './prisma.constants.js';

/**
 * Options of {@link TenantryPrismaModule.forRoot}: your generated client class (or a
 * `createClient` function), and the client cache's limits.
 */
export interface TenantryPrismaModuleOptions<C extends PrismaClientLike> extends Omit<PrismaTenancyOptions<C>, 'createClient'> {
  /**
   * Your generated `PrismaClient` class: each tenant's client is
   * `new client({ ...clientOptions, adapter })`, with the driver adapter Tenantry gives it.
   */
  readonly client?: new (options: never) => C;
  /** Options of every tenant's client other than `adapter`, e.g. `{ transactionOptions: { maxWait: 10_000 } }`. */
  readonly clientOptions?: Readonly<Record<string, unknown>>;
  /** Instead of `client`: makes a tenant's client from its driver adapter (`prismaTenancy()`'s `createClient`). */
  readonly createClient?: PrismaTenancyOptions<C>['createClient'];
}

function adapterOptions<C extends PrismaClientLike>(options: TenantryPrismaModuleOptions<C>): PrismaTenancyOptions<C> {
  if (options === null || typeof options !== 'object' || (options.client === undefined) === (options.createClient === undefined)) {
    throw invalidArgument('TenantryPrismaModule.forRoot() needs exactly one of { client: PrismaClient } or { createClient }');
  }
  const { client, clientOptions, createClient, ...rest } = options;
  if (createClient !== undefined) return { ...rest, createClient };
  if (typeof client !== 'function')
    throw invalidArgument('TenantryPrismaModule.forRoot({ client }) takes your generated PrismaClient class');
  const Client = client as unknown as new (options: object) => C;
  return { ...rest, createClient: (adapter) => new Client({ ...clientOptions, adapter }) };
}

function openAdapter<C extends PrismaClientLike>(options: PrismaTenancyOptions<C>, tenancy: Tenancy | undefined): PrismaAdapter<C> {
  if (tenancy === undefined) {
    throw invalidArgument('TenantryPrismaModule needs the tenancy of @tenantry/nestjs: import TenancyModule.forRoot(…) in the root module');
  }
  return prismaTenancy(tenancy, options);
}

/**
 * Prisma in a NestJS application on Tenantry. Import it once, in the root module, beside
 * `TenancyModule` (whose `Tenancy` it takes through the `TENANCY` token). It makes the
 * application's {@link PrismaAdapter} and provides, globally:
 *
 * - `PRISMA` (`@InjectPrisma()`): the context client, a singleton whose every call — model
 *   delegates, `$queryRaw`, `$transaction([…])` and `$transaction(fn)` — runs in the request's
 *   tenant; a transaction holds one unit of work of that tenant until it commits or rolls back.
 * - `PRISMA_ADAPTER` (`@InjectPrismaAdapter()`): `forTenant()`, `bind()`, `stats()`, `evict()`.
 *
 * A `PrismaService` class made with {@link tenantPrismaService} resolves the tenant the same way.
 * The adapter's clients are disconnected when the application shuts down (before the tenancy closes).
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     TenancyModule.forRoot({ registryUrl: process.env.DATABASE_URL!, migrations: prismaMigrations('./prisma/migrations') }),
 *     TenantryPrismaModule.forRoot({ client: PrismaClient, clientOptions: { transactionOptions: { maxWait: 10_000 } } }),
 *   ],
 *   providers: [PrismaService, PostsService],
 *   controllers: [PostsController],
 * })
 * export class AppModule {}
 * ```
 */
@Global()
@Module({})
export class TenantryPrismaModule implements OnModuleDestroy {
  readonly #adapter: PrismaAdapter<PrismaClientLike>;

  constructor(@Inject(PRISMA_ADAPTER) adapter: PrismaAdapter<PrismaClientLike>) {
    this.#adapter = adapter;
  }

  /** Makes the Prisma adapter on the application's tenancy, with static options. */
  static forRoot<C extends PrismaClientLike>(options: TenantryPrismaModuleOptions<C>): DynamicModule {
    const frozen = Object.freeze(adapterOptions(options));
    return {
      module: TenantryPrismaModule,
      providers: [
        {
          provide: PRISMA_ADAPTER,
          useFactory: (tenancy: Tenancy | undefined) => openAdapter(frozen, tenancy),
          inject: [{ token: TENANCY, optional: true }],
        },
        { provide: PRISMA, useFactory: (adapter: PrismaAdapter<C>) => adapter.client, inject: [PRISMA_ADAPTER] },
      ],
      exports: [PRISMA, PRISMA_ADAPTER],
    };
  }

  /** Disconnects every tenant client (before `TenancyModule` closes the tenancy, on application shutdown). */
  async onModuleDestroy(): Promise<void> {
    await this.#adapter.close();
  }
}
