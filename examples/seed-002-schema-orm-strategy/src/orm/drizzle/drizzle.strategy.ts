import { Injectable } from '@nestjs/common';
import { asc, eq } from 'drizzle-orm';
import type { TenantDrizzle } from '@tenantry/drizzle';
import { InjectDrizzle } from '@tenantry/drizzle/nestjs';
import { EmailTakenError, isUniqueViolation, type IOrmStrategy, type NewUser, type User } from '../orm-strategy.interface.js';
import * as schema from './schema.js';

/**
 * Seed 002's `DrizzleStrategy`. The seed made a `drizzle(pool, { schema })` per tenant; here
 * `@InjectDrizzle()` is one database for the application whose statements run in the request's
 * tenant schema — the seed's "automatic schema scoping" without a per-tenant handle.
 */
@Injectable()
export class DrizzleStrategy implements IOrmStrategy {
  readonly type = 'drizzle' as const;

  constructor(@InjectDrizzle() private readonly db: TenantDrizzle<typeof schema>) {}

  async findUsers(): Promise<User[]> {
    return this.db.select().from(schema.users).orderBy(asc(schema.users.id));
  }

  async findUser(id: number): Promise<User | undefined> {
    // As the seed writes it: select().from(users).where(eq(users.id, userId)).
    const [user] = await this.db.select().from(schema.users).where(eq(schema.users.id, id));
    return user;
  }

  async createUser(input: NewUser): Promise<User> {
    try {
      const [user] = await this.db.insert(schema.users).values(input).returning();
      return user!;
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError(input.email);
      throw err;
    }
  }

  async deleteUser(id: number): Promise<boolean> {
    return (await this.db.delete(schema.users).where(eq(schema.users.id, id)).returning({ id: schema.users.id })).length > 0;
  }
}
