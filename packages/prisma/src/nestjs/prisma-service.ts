import { invalidArgument } from '@tenantry/core';
import { contextClient, currentTenantClient, type PrismaClientLike } from '../prisma-adapter.js';

/**
 * A base class for a typed `PrismaService`, as NestJS applications write one — but not a client
 * of its own: every call on an instance (`this.post.findMany()`, `this.$transaction(…)`,
 * `this.$queryRaw…`) runs on the client of the current context's tenant, from the Prisma adapter
 * of the context's tenancy (`TenantryPrismaModule.forRoot()` or `prismaTenancy()`). So the
 * service is a singleton — no `Scope.REQUEST` — and a delegate kept in a field stays contextual.
 *
 * Members you declare on the subclass (methods, fields, `onModuleInit`…) are yours; everything
 * else is the client's. `$connect()` and `$disconnect()` outside a tenant context do nothing
 * (Tenantry owns the connections), so a recipe's `onModuleInit() { return this.$connect(); }`
 * is harmless. Outside a tenant context, a call throws `TENANT_REQUIRED`.
 *
 * The class argument is only for the types: the instance has your generated client's type.
 *
 * @example
 * ```ts
 * import { PrismaClient } from './generated/prisma/client.js';
 *
 * @Injectable()
 * export class PrismaService extends tenantPrismaService(PrismaClient) {}
 *
 * @Injectable()
 * export class PostsService {
 *   constructor(private readonly prisma: PrismaService) {}
 *   findAll() {
 *     return this.prisma.post.findMany({ orderBy: { createdAt: 'desc' } }); // the request's tenant
 *   }
 * }
 * ```
 */
export function tenantPrismaService<T extends abstract new (...args: never[]) => PrismaClientLike>(client: T): new () => InstanceType<T> {
  if (typeof client !== 'function') throw invalidArgument('tenantPrismaService(PrismaClient) takes your generated PrismaClient class');
  class TenantPrismaService {
    constructor() {
      const context = contextClient(currentTenantClient);
      // The subclass's constructor and field initialisers run on (and through) this proxy.
      return new Proxy(this, {
        get(target, prop, receiver) {
          if (Reflect.has(target, prop)) return Reflect.get(target, prop, receiver) as unknown;
          return Reflect.get(context, prop) as unknown;
        },
        has(target, prop) {
          return Reflect.has(target, prop) || Reflect.has(context, prop);
        },
      });
    }
  }
  Object.defineProperty(TenantPrismaService, 'name', { value: `TenantPrismaService(${client.name})` });
  return TenantPrismaService as unknown as new () => InstanceType<T>;
}
