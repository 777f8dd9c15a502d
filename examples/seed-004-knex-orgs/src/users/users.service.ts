import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { Knex } from 'knex';
import { sqlState } from '@tenantry/core';
import { InjectKnex } from '@tenantry/knex/nestjs';
import type { CreateUserDto, RenameDto } from './users.dto.js';

export interface User {
  readonly id: number;
  readonly name: string | null;
  readonly email: string | null;
  readonly created_at: Date;
}

/**
 * An organisation's users, as plain Knex: one Knex instance for the whole app (no pool of its
 * own, no Knex per organisation, no request scope); each query runs in the database of the
 * organisation of the request. This is what seed 004 lists as "future enhancements": a
 * connection per request, routed to the organisation.
 */
@Injectable()
export class UsersService {
  constructor(@InjectKnex() private readonly knex: Knex) {}

  async list(): Promise<User[]> {
    return await this.knex<User>('users').select('id', 'name', 'email', 'created_at').orderBy('id');
  }

  async create(dto: CreateUserDto): Promise<User> {
    try {
      const [user] = await this.knex<User>('users')
        .insert({ name: dto.name, email: dto.email })
        .returning(['id', 'name', 'email', 'created_at']);
      return user!;
    } catch (err) {
      if (sqlState(err) === '23505') throw new ConflictException({ code: 'USER_EXISTS', message: `a user with email ${dto.email} exists` });
      throw err;
    }
  }

  /** Renames users in one Knex transaction: if any id is unknown, none is renamed. */
  async rename(changes: readonly RenameDto[]): Promise<number> {
    return await this.knex.transaction(async (trx) => {
      for (const { id, name } of changes) {
        const updated = await trx('users').where({ id }).update({ name });
        if (updated === 0) throw new NotFoundException({ code: 'USER_NOT_FOUND', message: `no user ${id}; nothing was renamed` });
      }
      return changes.length;
    });
  }
}
