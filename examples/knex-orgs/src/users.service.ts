import type { Knex } from 'knex';

export interface User {
  readonly id: number;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: Date;
}

/**
 * An organisation's users, as plain Knex: no tenant in sight. `knex` is the application's one
 * Knex instance; each query runs in the organisation of the request that awaits it.
 */
export class UsersService {
  readonly #knex: Knex;

  constructor(knex: Knex) {
    this.#knex = knex;
  }

  async list(): Promise<User[]> {
    return await this.#knex<User>('users').select('id', 'name', 'email', 'created_at').orderBy('id');
  }

  async create(input: { name: string; email: string }): Promise<User> {
    const [user] = await this.#knex<User>('users').insert(input).returning(['id', 'name', 'email', 'created_at']);
    return user!;
  }

  /** Renames users in one transaction; rolls back if any id is unknown. */
  async rename(changes: readonly { id: number; name: string }[]): Promise<number> {
    return await this.#knex.transaction(async (trx) => {
      for (const { id, name } of changes) {
        const updated = await trx('users').where({ id }).update({ name });
        if (updated === 0) throw new UnknownUser(id);
      }
      return changes.length;
    });
  }
}

export class UnknownUser extends Error {
  constructor(readonly id: number) {
    super(`no user ${id}`);
  }
}
