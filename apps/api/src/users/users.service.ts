import { ConflictException, Injectable } from '@nestjs/common';
import { sqlState, type Tenancy } from '@tenantry/core';
import { InjectTenancy } from '@tenantry/nestjs';
import { hashPassword, verifyPassword } from '../auth/passwords.js';

/** A tenant user as the API shows it (never the hash). */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly createdAt: string;
}

/** Users of the current tenant (the users table in its schema). */
@Injectable()
export class UsersService {
  readonly #tenancy: Tenancy;

  constructor(@InjectTenancy() tenancy: Tenancy) {
    this.#tenancy = tenancy;
  }

  async create(email: string, password: string): Promise<User> {
    const hash = await hashPassword(password);
    try {
      return await this.#tenancy.withTenant(async (db) => {
        const { rows } = await db.query<{ id: string; email: string; created_at: Date }>(
          'insert into users (email, password_hash) values ($1, $2) returning id, email, created_at',
          [email, hash],
        );
        const r = rows[0]!;
        return { id: r.id, email: r.email, createdAt: r.created_at.toISOString() };
      });
    } catch (err) {
      if (sqlState(err) === '23505')
        throw new ConflictException({ code: 'USER_EXISTS', message: `a user with email '${email}' already exists in this tenant` });
      throw err;
    }
  }

  /** The user id when email and password match, else undefined (same time either way). */
  async authenticate(email: string, password: string): Promise<string | undefined> {
    const row = await this.#tenancy.withTenant(
      async (db) =>
        (
          await db.query<{ id: string; password_hash: string }>('select id, password_hash from users where lower(email) = lower($1)', [
            email,
          ])
        ).rows[0],
      { readOnly: true },
    );
    const ok = await verifyPassword(password, row?.password_hash);
    return ok ? row?.id : undefined;
  }
}
